//! The Tradovate adapter against the simulator over real HTTP: the OAuth
//! round trip, trading calls, and every failure shape mapped onto the broker
//! error taxonomy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{
    AccountRef, Broker, BrokerError, Clock, ManualClock, OAuthConnector, OrderRequest, OrderState,
    OrderType, Session, Side,
};
use atomik_secrets::Secret;
use atomik_testkit::{code_in, press_authorize};
use atomik_tradovate::{Tradovate, TradovateConfig, TradovateOAuth};
use atomik_tradovate_sim::{self as sim, Fault, SimConfig, TradovateFault};
use rust_decimal::Decimal;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const T0: i64 = 1_795_500_000_000; // 2026-11-24

struct Env {
    clock: ManualClock,
    sim: sim::SimHandle,
    config: TradovateConfig,
    broker: Tradovate,
}

async fn env() -> Env {
    let clock = ManualClock::new(T0);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut cfg = SimConfig::demo(shared.clone());
    cfg.clients[0].redirect_uris.push(REDIRECT.into());
    let sim = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let config = TradovateConfig {
        rest_url: sim.rest_url(),
        auth_url: sim.auth_url(),
        token_url: sim.token_url(),
        client_id: SimConfig::DEMO_CLIENT_ID.into(),
        client_secret: Secret::new(SimConfig::DEMO_CLIENT_SECRET.into()),
        redirect_uri: REDIRECT.into(),
        request_timeout: Duration::from_millis(800),
        max_penalty_wait: Duration::from_secs(2),
    };
    let broker = Tradovate::new(config.clone(), shared);
    Env {
        clock,
        sim,
        config,
        broker,
    }
}

/// Authorize on the simulator's page; returns the callback's code and the verifier.
async fn code(e: &Env) -> (String, String) {
    let connector = TradovateOAuth::new(e.config.clone(), Arc::new(e.clock.clone()));
    let start = connector.start("s1");
    let location = press_authorize(&start.authorize_url, &e.sim.base_url()).await;
    assert!(location.starts_with(REDIRECT) && location.contains("state=s1"));
    let code = code_in(&location);
    (code, start.code_verifier.expose().clone())
}

async fn session(e: &Env) -> Session {
    let (code, verifier) = code(e).await;
    let connector = TradovateOAuth::new(e.config.clone(), Arc::new(e.clock.clone()));
    connector.exchange_code(&code, &verifier).await.unwrap()
}

fn account() -> AccountRef {
    AccountRef {
        id: "5001".into(),
        name: "DEMO5001".into(),
    }
}

async fn order(
    e: &Env,
    s: &Session,
    cl: &str,
    side: Side,
    qty: i64,
) -> Result<String, BrokerError> {
    order_of(e, s, cl, side, Decimal::from(qty)).await
}

async fn order_of(
    e: &Env,
    s: &Session,
    cl: &str,
    side: Side,
    quantity: Decimal,
) -> Result<String, BrokerError> {
    let instrument = e.broker.resolve_instrument(s, "MNQ1!").await.unwrap();
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
                quantity,
                order_type: OrderType::Market,
                reduce_only: false,
            },
        )
        .await
        .map(|a| a.broker_order_id)
}

