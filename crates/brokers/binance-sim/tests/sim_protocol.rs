//! The Binance simulator over real HTTP, signed by the test itself (HMAC-SHA256
//! hex or Ed25519 base64, as Binance's docs define them):
//! signatures, timing, filters, the client-order-id rule, Ed25519 keys,
//! permissions, futures rules, request weight (429 → 418) and faults.

mod common;

use std::time::Duration;

use atomik_binance_sim::{BinanceFault, Fault, Market, SimKey, SimSecret};
use atomik_broker::Clock;
use common::*;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::Value;

#[tokio::test]
async fn a_signed_market_order_fills_and_moves_balances() {
    let e = env().await;
    let a = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.001"))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["status"], "FILLED");
    assert_eq!(a.body["executedQty"], "0.00100000");
    assert_eq!(a.body["cummulativeQuoteQty"], "60.00000000");
    assert_eq!(a.body["transactTime"], T0);
    assert_eq!(a.body["orderListId"], -1);
    assert_eq!(a.body["fills"][0]["price"], "60000.00000000");
    assert_eq!(a.body["fills"][0]["commissionAsset"], "BTC");
    assert_eq!(a.header("x-mbx-order-count-10s"), Some("1"));
    assert_eq!(a.header("x-mbx-order-count-1d"), Some("1"));
    assert_eq!(e.sim.spot_free(DEMO, "BTC"), d("0.501"));
    assert_eq!(e.sim.spot_free(DEMO, "USDT"), d("9940"));
    let ledger = e.sim.orders();
    assert_eq!(ledger.len(), 1);
    let o = &ledger[0];
    assert_eq!(
        (
            o.market,
            o.side.as_str(),
            o.order_type.as_str(),
            o.status.as_str()
        ),
        (Market::Spot, "BUY", "MARKET", "FILLED")
    );
    assert_eq!((o.quantity, o.received_at_ms), (d("0.001"), T0));
    assert_eq!(o.order_id, a.body["orderId"].as_i64().unwrap());
    assert_eq!(o.client_order_id, a.body["clientOrderId"].as_str().unwrap());
    assert_eq!(o.client_order_id.len(), 22, "a generated id");

    // The same order as a form body, and ACK / RESULT answers.
    let ts = e.clock.now_ms().to_string();
    let body = encode(&[
        ("symbol", "BTCUSDT"),
        ("side", "SELL"),
        ("type", "MARKET"),
        ("quantity", "0.001"),
        ("newOrderRespType", "ACK"),
        ("timestamp", &ts),
    ]);
    let sig = demo_signer().sign(body.as_bytes());
    let body = format!("{body}&signature={sig}");
    let ack = e
        .send(Method::POST, "/api/v3/order", Some(DEMO), "", &body)
        .await
        .unwrap();
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    assert!(ack.body.get("status").is_none() && ack.body["orderId"].is_i64());
    let result = e
        .signed(
            Method::POST,
            "/api/v3/order",
            &[
                ("symbol", "ETHUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quoteOrderQty", "100"),
                ("newOrderRespType", "RESULT"),
            ],
        )
        .await;
    assert_eq!(
        result.body["executedQty"], "0.03330000",
        "100 USDT at 3000, step 0.0001"
    );
    assert_eq!(result.body["origQuoteOrderQty"], "100.00000000");
    assert!(result.body.get("fills").is_none());
    assert_eq!(e.sim.spot_free(DEMO, "BTC"), d("0.5"));
}

#[tokio::test]
async fn mixed_query_and_body_sign_as_their_concatenation_and_the_query_wins() {
    let e = env().await;
    let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002";
    let ts = e.clock.now_ms();
    // The body's quantity loses to the query's.
    let body = format!("quantity=0.005&price=50000&timestamp={ts}");
    let sig = demo_signer().sign(format!("{query}{body}").as_bytes());
    let a = e
        .send(
            Method::POST,
            "/api/v3/order",
            Some(DEMO),
            query,
            &format!("{body}&signature={}", sig.to_uppercase()),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        (a.body["status"].as_str(), a.body["origQty"].as_str()),
        (Some("NEW"), Some("0.00200000"))
    );
    assert_eq!(e.sim.spot_locked(DEMO, "USDT"), d("100"));
}

