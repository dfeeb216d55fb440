//! The Binance adapter against the simulator over loopback: orders on both
//! markets, every failure shape Binance has (5xx, timeouts, dropped
//! answers, 429, 418, bad keys and signatures, filters, a skewed clock) and
//! what the engine is told about each.

use std::sync::Arc;
use std::time::Duration;

use atomik_binance::{Binance, BinanceConfig};
use atomik_binance_sim::{self as sim, BinanceFault, Fault, SimConfig, SimKey, SimSecret};
use atomik_broker::{
    AccountRef, Broker, BrokerError, Instrument, OrderRequest, OrderState, OrderType, Session,
    Side, SystemClock,
};
use atomik_secrets::Secret;
use rust_decimal::Decimal;

struct Env {
    sim: sim::SimHandle,
    broker: Binance,
}

async fn env_with(adjust: impl FnOnce(&mut SimConfig), timeout: Duration) -> Env {
    let mut config = SimConfig::demo(Arc::new(SystemClock));
    adjust(&mut config);
    let sim = sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut bc = BinanceConfig::single(&sim.base_url());
    bc.request_timeout = timeout;
    let broker = Binance::new(bc, Arc::new(SystemClock));
    Env { sim, broker }
}

async fn env() -> Env {
    env_with(|_| {}, Duration::from_secs(5)).await
}

fn session(key: &str, secret: &str) -> Session {
    Session::ApiKey {
        key: Secret::new(key.into()),
        secret: Secret::new(secret.into()),
        passphrase: None,
    }
}

fn demo() -> Session {
    session(SimConfig::DEMO_API_KEY, SimConfig::DEMO_SECRET_KEY)
}