#[tokio::test]
async fn oauth_round_trip_and_refusals() {
    let e = env().await;
    let s = session(&e).await;
    assert_eq!(s.expires_at_ms(), Some(T0 + 90 * 60_000));
    let connector = TradovateOAuth::new(e.config.clone(), Arc::new(e.clock.clone()));
    // A code is single use; a missing or wrong verifier is refused.
    let (c, v) = code(&e).await;
    assert!(connector.exchange_code(&c, &v).await.is_ok());
    let replay = connector.exchange_code(&c, &v).await.unwrap_err();
    assert!(
        matches!(replay, BrokerError::Rejected { ref code, .. } if code.as_deref() == Some("invalid_grant"))
    );
    let (c, _) = code(&e).await;
    let wrong = connector
        .exchange_code(&c, "not-the-verifier-at-all-0000000000000000000")
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("code_verifier does not match"),
        "{wrong}"
    );
    // Another redirect URI at exchange time is refused.
    let (c, v) = code(&e).await;
    let mut other = e.config.clone();
    other.redirect_uri = "http://127.0.0.1:9/elsewhere".into();
    let err = TradovateOAuth::new(other, Arc::new(e.clock.clone()))
        .exchange_code(&c, &v)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("redirect_uri does not match"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_orders_positions_and_lookup() {
    let e = env().await;
    let s = session(&e).await;
    let report = e.broker.test_connection(&s).await.unwrap();
    assert_eq!(report.accounts.len(), 2);
    assert_eq!(report.balances[0].amount, Decimal::from(50_000));
    assert!(report.can_trade);
    let front = e.broker.resolve_instrument(&s, "MNQ1!").await.unwrap();
    assert_eq!(front.symbol, "MNQZ6");
    assert_eq!(e.broker.resolve_instrument(&s, "mnq").await.unwrap(), front);
    assert_eq!(
        e.broker.resolve_instrument(&s, "MNQZ6").await.unwrap(),
        front
    );

    let id = order(&e, &s, "cl-1", Side::Buy, 3).await.unwrap();
    order(&e, &s, "cl-2", Side::Sell, 1).await.unwrap();
    let pos = e.broker.positions(&s, &account()).await.unwrap();
    assert_eq!(pos.len(), 1);
    assert_eq!(
        (pos[0].symbol.as_str(), pos[0].quantity),
        ("MNQZ6", Decimal::from(2))
    );
    let found = e
        .broker
        .order_by_client_id(&s, &account(), "MNQZ6", "cl-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.broker_order_id, found.state),
        (id, OrderState::Filled)
    );
    assert_eq!(found.filled_quantity, Decimal::from(3));
    assert!(
        e.broker
            .order_by_client_id(&s, &account(), "MNQZ6", "never-sent")
            .await
            .unwrap()
            .is_none()
    );
    // Unknown contract: rejected with Tradovate's reason kept.
    let bad = e
        .broker
        .place_order(
            &s,
            &account(),
            &OrderRequest {
                created_at_ms: 0,
                alert_price: None,
                quantity_unit: atomik_broker::QuantityUnit::Units,
                prepared: None,
                client_order_id: "cl-3".into(),
                instrument: atomik_broker::Instrument {
                    symbol: "ZZZZ9".into(),
                    broker_id: None,
                    quantity_step: Decimal::ONE,
                    can_short: true,
                    max_order_quantity: None,
                    collateral_orders: false,
                },
                side: Side::Buy,
                quantity: Decimal::ONE,
                order_type: OrderType::Market,
                reduce_only: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        bad,
        BrokerError::Rejected {
            code: Some("InvalidContract".into()),
            reason: "Unknown contract symbol ZZZZ9".into()
        }
    );
}

#[tokio::test]
async fn renewal_extends_and_expired_or_revoked_tokens_are_auth_expired() {
    let e = env().await;
    let s = session(&e).await;
    e.clock.advance(80 * 60_000);
    let renewed = e.broker.refresh_credentials(&s).await.unwrap();
    assert_eq!(
        renewed.expires_at_ms(),
        Some(T0 + 80 * 60_000 + 90 * 60_000)
    );
    e.clock.advance(91 * 60_000);
    let err = e.broker.refresh_credentials(&renewed).await.unwrap_err();
    assert!(matches!(err, BrokerError::AuthExpired(_)), "{err}");
    let fresh = session(&e).await;
    e.sim.revoke_all_grants();
    assert!(matches!(
        e.broker.test_connection(&fresh).await,
        Err(BrokerError::AuthExpired(_))
    ));
}

#[tokio::test]
async fn lost_answers_are_ambiguous_and_the_order_is_found_by_lookup() {
    let e = env().await;
    let s = session(&e).await;
    for (i, fault) in [
        Fault::ServerErrorAfter,
        Fault::TimeoutAfter(Duration::from_secs(2)),
        Fault::DropAfter,
    ]
    .into_iter()
    .enumerate()
    {
        e.sim.faults().fail_next(1, fault.clone());
        let cl = format!("amb-{i}");
        let err = order(&e, &s, &cl, Side::Buy, 1).await.unwrap_err();
        assert!(err.maybe_executed(), "{fault:?} → {err}");
        assert_eq!(e.sim.faults().fired(&fault), 1, "{fault:?} fired once");
        let found = e
            .broker
            .order_by_client_id(&s, &account(), "MNQZ6", &cl)
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "{fault:?}: the executed order is found by its client order id"
        );
    }
    // 500 before executing and a timeout before executing: ambiguous for the
    // adapter (it cannot know), and the lookup proves nothing was placed.
    for (i, fault) in [
        Fault::ServerErrorBefore,
        Fault::TimeoutBefore(Duration::from_secs(2)),
    ]
    .into_iter()
    .enumerate()
    {
        e.sim.faults().fail_next(1, fault.clone());
        let cl = format!("none-{i}");
        let err = order(&e, &s, &cl, Side::Buy, 1).await.unwrap_err();
        assert!(err.maybe_executed(), "{fault:?} → {err}");
        assert_eq!(e.sim.faults().fired(&fault), 1, "{fault:?} fired once");
        assert!(
            e.broker
                .order_by_client_id(&s, &account(), "MNQZ6", &cl)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        e.sim.orders().len(),
        3,
        "ledger: exactly the three executed orders"
    );
    assert_eq!(e.sim.faults().fired_total(), 5);
    assert_eq!(e.sim.faults().pending(), 0);
}

#[tokio::test]
async fn penalties_rate_limits_and_unreachable_brokers() {
    let e = env().await;
    let s = session(&e).await;
    // A p-ticket is waited out and the identical request resent with the ticket.
    e.sim.faults().fail_next(
        1,
        Fault::Venue(TradovateFault::Penalty {
            p_time_secs: 1,
            captcha: false,
        }),
    );
    order(&e, &s, "pen-1", Side::Buy, 1).await.unwrap();
    assert_eq!(
        e.sim
            .orders()
            .iter()
            .filter(|o| o.cl_ord_id == "pen-1")
            .count(),
        1
    );
    // Too long a penalty: reported as rate limiting, nothing sent twice.
    e.sim.faults().fail_next(
        1,
        Fault::Venue(TradovateFault::Penalty {
            p_time_secs: 60,
            captcha: false,
        }),
    );
    let err = order(&e, &s, "pen-2", Side::Buy, 1).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60))
    );
    // A captcha needs a human.
    e.sim.faults().fail_next(
        1,
        Fault::Venue(TradovateFault::Penalty {
            p_time_secs: 1,
            captcha: true,
        }),
    );
    let err = order(&e, &s, "pen-3", Side::Buy, 1).await.unwrap_err();
    assert!(matches!(err, BrokerError::NeedsAttention(_)), "{err}");
    assert_eq!(e.sim.faults().fired_kind("penalty"), 3);
    // 429: rate limited, and no further call until the lock-out passes.
    e.sim.faults().fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 120,
        },
    );
    let err = order(&e, &s, "rl-1", Side::Buy, 1).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120))
    );
    let before = e.sim.orders().len();
    let err = e.broker.test_connection(&s).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::RateLimited { .. }),
        "locked out locally: {err}"
    );
    e.clock.advance(121_000);
    order(&e, &s, "rl-2", Side::Buy, 1).await.unwrap();
    assert_eq!(e.sim.orders().len(), before + 1);
    assert_eq!(e.sim.faults().fired_kind("too_many_requests"), 1);
    assert_eq!(e.sim.faults().fired_total(), 4);
    // Nothing listening: not sent.
    let mut dead = e.config.clone();
    dead.rest_url = "http://127.0.0.1:1/v1".into();
    let err = Tradovate::new(dead, Arc::new(e.clock.clone()))
        .test_connection(&s)
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::NotSent(_)), "{err}");
}