#[tokio::test]
async fn a_wrong_signature_is_refused_with_1022() {
    let e = env().await;
    let other = Signer::from_secret("not-the-secret").unwrap();
    let a = e
        .signed_as(
            Method::POST,
            "/api/v3/order",
            DEMO,
            &other,
            &market_buy("0.001"),
        )
        .await
        .unwrap();
    assert_eq!((a.status, a.code()), (400, -1022));
    assert_eq!(a.body["msg"], "Signature for this request is not valid.");
    // Tampering after signing is caught too.
    let ts = e.clock.now_ms().to_string();
    let query = encode(&[("symbol", "BTCUSDT"), ("timestamp", &ts)]);
    let sig = demo_signer().sign(query.as_bytes());
    let tampered = format!("{}&signature={sig}", query.replace("BTCUSDT", "ETHUSDT"));
    let a = e
        .send(Method::GET, "/api/v3/openOrders", Some(DEMO), &tampered, "")
        .await
        .unwrap();
    assert_eq!(a.code(), -1022);
    assert!(e.sim.orders().is_empty());
    assert_eq!(e.sim.rejections(), [(400, -1022), (400, -1022)]);
}

#[tokio::test]
async fn timestamps_outside_the_window_get_1021() {
    let e = env().await;
    let order = market_buy("0.001");
    e.sim.set_clock_skew_ms(-2_000); // the client is 2 s ahead
    let a = e.signed(Method::POST, "/api/v3/order", &order).await;
    assert_eq!((a.status, a.code()), (400, -1021));
    assert_eq!(
        a.body["msg"],
        "Timestamp for this request was 1000ms ahead of the server's time."
    );
    e.sim.set_clock_skew_ms(5_001); // the request is older than the 5 s default window
    let a = e.signed(Method::POST, "/api/v3/order", &order).await;
    assert_eq!(
        a.body["msg"],
        "Timestamp for this request is outside of the recvWindow."
    );
    let mut wider = order.clone();
    wider.push(("recvWindow", "6000"));
    let a = e.signed(Method::POST, "/api/v3/order", &wider).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let mut too_wide = order.clone();
    too_wide.push(("recvWindow", "60001"));
    let a = e.signed(Method::POST, "/api/v3/order", &too_wide).await;
    assert_eq!(a.code(), -1131);
    e.sim.set_clock_skew_ms(0);
    let time = e.public("/api/v3/time").await;
    assert_eq!(time.body["serverTime"], T0);
    assert_eq!(e.sim.orders().len(), 1);
}

#[tokio::test]
async fn filters_and_parameters_are_enforced() {
    let e = env().await;
    let cases: Vec<(P, i64, &str)> = vec![
        (market_buy("0.000015"), -1013, "Filter failure: LOT_SIZE"),
        (market_buy("10000"), -1013, "Filter failure: LOT_SIZE"),
        (market_buy("0.00005"), -1013, "Filter failure: NOTIONAL"),
        (
            limit("BUY", "0.001", "59000.000000001", "p"),
            -1111,
            "Parameter 'price' has too much precision.",
        ),
        (
            limit("BUY", "0.001", "59000.005", "p"),
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            market_buy("0.1234567891"),
            -1111,
            "Parameter 'quantity' has too much precision.",
        ),
        (market_buy("1e-3"), -1100, ""),
        (limit("BUY", "0.001", "50000", "bad id!"), -1100, ""),
        (
            vec![
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("price", "50000"),
            ],
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        ),
        (
            vec![
                ("symbol", "DOGEUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "1"),
            ],
            -1121,
            "Invalid symbol.",
        ),
        (
            vec![
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "STOP_LOSS"),
                ("quantity", "1"),
            ],
            -1116,
            "Invalid orderType.",
        ),
        (
            vec![("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET")],
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ),
        // 1 BTC at 60,000 > 10,000 USDT; 0.6 BTC > 0.5 BTC.
        (
            market_buy("1"),
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        (
            vec![
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "MARKET"),
                ("quantity", "0.6"),
            ],
            -2010,
            "Account has insufficient balance for requested action.",
        ),
    ];
    for (params, code, msg) in cases {
        for path in ["/api/v3/order/test", "/api/v3/order"] {
            let a = e.signed(Method::POST, path, &params).await;
            let insufficient = code == -2010;
            if insufficient && path.ends_with("test") {
                assert_eq!(a.status, 200, "order/test does not check balances");
                continue;
            }
            assert_eq!(
                (a.status, a.code()),
                (400, code),
                "{path} {params:?}: {:?}",
                a.body
            );
            if !msg.is_empty() {
                assert_eq!(a.body["msg"], msg, "{params:?}");
            }
        }
    }
    let ok = e
        .signed(Method::POST, "/api/v3/order/test", &market_buy("0.001"))
        .await;
    assert_eq!((ok.status, ok.body.clone()), (200, serde_json::json!({})));
    assert!(e.sim.orders().is_empty());
    assert_eq!(e.sim.spot_free(DEMO, "USDT"), d("10000"));
}

