//! The CLOB protocol details the official client never exercises: error
//! envelopes, auth failures, every order check, V1 mode, proxy funders,
//! matching between users, and the `/_sim` ledger over HTTP.

mod common;

use std::str::FromStr as _;

use atomik_polymarket_sim::sign;
use atomik_polymarket_sim::{OrderStatus, SimConfig};
use common::*;
use polymarket_client_sdk_v2::POLYGON;
use polymarket_client_sdk_v2::auth::{ExposeSecret as _, LocalSigner, Signer as _};
use polymarket_client_sdk_v2::clob::types::request::TradesRequest;
use polymarket_client_sdk_v2::clob::types::{
    Amount, OrderStatusType, OrderType, Side, SignatureType, TraderSide,
};
use polymarket_client_sdk_v2::clob::{Client, Config};
use polymarket_client_sdk_v2::types::{Decimal, address};
use reqwest::Method;
use serde_json::Value;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn malformed_and_wrong_version_orders_get_the_documented_errors() {
    let e = env().await;
    for body in [
        "not json",
        "{}",
        r#"{"order":{}}"#,
        r#"{"order":{"salt":1,"timestamp":"1"}}"#,
    ] {
        let r = e.raw(Method::POST, "/order", body).await;
        assert_eq!(
            (r.status, r.error()),
            (400, "Invalid order payload"),
            "{body}"
        );
    }
    let mut v1: Value =
        serde_json::from_str(&e.v2_order(0, 5_000_000, 10_000_000, "GTC").await).unwrap();
    let o = v1["order"].as_object_mut().unwrap();
    for f in ["timestamp", "metadata", "builder"] {
        o.remove(f);
    }
    o.insert(
        "taker".into(),
        "0x0000000000000000000000000000000000000000".into(),
    );
    o.insert("nonce".into(), "0".into());
    o.insert("feeRateBps".into(), "0".into());
    let r = e.raw(Method::POST, "/order", &v1.to_string()).await;
    assert_eq!((r.status, r.error()), (400, "order_version_mismatch"));
    assert!(e.sim.orders().is_empty());
}

#[tokio::test]
async fn bad_l1_and_l2_credentials_are_401() {
    let e = env().await;
    let url = format!("{}/data/orders", e.sim.base_url());
    let r = e.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "Unauthorized/Invalid api key");
    // A correct signature over a different path.
    let good = e.raw(Method::GET, "/data/orders", "").await;
    assert_eq!(good.status, 200);
    let r = e
        .http
        .get(&url)
        .header("POLY_ADDRESS", e.me.to_checksum(None))
        .header("POLY_API_KEY", e.key())
        .header("POLY_PASSPHRASE", "wrong")
        .header("POLY_TIMESTAMP", "1")
        .header("POLY_SIGNATURE", "AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The right key and passphrase, but an HMAC over another path.
    let creds = e.client.credentials();
    let sig = sign::l2_signature(
        creds.secret().expose_secret(),
        "1",
        "GET",
        "/data/trades",
        b"",
    )
    .unwrap();
    let r = e
        .http
        .get(&url)
        .header("POLY_ADDRESS", e.me.to_checksum(None))
        .header("POLY_API_KEY", e.key())
        .header("POLY_PASSPHRASE", creds.passphrase().expose_secret())
        .header("POLY_TIMESTAMP", "1")
        .header("POLY_SIGNATURE", sig)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "HMAC over the wrong path");
    let r = e
        .http
        .get(format!("{}/auth/derive-api-key", e.sim.base_url()))
        .header("POLY_ADDRESS", e.me.to_checksum(None))
        .header("POLY_TIMESTAMP", "1")
        .header("POLY_NONCE", "0")
        .header("POLY_SIGNATURE", format!("0x{}", "11".repeat(65)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "Invalid L1 Request headers");
}

