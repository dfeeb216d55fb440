//! Binance end to end over real HTTP: connecting from the dashboard with
//! Testnet credentials against the simulator, signals becoming orders on
//! its ledger (visible in the webhook's Logs tab), and the broker's failure
//! modes — answers dropped after execution, a skewed clock, the request
//! weight limit — on SQLite and PostgreSQL.

use atomik_domain::lifecycle::IntentStatus;
use atomik_domain::sizing::Side;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use atomik_binance_sim::{Fault, SimConfig};
use atomik_storage::execution;
use atomik_testkit::{
    BinanceEnv, Fixture, Hook, binance_app, binance_app_with, csrf_in, on_both_databases,
    test_config,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

struct Trader {
    c: reqwest::Client,
    hook: Hook,
    /// The dashboard pages of the connect flow: the form, Test Connection's
    /// answer, Save's answer.
    connect_pages: Vec<String>,
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

async fn page(c: &reqwest::Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// Sign up, connect the simulator's demo key through the dashboard (Test
/// Connection, then Save), create a webhook and a strategy on `instrument`.
async fn trader(e: &BinanceEnv, instrument: &str, quantity: &str) -> Trader {
    let fx = Fixture::signup(&e.app, "binance@example.com").await;
    let account = fx
        .binance_account(SimConfig::DEMO_API_KEY, SimConfig::DEMO_SECRET_KEY)
        .await;
    let hook = fx.webhook(&format!("{instrument} signals")).await;
    fx.strategy(&hook, &account.id, instrument, quantity).await;
    Trader {
        c: fx.client,
        hook,
        connect_pages: account.pages,
    }
}

/// Send a signal; return its id.
async fn fire(t: &Trader, payload: &Value) -> String {
    let res = atomik_testkit::client()
        .post(t.hook.signal_url())
        .json(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    body["signal_id"].as_str().unwrap().to_string()
}

/// Wait until every intent of `signal_id` is final.
async fn settled(e: &BinanceEnv, signal_id: &str) -> Vec<execution::IntentView> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, signal_id)
            .await
            .unwrap();
        if intents.iter().all(|i| i.status.is_terminal()) {
            return intents;
        }
        assert!(Instant::now() < deadline, "intents still open: {intents:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn signal(e: &BinanceEnv, t: &Trader, payload: Value) -> execution::IntentView {
    let id = fire(t, &payload).await;
    let mut intents = settled(e, &id).await;
    assert_eq!(intents.len(), 1);
    intents.remove(0)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A configuration where a test can send hundreds of signals quickly.
fn fast_ingress() -> atomik_server::ServerConfig {
    let mut config = test_config();
    config.webhook_rate = atomik_server::ratelimit::Rate {
        per_second: 100_000,
        burst: 100_000,
    };
    config
}

on_both_databases!(
    async fn dashboard_connect_then_a_signal_reaches_the_ledger_and_the_logs(t) {
        let e = binance_app(t, test_config()).await;
        let t = trader(&e, "BTCUSDT.P", "0.01").await;
        // The connect flow: Test Connection shows what it found and never
        // echoes the secret; Save is single use; the account is connected.
        let [connect, tested, saved] = &t.connect_pages[..] else { panic!("three pages") };
        assert!(connect.contains("id=\"api-key-form\""), "{connect}");
        assert!(tested.contains("USDⓈ-M futures trading: enabled"), "{tested}");
        assert!(!tested.contains(SimConfig::DEMO_SECRET_KEY), "the secret is never echoed");
        let pending = hidden(tested, "pending").expect("a Save form for the tested key");
        let again = t.c.post(e.app.url("/broker-accounts/connect/binance/keys"))
            .form(&[("csrf", csrf_in(saved).as_str()), ("pending", pending.as_str()), ("intent", "save")])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 422);
        let accounts: Value = t.c.get(e.app.url("/api/v1/broker-accounts")).send().await.unwrap().json().await.unwrap();
        assert_eq!(accounts.as_array().unwrap().len(), 1);
        assert_eq!(accounts[0]["status"], "connected");
        let open = signal(&e, &t, json!({"action": "buy", "ticker": "BTCUSDT.P"})).await;
        assert_eq!(open.status, IntentStatus::Accepted, "{open:?}");
        assert_eq!((open.instrument.as_deref(), open.side, open.quantity.as_deref()), (Some("BTCUSDT.P"), Some(Side::Buy), Some("0.01")));
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].client_order_id, open.client_order_id);
        assert_eq!(ledger[0].order_id.to_string(), open.broker_order_id.clone().unwrap());
        assert_eq!(e.sim.futures_position(SimConfig::DEMO_API_KEY, "BTCUSDT"), d("0.01"));
        let logs = page(&t.c, e.app.url(&format!("/webhooks/{}/logs", t.hook.id))).await;
        assert!(logs.contains(&open.broker_order_id.clone().unwrap()) && logs.contains("BTCUSDT.P"), "{logs}");
        // The exit closes with a reduce-only order.
        let exit = signal(&e, &t, json!({"action": "exit"})).await;
        assert_eq!((exit.status, exit.side, exit.quantity.as_deref()), (IntentStatus::Accepted, Some(Side::Sell), Some("0.01")));
        assert!(e.sim.orders()[1].reduce_only);
        assert_eq!(e.sim.futures_position(SimConfig::DEMO_API_KEY, "BTCUSDT"), Decimal::ZERO);
    }
);

on_both_databases!(
    /// Spot: orders are rounded down to the lot step, the position is the free
    /// base balance, and a sell on a flat spot market never shorts.
    async fn spot_orders_respect_filters_and_never_short(t) {
        let e = binance_app(t, test_config()).await;
        let t = trader(&e, "ETHUSDT", "0.01234567").await;
        let short = signal(&e, &t, json!({"action": "sell", "id": "s1"})).await;
        assert_eq!((short.status, short.reason.as_deref()), (IntentStatus::Skipped, Some("this market cannot be shorted")));
        let buy = signal(&e, &t, json!({"action": "buy", "id": "b1"})).await;
        assert_eq!(buy.status, IntentStatus::Accepted, "{buy:?}");
        let sent = e.sim.orders();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].quantity, d("0.0123"), "rounded down to the step");
        assert_eq!(e.sim.spot_free(SimConfig::DEMO_API_KEY, "ETH"), d("0.0123"));
        let exit = signal(&e, &t, json!({"action": "exit", "id": "x1"})).await;
        assert_eq!((exit.status, exit.quantity.as_deref()), (IntentStatus::Accepted, Some("0.0123")));
        assert_eq!(e.sim.spot_free(SimConfig::DEMO_API_KEY, "ETH"), Decimal::ZERO);
        assert_eq!(e.sim.orders().len(), 2, "nothing else reached the venue");
    }
);