#[tokio::test]
async fn a_client_order_id_is_unique_among_open_orders_only() {
    let e = env().await;
    let rest = limit("BUY", "0.001", "30000", "dup-1");
    let first = e.signed(Method::POST, "/api/v3/order", &rest).await;
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (200, Some("NEW"))
    );
    let again = e.signed(Method::POST, "/api/v3/order", &rest).await;
    assert_eq!((again.status, again.code()), (400, -2010));
    assert_eq!(again.body["msg"], "Duplicate order sent.");
    assert_eq!(e.sim.spot_locked(DEMO, "USDT"), d("30"));

    let cancel = e
        .signed(
            Method::DELETE,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "dup-1")],
        )
        .await;
    assert_eq!(cancel.body["status"], "CANCELED", "{:?}", cancel.body);
    assert_eq!(cancel.body["origClientOrderId"], "dup-1");
    assert_eq!(e.sim.spot_locked(DEMO, "USDT"), Decimal::ZERO);
    let twice = e
        .signed(
            Method::DELETE,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "dup-1")],
        )
        .await;
    assert_eq!(
        (twice.code(), twice.body["msg"].as_str()),
        (-2011, Some("Unknown order sent."))
    );

    // Closed: the same id makes a second order; lookups find the newest.
    let second = e.signed(Method::POST, "/api/v3/order", &rest).await;
    assert_eq!(second.status, 200);
    assert_ne!(second.body["orderId"], first.body["orderId"]);
    let by_cl = e
        .signed(
            Method::GET,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "dup-1")],
        )
        .await;
    assert_eq!(by_cl.body["orderId"], second.body["orderId"]);
    assert_eq!(by_cl.body["status"], "NEW");
    let first_id = first.body["orderId"].to_string();
    let by_id = e
        .signed(
            Method::GET,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("orderId", &first_id)],
        )
        .await;
    assert_eq!(by_id.body["status"], "CANCELED");
    assert_eq!(by_id.body["isWorking"], true);
    let open = e
        .signed(Method::GET, "/api/v3/openOrders", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!(open.body.as_array().unwrap().len(), 1);
    let missing = e
        .signed(
            Method::GET,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "never")],
        )
        .await;
    assert_eq!(
        (missing.code(), missing.body["msg"].as_str()),
        (-2013, Some("Order does not exist."))
    );

    // A filled order frees its id at once.
    let mut market = market_buy("0.001");
    market.push(("newClientOrderId", "m-1"));
    for _ in 0..2 {
        let a = e.signed(Method::POST, "/api/v3/order", &market).await;
        assert_eq!(a.body["status"], "FILLED", "{:?}", a.body);
    }
    let ids: Vec<String> = e
        .sim
        .orders()
        .iter()
        .map(|o| o.client_order_id.clone())
        .collect();
    assert_eq!(ids, ["dup-1", "dup-1", "m-1", "m-1"]);
}