#[tokio::test]
async fn every_order_check_refuses_with_its_message() {
    let e = env().await;
    let cases = [
        (
            0,
            5_050_000,
            10_000_000,
            "GTC",
            "breaks minimum tick size rule: 0.01",
        ),
        (
            0,
            9_950_000,
            10_000_000,
            "GTC",
            "invalid price (0.995), min: 0.01 - max: 0.99",
        ),
        (
            0,
            500_000,
            1_000_000,
            "GTC",
            "Size (1) lower than the minimum: 5",
        ),
        (
            1,
            10_000_000,
            5_000_000,
            "GTC",
            "not enough balance / allowance",
        ),
        (
            0,
            580_000_000,
            1_000_000_000,
            "FOK",
            "order couldn't be fully filled. FOK orders are fully filled or killed.",
        ),
        (
            0,
            5_000_000,
            10_000_000,
            "FAK",
            "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.",
        ),
    ];
    for (side, maker, taker, kind, says) in cases {
        let r = e
            .raw(
                Method::POST,
                "/order",
                &e.v2_order(side, maker, taker, kind).await,
            )
            .await;
        assert_eq!((r.status, r.error()), (400, says));
    }
    e.sim.set_collateral(e.me, dec("1"));
    let r = e
        .raw(
            Method::POST,
            "/order",
            &e.v2_order(0, 5_000_000, 10_000_000, "GTC").await,
        )
        .await;
    assert_eq!(r.error(), "not enough balance / allowance");
    e.sim.set_collateral(e.me, dec("1000"));

    let mut body: Value =
        serde_json::from_str(&e.v2_order(0, 5_000_000, 10_000_000, "GTC").await).unwrap();
    body["owner"] = "00000000-0000-0000-0000-000000000001".into();
    let r = e.raw(Method::POST, "/order", &body.to_string()).await;
    assert_eq!(
        r.error(),
        "the order owner has to be the owner of the API KEY"
    );
    let mut body: Value =
        serde_json::from_str(&e.v2_order(0, 5_000_000, 10_000_000, "GTC").await).unwrap();
    body["order"]["makerAmount"] = "5100000".into();
    let r = e.raw(Method::POST, "/order", &body.to_string()).await;
    assert_eq!(r.error(), "invalid signature");
    assert!(
        e.sim.orders().is_empty(),
        "nothing refused reached the ledger"
    );

    // FAK fills what there is (200 at 0.56) and kills the rest.
    let r = e
        .raw(
            Method::POST,
            "/order",
            &e.v2_order(0, 140_000_000, 250_000_000, "FAK").await,
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("matched")),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["takingAmount"], "200");
    assert_eq!(r.body["makingAmount"], "112");
    let o = e.sim.orders().pop().unwrap();
    assert_eq!(
        (o.status, o.size_matched),
        (OrderStatus::Matched, dec("200"))
    );

    let once = e.v2_order(0, 5_000_000, 10_000_000, "GTC").await;
    assert_eq!(e.raw(Method::POST, "/order", &once).await.status, 200);
    let twice = e.raw(Method::POST, "/order", &once).await;
    assert!(twice.error().contains("Duplicated"), "{:?}", twice.body);
}

#[tokio::test]
async fn a_v1_server_takes_the_clients_v1_orders() {
    let e = env_with(|c| c.version = 1).await;
    let r = e
        .client
        .limit_order()
        .token_id(e.yes())
        .side(Side::Buy)
        .price(d("0.5"))
        .size(d("10"))
        .build_sign_and_post(&e.signer)
        .await
        .expect("V1 order accepted");
    assert_eq!(r.status, OrderStatusType::Live);
    assert_eq!(e.sim.orders()[0].version, 1);
}

#[tokio::test]
async fn proxy_orders_need_the_funder_registered_for_the_signer() {
    let e = env().await;
    let funder = address!("0x995c9b1f779c04e65AF8ea3360F96c43b5e62316");
    let proxy = Client::new(&e.sim.base_url(), Config::default())
        .unwrap()
        .authentication_builder(&e.signer)
        .funder(funder)
        .signature_type(SignatureType::Proxy)
        .authenticate()
        .await
        .unwrap();
    let post = || {
        proxy
            .limit_order()
            .token_id(e.yes())
            .side(Side::Buy)
            .price(d("0.5"))
            .size(d("10"))
            .build_sign_and_post(&e.signer)
    };
    let err = post().await.unwrap_err();
    assert!(
        status_of(&err).unwrap().1.contains("invalid maker"),
        "{err}"
    );
    e.sim.set_funder(e.me, funder);
    let err = post().await.unwrap_err();
    assert!(
        status_of(&err).unwrap().1.contains("not enough balance"),
        "the funder pays: {err}"
    );
    e.sim.set_collateral(funder, dec("10"));
    let ok = post().await.unwrap();
    let o = e.sim.order(&ok.order_id).unwrap();
    assert_eq!((o.maker, o.signer, o.signature_type), (funder, e.me, 1));
}

