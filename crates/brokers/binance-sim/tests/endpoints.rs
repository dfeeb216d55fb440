//! The endpoints common clients call beyond atomik's own (account and
//! position reads in each API version, leverage brackets, premium index,
//! 24-hour tickers, order and trade history, the wallet's coin list),
//! Binance's error shape for everything the simulator does not implement,
//! and buying power: spot beyond the free balance and futures beyond the
//! available margin are refused as Binance refuses them.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn futures_market(side: &'static str, qty: &'static str) -> P {
    vec![
        ("symbol", "BTCUSDT"),
        ("side", side),
        ("type", "MARKET"),
        ("quantity", qty),
    ]
}

#[tokio::test]
async fn what_the_simulator_does_not_implement_answers_in_binance_error_shape() {
    let e = env().await;
    for (method, path) in [
        (Method::GET, "/api/v3/depth"),
        (Method::GET, "/sapi/v1/margin/interestHistory"),
        (Method::GET, "/fapi/v1/fundingRate"),
        (Method::POST, "/fapi/v1/leverage"),
        (Method::PUT, "/api/v3/order"),
        (Method::GET, "/nothing/here"),
    ] {
        let a = e.send(method.clone(), path, None, "", "").await.unwrap();
        assert_eq!(
            (a.status, a.code()),
            (404, -1020),
            "{method} {path}: {:?}",
            a.body
        );
        let msg = a.body["msg"].as_str().unwrap();
        assert!(msg.starts_with("This operation is not supported."), "{msg}");
        assert!(msg.contains(path), "{msg}");
    }
    // COIN-M exists as a venue with nothing listed.
    let coin = e.public("/dapi/v1/exchangeInfo").await;
    assert_eq!(
        (coin.status, coin.body["symbols"].clone()),
        (200, json!([]))
    );
}

#[tokio::test]
async fn futures_orders_beyond_the_available_margin_get_2019() {
    let e = env().await;
    // 10,000 USDT at 20×: 4 BTC at 60,000 needs 12,000 of margin.
    let over = e
        .signed(Method::POST, "/fapi/v1/order", &futures_market("BUY", "4"))
        .await;
    assert_eq!((over.status, over.code()), (400, -2019), "{:?}", over.body);
    assert_eq!(over.body["msg"], "Margin is insufficient.");
    // 3 BTC needs 9,000: accepted; 0.5 more (1,500) would exceed 10,000.
    let ok = e
        .signed(Method::POST, "/fapi/v1/order", &futures_market("BUY", "3"))
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let more = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &futures_market("BUY", "0.5"),
        )
        .await;
    assert_eq!(more.code(), -2019);
    // Reducing needs no margin.
    let reduce = e
        .signed(Method::POST, "/fapi/v1/order", &futures_market("SELL", "1"))
        .await;
    assert_eq!(reduce.status, 200, "{:?}", reduce.body);
    assert_eq!(e.sim.futures_position(DEMO, "BTCUSDT"), d("2"));
    assert_eq!(e.sim.orders().len(), 2, "the refused orders left no trace");
}

#[tokio::test]
async fn spot_orders_beyond_the_free_balance_get_2010() {
    let e = env().await;
    // 10,000 USDT buys at most 0.16666 BTC at 60,000.
    let ok = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.16666"))
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let over = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.001"))
        .await;
    assert_eq!((over.status, over.code()), (400, -2010));
    assert_eq!(
        over.body["msg"],
        "Account has insufficient balance for requested action."
    );
    assert_eq!(e.sim.spot_free(DEMO, "USDT"), d("0.4"));
}

#[tokio::test]
async fn account_and_position_reads_answer_in_each_api_version() {
    let e = env().await;
    let buy = e
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &futures_market("BUY", "0.5"),
        )
        .await;
    assert_eq!(buy.status, 200, "{:?}", buy.body);
    let btc = [("symbol", "BTCUSDT")];

    let v3 = e
        .signed(Method::GET, "/fapi/v3/positionRisk", &[])
        .await
        .body;
    assert_eq!(v3.as_array().unwrap().len(), 1, "v3: active symbols only");
    assert_eq!(
        (
            v3[0]["positionAmt"].as_str(),
            v3[0]["initialMargin"].as_str()
        ),
        (Some("0.50000"), Some("1500.00000000"))
    );
    let v2 = e
        .signed(Method::GET, "/fapi/v2/positionRisk", &[])
        .await
        .body;
    assert_eq!(v2.as_array().unwrap().len(), 2, "v2: every symbol");
    let row = v2
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["symbol"] == "BTCUSDT")
        .unwrap();
    assert_eq!(
        (
            row["leverage"].as_str(),
            row["marginType"].as_str(),
            row["entryPrice"].as_str()
        ),
        (Some("20"), Some("cross"), Some("60000.00000000"))
    );

    for path in ["/fapi/v2/account", "/fapi/v3/account"] {
        let a = e.signed(Method::GET, path, &[]).await;
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.body["totalWalletBalance"], "10000.00000000", "{path}");
        assert_eq!(a.body["availableBalance"], "8500.00000000", "{path}");
        assert_eq!(a.body["assets"][0]["asset"], "USDT", "{path}");
    }
    let v2 = e.signed(Method::GET, "/fapi/v2/account", &[]).await.body;
    assert_eq!(
        (
            v2["canTrade"].clone(),
            v2["positions"].as_array().unwrap().len()
        ),
        (json!(true), 2)
    );
    let v3 = e.signed(Method::GET, "/fapi/v3/account", &[]).await.body;
    assert_eq!(v3["positions"].as_array().unwrap().len(), 1);

    let bracket = e
        .signed(Method::GET, "/fapi/v1/leverageBracket", &btc)
        .await
        .body;
    assert_eq!(
        (
            bracket["symbol"].as_str(),
            bracket["brackets"][0]["initialLeverage"].as_i64()
        ),
        (Some("BTCUSDT"), Some(20))
    );
    let all = e
        .signed(Method::GET, "/fapi/v1/leverageBracket", &[])
        .await
        .body;
    assert_eq!(all.as_array().unwrap().len(), 2);
    // Signed like Binance: without a key, refused.
    let unsigned = e.public("/fapi/v1/leverageBracket").await;
    assert_eq!((unsigned.status, unsigned.code()), (401, -2015));
    let unsigned = e.public("/fapi/v2/account").await;
    assert_eq!(unsigned.code(), -2015);
}

