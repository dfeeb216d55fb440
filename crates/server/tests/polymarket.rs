//! Polymarket end to end over real HTTP against the CLOB simulator: a user
//! connects the demo wallet, a BUY signal for `slug:YES` buys the YES token
//! with a fill-or-kill order whose hash atomik stored before sending, a SELL
//! `EXIT_50` sells half the shares held (rounded up), and the Logs tab shows
//! the token id, the order hash and the fill. Faults: a fifth of orders
//! dropped after matching execute exactly once (found by their hash);
//! trading disabled and cancel-only say why nothing was sent, and trading
//! resumes by itself. SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use atomik_domain::lifecycle::IntentStatus;
use atomik_polymarket_sim::{Fault, SimConfig, SimLevel, TradingMode};
use atomik_storage::execution;
use atomik_testkit::{Fixture, PolymarketEnv, on_both_databases, polymarket_app, test_config};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const RAIN_YES: &str = "will-it-rain-tomorrow:YES";

async fn intents_when(
    e: &PolymarketEnv,
    signal_id: &str,
    done: impl Fn(&[execution::IntentView]) -> bool,
) -> Vec<execution::IntentView> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, signal_id)
            .await
            .unwrap();
        if !intents.is_empty() && done(&intents) {
            return intents;
        }
        assert!(
            Instant::now() < deadline,
            "intents never got there: {intents:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn settled(e: &PolymarketEnv, signal_id: &str) -> Vec<execution::IntentView> {
    intents_when(e, signal_id, |l| l.iter().all(|i| i.status.is_terminal())).await
}

async fn fire(url: &str, payload: Value) -> String {
    let res = atomik_testkit::client()
        .post(url)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    body["signal_id"].as_str().unwrap().to_string()
}

fn rain_yes_token() -> String {
    SimConfig::demo(std::sync::Arc::new(atomik_broker::SystemClock))
        .market(SimConfig::RAIN)
        .unwrap()
        .tokens[0]
        .token_id
        .clone()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

on_both_databases!(
    async fn a_buy_signal_buys_the_outcome_and_exit_50_sells_half_of_what_is_held(t) {
        let e = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "pm@example.com").await;
        let account = fx.polymarket_account().await;
        let hook = fx.webhook("rain").await;
        fx.strategy(&hook, &account, RAIN_YES, "10").await;
        let token = rain_yes_token();
        let held = |e: &PolymarketEnv| e.sim.position(SimConfig::DEMO_ADDRESS, &token);
        assert_eq!(held(&e), d("100"));

        let id = fire(&hook.signal_url(), json!({"action": "buy", "ticker": RAIN_YES})).await;
        let buy = settled(&e, &id).await;
        assert_eq!(buy[0].status, IntentStatus::Accepted, "{buy:?}");
        let hash = buy[0].broker_order_id.clone().expect("the order hash");
        let placed = e.sim.order(&hash).expect("the stored hash is the CLOB's order id");
        assert_eq!((placed.order_type.as_str(), placed.side.as_str()), ("FOK", "BUY"));
        assert_eq!(held(&e), d("110"));
        assert_eq!((buy[0].fill_quantity.as_deref(), buy[0].fill_price.as_deref()), (Some("10"), Some("0.56")));
        let logs = fx.client.get(e.app.url(&format!("/webhooks/{}/logs", hook.id))).send().await.unwrap().text().await.unwrap();
        for shown in [token.as_str(), hash.as_str(), "filled 10 @ 0.56", RAIN_YES] {
            assert!(logs.contains(shown), "{shown}: {logs}");
        }

        // 110 held: EXIT_50 sells 55, on the conditional-token balance.
        let id = fire(&hook.signal_url(), json!({"action": "sell", "comment": "EXIT_50", "ticker": RAIN_YES})).await;
        let sell = settled(&e, &id).await;
        assert_eq!(sell[0].status, IntentStatus::Accepted, "{sell:?}");
        assert_eq!(sell[0].quantity.as_deref(), Some("55"));
        assert_eq!(held(&e), d("55"));
        // 15 held: EXIT_50 sells 7.5 (shares trade in hundredths).
        e.sim.set_position(SimConfig::DEMO_ADDRESS, &token, d("15"));
        let id = fire(&hook.signal_url(), json!({"action": "sell", "comment": "EXIT_50", "ticker": RAIN_YES, "id": "odd"})).await;
        let odd = settled(&e, &id).await;
        assert_eq!(odd[0].quantity.as_deref(), Some("7.5"), "{odd:?}");
        assert_eq!(held(&e), d("7.5"));
        // 7.5 held: half is under the market's 5-share minimum: refused, saying so.
        let orders = e.sim.orders().len();
        let id = fire(&hook.signal_url(), json!({"action": "sell", "comment": "EXIT_50", "ticker": RAIN_YES, "id": "small"})).await;
        let small = settled(&e, &id).await;
        assert_eq!(small[0].status, IntentStatus::Rejected, "{small:?}");
        assert!(small[0].reason.as_deref().is_some_and(|r| r.contains("minimum order size of 5 shares")), "{small:?}");
        assert_eq!(e.sim.orders().len(), orders, "nothing was sent");
        // Prediction markets never short: a SELL while flat sends nothing.
        e.sim.set_position(SimConfig::DEMO_ADDRESS, &token, Decimal::ZERO);
        let orders = e.sim.orders().len();
        let id = fire(&hook.signal_url(), json!({"action": "sell", "ticker": RAIN_YES, "id": "flat"})).await;
        let flat = settled(&e, &id).await;
        assert_ne!(flat[0].status, IntentStatus::Accepted, "{flat:?}");
        assert_eq!(e.sim.orders().len(), orders, "nothing was sent");
    }
);

