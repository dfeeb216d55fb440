//! The Polymarket adapter against the CLOB simulator over real HTTP:
//! connect, markets by slug, FOK market orders with a bounded price,
//! positions from the conditional-token balance, exactly-once lookup by the
//! order hash, and each fault the CLOB has.

use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{
    AccountRef, ApiCredentials, Broker, BrokerError, Instrument, OrderRequest, OrderState,
    OrderType, Session, Side, SystemClock,
};
use atomik_polymarket::{Polymarket, PolymarketConfig};
use atomik_polymarket_sim::{self as sim, Fault, PolymarketFault, SimConfig, TradingMode};
use atomik_secrets::Secret;
use rust_decimal::Decimal;

struct Env {
    sim: sim::SimHandle,
    broker: Polymarket,
}

async fn env_with(config: SimConfig) -> Env {
    let sim = sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut pm = PolymarketConfig::simulator(&sim.base_url());
    pm.timeout = Duration::from_secs(2);
    let broker = Polymarket::new(pm, Arc::new(SystemClock));
    Env { sim, broker }
}

async fn env() -> Env {
    env_with(SimConfig::demo(Arc::new(SystemClock))).await
}

fn wallet(signature_type: u8, funder: &str) -> Session {
    Session::Wallet {
        private_key: Secret::new(SimConfig::DEMO_PRIVATE_KEY.into()),
        signature_type,
        funder: funder.into(),
        api: None,
    }
}

fn demo() -> Session {
    wallet(0, "")
}