#[tokio::test]
async fn resting_orders_hold_funds_and_fill_when_the_price_crosses() {
    let e = env().await;
    let sell = e
        .signed(
            Method::POST,
            "/api/v3/order",
            &limit("SELL", "0.1", "61000", "s-1"),
        )
        .await;
    assert_eq!(sell.body["status"], "NEW");
    assert_eq!(
        (e.sim.spot_free(DEMO, "BTC"), e.sim.spot_locked(DEMO, "BTC")),
        (d("0.4"), d("0.1"))
    );
    let account = e
        .signed(
            Method::GET,
            "/api/v3/account",
            &[("omitZeroBalances", "true")],
        )
        .await;
    let btc = account.body["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "BTC")
        .unwrap()
        .clone();
    assert_eq!(
        (btc["free"].as_str(), btc["locked"].as_str()),
        (Some("0.40000000"), Some("0.10000000"))
    );
    e.sim.set_price("BTCUSDT", d("61500"));
    let done = e
        .signed(
            Method::GET,
            "/api/v3/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "s-1")],
        )
        .await;
    assert_eq!(done.body["status"], "FILLED");
    assert_eq!(
        done.body["cummulativeQuoteQty"], "6100.00000000",
        "filled at its limit"
    );
    assert_eq!(e.sim.spot_free(DEMO, "USDT"), d("16100"));
    assert_eq!(e.sim.spot_locked(DEMO, "BTC"), Decimal::ZERO);
    let ticker = e.public("/api/v3/ticker/price?symbol=BTCUSDT").await;
    assert_eq!(ticker.body["price"], "61500.00000000");
}

#[tokio::test]
async fn an_ed25519_key_signs_requests() {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let public_key = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    let e = env_with(|c| {
        c.keys.push(SimKey {
            api_key: "EdKey7002".into(),
            secret: SimSecret::Ed25519 { public_key },
            uid: 7002,
            can_trade: true,
            enable_futures: false,
            ip_restricted: true,
            spot_balances: vec![("USDT".into(), d("1000"))],
            futures_wallet_usdt: Decimal::ZERO,
        })
    })
    .await;
    let signer = Signer::Ed25519(Box::new(key));
    let a = e
        .signed_as(
            Method::POST,
            "/api/v3/order",
            "EdKey7002",
            &signer,
            &market_buy("0.001"),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(e.sim.spot_free("EdKey7002", "BTC"), d("0.001"));
    let account = e
        .signed_as(Method::GET, "/api/v3/account", "EdKey7002", &signer, &[])
        .await
        .unwrap();
    assert_eq!(account.body["uid"], 7002);
    let hmac = e
        .signed_as(
            Method::GET,
            "/api/v3/account",
            "EdKey7002",
            &demo_signer(),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(hmac.code(), -1022);
}

#[tokio::test]
async fn keys_without_permission_are_refused_with_2015() {
    let e = env().await;
    e.sim.add_key(SimKey {
        api_key: "ReadOnly7003".into(),
        secret: SimSecret::Hmac("ro-secret".into()),
        uid: 7003,
        can_trade: false,
        enable_futures: false,
        ip_restricted: false,
        spot_balances: vec![("USDT".into(), d("50"))],
        futures_wallet_usdt: Decimal::ZERO,
    });
    let ro = Signer::from_secret("ro-secret").unwrap();
    let call = |method: Method, path: &'static str, params: P| {
        let ro = &ro;
        let e = &e;
        async move {
            e.signed_as(method, path, "ReadOnly7003", ro, &params)
                .await
                .unwrap()
        }
    };
    let order = call(Method::POST, "/api/v3/order", market_buy("0.0001")).await;
    assert_eq!((order.status, order.code()), (401, -2015));
    assert_eq!(
        order.body["msg"],
        "Invalid API-key, IP, or permissions for action."
    );
    let test = call(Method::POST, "/api/v3/order/test", market_buy("0.0001")).await;
    assert_eq!(test.code(), -2015);
    let futures = call(Method::GET, "/fapi/v3/positionRisk", vec![]).await;
    assert_eq!((futures.status, futures.code()), (401, -2015));
    let account = call(Method::GET, "/api/v3/account", vec![]).await;
    assert_eq!(
        (account.status, account.body["canTrade"].as_bool()),
        (200, Some(false))
    );
    let restrictions = call(Method::GET, "/sapi/v1/account/apiRestrictions", vec![]).await;
    assert_eq!(restrictions.body["enableSpotAndMarginTrading"], false);
    assert_eq!(restrictions.body["enableFutures"], false);
    assert_eq!(restrictions.body["ipRestrict"], false);
    assert_eq!(restrictions.body["createTime"], T0);

    let unknown = e
        .signed_as(Method::GET, "/api/v3/account", "NoSuchKey", &ro, &[])
        .await
        .unwrap();
    assert_eq!((unknown.status, unknown.code()), (401, -2015));
    let malformed = e
        .signed_as(Method::GET, "/api/v3/account", "bad key", &ro, &[])
        .await
        .unwrap();
    assert_eq!((malformed.status, malformed.code()), (401, -2014));
    let anonymous = e
        .send(Method::GET, "/api/v3/account", None, "timestamp=1", "")
        .await
        .unwrap();
    assert_eq!(anonymous.code(), -2015);
    assert!(e.sim.orders().is_empty());
}

#[tokio::test]
async fn futures_orders_positions_and_reduce_only() {
    let e = env().await;
    let order =
        |side: &'static str, qty: &'static str, extra: Vec<(&'static str, &'static str)>| {
            let mut p = vec![
                ("symbol", "BTCUSDT"),
                ("side", side),
                ("type", "MARKET"),
                ("quantity", qty),
            ];
            p.extend(extra);
            p
        };
    let open = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("BUY", "0.01", vec![("newClientOrderId", "f.1:a/b")]),
        )
        .await;
    assert_eq!(open.status, 200, "{:?}", open.body);
    // ACK (the futures default) shows the order as accepted, before execution.
    assert_eq!(
        (
            open.body["status"].as_str(),
            open.body["executedQty"].as_str()
        ),
        (Some("NEW"), Some("0.00000"))
    );
    assert_eq!(open.body["positionSide"], "BOTH");
    assert_eq!(open.header("x-mbx-order-count-10s"), Some("1"));
    assert_eq!(open.header("x-mbx-order-count-1m"), Some("1"));
    assert_eq!(e.sim.futures_position(DEMO, "BTCUSDT"), d("0.01"));
    let q = e
        .signed(
            Method::GET,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "f.1:a/b")],
        )
        .await;
    assert_eq!(
        (q.body["status"].as_str(), q.body["avgPrice"].as_str()),
        (Some("FILLED"), Some("60000.00"))
    );

    let flip = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("SELL", "0.02", vec![("reduceOnly", "true")]),
        )
        .await;
    assert_eq!((flip.status, flip.code()), (400, -2022));
    assert_eq!(flip.body["msg"], "ReduceOnly Order is rejected.");
    let grow = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("BUY", "0.01", vec![("reduceOnly", "true")]),
        )
        .await;
    assert_eq!(grow.code(), -2022);
    let small = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("BUY", "0.00001", vec![]),
        )
        .await;
    assert_eq!(small.code(), -4164);
    let bad_id = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("BUY", "0.01", vec![("newClientOrderId", "no spaces")]),
        )
        .await;
    assert_eq!(bad_id.code(), -4015);
    let hedge = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order("BUY", "0.01", vec![("positionSide", "LONG")]),
        )
        .await;
    assert_eq!(hedge.code(), -4061);

    let risk = e.signed(Method::GET, "/fapi/v3/positionRisk", &[]).await;
    let rows = risk.body.as_array().unwrap();
    assert_eq!(rows.len(), 1, "only symbols with a position");
    assert_eq!(
        (
            rows[0]["positionAmt"].as_str(),
            rows[0]["entryPrice"].as_str()
        ),
        (Some("0.01000"), Some("60000.00000000"))
    );

    let close = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &order(
                "SELL",
                "0.01",
                vec![("reduceOnly", "true"), ("newOrderRespType", "RESULT")],
            ),
        )
        .await;
    assert_eq!(
        (
            close.body["status"].as_str(),
            close.body["reduceOnly"].as_bool()
        ),
        (Some("FILLED"), Some(true))
    );
    assert_eq!(e.sim.futures_position(DEMO, "BTCUSDT"), Decimal::ZERO);
    assert!(
        e.signed(Method::GET, "/fapi/v3/positionRisk", &[])
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A resting order; its id cannot be reused while it is open.
    let rest = vec![
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.01"),
        ("price", "50000"),
        ("newClientOrderId", "f-rest"),
    ];
    assert_eq!(
        e.signed(Method::POST, "/fapi/v1/order", &rest).await.status,
        200
    );
    let dup = e.signed(Method::POST, "/fapi/v1/order", &rest).await;
    assert_eq!(
        (dup.code(), dup.body["msg"].as_str()),
        (-4116, Some("ClientOrderId is duplicated."))
    );
    let cancel = e
        .signed(
            Method::DELETE,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "f-rest")],
        )
        .await;
    assert_eq!(cancel.body["status"], "CANCELED");
    let balance = e.signed(Method::GET, "/fapi/v2/balance", &[]).await;
    assert_eq!(balance.body[0]["balance"], "10000.00000000");
    let mode = e
        .signed(Method::GET, "/fapi/v1/positionSide/dual", &[])
        .await;
    assert_eq!(mode.body["dualSidePosition"], false);
    let info = e.public("/fapi/v1/exchangeInfo").await;
    let filters = &info.body["symbols"][0]["filters"];
    assert!(
        filters
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["filterType"] == "MIN_NOTIONAL" && f["notional"] == "5")
    );
    let ledger = e.sim.orders();
    assert_eq!(
        ledger
            .iter()
            .filter(|o| o.market == Market::Futures)
            .count(),
        3
    );
    assert!(ledger[1].reduce_only);
}