#[tokio::test]
async fn a_users_resting_order_fills_against_another_user() {
    let e = env().await;
    let bid = e
        .client
        .limit_order()
        .token_id(e.yes())
        .side(Side::Buy)
        .price(d("0.55"))
        .size(d("10"))
        .build_sign_and_post(&e.signer)
        .await
        .unwrap();
    let demo = LocalSigner::from_str(SimConfig::DEMO_PRIVATE_KEY)
        .unwrap()
        .with_chain_id(Some(POLYGON));
    assert_eq!(demo.address(), SimConfig::DEMO_ADDRESS);
    let seller = Client::new(&e.sim.base_url(), Config::default())
        .unwrap()
        .authentication_builder(&demo)
        .authenticate()
        .await
        .unwrap();
    let sold = seller
        .market_order()
        .token_id(e.yes())
        .side(Side::Sell)
        .amount(Amount::shares(d("10")).unwrap())
        .order_type(OrderType::FOK)
        .build_sign_and_post(&demo)
        .await
        .unwrap();
    assert_eq!(sold.status, OrderStatusType::Matched);
    assert_eq!(sold.taking_amount, d("5.5"), "filled at the resting bid");
    assert_eq!(
        e.sim.order(&bid.order_id).unwrap().status,
        OrderStatus::Matched
    );
    assert_eq!(e.sim.position(e.me, &e.rain.tokens[0].token_id), dec("10"));
    assert_eq!(
        e.sim
            .position(SimConfig::DEMO_ADDRESS, &e.rain.tokens[0].token_id),
        dec("90")
    );
    assert_eq!(e.sim.collateral(SimConfig::DEMO_ADDRESS), dec("1005.5"));
    assert_eq!(e.sim.collateral(e.me), dec("994.5"));
    let mine = e
        .client
        .trades(&TradesRequest::default(), None)
        .await
        .unwrap();
    assert_eq!(mine.data.len(), 1);
    assert_eq!(mine.data[0].trader_side, TraderSide::Maker);
}