fn account() -> AccountRef {
    let a = SimConfig::DEMO_ADDRESS.to_checksum(None);
    AccountRef {
        id: a.clone(),
        name: a,
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn yes_token(e: &Env, slug: &str) -> String {
    let _ = e;
    SimConfig::demo(Arc::new(SystemClock))
        .market(slug)
        .unwrap()
        .tokens[0]
        .token_id
        .clone()
}

fn order(instrument: &Instrument, side: Side, qty: &str, coid: &str) -> OrderRequest {
    OrderRequest {
        client_order_id: coid.into(),
        created_at_ms: 1_790_000_000_000,
        instrument: instrument.clone(),
        side,
        quantity: d(qty),
        order_type: OrderType::Market,
        reduce_only: false,
        alert_price: None,
        quantity_unit: atomik_broker::QuantityUnit::Units,
        prepared: None,
    }
}

async fn rain(e: &Env) -> Instrument {
    e.broker
        .resolve_instrument(&demo(), "will-it-rain-tomorrow:YES")
        .await
        .unwrap()
}

#[tokio::test]
async fn test_connection_shows_signer_funder_version_and_collateral() {
    let e = env().await;
    let report = e.broker.test_connection(&demo()).await.unwrap();
    let addr = SimConfig::DEMO_ADDRESS.to_checksum(None);
    assert_eq!(report.user_id, addr);
    assert!(report.can_trade);
    assert_eq!(report.balances[0].currency, "pUSD");
    assert_eq!(report.balances[0].amount, d("1000"));
    let notes = report.notes.join(" ");
    assert!(notes.contains(&format!("Signer {addr}")), "{notes}");
    assert!(notes.contains("CLOB API version 2"), "{notes}");
    assert!(notes.contains("derived from the wallet"), "{notes}");
    assert!(notes.contains("approved for the exchanges"), "{notes}");
}

#[tokio::test]
async fn a_wrong_funder_or_key_is_explained_in_words() {
    let e = env().await;
    // Proxy wallet type with the signer itself as funder.
    let own = SimConfig::DEMO_ADDRESS.to_checksum(None);
    let err = e
        .broker
        .test_connection(&wallet(1, &own))
        .await
        .unwrap_err();
    let BrokerError::Misconfigured(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("choose signature type EOA"), "{why}");
    assert!(!why.to_lowercase().contains("invalid signature"), "{why}");
    // A private key that is not one.
    let bad = Session::Wallet {
        private_key: Secret::new("0x1234".into()),
        signature_type: 0,
        funder: String::new(),
        api: None,
    };
    let err = e.broker.test_connection(&bad).await.unwrap_err();
    assert!(err.to_string().contains("64 hexadecimal digits"), "{err}");
    assert!(
        !err.to_string().contains("0x1234"),
        "the key is never echoed: {err}"
    );
    // API credentials of nobody.
    let foreign = Session::Wallet {
        private_key: Secret::new(SimConfig::DEMO_PRIVATE_KEY.into()),
        signature_type: 0,
        funder: String::new(),
        api: Some(ApiCredentials {
            key: Secret::new("00000000-0000-4000-8000-000000000000".into()),
            secret: Secret::new("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw==".into()),
            passphrase: Secret::new("nope".into()),
        }),
    };
    let err = e.broker.test_connection(&foreign).await.unwrap_err();
    assert!(
        err.to_string().contains("do not belong to the wallet"),
        "{err}"
    );
}

#[tokio::test]
async fn a_v1_clob_refuses_to_trade() {
    let mut config = SimConfig::demo(Arc::new(SystemClock));
    config.version = 1;
    let e = env_with(config).await;
    let err = e.broker.test_connection(&demo()).await.unwrap_err();
    assert!(err.to_string().contains("takes only V1 orders"), "{err}");
    let i = rain(&e).await;
    let err = e
        .broker
        .prepare_order(&demo(), &account(), &order(&i, Side::Buy, "10", "v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::Misconfigured(_)), "{err:?}");
    assert!(e.sim.orders().is_empty());
}

#[tokio::test]
async fn markets_resolve_by_slug_and_outcome_or_token_id() {
    let e = env().await;
    let token = yes_token(&e, SimConfig::RAIN);
    let i = rain(&e).await;
    assert_eq!(i.broker_id.as_deref(), Some(token.as_str()));
    assert_eq!(
        i.symbol,
        format!("will-it-rain-tomorrow:YES [token {token}]")
    );
    assert!(!i.can_short);
    assert_eq!(i.quantity_step, d("0.01"));
    let by_token = e.broker.resolve_instrument(&demo(), &token).await.unwrap();
    assert_eq!(by_token.broker_id, i.broker_id);
    // What atomik stored resolves back to the same token.
    let again = e
        .broker
        .resolve_instrument(&demo(), &i.symbol)
        .await
        .unwrap();
    assert_eq!(again.broker_id, i.broker_id);
    let err = e
        .broker
        .resolve_instrument(&demo(), "will-it-snow-tomorrow:YES")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no market with the slug"), "{err}");
    let err = e
        .broker
        .resolve_instrument(&demo(), "will-it-rain-tomorrow:MAYBE")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("its outcomes are Yes, No"),
        "{err}"
    );
    let err = e
        .broker
        .resolve_instrument(&demo(), "123")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no Polymarket market trades token 123"),
        "{err}"
    );
}

#[tokio::test]
async fn a_market_buy_fills_fill_or_kill_within_its_bound_and_the_position_follows() {
    let e = env().await;
    let i = rain(&e).await;
    let before = e.broker.position(&demo(), &account(), &i).await.unwrap();
    assert_eq!(before, d("100"));
    let mut request = order(&i, Side::Buy, "10", "intent-buy-1");
    let prepared = e
        .broker
        .prepare_order(&demo(), &account(), &request)
        .await
        .unwrap()
        .expect("Polymarket prepares its orders");
    // Deterministic: the same intent gives the same order hash.
    let again = e
        .broker
        .prepare_order(&demo(), &account(), &request)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prepared, again);
    request.prepared = Some(prepared.clone());
    let ack = e
        .broker
        .place_order(&demo(), &account(), &request)
        .await
        .unwrap();
    assert_eq!(ack.broker_order_id, prepared.broker_order_id);
    let fill = ack.fill.expect("a matched FOK reports its fill");
    assert_eq!(fill.quantity, d("10"));
    assert_eq!(
        fill.average_price,
        d("0.56"),
        "filled at the resting ask, not the bound"
    );
    let o = e
        .sim
        .order(&prepared.broker_order_id)
        .expect("in the ledger");
    assert_eq!(o.order_type, "FOK");
    assert_eq!(
        o.price,
        d("0.61"),
        "worst price: best ask 0.56 + 0.05 slippage"
    );
    let after = e.broker.position(&demo(), &account(), &i).await.unwrap();
    assert_eq!(after, d("110"));
    let positions = e.broker.positions(&demo(), &account()).await.unwrap();
    let p = positions
        .iter()
        .find(|p| p.symbol == i.symbol)
        .expect("listed");
    assert_eq!(p.quantity, d("110"));
    // A SELL of half the shares held.
    let sell = order(&i, Side::Sell, "55", "intent-sell-1");
    let ack = e
        .broker
        .place_order(&demo(), &account(), &sell)
        .await
        .unwrap();
    assert_eq!(ack.fill.unwrap().average_price, d("0.54"));
    assert_eq!(
        e.broker.position(&demo(), &account(), &i).await.unwrap(),
        d("55")
    );
}

#[tokio::test]
async fn a_buy_by_collateral_spends_at_most_that_much_for_the_shares_it_gets() {
    let e = env().await;
    let i = rain(&e).await;
    assert!(i.collateral_orders, "Polymarket buys may be sized in pUSD");
    let mut request = order(&i, Side::Buy, "25", "intent-spend-25");
    request.quantity_unit = atomik_broker::QuantityUnit::Collateral;
    let ack = e
        .broker
        .place_order(&demo(), &account(), &request)
        .await
        .unwrap();
    let o = e.sim.order(&ack.broker_order_id).expect("in the ledger");
    // At the worst price (0.56 + 0.05) 25 pUSD buy 40.9836 shares; the
    // order fills at the resting ask, 0.56, so it spends less than 25.
    assert_eq!(
        (o.order_type.as_str(), o.original_size),
        ("FOK", d("40.9836"))
    );
    let fill = ack.fill.expect("a matched FOK reports its fill");
    assert_eq!(
        (fill.quantity, fill.average_price),
        (d("40.9836"), d("0.56"))
    );
    assert!(fill.quantity * fill.average_price <= d("25"));
    assert_eq!(
        e.broker.position(&demo(), &account(), &i).await.unwrap(),
        d("140.9836")
    );
    // Sells are sized in shares held, never in collateral.
    let mut sell = order(&i, Side::Sell, "5", "intent-sell-by-collateral");
    sell.quantity_unit = atomik_broker::QuantityUnit::Collateral;
    let err = e
        .broker
        .place_order(&demo(), &account(), &sell)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sized in shares held"), "{err}");
}

#[tokio::test]
async fn an_alert_price_is_the_limit_and_a_thin_book_sends_nothing() {
    let e = env().await;
    let i = rain(&e).await;
    let mut request = order(&i, Side::Buy, "10", "alert-price");
    request.alert_price = Some(d("0.5"));
    let err = e
        .broker
        .prepare_order(&demo(), &account(), &request)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at 0.5 or better"), "{err}");
    // The book holds 500 asks up to 0.61: 600 cannot fill.
    let err = e
        .broker
        .prepare_order(&demo(), &account(), &order(&i, Side::Buy, "600", "too-big"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds 500 shares"), "{err}");
    request.alert_price = Some(d("1.2"));
    let err = e
        .broker
        .prepare_order(&demo(), &account(), &request)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("outside the allowed range"),
        "{err}"
    );
    let err = e
        .broker
        .prepare_order(&demo(), &account(), &order(&i, Side::Buy, "2", "small"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("minimum order size of 5"), "{err}");
    assert!(e.sim.orders().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn neg_risk_markets_are_signed_for_the_neg_risk_exchange() {
    let e = env().await;
    let i = e
        .broker
        .resolve_instrument(&demo(), &format!("{}:yes", SimConfig::ELECTION))
        .await
        .unwrap();
    let ack = e
        .broker
        .place_order(&demo(), &account(), &order(&i, Side::Buy, "10", "neg-risk"))
        .await
        .unwrap();
    assert_eq!(ack.fill.unwrap().average_price, d("0.305"));
}

#[tokio::test]
async fn an_order_dropped_after_matching_is_found_by_its_hash() {
    let e = env().await;
    let i = rain(&e).await;
    let mut request = order(&i, Side::Buy, "10", "dropped");
    let prepared = e
        .broker
        .prepare_order(&demo(), &account(), &request)
        .await
        .unwrap()
        .unwrap();
    request.prepared = Some(prepared.clone());
    // Not sent yet: nothing to find.
    let none = e
        .broker
        .find_order(
            &demo(),
            &account(),
            &i.symbol,
            "dropped",
            Some(&prepared.broker_order_id),
        )
        .await
        .unwrap();
    assert_eq!(none, None);
    e.sim.faults().fail_next(1, Fault::DropAfter);
    let err = e
        .broker
        .place_order(&demo(), &account(), &request)
        .await
        .unwrap_err();
    assert!(err.maybe_executed(), "{err:?}");
    assert_eq!(e.sim.faults().fired_kind("drop_after"), 1);
    let found = e
        .broker
        .find_order(
            &demo(),
            &account(),
            &i.symbol,
            "dropped",
            Some(&prepared.broker_order_id),
        )
        .await
        .unwrap()
        .expect("the matched FOK order is found though no longer open");
    assert_eq!(found.state, OrderState::Filled);
    assert_eq!(found.filled_quantity, d("10"));
    assert_eq!(found.average_price, Some(d("0.56")));
    // Sending the very same order again is refused by the CLOB as a duplicate
    // and surfaces as "look it up", never as a second order.
    let err = e
        .broker
        .place_order(&demo(), &account(), &request)
        .await
        .unwrap_err();
    assert!(err.maybe_executed(), "{err:?}");
    assert_eq!(e.sim.orders().len(), 1);
}

#[tokio::test]
async fn each_clob_failure_maps_to_what_the_engine_acts_on() {
    let e = env().await;
    let i = rain(&e).await;
    let place = |coid: &'static str| {
        let request = order(&i, Side::Buy, "10", coid);
        let broker = &e.broker;
        async move { broker.place_order(&demo(), &account(), &request).await }
    };
    let faults = e.sim.faults();
    faults.fail_next(1, Fault::Venue(PolymarketFault::TradingDisabled));
    let err = place("disabled").await.unwrap_err();
    assert!(
        matches!(&err, BrokerError::NotSent(m) if m.contains("Trading is currently disabled")),
        "{err:?}"
    );
    faults.fail_next(1, Fault::Venue(PolymarketFault::CancelOnly));
    let err = place("cancel-only").await.unwrap_err();
    assert!(
        matches!(&err, BrokerError::NotSent(m) if m.contains("cancel-only")),
        "{err:?}"
    );
    faults.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
    );
    let err = place("429").await.unwrap_err();
    assert!(
        matches!(err, BrokerError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(3)),
        "{err:?}"
    );
    faults.fail_next(1, Fault::ServerErrorAfter);
    assert!(place("5xx").await.unwrap_err().maybe_executed());
    faults.fail_next(1, Fault::TimeoutAfter(Duration::from_secs(4)));
    assert!(place("timeout").await.unwrap_err().maybe_executed());
    for kind in [
        "trading_disabled",
        "cancel_only",
        "too_many_requests",
        "server_error_after",
        "timeout_after",
    ] {
        assert_eq!(faults.fired_kind(kind), 1, "{kind}");
    }
    e.sim.set_trading_mode(TradingMode::CancelOnly);
    let err = place("mode").await.unwrap_err();
    assert!(
        matches!(&err, BrokerError::NotSent(m) if m.contains("cancel-only")),
        "{err:?}"
    );
    e.sim.set_trading_mode(TradingMode::Open);
    // Not enough collateral: Polymarket's words, and what they mean.
    e.sim.set_collateral(SimConfig::DEMO_ADDRESS, d("1"));
    let err = place("poor").await.unwrap_err();
    assert!(
        matches!(&err, BrokerError::Rejected { reason, .. } if reason.contains("lacks the pUSD")),
        "{err:?}"
    );
}

#[tokio::test]
async fn api_credentials_are_created_for_a_new_wallet_and_derived_again_after_a_401() {
    let e = env().await;
    assert!(e.sim.api_keys() == 0, "a fresh CLOB knows no key");
    // derive-api-key refuses a wallet without a key: the adapter creates it.
    e.broker.test_connection(&demo()).await.unwrap();
    assert_eq!(e.sim.api_keys(), 1, "created once");
    // The key is deleted at Polymarket (from another tool, say): the next
    // authenticated call is refused, and the adapter forgets the key …
    e.sim.delete_api_keys();
    let i = rain(&e).await;
    let err = e
        .broker
        .position(&demo(), &account(), &i)
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::AuthExpired(_)), "{err:?}");
    // … and the call after that has a working key again.
    assert_eq!(
        e.broker.position(&demo(), &account(), &i).await.unwrap(),
        d("100")
    );
    assert_eq!(e.sim.api_keys(), 1);
}