on_both_databases!(
    async fn a_strategy_sized_in_collateral_spends_that_much_per_buy_and_exits_on_shares(t) {
        let e = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "pusd@example.com").await;
        let account = fx.polymarket_account().await;
        let hook = fx.webhook("rain by the dollar").await;
        fx.strategy_with(&hook, &account, RAIN_YES, "25", json!({"quantity_unit": "collateral"})).await;
        let token = rain_yes_token();
        let held = |e: &PolymarketEnv| e.sim.position(SimConfig::DEMO_ADDRESS, &token);
        let cash = |e: &PolymarketEnv| e.sim.collateral(SimConfig::DEMO_ADDRESS);
        let (shares, pusd) = (held(&e), cash(&e));

        let id = fire(&hook.signal_url(), json!({"action": "buy", "ticker": RAIN_YES})).await;
        let buy = settled(&e, &id).await;
        assert_eq!(buy[0].status, IntentStatus::Accepted, "{buy:?}");
        assert_eq!((buy[0].quantity.as_deref(), buy[0].quantity_unit.as_deref()), (Some("25"), Some("collateral")));
        // 25 pUSD at a worst price of 0.61 order 40.9836 shares; they fill at 0.56.
        assert_eq!(held(&e) - shares, d("40.9836"));
        let spent = pusd - cash(&e);
        assert!(spent > Decimal::ZERO && spent <= d("25"), "spent {spent}");
        let logs = fx.client.get(e.app.url(&format!("/webhooks/{}/logs", hook.id))).send().await.unwrap().text().await.unwrap();
        assert!(logs.contains("buy 25 pUSD of will-it-rain-tomorrow:YES"), "{logs}");

        // The exit sells half of the shares held (rounded up to the hundredth).
        let before = held(&e);
        let id = fire(&hook.signal_url(), json!({"action": "sell", "comment": "EXIT_50", "ticker": RAIN_YES})).await;
        let sell = settled(&e, &id).await;
        assert_eq!(sell[0].status, IntentStatus::Accepted, "{sell:?}");
        assert_eq!(sell[0].quantity_unit, None, "an exit is sized in shares");
        let half = (before / Decimal::TWO).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToPositiveInfinity);
        assert_eq!(sell[0].quantity.as_deref(), Some(half.normalize().to_string().as_str()));

        // Only Polymarket takes orders by collateral; a cap in shares cannot hold.
        let res = fx.client.post(e.app.url("/api/v1/strategies")).header("x-csrf-token", &fx.csrf)
            .json(&json!({"webhook_id": hook.id, "broker_account_id": account, "name": "capped", "instrument": RAIN_YES,
                "quantity": "25", "quantity_unit": "collateral", "max_position": "100"}))
            .send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("max_position cannot be combined"));
    }
);