#[tokio::test]
async fn tickers_premium_index_and_the_coin_list() {
    let e = env().await;
    e.signed(Method::POST, "/api/v3/order", &market_buy("0.01"))
        .await;
    let t = e.public("/api/v3/ticker/24hr?symbol=BTCUSDT").await.body;
    assert_eq!(
        (
            t["lastPrice"].as_str(),
            t["volume"].as_str(),
            t["count"].as_i64()
        ),
        (Some("60000.00000000"), Some("0.01000000"), Some(1))
    );
    let all = e.public("/api/v3/ticker/24hr").await.body;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let f = e.public("/fapi/v1/ticker/24hr?symbol=ETHUSDT").await.body;
    assert_eq!(
        (f["lastPrice"].as_str(), f["count"].as_i64()),
        (Some("3000.00"), Some(0))
    );
    let bad = e.public("/fapi/v1/ticker/24hr?symbol=NOPE").await;
    assert_eq!((bad.status, bad.code()), (400, -1121));
    let p = e.public("/fapi/v1/premiumIndex?symbol=BTCUSDT").await.body;
    assert_eq!(
        (p["markPrice"].as_str(), p["time"].as_i64()),
        (Some("60000.00000000"), Some(T0))
    );
    assert!(p["nextFundingTime"].as_i64().unwrap() > T0);
    let coins = e
        .signed(Method::GET, "/sapi/v1/capital/config/getall", &[])
        .await
        .body;
    let btc = coins
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["coin"] == "BTC")
        .unwrap();
    assert_eq!(btc["free"], "0.51000000");
    assert_eq!(btc["networkList"][0]["withdrawEnable"], false);
}

#[tokio::test]
async fn order_and_trade_history_on_both_markets() {
    let e = env().await;
    let filled = e
        .signed(Method::POST, "/api/v3/order", &market_buy("0.01"))
        .await
        .body;
    let resting = e
        .signed(
            Method::POST,
            "/api/v3/order",
            &limit("BUY", "0.001", "30000", "rest-1"),
        )
        .await
        .body;
    let btc = [("symbol", "BTCUSDT")];
    let orders = e.signed(Method::GET, "/api/v3/allOrders", &btc).await.body;
    let ids: Vec<&Value> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["orderId"])
        .collect();
    assert_eq!(ids, [&filled["orderId"], &resting["orderId"]]);
    let trades = e.signed(Method::GET, "/api/v3/myTrades", &btc).await.body;
    let trades = trades.as_array().unwrap();
    assert_eq!(trades.len(), 1, "the resting order has not traded");
    assert_eq!(
        (
            &trades[0]["orderId"],
            trades[0]["qty"].as_str(),
            trades[0]["quoteQty"].as_str(),
            &trades[0]["isBuyer"]
        ),
        (
            &filled["orderId"],
            Some("0.01000000"),
            Some("600.00000000"),
            &json!(true)
        )
    );
    let missing = e.signed(Method::GET, "/api/v3/myTrades", &[]).await;
    assert_eq!(missing.code(), -1102);
    let bad_limit = e
        .signed(
            Method::GET,
            "/api/v3/allOrders",
            &[("symbol", "BTCUSDT"), ("limit", "5000")],
        )
        .await;
    assert_eq!(bad_limit.code(), -1130);

    // Futures: open 1, close 1 at a higher price; the close realizes the PnL.
    e.signed(Method::POST, "/fapi/v1/order", &futures_market("BUY", "1"))
        .await;
    e.sim.set_price("BTCUSDT", d("61000"));
    e.signed(Method::POST, "/fapi/v1/order", &futures_market("SELL", "1"))
        .await;
    let fills = e
        .signed(Method::GET, "/fapi/v1/userTrades", &btc)
        .await
        .body;
    let fills = fills.as_array().unwrap();
    assert_eq!(fills.len(), 2);
    assert_eq!(
        (fills[0]["side"].as_str(), fills[0]["realizedPnl"].as_str()),
        (Some("BUY"), Some("0.00000000"))
    );
    assert_eq!(
        (fills[1]["price"].as_str(), fills[1]["realizedPnl"].as_str()),
        (Some("61000.00"), Some("1000.00000000"))
    );
    let orders = e.signed(Method::GET, "/fapi/v1/allOrders", &btc).await.body;
    assert_eq!(orders.as_array().unwrap().len(), 2);
    assert_eq!(orders[1]["status"], "FILLED");
    let one = e
        .signed(
            Method::GET,
            "/fapi/v1/allOrders",
            &[("symbol", "BTCUSDT"), ("limit", "1")],
        )
        .await
        .body;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["orderId"], orders[1]["orderId"], "the newest");
}