/// Every client order id on the venue's ledger, with how many orders carry it.
fn ledger_ids(e: &BinanceEnv) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for o in e.sim.orders() {
        *ids.entry(o.client_order_id).or_insert(0) += 1;
    }
    ids
}

on_both_databases!(
    /// Binance accepts a filled order's client order id again, so a blind
    /// resend after a lost answer would fill twice. 20 % of market orders
    /// execute and lose their answer over 500 signals: every intent ends
    /// with exactly one order.
    async fn dropped_answers_after_execution_never_double_fill(t) {
        // Binance's futures weight limit (2,400 a minute) would pace 500
        // orders over minutes; this test is about exactly-once, not pacing.
        let mut sim = SimConfig::demo(std::sync::Arc::new(atomik_broker::SystemClock));
        sim.futures_weight_limit = 1_000_000;
        sim.order_limit_10s = 1_000_000;
        let e = binance_app_with(t, fast_ingress(), sim, |_| {}).await;
        let t = trader(&e, "BTCUSDT.P", "0.01").await;
        e.sim.faults().fail_randomly(0.2, Fault::DropAfter);
        let mut signals = Vec::new();
        for n in 0..500 {
            let action = if n % 2 == 0 { "buy" } else { "sell" };
            signals.push(fire(&t, &json!({"action": action, "id": format!("s{n}")})).await);
        }
        let mut accepted = Vec::new();
        for s in &signals {
            let intents = settled(&e, s).await;
            assert_eq!(intents[0].status, IntentStatus::Accepted, "{:?}", intents[0]);
            accepted.push(intents[0].client_order_id.clone());
        }
        e.sim.faults().clear();
        let dropped = e.sim.faults().fired(&Fault::DropAfter);
        assert!(dropped > 0, "some answers were dropped");
        let ids = ledger_ids(&e);
        assert_eq!(ids.len(), 500, "one order per signal");
        assert!(ids.values().all(|&n| n == 1), "no client order id was filled twice");
        assert!(accepted.iter().all(|id| ids.contains_key(id)));
        assert_eq!(e.sim.futures_position(SimConfig::DEMO_API_KEY, "BTCUSDT"), Decimal::ZERO, "250 opens, 250 closes");
    }
);