#[tokio::test]
async fn the_ledger_and_balances_are_served_and_settable_over_http() {
    let e = env().await;
    let token = e.rain.tokens[0].token_id.clone();
    let body = format!(
        r#"{{"address":"{}","collateral":"42","positions":[{{"token_id":"{token}","shares":"7"}}]}}"#,
        e.me
    );
    let r = e.raw(Method::POST, "/_sim/balances", &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(e.sim.collateral(e.me), dec("42"));
    assert_eq!(e.sim.position(e.me, &token), dec("7"));
    let shown = e.raw(Method::GET, "/_sim/balances", "").await;
    assert_eq!(shown.body["collateral"][e.me.to_checksum(None)], "42");
    let bad = e.raw(Method::POST, "/_sim/balances", "{nope").await;
    assert_eq!(bad.status, 400);
    assert!(bad.error().contains("not JSON"));

    let r = e
        .raw(
            Method::POST,
            "/order",
            &e.v2_order(0, 5_000_000, 10_000_000, "GTC").await,
        )
        .await;
    let id = r.body["orderID"].as_str().unwrap().to_string();
    let orders = e.raw(Method::GET, "/_sim/orders", "").await;
    assert_eq!(orders.body[0]["id"], id.as_str());
    assert_eq!(orders.body[0]["status"], "LIVE");
    let trades = e.raw(Method::GET, "/_sim/trades", "").await;
    assert_eq!(trades.body, serde_json::json!([]));
}

#[tokio::test]
async fn a_gtd_order_is_canceled_once_its_expiration_passes() {
    use atomik_broker::{Clock as _, ManualClock, SystemClock};
    use polymarket_client_sdk_v2::types::{DateTime, Utc};
    let clock = ManualClock::new(SystemClock.now_ms());
    let sim_clock = clock.clone();
    let e = env_with(move |c| c.clock = std::sync::Arc::new(sim_clock)).await;
    let expires = DateTime::<Utc>::from_timestamp_millis(clock.now_ms() + 120_000).unwrap();
    let r = e
        .client
        .limit_order()
        .token_id(e.yes())
        .side(Side::Buy)
        .price(d("0.5"))
        .size(d("10"))
        .order_type(OrderType::GTD)
        .expiration(expires)
        .build_sign_and_post(&e.signer)
        .await
        .unwrap();
    assert_eq!(r.status, OrderStatusType::Live);
    assert_eq!(
        e.client.order(&r.order_id).await.unwrap().status,
        OrderStatusType::Live
    );
    clock.advance(121_000);
    assert_eq!(
        e.client.order(&r.order_id).await.unwrap().status,
        OrderStatusType::Canceled
    );
    assert_eq!(
        e.sim.order(&r.order_id).unwrap().status,
        OrderStatus::Canceled
    );
}

#[tokio::test]
async fn trading_mode_is_settable_over_http_and_bad_cancel_bodies_are_400() {
    let e = env().await;
    let r = e
        .raw(
            Method::POST,
            "/_sim/trading-mode",
            r#"{"mode":"cancel_only"}"#,
        )
        .await;
    assert_eq!(r.body["mode"], "cancel_only");
    let refused = e
        .raw(
            Method::POST,
            "/order",
            &e.v2_order(0, 5_000_000, 10_000_000, "GTC").await,
        )
        .await;
    assert_eq!(refused.status, 503);
    assert!(
        refused
            .error()
            .starts_with("Trading is currently cancel-only.")
    );
    let r = e
        .raw(Method::POST, "/_sim/trading-mode", r#"{"mode":"sideways"}"#)
        .await;
    assert_eq!(r.status, 400);
    for (method, path) in [
        (Method::DELETE, "/order"),
        (Method::DELETE, "/orders"),
        (Method::DELETE, "/cancel-market-orders"),
    ] {
        let r = e.raw(method, path, "nope").await;
        assert_eq!((r.status, r.error()), (400, "Invalid payload"), "{path}");
    }
}

#[tokio::test]
async fn a_batch_places_each_order_and_reports_each_refusal() {
    let e = env().await;
    let mut signed = Vec::new();
    for price in ["0.5", "0.51"] {
        let order = e
            .client
            .limit_order()
            .token_id(e.yes())
            .side(Side::Buy)
            .price(d(price))
            .size(d("10"))
            .build()
            .await
            .unwrap();
        signed.push(e.client.sign(&e.signer, order).await.unwrap());
    }
    let answers = e.client.post_orders(signed).await.expect("batch accepted");
    assert_eq!(answers.len(), 2);
    assert!(
        answers
            .iter()
            .all(|a| a.success && a.status == OrderStatusType::Live)
    );

    let good = e.v2_order(0, 5_200_000, 10_000_000, "GTC").await;
    let mut bad: Value =
        serde_json::from_str(&e.v2_order(0, 5_300_000, 10_000_000, "GTC").await).unwrap();
    bad["order"]["takerAmount"] = "10000001".into();
    let r = e
        .raw(Method::POST, "/orders", &format!("[{bad},{good}]"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            r.body[0]["success"].as_bool(),
            r.body[0]["errorMsg"].as_str()
        ),
        (Some(false), Some("invalid signature"))
    );
    assert_eq!(
        (r.body[1]["success"].as_bool(), r.body[1]["status"].as_str()),
        (Some(true), Some("live"))
    );
    assert_eq!(e.sim.orders().len(), 3);

    let many = format!("[{}]", vec![good.as_str(); 16].join(","));
    assert_eq!(e.raw(Method::POST, "/orders", &many).await.status, 400);
    assert_eq!(e.raw(Method::POST, "/orders", "{}").await.status, 400);
}
