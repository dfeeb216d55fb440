//! Each fault fires, is counted, and the ledger shows what happened.

mod common;

use atomik_polymarket_sim::{Fault, OrderStatus, PolymarketFault, TradingMode};
use common::*;
use polymarket_client_sdk_v2::clob::types::{Amount, OrderStatusType, OrderType, Side};
use polymarket_client_sdk_v2::types::Decimal;
use reqwest::Method;
use serde_json::json;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn limit_buy(
    e: &Env,
) -> polymarket_client_sdk_v2::Result<
    polymarket_client_sdk_v2::clob::types::response::PostOrderResponse,
> {
    e.client
        .limit_order()
        .token_id(e.yes())
        .side(Side::Buy)
        .price(d("0.5"))
        .size(d("10"))
        .build_sign_and_post(&e.signer)
        .await
}

async fn market_buy(
    e: &Env,
    usdc: &str,
) -> polymarket_client_sdk_v2::Result<
    polymarket_client_sdk_v2::clob::types::response::PostOrderResponse,
> {
    e.client
        .market_order()
        .token_id(e.yes())
        .side(Side::Buy)
        .amount(Amount::usdc(d(usdc)).unwrap())
        .order_type(OrderType::FOK)
        .build_sign_and_post(&e.signer)
        .await
}

#[tokio::test]
async fn trading_disabled_and_cancel_only_refuse_one_order_each() {
    let e = env().await;
    e.sim
        .faults()
        .fail_next(1, Fault::Venue(PolymarketFault::TradingDisabled));
    e.sim
        .faults()
        .fail_next(1, Fault::Venue(PolymarketFault::CancelOnly));
    let err = limit_buy(&e).await.unwrap_err();
    assert_eq!(
        status_of(&err),
        Some((
            503,
            r#"{"error":"Trading is currently disabled. Check polymarket.com for updates"}"#.into()
        ))
    );
    let err = limit_buy(&e).await.unwrap_err();
    let (code, msg) = status_of(&err).unwrap();
    assert_eq!(code, 503);
    assert!(msg.contains("Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."), "{msg}");
    assert!(e.sim.orders().is_empty(), "nothing placed");
    assert_eq!(e.sim.faults().fired_kind("trading_disabled"), 1);
    assert_eq!(e.sim.faults().fired_kind("cancel_only"), 1);
    assert_eq!(
        limit_buy(&e).await.unwrap().status,
        OrderStatusType::Live,
        "faults spent"
    );
}

#[tokio::test]
async fn cancel_only_mode_refuses_orders_but_cancels_and_disabled_refuses_both() {
    let e = env().await;
    let live = limit_buy(&e).await.unwrap();
    e.sim.set_trading_mode(TradingMode::Disabled);
    let err = e.client.cancel_order(&live.order_id).await.unwrap_err();
    assert_eq!(status_of(&err).unwrap().0, 503);
    e.sim.set_trading_mode(TradingMode::CancelOnly);
    assert_eq!(status_of(&limit_buy(&e).await.unwrap_err()).unwrap().0, 503);
    let c = e.client.cancel_order(&live.order_id).await.unwrap();
    assert_eq!(c.canceled, vec![live.order_id.clone()]);
    assert_eq!(e.sim.orders().len(), 1);
    assert_eq!(e.sim.orders()[0].status, OrderStatus::Canceled);
}

#[tokio::test]
async fn too_many_requests_answers_429_without_executing() {
    let e = env().await;
    e.sim.faults().fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
    );
    let err = market_buy(&e, "11.2").await.unwrap_err();
    assert_eq!(
        status_of(&err),
        Some((429, r#"{"error":"Too Many Requests"}"#.into()))
    );
    assert!(e.sim.orders().is_empty() && e.sim.trades().is_empty());
    assert_eq!(e.sim.faults().fired_kind("too_many_requests"), 1);
}

#[tokio::test]
async fn a_response_dropped_after_a_match_leaves_the_fill_in_the_ledger() {
    let e = env().await;
    e.sim.faults().fail_next(1, Fault::DropAfter);
    let err = market_buy(&e, "11.2").await.unwrap_err();
    assert!(
        status_of(&err).is_none(),
        "a transport error, not an answer: {err}"
    );
    assert_eq!(e.sim.faults().fired_kind("drop_after"), 1);
    let orders = e.sim.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, OrderStatus::Matched);
    assert_eq!(e.sim.trades().len(), 1);
    assert_eq!(e.sim.position(e.me, &e.rain.tokens[0].token_id), dec("20"));
    // The client can settle the ambiguity by looking the order up.
    let found = e.client.order(&orders[0].id).await.unwrap();
    assert_eq!(found.status, OrderStatusType::Matched);
}

#[tokio::test]
async fn a_delayed_order_matches_only_when_released() {
    let e = env().await;
    e.sim
        .faults()
        .fail_next(1, Fault::Venue(PolymarketFault::Delayed));
    let r = market_buy(&e, "11.2").await.unwrap();
    assert_eq!(r.status, OrderStatusType::Delayed);
    assert_eq!(
        e.sim.order(&r.order_id).unwrap().status,
        OrderStatus::Delayed
    );
    assert!(e.sim.trades().is_empty());
    assert_eq!(e.sim.faults().fired_kind("delayed"), 1);
    let released = e.raw(Method::POST, "/_sim/release-delayed", "").await;
    assert_eq!(released.body, json!({"released": 1}));
    assert_eq!(
        e.sim.order(&r.order_id).unwrap().status,
        OrderStatus::Matched
    );
    assert_eq!(e.sim.trades().len(), 1);
}

#[tokio::test]
async fn venue_faults_and_simkit_faults_can_be_queued_over_http() {
    let e = env().await;
    let q = e
        .raw(
            Method::POST,
            "/_sim/venue-faults",
            r#"{"kind":"trading_disabled","count":2}"#,
        )
        .await;
    assert_eq!((q.status, q.body["pending"].as_u64()), (200, Some(2)));
    let q = e
        .raw(
            Method::POST,
            "/_sim/faults",
            r#"{"queue":[{"kind":"server_error_before"}]}"#,
        )
        .await;
    assert_eq!(q.status, 200, "{:?}", q.body);
    for expected in [503, 503, 500] {
        assert_eq!(
            status_of(&limit_buy(&e).await.unwrap_err()).unwrap().0,
            expected
        );
    }
    let shown = e.raw(Method::GET, "/_sim/faults", "").await;
    assert_eq!(shown.body["fired"]["trading_disabled"], 2);
    assert_eq!(shown.body["fired"]["server_error_before"], 1);
    let bad = e
        .raw(Method::POST, "/_sim/venue-faults", r#"{"kind":"nap"}"#)
        .await;
    assert_eq!(bad.status, 400);
    assert!(e.sim.orders().is_empty());
}