#[tokio::test]
async fn the_auth_rate_limit_is_reported_and_tokens_never_reach_errors() {
    let clock = ManualClock::new(T0);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut cfg = SimConfig::demo(shared.clone());
    cfg.clients[0].redirect_uris.push(REDIRECT.into());
    cfg.auth_rate_limit = Some((2, Duration::from_secs(60)));
    let sim = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut e = env().await;
    e.sim = sim;
    e.config.rest_url = e.sim.rest_url();
    e.config.auth_url = e.sim.auth_url();
    e.config.token_url = e.sim.token_url();
    e.clock = clock;
    e.broker = Tradovate::new(e.config.clone(), shared);
    let s = session(&e).await; // auth call 1
    let token = match &s {
        Session::OAuth { access_token, .. } => access_token.expose().clone(),
        _ => unreachable!(),
    };
    e.broker.refresh_credentials(&s).await.unwrap(); // auth call 2
    let err = e.broker.refresh_credentials(&s).await.unwrap_err();
    assert!(matches!(err, BrokerError::RateLimited { .. }), "{err}");
    let mut texts = vec![format!("{err:?}"), err.to_string(), format!("{s:?}")];
    e.sim.faults().fail_next(1, Fault::ServerErrorAfter);
    e.clock.advance(3_600_000);
    texts.push(format!("{:?}", e.broker.refresh_credentials(&s).await));
    assert_eq!(e.sim.faults().fired(&Fault::ServerErrorAfter), 1);
    for t in texts {
        assert!(!t.contains(&token), "token leaked into {t}");
    }
}