#[tokio::test]
async fn request_weight_is_reported_then_429_then_a_418_ban() {
    let e = env_with(|c| {
        c.spot_weight_limit = 50;
        c.weight_window = Duration::from_secs(10);
    })
    .await;
    let time = e.public("/api/v3/time").await;
    assert_eq!(time.header("x-mbx-used-weight-10s"), Some("1"));
    let info = e.public("/api/v3/exchangeInfo").await;
    assert_eq!(info.header("x-mbx-used-weight-10s"), Some("21"));
    let limits = &info.body["rateLimits"][0];
    assert_eq!(
        (
            limits["rateLimitType"].as_str(),
            limits["interval"].as_str(),
            limits["intervalNum"].as_i64(),
            limits["limit"].as_i64()
        ),
        (Some("REQUEST_WEIGHT"), Some("SECOND"), Some(10), Some(50))
    );
    assert_eq!(
        e.public("/api/v3/exchangeInfo")
            .await
            .header("x-mbx-used-weight-10s"),
        Some("41")
    );
    assert_eq!(e.sim.request_weight_used(), 41);
    // Futures weight is counted apart.
    let f = e.public("/fapi/v1/time").await;
    assert_eq!(f.header("x-mbx-used-weight-10s"), Some("1"));

    e.clock.advance(4_000);
    let over = e.public("/api/v3/exchangeInfo").await;
    assert_eq!((over.status, over.code()), (429, -1003));
    assert_eq!(
        over.header("retry-after"),
        Some("6"),
        "until the window ends"
    );
    assert!(over.body["msg"].as_str().unwrap().contains("IP(127.0.0.1)"));
    for _ in 0..2 {
        assert_eq!(e.public("/api/v3/ping").await.status, 429);
    }
    let ban = e.public("/api/v3/ping").await;
    assert_eq!((ban.status, ban.code()), (418, -1003));
    assert_eq!(ban.header("retry-after"), Some("20"), "twice the window");
    let until = T0 + 4_000 + 20_000;
    assert!(
        ban.body["msg"]
            .as_str()
            .unwrap()
            .contains(&format!("banned until {until}"))
    );
    e.clock.advance(15_000);
    assert_eq!(
        e.public("/api/v3/time").await.status,
        418,
        "still banned in a new window"
    );
    assert_eq!(
        e.public("/fapi/v1/time").await.status,
        200,
        "futures are another limit"
    );
    e.clock.set(until);
    assert_eq!(e.public("/api/v3/time").await.status, 200);
    let statuses: Vec<u16> = e.sim.rejections().iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [429, 429, 429, 418, 418]);
}