fn account() -> AccountRef {
    AccountRef {
        id: "7001".into(),
        name: "7001".into(),
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn instrument(e: &Env, symbol: &str) -> Instrument {
    e.broker.resolve_instrument(&demo(), symbol).await.unwrap()
}

async fn place(
    e: &Env,
    s: &Session,
    symbol: &str,
    cl: &str,
    side: Side,
    qty: &str,
    order_type: OrderType,
) -> Result<String, BrokerError> {
    let instrument = instrument(e, symbol).await;
    e.broker
        .place_order(
            s,
            &account(),
            &OrderRequest {
                created_at_ms: 0,
                alert_price: None,
                quantity_unit: atomik_broker::QuantityUnit::Units,
                prepared: None,
                client_order_id: cl.into(),
                instrument,
                side,
                quantity: d(qty),
                order_type,
                reduce_only: false,
            },
        )
        .await
        .map(|a| a.broker_order_id)
}

#[tokio::test]
async fn instruments_carry_their_market_rules() {
    let e = env().await;
    let spot = instrument(&e, "BTCUSDT").await;
    assert_eq!((spot.symbol.as_str(), spot.can_short), ("BTCUSDT", false));
    let perp = instrument(&e, "BINANCE:BTCUSDT.P").await;
    assert_eq!((perp.symbol.as_str(), perp.can_short), ("BTCUSDT.P", true));
    assert!(perp.quantity_step > Decimal::ZERO && perp.quantity_step < Decimal::ONE);
    let unknown = e
        .broker
        .resolve_instrument(&demo(), "NOPEUSDT")
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, BrokerError::Rejected { reason, .. } if reason.contains("NOPEUSDT")),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn orders_are_placed_looked_up_and_cancelled_on_both_markets() {
    let e = env().await;
    let s = demo();
    let id = place(
        &e,
        &s,
        "BTCUSDT.P",
        "fut-1",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap();
    let found = e
        .broker
        .order_by_client_id(&s, &account(), "BTCUSDT.P", "fut-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.broker_order_id.as_str(),
            found.state,
            found.filled_quantity
        ),
        (id.as_str(), OrderState::Filled, d("0.01"))
    );
    assert!(found.average_price.is_some());
    let perp = instrument(&e, "BTCUSDT.P").await;
    assert_eq!(
        e.broker.position(&s, &account(), &perp).await.unwrap(),
        d("0.01")
    );
    assert_eq!(
        e.broker.positions(&s, &account()).await.unwrap()[0].symbol,
        "BTCUSDT.P"
    );
    // A spot limit order far from the market rests until cancelled.
    let resting = place(
        &e,
        &s,
        "BTCUSDT",
        "spot-1",
        Side::Buy,
        "0.001",
        OrderType::Limit { price: d("30000") },
    )
    .await
    .unwrap();
    let working = e
        .broker
        .order_by_client_id(&s, &account(), "BTCUSDT", "spot-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(working.state, OrderState::Working);
    e.broker
        .cancel_order(&s, &account(), "BTCUSDT", &resting)
        .await
        .unwrap();
    let cancelled = e
        .broker
        .order_by_client_id(&s, &account(), "BTCUSDT", "spot-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Canceled);
    assert_eq!(
        e.broker
            .order_by_client_id(&s, &account(), "BTCUSDT", "never-sent")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn lost_answers_are_ambiguous_and_the_lookup_tells_the_truth() {
    let e = env_with(|_| {}, Duration::from_millis(500)).await;
    let s = demo();
    let cases = [
        (Fault::ServerErrorAfter, true),
        (Fault::DropAfter, true),
        (Fault::TimeoutAfter(Duration::from_secs(2)), true),
        (Fault::ServerErrorBefore, false),
        (Fault::TimeoutBefore(Duration::from_secs(2)), false),
    ];
    for (n, (fault, executed)) in cases.into_iter().enumerate() {
        e.sim.faults().fail_next(1, fault.clone());
        let cl = format!("amb-{n}");
        let err = place(
            &e,
            &s,
            "BTCUSDT.P",
            &cl,
            Side::Buy,
            "0.01",
            OrderType::Market,
        )
        .await
        .unwrap_err();
        assert!(err.maybe_executed(), "{fault:?} → {err:?}");
        assert_eq!(e.sim.faults().fired(&fault), 1, "{fault:?} fired once");
        let found = e
            .broker
            .order_by_client_id(&s, &account(), "BTCUSDT.P", &cl)
            .await
            .unwrap();
        assert_eq!(found.is_some(), executed, "{fault:?}");
    }
    assert_eq!(e.sim.faults().fired_total(), 5);
}

#[tokio::test]
async fn a_reused_client_order_id_of_an_open_order_is_ambiguous_not_rejected() {
    let e = env().await;
    let s = demo();
    let limit = OrderType::Limit { price: d("30000") };
    place(
        &e,
        &s,
        "BTCUSDT",
        "dup-1",
        Side::Buy,
        "0.001",
        limit.clone(),
    )
    .await
    .unwrap();
    let again = place(&e, &s, "BTCUSDT", "dup-1", Side::Buy, "0.001", limit)
        .await
        .unwrap_err();
    assert!(again.maybe_executed(), "{again:?}");
    // Futures says it with another code (-4116).
    let limit = OrderType::Limit { price: d("30000") };
    place(
        &e,
        &s,
        "BTCUSDT.P",
        "dup-2",
        Side::Buy,
        "0.01",
        limit.clone(),
    )
    .await
    .unwrap();
    let again = place(&e, &s, "BTCUSDT.P", "dup-2", Side::Buy, "0.01", limit)
        .await
        .unwrap_err();
    assert!(again.maybe_executed(), "{again:?}");
    assert_eq!(e.sim.orders().len(), 2);
}

#[tokio::test]
async fn rate_limit_answers_stop_calls_for_as_long_as_binance_says() {
    let e = env().await;
    let s = demo();
    e.sim.faults().fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    let err = place(
        &e,
        &s,
        "BTCUSDT.P",
        "rl-1",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BrokerError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(1)),
        "{err:?}"
    );
    assert_eq!(e.sim.faults().fired_kind("too_many_requests"), 1);
    let seen = e.sim.rejections().len();
    let held = place(
        &e,
        &s,
        "BTCUSDT.P",
        "rl-2",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await;
    // Held client-side (within the inline wait) or refused, but never sent during the back-off.
    assert!(held.is_ok() || matches!(held, Err(BrokerError::RateLimited { .. })));
    assert_eq!(
        e.sim.rejections().len(),
        seen,
        "no call reached Binance during the back-off"
    );
    // 418: banned; nothing is sent until the ban ends.
    e.sim.faults().fail_next(
        1,
        Fault::Venue(BinanceFault::Banned {
            retry_after_secs: 30,
        }),
    );
    let ban = place(
        &e,
        &s,
        "BTCUSDT.P",
        "ban-1",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&ban, BrokerError::RateLimited { retry_after, .. } if *retry_after == Duration::from_secs(30)),
        "{ban:?}"
    );
    assert_eq!(e.sim.faults().fired_kind("banned"), 1);
    let orders = e.sim.orders().len();
    let during = place(
        &e,
        &s,
        "BTCUSDT.P",
        "ban-2",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&during, BrokerError::RateLimited { reason, .. } if reason.contains("banned")),
        "{during:?}"
    );
    assert_eq!(e.sim.orders().len(), orders);
    assert!(!ban.maybe_executed());
}

#[tokio::test]
async fn bad_keys_and_signatures_say_what_is_wrong() {
    let e = env_with(
        |c| {
            c.keys.push(SimKey {
                api_key: "readonly-key".into(),
                secret: SimSecret::Hmac("readonly-secret".into()),
                uid: 7002,
                can_trade: false,
                enable_futures: false,
                ip_restricted: true,
                spot_balances: vec![("USDT".into(), d("100"))],
                futures_wallet_usdt: Decimal::ZERO,
            })
        },
        Duration::from_secs(5),
    )
    .await;
    let unknown = e
        .broker
        .test_connection(&session("no-such-key", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, BrokerError::AuthExpired(m) if m.contains("API Management")),
        "{unknown:?}"
    );
    let wrong = e
        .broker
        .test_connection(&session(SimConfig::DEMO_API_KEY, "not-the-secret"))
        .await
        .unwrap_err();
    assert!(
        matches!(&wrong, BrokerError::Misconfigured(m) if m.contains("signature")),
        "{wrong:?}"
    );
    assert!(!format!("{wrong:?}").contains("not-the-secret"));
    let readonly = session("readonly-key", "readonly-secret");
    let report = e.broker.test_connection(&readonly).await.unwrap();
    assert!(!report.can_trade);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("restricted to trusted IPs")),
        "{:?}",
        report.notes
    );
    let refused = place(
        &e,
        &readonly,
        "BTCUSDT",
        "ro-1",
        Side::Buy,
        "0.001",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, BrokerError::AuthExpired(_)),
        "{refused:?}"
    );
    let pem = session(
        SimConfig::DEMO_API_KEY,
        "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----",
    );
    let malformed = e.broker.test_connection(&pem).await.unwrap_err();
    assert!(
        matches!(&malformed, BrokerError::Misconfigured(m) if m.contains("Ed25519")),
        "{malformed:?}"
    );
}

#[tokio::test]
async fn test_connection_shows_permissions_balances_and_ip_restriction() {
    let e = env().await;
    let report = e.broker.test_connection(&demo()).await.unwrap();
    assert!(report.can_trade);
    assert_eq!(report.user_id, "7001");
    assert_eq!(report.balances[0].currency, "USDT");
    assert!(
        report
            .balances
            .iter()
            .any(|b| b.currency == "USDT (futures)")
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("Spot trading: enabled"))
    );
    assert!(
        report.notes.iter().any(|n| n.contains("not IP-restricted")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn ed25519_keys_sign_orders() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("vectors/binance.json")).unwrap();
    let case = &vectors["ed25519"][0];
    let e = env_with(
        |c| {
            c.keys.push(SimKey {
                api_key: "ed-key".into(),
                secret: SimSecret::Ed25519 {
                    public_key: case["public_key_der_base64"].as_str().unwrap().into(),
                },
                uid: 7003,
                can_trade: true,
                enable_futures: true,
                ip_restricted: true,
                spot_balances: vec![("USDT".into(), d("1000"))],
                futures_wallet_usdt: d("1000"),
            })
        },
        Duration::from_secs(5),
    )
    .await;
    let s = session("ed-key", case["private_key_pem"].as_str().unwrap());
    assert!(e.broker.test_connection(&s).await.unwrap().can_trade);
    place(
        &e,
        &s,
        "BTCUSDT",
        "ed-1",
        Side::Buy,
        "0.001",
        OrderType::Market,
    )
    .await
    .unwrap();
    assert_eq!(e.sim.spot_free("ed-key", "BTC"), d("0.001"));
}

#[tokio::test]
async fn orders_that_cannot_be_valid_are_refused_before_sending() {
    let e = env().await;
    let s = demo();
    let tiny = place(
        &e,
        &s,
        "BTCUSDT",
        "tiny",
        Side::Buy,
        "0.0000001",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&tiny, BrokerError::Rejected { reason, .. } if reason.contains("LOT_SIZE")),
        "{tiny:?}"
    );
    let cheap = place(
        &e,
        &s,
        "BTCUSDT",
        "cheap",
        Side::Buy,
        "0.00001",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&cheap, BrokerError::Rejected { reason, .. } if reason.contains("NOTIONAL")),
        "{cheap:?}"
    );
    let off_tick = place(
        &e,
        &s,
        "BTCUSDT",
        "tick",
        Side::Buy,
        "0.001",
        OrderType::Limit {
            price: d("30000.001"),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&off_tick, BrokerError::Rejected { reason, .. } if reason.contains("PRICE_FILTER")),
        "{off_tick:?}"
    );
    assert!(e.sim.orders().is_empty());
    assert!(
        e.sim.rejections().is_empty(),
        "nothing invalid reached Binance"
    );
    // The venue's own refusals keep Binance's words.
    let broke = place(
        &e,
        &s,
        "BTCUSDT",
        "broke",
        Side::Buy,
        "100",
        OrderType::Market,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&broke, BrokerError::Rejected { reason, code } if reason.contains("insufficient balance") && code.as_deref() == Some("-2010")),
        "{broke:?}"
    );
}

#[tokio::test]
async fn a_skewed_venue_clock_is_measured_before_signing() {
    let e = env().await;
    e.sim.set_clock_skew_ms(-3_000);
    place(
        &e,
        &demo(),
        "BTCUSDT.P",
        "skew-1",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap();
    e.sim.set_clock_skew_ms(4_000);
    // The stale offset makes the next timestamp 4 s old: still inside recvWindow.
    place(
        &e,
        &demo(),
        "BTCUSDT.P",
        "skew-2",
        Side::Sell,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap();
    e.sim.set_clock_skew_ms(-8_000);
    // Now 12 s ahead of the venue: -1021, re-measured, sent again.
    place(
        &e,
        &demo(),
        "BTCUSDT.P",
        "skew-3",
        Side::Buy,
        "0.01",
        OrderType::Market,
    )
    .await
    .unwrap();
    assert_eq!(e.sim.orders().len(), 3);
    assert!(e.sim.rejections().iter().any(|(_, c)| *c == -1021));
}