on_both_databases!(
    async fn market_orders_with_a_fifth_dropped_after_matching_execute_exactly_once(t) {
        let mut config = test_config();
        config.webhook_rate = atomik_server::ratelimit::Rate { per_second: 100_000, burst: 100_000 };
        let e = polymarket_app(t, config).await;
        let token = rain_yes_token();
        for (side, price) in [(atomik_polymarket_sim::Side::Sell, "0.57"), (atomik_polymarket_sim::Side::Buy, "0.53")] {
            e.sim.add_liquidity(SimLevel { token_id: token.clone(), side, price: d(price), size: d("100000") });
        }
        let fx = Fixture::signup(&e.app, "pm-faults@example.com").await;
        let account = fx.polymarket_account().await;
        let hook = fx.webhook("rain faults").await;
        fx.strategy(&hook, &account, RAIN_YES, "5").await;
        e.sim.faults().fail_randomly(0.2, Fault::DropAfter);
        let total = 500;
        let mut ids = Vec::new();
        for n in 0..total {
            let side = if n % 2 == 0 { "buy" } else { "sell" };
            ids.push(fire(&hook.signal_url(), json!({"action": side, "ticker": RAIN_YES, "id": format!("f{n}")})).await);
        }
        let mut intents = Vec::new();
        for id in &ids {
            intents.extend(settled(&e, id).await);
        }
        let dropped = e.sim.faults().fired_kind("drop_after");
        assert!(dropped >= 50, "the fault fired {dropped} times");
        let sent: Vec<_> = intents.iter().filter(|i| i.status == IntentStatus::Accepted).collect();
        assert!(sent.len() >= total / 2, "{intents:?}");
        // Every accepted intent's order is in the CLOB's ledger exactly once,
        // under the hash stored before sending; no other order exists.
        let ledger = e.sim.orders();
        let mut ids: Vec<_> = ledger.iter().map(|o| o.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ledger.len(), "an order was placed twice");
        let mut hashes: Vec<_> = sent.iter().map(|i| i.broker_order_id.clone().expect("hash")).collect();
        hashes.sort();
        assert_eq!(hashes, ids, "every sent intent's order, and only those");
        for i in &intents {
            assert!(
                i.status == IntentStatus::Accepted || i.reason.as_deref().is_some_and(|r| r.contains("no position")),
                "{i:?}"
            );
        }
    }
);

on_both_databases!(
    async fn trading_disabled_and_cancel_only_say_why_and_trading_resumes(t) {
        let e = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "pm-modes@example.com").await;
        let account = fx.polymarket_account().await;
        let hook = fx.webhook("rain modes").await;
        fx.strategy(&hook, &account, RAIN_YES, "10").await;
        for (mode, words) in [
            (TradingMode::Disabled, "Trading is currently disabled"),
            (TradingMode::CancelOnly, "Trading is currently cancel-only"),
        ] {
            e.sim.set_trading_mode(mode);
            let before = e.sim.orders().len();
            let id = fire(&hook.signal_url(), json!({"action": "buy", "ticker": RAIN_YES, "id": words})).await;
            let waiting = intents_when(&e, &id, |l| l[0].reason.as_deref().is_some_and(|r| r.contains(words))).await;
            assert!(!waiting[0].status.is_terminal(), "retried, not given up: {waiting:?}");
            assert_eq!(e.sim.orders().len(), before, "nothing was taken");
            e.sim.set_trading_mode(TradingMode::Open);
            let done = settled(&e, &id).await;
            assert_eq!(done[0].status, IntentStatus::Accepted, "{done:?}");
            let hash = done[0].broker_order_id.clone().unwrap();
            assert!(e.sim.order(&hash).is_some());
            assert_eq!(e.sim.orders().len(), before + 1);
        }
    }
);