#[tokio::test]
async fn order_counts_are_limited_per_account() {
    let e = env_with(|c| c.order_limit_10s = 2).await;
    for n in 1..=2 {
        let a = e
            .signed(Method::POST, "/api/v3/order", &market_buy("0.001"))
            .await;
        assert_eq!(
            a.header("x-mbx-order-count-10s"),
            Some(n.to_string().as_str())
        );
    }
    let over = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.001"))
        .await;
    assert_eq!((over.status, over.code()), (429, -1015));
    assert_eq!(over.header("retry-after"), Some("10"));
    e.clock.advance(10_000);
    let again = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.001"))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(e.sim.orders().len(), 3);
}

#[tokio::test]
async fn faults_hit_orders_and_cancels_with_binance_answers() {
    let e = env().await;
    let buy = market_buy("0.001");
    e.sim.faults().fail_next(1, Fault::DropAfter);
    let dropped = e
        .signed_as(Method::POST, "/api/v3/order", DEMO, &demo_signer(), &buy)
        .await;
    assert!(dropped.is_err(), "the connection breaks: {dropped:?}");
    assert_eq!(e.sim.orders().len(), 1, "but the order executed");
    assert_eq!(e.sim.orders()[0].status, "FILLED");

    e.sim.faults().fail_next(1, Fault::ServerErrorAfter);
    let unknown = e.signed(Method::POST, "/api/v3/order", &buy).await;
    assert_eq!((unknown.status, unknown.code()), (503, -1007));
    assert_eq!(
        e.sim.orders().len(),
        2,
        "executed; status unknown to the client"
    );

    e.sim.faults().fail_next(1, Fault::ServerErrorBefore);
    let before = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.01"),
            ],
        )
        .await;
    assert_eq!((before.status, before.code()), (500, -1001));
    assert_eq!(e.sim.orders().len(), 2);

    e.sim.faults().fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    let limited = e.signed(Method::POST, "/api/v3/order", &buy).await;
    assert_eq!(
        (
            limited.status,
            limited.code(),
            limited.header("retry-after")
        ),
        (429, -1003, Some("7"))
    );
    e.sim.faults().fail_next(
        1,
        Fault::Venue(BinanceFault::Banned {
            retry_after_secs: 30,
        }),
    );
    let banned = e.signed(Method::POST, "/api/v3/order", &buy).await;
    assert_eq!(
        (banned.status, banned.header("retry-after")),
        (418, Some("30"))
    );
    assert_eq!(e.sim.orders().len(), 2);

    // Cancels are faulted too; reads never are.
    let rest = e
        .signed(
            Method::POST,
            "/api/v3/order",
            &limit("BUY", "0.001", "30000", "c-1"),
        )
        .await;
    assert_eq!(rest.body["status"], "NEW");
    e.sim.faults().fail_next(1, Fault::ServerErrorAfter);
    let by = [("symbol", "BTCUSDT"), ("origClientOrderId", "c-1")];
    assert_eq!(
        e.signed(Method::DELETE, "/api/v3/order", &by).await.code(),
        -1007
    );
    e.sim.faults().fail_next(1, Fault::ServerErrorBefore);
    let read = e.signed(Method::GET, "/api/v3/order", &by).await;
    assert_eq!(read.body["status"], "CANCELED");
    e.sim.faults().clear();
    let codes: Vec<i64> = e.sim.rejections().iter().map(|(_, c)| *c).collect();
    assert_eq!(codes, [-1007, -1001, -1003, -1003, -1007]);
    let fired = e.sim.faults().fired_by_kind();
    let expected = [
        ("banned", 1),
        ("drop_after", 1),
        ("server_error_after", 2),
        ("server_error_before", 1),
        ("too_many_requests", 1),
    ];
    assert_eq!(
        fired,
        expected.into_iter().collect(),
        "the read was not faulted"
    );
}