on_both_databases!(
    /// The venue's clock runs 2 s ahead, then 2 s behind: the adapter
    /// measures the offset, and a -1021 (timestamp refused, nothing
    /// executed) is retried after re-measuring, never shown to the user.
    async fn a_skewed_clock_never_reaches_the_user_as_a_timestamp_error(t) {
        let e = binance_app(t, fast_ingress()).await;
        let t = trader(&e, "BTCUSDT.P", "0.01").await;
        for (n, skew) in [2_000i64, -2_000, 2_000, -2_000].into_iter().enumerate() {
            e.sim.set_clock_skew_ms(skew);
            for k in 0..3 {
                let i = signal(&e, &t, json!({"action": if k % 2 == 0 { "buy" } else { "sell" }, "id": format!("{n}-{k}")})).await;
                assert_eq!(i.status, IntentStatus::Accepted, "{i:?}");
                assert!(!i.reason.clone().unwrap_or_default().contains("1021"));
            }
        }
        assert_eq!(e.sim.orders().len(), 12);
        assert!(e.sim.rejections().iter().any(|(_, code)| *code == -1021), "the skew was noticed by the venue and handled");
    }
);

on_both_databases!(
    /// With a small request-weight limit, the adapter waits for the next
    /// window before the limit instead of collecting 429s: every signal
    /// executes and the venue never answers 429 or 418.
    async fn approaching_the_weight_limit_slows_down_instead_of_failing(t) {
        let mut sim = SimConfig::demo(std::sync::Arc::new(atomik_broker::SystemClock));
        sim.futures_weight_limit = 60;
        sim.weight_window = Duration::from_secs(1);
        let e = binance_app_with(t, fast_ingress(), sim, |_| {}).await;
        let t = trader(&e, "BTCUSDT.P", "0.01").await;
        let mut signals = Vec::new();
        for n in 0..30 {
            let action = if n % 2 == 0 { "buy" } else { "sell" };
            signals.push(fire(&t, &json!({"action": action, "id": format!("w{n}")})).await);
        }
        for s in &signals {
            let i = settled(&e, s).await;
            assert_eq!(i[0].status, IntentStatus::Accepted, "{:?}", i[0]);
        }
        assert_eq!(e.sim.orders().len(), 30);
        let limited: Vec<_> = e.sim.rejections().into_iter().filter(|(status, _)| *status == 429 || *status == 418).collect();
        assert!(limited.is_empty(), "the venue had to refuse: {limited:?}");
    }
);

on_both_databases!(
    /// The key loses its trading permission at Binance: orders are refused
    /// (-2015), the intent fails after its retries with what to check in
    /// API Management, and the account shows the error.
    async fn a_key_that_lost_its_permission_fails_visibly(t) {
        let e = binance_app(t, test_config()).await;
        let t = trader(&e, "BTCUSDT.P", "0.01").await;
        e.sim.set_permissions(SimConfig::DEMO_API_KEY, false, false);
        let failed = signal(&e, &t, json!({"action": "buy"})).await;
        assert_eq!(failed.status, IntentStatus::Failed, "{failed:?}");
        assert!(failed.reason.as_deref().unwrap().contains("API Management"), "{failed:?}");
        assert!(e.sim.orders().is_empty());
        let accounts: Value = t.c.get(e.app.url("/api/v1/broker-accounts")).send().await.unwrap().json().await.unwrap();
        assert!(accounts[0]["last_error"].as_str().unwrap().contains("-2015"), "{accounts}");
    }
);