#[tokio::test]
async fn quantities_are_sent_exactly_or_refused_never_clamped() {
    let e = env().await;
    let s = session(&e).await;
    let d = |v: &str| v.parse::<Decimal>().unwrap();
    for (qty, says) in [
        (d("100000000000000000000"), "more than"),
        (d("1.5"), "whole contracts"),
        (d("0"), "positive"),
        (d("-2"), "positive"),
    ] {
        let err = order_of(&e, &s, "q", Side::Buy, qty).await.unwrap_err();
        assert!(
            matches!(&err, BrokerError::Rejected { reason, .. } if reason.contains(says)),
            "{qty}: {err:?}"
        );
    }
    assert!(e.sim.orders().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn orders_beyond_buying_power_are_refused_as_tradovate_does() {
    let e = env().await;
    let s = session(&e).await;
    // 1,000,000 MNQ on a $50,000 account: refused, nothing placed.
    let err = order(&e, &s, "huge", Side::Buy, 1_000_000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BrokerError::Rejected { code, reason }
            if code.as_deref() == Some("OtherExecutionRelated") && reason.contains("Insufficient buying power")),
        "{err:?}"
    );
    assert!(e.sim.orders().is_empty());
    // MNQ's $100 initial margin: 500 contracts use the $50,000 exactly …
    order(&e, &s, "all-in", Side::Buy, 500).await.unwrap();
    // … one more is refused, reducing is always allowed, and flipping to a
    // short larger than the account carries is refused.
    let err = order(&e, &s, "one-more", Side::Buy, 1).await.unwrap_err();
    assert!(matches!(err, BrokerError::Rejected { .. }), "{err:?}");
    order(&e, &s, "reduce", Side::Sell, 200).await.unwrap();
    let err = order(&e, &s, "flip", Side::Sell, 1_000).await.unwrap_err();
    assert!(matches!(err, BrokerError::Rejected { .. }), "{err:?}");
    let placed: Vec<String> = e.sim.orders().iter().map(|o| o.cl_ord_id.clone()).collect();
    assert_eq!(placed, ["all-in", "reduce"]);
    assert_eq!(e.sim.positions(5001)[0].net_pos, 300);
}