#[tokio::test]
async fn exchange_info_and_tickers_use_binance_field_names() {
    let e = env().await;
    let info = e.public("/api/v3/exchangeInfo?symbol=BTCUSDT").await;
    let s = &info.body["symbols"][0];
    assert_eq!(
        (
            s["status"].as_str(),
            s["baseAsset"].as_str(),
            s["quoteAsset"].as_str()
        ),
        (Some("TRADING"), Some("BTC"), Some("USDT"))
    );
    let filters: Vec<&str> = s["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filterType"].as_str().unwrap())
        .collect();
    assert_eq!(
        filters,
        ["PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"]
    );
    assert_eq!(s["filters"][1]["stepSize"], "0.00001000");
    assert_eq!(info.body["timezone"], "UTC");
    let both = e
        .public("/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D")
        .await;
    assert_eq!(both.body["symbols"].as_array().unwrap().len(), 2);
    let bad = e.public("/api/v3/exchangeInfo?symbol=NOPE").await;
    assert_eq!((bad.status, bad.code()), (400, -1121));
    let all = e.public("/api/v3/ticker/price").await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let f = e.public("/fapi/v1/ticker/price?symbol=ETHUSDT").await;
    assert_eq!(
        (f.body["price"].as_str(), f.body["time"].as_i64()),
        (Some("3000.00"), Some(T0))
    );
    assert_eq!(e.public("/fapi/v1/ping").await.body, serde_json::json!({}));
    let ledger: Value = e
        .http
        .get(format!("{}/_sim/orders", e.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger, serde_json::json!([]));
}
