//! Signals to orders over real HTTP against the Tradovate simulator, on
//! SQLite and PostgreSQL: sizing on the account's own position, the kill
//! switch, and exactly-once under broker faults.

use atomik_domain::lifecycle::IntentStatus;
use atomik_domain::sizing::Side;
use std::time::{Duration, Instant};

use atomik_storage::execution;
use atomik_testkit::{Fixture, TradovateEnv, on_both_databases};
use atomik_tradovate_sim::Fault;
use serde_json::{Value, json};

struct Trader {
    c: reqwest::Client,
    csrf: String,
    account_id: String,
    hook_url: String,
    secret: String,
}

impl Trader {
    fn new(fx: Fixture, account_id: String, hook: atomik_testkit::Hook) -> Trader {
        Trader {
            c: fx.client,
            csrf: fx.csrf,
            account_id,
            hook_url: hook.url,
            secret: hook.secret,
        }
    }
}

/// Sign up, connect the demo account, create a webhook and a strategy.
async fn trader(e: &TradovateEnv, quantity: &str) -> Trader {
    let fx = Fixture::signup(&e.app, "exec@example.com").await;
    let account = fx.tradovate_account(&e.sim.base_url()).await.id;
    let hook = fx.webhook("MNQ1! signals").await;
    fx.strategy(&hook, &account, "MNQ1!", quantity).await;
    Trader::new(fx, account, hook)
}

/// Send a signal; wait until its intents are final; return them.
async fn signal(e: &TradovateEnv, t: &Trader, payload: Value) -> Vec<execution::IntentView> {
    // The app's rate limit is far above what a test sends (`exec_app`): a
    // 429 here is a failure, not something to wait out.
    let res = atomik_testkit::client()
        .post(format!("{}?secret={}", t.hook_url, t.secret))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let signal_id = body["signal_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, &signal_id)
            .await
            .unwrap();
        if intents.iter().all(|i| i.status.is_terminal()) {
            return intents;
        }
        assert!(Instant::now() < deadline, "intents still open: {intents:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The app on a Tradovate simulator, with a per-webhook rate limit no test
/// here reaches (rate limiting is tested in `ingress.rs`).
async fn exec_app(t: atomik_testkit::TestDb) -> TradovateEnv {
    atomik_testkit::tradovate_app_configured(
        t,
        "exec-secret",
        Duration::from_secs(5),
        0,
        fast_config(),
    )
    .await
}

fn position(e: &TradovateEnv) -> i64 {
    e.sim.positions(5001).iter().map(|p| p.net_pos).sum()
}

on_both_databases!(
    async fn signals_become_orders_sized_on_the_account_position(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "7").await;
        let open = signal(&e, &t, json!({"action": "BUY", "ticker": "MNQ1!"})).await;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].status, IntentStatus::Accepted, "{:?}", open[0]);
        assert_eq!((open[0].instrument.as_deref(), open[0].side, open[0].quantity.as_deref()), (Some("MNQZ6"), Some(Side::Buy), Some("7")));
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].cl_ord_id, open[0].client_order_id, "the order carries the intent's client order id");
        assert_eq!(position(&e), 7);
        // 7 long + SELL EXIT_50 → sell 4.
        let half = signal(&e, &t, json!({"action": "SELL", "comment": "EXIT_50"})).await;
        assert_eq!(half[0].quantity.as_deref(), Some("4"));
        assert_eq!(position(&e), 3);
        let exit = signal(&e, &t, json!({"action": "EXIT"})).await;
        assert_eq!((exit[0].side, exit[0].quantity.as_deref()), (Some(Side::Sell), Some("3")));
        assert_eq!(position(&e), 0);
        let flat = signal(&e, &t, json!({"action": "EXIT", "id": "again"})).await;
        assert_eq!((flat[0].status, flat[0].reason.as_deref()), (IntentStatus::Skipped, Some("no position to exit")));
        // Kill switch on the account: nothing leaves; released: trading resumes.
        let ks = |engaged: bool| {
            let (c, csrf, url, account) = (t.c.clone(), t.csrf.clone(), e.app.url("/api/v1/kill-switch"), t.account_id.clone());
            async move {
                let res = c.post(url).header("x-csrf-token", csrf).json(&json!({"engaged": engaged, "account_id": account})).send().await.unwrap();
                assert_eq!(res.status(), 204);
            }
        };
        ks(true).await;
        let killed = signal(&e, &t, json!({"action": "BUY", "id": "k1"})).await;
        assert_eq!(killed[0].status, IntentStatus::Skipped);
        assert!(killed[0].reason.as_deref().unwrap().contains("kill switch is engaged"), "{:?}", killed[0]);
        ks(false).await;
        let resumed = signal(&e, &t, json!({"action": "BUY", "id": "k2"})).await;
        assert_eq!(resumed[0].status, IntentStatus::Accepted);
        assert_eq!(e.sim.orders().len(), 4, "open, half, exit, resumed");
    }
);

on_both_databases!(
    /// Lost answers after execution, errors before execution and dropped
    /// connections: every intent ends with exactly one order at the broker.
    async fn broker_faults_lose_nothing_and_duplicate_nothing(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "1").await;
        for i in 0..12 {
            let fault = match i % 3 {
                0 => Fault::ServerErrorAfter,
                1 => Fault::DropAfter,
                _ => Fault::ServerErrorBefore,
            };
            e.sim.faults().fail_next(1, fault);
        }
        let mut client_ids = Vec::new();
        for n in 0..24 {
            let intents = signal(&e, &t, json!({"action": "BUY", "id": format!("s{n}")})).await;
            assert_eq!(intents[0].status, IntentStatus::Accepted, "{:?}", intents[0]);
            client_ids.push(intents[0].client_order_id.clone());
        }
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 24, "no lost and no duplicate orders");
        let mut seen: Vec<String> = ledger.iter().map(|o| o.cl_ord_id.clone()).collect();
        seen.sort();
        client_ids.sort();
        assert_eq!(seen, client_ids);
        assert_eq!(position(&e), 24);
        let faults = e.sim.faults();
        assert_eq!(faults.pending(), 0);
        assert_eq!(faults.fired(&Fault::ServerErrorAfter), 4);
        assert_eq!(faults.fired(&Fault::DropAfter), 4);
        assert_eq!(faults.fired(&Fault::ServerErrorBefore), 4);
    }
);

on_both_databases!(
    /// After a crash, an intent left `sending` is settled by looking the order
    /// up: found → accepted without a resend; absent (never reached the
    /// broker) → sent exactly once.
    async fn unfinished_intents_are_resolved_after_a_restart(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "1").await;
        let first = signal(&e, &t, json!({"action": "BUY", "id": "r1"})).await;
        assert_eq!(e.sim.orders().len(), 1);
        // Only `run_once` below executes (the scan would race it: run_once
        // skips an account the scan is draining).
        e.app.stop_executor_polling();
        // Crash after sending, before recording the answer.
        sqlx::query("UPDATE order_intents SET status = $1, broker_order_id = NULL")
            .bind(IntentStatus::Sending.as_str())
            .execute(e.app.db.pool())
            .await
            .unwrap();
        // Until it is final: a drain the signal started may still hold the
        // account for a moment, and `run_once` skips an account being drained.
        let after = e.app.settled(&first_signal(&e).await).await;
        assert_eq!(after[0].status, IntentStatus::Accepted);
        assert!(after[0].broker_order_id.is_some(), "found at the broker");
        assert_eq!(e.sim.orders().len(), 1, "no resend");
        // Crash before the order left: the broker has no such client order id.
        sqlx::query("UPDATE order_intents SET status = $1, client_order_id = 'atk-never-sent', updated_at = 0, sent_at = 0")
            .bind(IntentStatus::Sending.as_str())
            .execute(e.app.db.pool())
            .await
            .unwrap();
        let after = e.app.settled(&first_signal(&e).await).await;
        assert_eq!(after[0].status, IntentStatus::Accepted);
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 2);
        assert_eq!(ledger.iter().filter(|o| o.cl_ord_id == "atk-never-sent").count(), 1, "sent exactly once");
        let _ = first;
    }
);

async fn first_signal(e: &TradovateEnv) -> String {
    sqlx::query_scalar("SELECT signal_id FROM order_intents ORDER BY created_at LIMIT 1")
        .fetch_one(e.app.db.pool())
        .await
        .unwrap()
}

/// Connect the simulator user `trader{k}` (its own OAuth grant, its account
/// 6000 + k); returns atomik's id of the account.
async fn connect_trader(e: &TradovateEnv, fx: &Fixture, k: usize) -> String {
    let base = e.sim.base_url();
    fx.tradovate_account_as(&base, &format!("trader{k}"), &format!("pw{k}"))
        .await
        .id
}

on_both_databases!(
    /// One signal to a leader and 20 followers: the leader's order first, all
    /// 21 placed, each exit sized on the account's own position.
    async fn copy_trading_leader_first_then_followers(t) {
        let e = atomik_testkit::tradovate_app_with_traders(t, "exec-secret", Duration::from_secs(5), 21).await;
        let fx = Fixture::signup(&e.app, "copy@example.com").await;
        sqlx::query("UPDATE users SET plan_id = 'unlimited'").execute(e.app.db.pool()).await.unwrap();
        let mut ids = Vec::new();
        for k in 0..21 {
            ids.push(connect_trader(&e, &fx, k).await);
        }
        let leader = ids[0].clone();
        let hook = fx.webhook("copy").await;
        fx.strategy(&hook, &leader, "MNQ1!", "2").await;
        let post = |path: &str, body: Value| {
            let (c, csrf, url) = (fx.client.clone(), fx.csrf.clone(), e.app.url(path));
            async move { c.post(url).header("x-csrf-token", csrf).json(&body).send().await.unwrap() }
        };
        let group: Value = post("/api/v1/copy-groups", json!({"name": "desk", "leader_account_id": leader})).await.json().await.unwrap();
        let group_id = group["id"].as_str().unwrap();
        for (k, follower) in ids.iter().enumerate().skip(1) {
            let multiplier = if k == 1 { "2" } else { "1" };
            let res = post(&format!("/api/v1/copy-groups/{group_id}/followers"), json!({"account_id": follower, "multiplier": multiplier})).await;
            assert_eq!(res.status(), 204);
        }
        let trader = Trader::new(fx, leader, hook);
        let buys = signal(&e, &trader, json!({"action": "BUY"})).await;
        assert_eq!(buys.len(), 21);
        assert!(buys.iter().all(|i| i.status == IntentStatus::Accepted), "{buys:?}");
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 21);
        assert_eq!(ledger[0].account_id, 6000, "the leader's order reaches the broker first");
        assert_eq!(ledger.iter().find(|o| o.account_id == 6001).unwrap().qty, 4, "multiplier 2");
        assert!(ledger.iter().filter(|o| o.account_id > 6001).all(|o| o.qty == 2));
        // EXIT_50 on each account's own position: 2 → 1, 4 → 2.
        let exits = signal(&e, &trader, json!({"action": "SELL", "comment": "EXIT_50"})).await;
        assert!(exits.iter().all(|i| i.status == IntentStatus::Accepted));
        let net = |id: i64| e.sim.positions(id).iter().map(|p| p.net_pos).sum::<i64>();
        assert_eq!((net(6000), net(6001), net(6002), net(6020)), (1, 2, 1, 1));
    }
);

/// Sign up on the unlimited plan with `n` connected trader accounts, one
/// webhook, and a strategy per account (`instrument`, quantity 1, and an
/// optional max position). Returns the trader and the accounts' ids.
async fn desk(
    e: &TradovateEnv,
    n: usize,
    strategies: &[(&str, Option<&str>)],
) -> (Trader, Vec<String>) {
    let fx = Fixture::signup(&e.app, "desk@example.com").await;
    sqlx::query("UPDATE users SET plan_id = 'unlimited'")
        .execute(e.app.db.pool())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for k in 0..n {
        ids.push(connect_trader(e, &fx, k).await);
    }
    let hook = fx.webhook("desk").await;
    for (k, (instrument, max_position)) in strategies.iter().enumerate() {
        let extra = json!({"name": format!("s{k}"), "max_position": max_position});
        fx.strategy_with(&hook, &ids[k], instrument, "1", extra)
            .await;
    }
    let trader = Trader::new(fx, ids[0].clone(), hook);
    (trader, ids)
}

async fn wait_until_settled(e: &TradovateEnv) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sql = format!(
            "SELECT COUNT(*) FROM order_intents WHERE status IN ({})",
            IntentStatus::OPEN_SQL
        );
        let open: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(e.app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{open} intents still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fast_config() -> atomik_server::ServerConfig {
    let mut config = atomik_testkit::test_config();
    config.webhook_rate = atomik_server::ratelimit::Rate {
        per_second: 100_000,
        burst: 100_000,
    };
    config
}

on_both_databases!(
    /// 300 unique signals × 3 accounts, 10% of them delivered 2–4 times, over
    /// 50 concurrent connections: exactly 300 signals and 900 orders; no 5xx.
    async fn duplicate_storm(t) {
        let e = atomik_testkit::tradovate_app_configured(t, "exec-secret", Duration::from_secs(5), 3, fast_config()).await;
        let strategies = [("MNQ1!", None), ("MNQ1!", None), ("MNQ1!", None)];
        let (trader, _) = desk(&e, 3, &strategies).await;
        let mut deliveries: Vec<String> = Vec::new();
        for n in 0..300 {
            let body = json!({"action": "BUY", "ticker": "MNQ1!", "id": format!("sig-{n}")}).to_string();
            let copies = if n % 10 == 0 { 2 + (n / 10) % 3 } else { 1 };
            for _ in 0..copies {
                deliveries.push(body.clone());
            }
        }
        // Interleave deterministically so repeats are spread out.
        deliveries.sort_by_key(|b| b.bytes().fold(0u64, |h, x| h.wrapping_mul(31).wrapping_add(x as u64)));
        let url = format!("{}?secret={}", trader.hook_url, trader.secret);
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
        let http = atomik_testkit::client();
        let tasks: Vec<_> = deliveries
            .into_iter()
            .map(|body| {
                let (gate, http, url) = (gate.clone(), http.clone(), url.clone());
                tokio::spawn(async move {
                    let _permit = gate.acquire().await.unwrap();
                    http.post(url).header("content-type", "application/json").body(body).send().await.unwrap().status()
                })
            })
            .collect();
        for t in tasks {
            let status = t.await.unwrap();
            assert_eq!(status, 202, "every delivery is accepted or a duplicate");
        }
        wait_until_settled(&e).await;
        let signals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signals").fetch_one(e.app.db.pool()).await.unwrap();
        assert_eq!(signals, 300);
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 900);
        let mut ids: Vec<&str> = ledger.iter().map(|o| o.cl_ord_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 900, "one order per (signal, account)");
    }
);

on_both_databases!(
    /// 200 business rejections (unknown instrument, risk denial, paused
    /// account, malformed JSON, text/plain that is not JSON): no 5xx, and
    /// every one is logged with its reason.
    async fn business_rejections_are_never_5xx(t) {
        let e = atomik_testkit::tradovate_app_configured(t, "exec-secret", Duration::from_secs(5), 3, fast_config()).await;
        // Account 0 trades a product the broker stopped knowing after the
        // strategy was saved (saving refuses an unknown one); account 1 is
        // capped at 1 contract; account 2 gets paused.
        let strategies = [("MNQ1!", None), ("MNQ1!", Some("1")), ("MNQ1!", None)];
        let (trader, ids) = desk(&e, 3, &strategies).await;
        sqlx::query("UPDATE strategies SET instrument = 'ZZZ' WHERE broker_account_id = $1")
            .bind(&ids[0])
            .execute(e.app.db.pool())
            .await
            .unwrap();
        let res = trader
            .c
            .post(e.app.url(&format!("/api/v1/broker-accounts/{}/pause", ids[2])))
            .header("x-csrf-token", &trader.csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let url = format!("{}?secret={}", trader.hook_url, trader.secret);
        let http = atomik_testkit::client();
        for n in 0..50 {
            let buy = json!({"action": "BUY", "id": format!("b{n}")}).to_string();
            for (content_type, body) in [
                ("application/json", buy),
                ("application/json", "{\"action\": \"BUY\"".to_string()),
                ("text/plain", "buy MNQ now".to_string()),
                ("application/json", json!({"action": "BUY", "quantity": "lots"}).to_string()),
            ] {
                let status = http.post(&url).header("content-type", content_type).body(body).send().await.unwrap().status();
                assert!(!status.is_server_error(), "{status}");
            }
        }
        wait_until_settled(&e).await;
        let reasons: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT status, reason FROM order_intents").fetch_all(e.app.db.pool()).await.unwrap();
        assert_eq!(reasons.len(), 100, "50 signals × the 2 unpaused accounts");
        let count = |status: IntentStatus, reason: &str| {
            reasons.iter().filter(|(s, r)| s == status.as_str() && r.as_deref().is_some_and(|r| r.contains(reason))).count()
        };
        assert_eq!(count(IntentStatus::Rejected, "no front-month contract for ZZZ"), 50);
        assert_eq!(count(IntentStatus::Accepted, ""), 1, "the first BUY on the capped account");
        assert_eq!(count(IntentStatus::Skipped, "max position"), 49);
        // Refusals reach the log in batches, after their answers.
        let deadline = Instant::now() + Duration::from_secs(10);
        let logged: Vec<(i64, String)> = loop {
            let logged: Vec<(i64, String)> =
                sqlx::query_as("SELECT status, reason FROM webhook_deliveries").fetch_all(e.app.db.pool()).await.unwrap();
            if logged.len() >= 200 || Instant::now() > deadline {
                break logged;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(logged.len(), 200);
        assert!(logged.iter().all(|(s, r)| *s < 500 && !r.is_empty()));
        assert_eq!(logged.iter().filter(|(s, _)| *s == 400).count(), 100);
        assert_eq!(logged.iter().filter(|(s, _)| *s == 422).count(), 50);
    }
);

on_both_databases!(
    async fn signals_outside_trading_hours_are_skipped(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "1").await;
        let strategies: Value = t.c.get(e.app.url("/api/v1/strategies")).send().await.unwrap().json().await.unwrap();
        let first = strategies[0]["id"].as_str().unwrap().to_string();
        let webhook_id = strategies[0]["webhook_id"].as_str().unwrap().to_string();
        let post = |path: String, body: Value| {
            let (c, csrf) = (t.c.clone(), t.csrf.clone());
            async move { c.post(path).header("x-csrf-token", csrf).json(&body).send().await.unwrap() }
        };
        assert_eq!(post(e.app.url(&format!("/api/v1/strategies/{first}/deactivate")), json!({})).await.status(), 204);
        let now_min = e.app.clock.now_ms() / 60_000 % 1440;
        let hhmm = |m: i64| format!("{:02}:{:02}", m.rem_euclid(1440) / 60, m.rem_euclid(1440) % 60);
        let window = format!("{}-{}", hhmm(now_min + 120), hhmm(now_min + 180));
        let base = json!({"webhook_id": webhook_id, "broker_account_id": t.account_id, "name": "later",
                          "instrument": "MNQ1!", "quantity": "1"});
        let mut bad = base.clone();
        bad["trading_hours"] = json!("9-17");
        let res = post(e.app.url("/api/v1/strategies"), bad).await;
        assert_eq!(res.status(), 422);
        let mut good = base;
        good["trading_hours"] = json!(window);
        assert_eq!(post(e.app.url("/api/v1/strategies"), good).await.status(), 201);
        let intents = signal(&e, &t, json!({"action": "BUY"})).await;
        assert_eq!(intents.len(), 1);
        assert_eq!(intents[0].status, IntentStatus::Skipped);
        assert!(intents[0].reason.as_deref().unwrap().starts_with("outside the strategy's trading hours"));
        assert!(e.sim.orders().is_empty());
    }
);

on_both_databases!(
    /// The followers-per-group limit, the global kill switch, and a position
    /// that differs from the broker's shown on the account.
    async fn follower_limit_global_kill_switch_and_reconciliation(t) {
        let e = atomik_testkit::tradovate_app_with_traders(t, "exec-secret", Duration::from_secs(5), 4).await;
        let (trader, ids) = desk(&e, 4, &[("MNQ1!", None)]).await;
        sqlx::query("UPDATE users SET plan_id = 'starter'").execute(e.app.db.pool()).await.unwrap();
        let post = |path: String, body: Value| {
            let (c, csrf) = (trader.c.clone(), trader.csrf.clone());
            async move { c.post(path).header("x-csrf-token", csrf).json(&body).send().await.unwrap() }
        };
        let group: Value = post(e.app.url("/api/v1/copy-groups"), json!({"name": "g", "leader_account_id": ids[0]})).await.json().await.unwrap();
        let followers = e.app.url(&format!("/api/v1/copy-groups/{}/followers", group["id"].as_str().unwrap()));
        // Starter: 2 followers per group.
        assert_eq!(post(followers.clone(), json!({"account_id": ids[1]})).await.status(), 204);
        assert_eq!(post(followers.clone(), json!({"account_id": ids[2]})).await.status(), 204);
        let res = post(followers.clone(), json!({"account_id": ids[3]})).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("Followers per group limit reached: the starter plan allows 2"));
        // A second group is over the Starter plan's one group.
        let res = post(e.app.url("/api/v1/copy-groups"), json!({"name": "g2", "leader_account_id": ids[1]})).await;
        assert_eq!(res.status(), 409);
        // Global kill switch (operators only).
        sqlx::query("UPDATE users SET is_admin = 1").execute(e.app.db.pool()).await.unwrap();
        assert_eq!(post(e.app.url("/api/v1/admin/kill-switch"), json!({"engaged": true})).await.status(), 204);
        let killed = signal(&e, &trader, json!({"action": "BUY", "id": "g1"})).await;
        assert!(killed.iter().all(|i| i.status == IntentStatus::Skipped && i.reason.as_deref().unwrap().contains("global kill switch")));
        assert_eq!(post(e.app.url("/api/v1/admin/kill-switch"), json!({"engaged": false})).await.status(), 204);
        // atomik believes the leader is 5 long; the broker says flat.
        let symbol = "MNQZ6";
        atomik_storage::execution::set_position(&e.app.db, &ids[0], symbol, "5", 1).await.unwrap();
        let exit = signal(&e, &trader, json!({"action": "EXIT", "id": "g2"})).await;
        let leader = exit.iter().find(|i| i.account_id == ids[0]).unwrap();
        assert_eq!((leader.status, leader.reason.as_deref()), (IntentStatus::Skipped, Some("no position to exit")));
        let accounts: Value = trader.c.get(e.app.url("/api/v1/broker-accounts")).send().await.unwrap().json().await.unwrap();
        let row = accounts.as_array().unwrap().iter().find(|a| a["id"] == ids[0].as_str()).unwrap();
        assert!(row["last_error"].as_str().unwrap().contains("atomik tracked 5, the broker reported 0"), "{row}");
    }
);

on_both_databases!(
    async fn max_order_quantity_and_daily_cap_deny_orders(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "1").await;
        let strategies: Value = t.c.get(e.app.url("/api/v1/strategies")).send().await.unwrap().json().await.unwrap();
        let first = strategies[0]["id"].as_str().unwrap().to_string();
        let webhook_id = strategies[0]["webhook_id"].as_str().unwrap().to_string();
        let post = |path: String, body: Value| {
            let (c, csrf) = (t.c.clone(), t.csrf.clone());
            async move { c.post(path).header("x-csrf-token", csrf).json(&body).send().await.unwrap() }
        };
        post(e.app.url(&format!("/api/v1/strategies/{first}/deactivate")), json!({})).await;
        let res = post(e.app.url("/api/v1/strategies"), json!({"webhook_id": webhook_id, "broker_account_id": t.account_id,
            "name": "capped", "instrument": "MNQ1!", "quantity": "1", "quantity_source": "alert",
            "max_order_quantity": "3", "daily_order_cap": 2})).await;
        assert_eq!(res.status(), 201);
        let too_big = signal(&e, &t, json!({"action": "BUY", "quantity": 5, "id": "q1"})).await;
        assert_eq!(too_big[0].status, IntentStatus::Skipped);
        assert!(too_big[0].reason.as_deref().unwrap().contains("exceeds the strategy's max order quantity 3"));
        for n in 0..2 {
            let ok = signal(&e, &t, json!({"action": "BUY", "quantity": 2, "id": format!("ok{n}")})).await;
            assert_eq!(ok[0].status, IntentStatus::Accepted);
        }
        let capped = signal(&e, &t, json!({"action": "BUY", "quantity": 1, "id": "q3"})).await;
        assert_eq!(capped[0].status, IntentStatus::Skipped);
        assert!(capped[0].reason.as_deref().unwrap().contains("daily order cap (2)"));
        assert_eq!(e.sim.orders().len(), 2);
    }
);

async fn post_signal(t: &Trader, payload: Value) -> String {
    let res = atomik_testkit::client()
        .post(format!("{}?secret={}", t.hook_url, t.secret))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["signal_id"]
        .as_str()
        .unwrap()
        .to_string()
}

on_both_databases!(
    /// A broker call hanging on one account does not hold up the others:
    /// the other account's next order reaches the broker while the first is
    /// still in flight (no wall-clock bound: the order of events decides).
    async fn a_slow_account_never_delays_another(t) {
        let e = atomik_testkit::tradovate_app_configured(t, "exec-secret", Duration::from_secs(10), 2, fast_config()).await;
        let (trader, ids) = desk(&e, 2, &[("MNQ1!", None), ("MNQ1!", None)]).await;
        // The first order call hangs (well inside the adapter's 10 s timeout).
        e.sim.faults().fail_next(1, Fault::Latency(Duration::from_secs(6)));
        let first = post_signal(&trader, json!({"action": "BUY", "id": "slow-1"})).await;
        // One account is done with the first signal while the other hangs.
        let intents = until(&e, &first, |intents| intents.iter().filter(|i| i.status == IntentStatus::Accepted).count() == 1).await;
        let slow = intents.iter().find(|i| i.status != IntentStatus::Accepted).unwrap().account_id.clone();
        let fast = ids.iter().find(|id| **id != slow).unwrap().clone();
        let second = post_signal(&trader, json!({"action": "BUY", "id": "fast-2"})).await;
        until(&e, &second, |intents| intents.iter().any(|i| i.account_id == fast && i.status == IntentStatus::Accepted)).await;
        let first_now = execution::intents_of_signal(&e.app.db, &first).await.unwrap();
        let slow_first = first_now.iter().find(|i| i.account_id == slow).unwrap();
        assert_eq!(slow_first.status, IntentStatus::Sending, "the slow account's order is still in flight");
        wait_until_settled(&e).await;
        // The broker's ledger: the fast account's second order arrived
        // before the slow account's first (the injected hang fired).
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 4);
        let first_now = execution::intents_of_signal(&e.app.db, &first).await.unwrap();
        let second_now = execution::intents_of_signal(&e.app.db, &second).await.unwrap();
        let at = |intents: &[execution::IntentView], account: &str| {
            let id = &intents.iter().find(|i| i.account_id == account).unwrap().client_order_id;
            ledger.iter().position(|o| &o.cl_ord_id == id).unwrap()
        };
        let (slow_at, fast_at) = (at(&first_now, &slow), at(&second_now, &fast));
        assert!(fast_at < slow_at, "the fast account's order ({fast_at}) waited for the slow one ({slow_at})");
        assert_eq!(e.sim.faults().fired_kind("latency"), 1);
    }
);

/// Poll the intents of `signal_id` until `done` holds for them (a generous
/// deadline only bounds a hang).
async fn until(
    e: &TradovateEnv,
    signal_id: &str,
    done: impl Fn(&[execution::IntentView]) -> bool,
) -> Vec<execution::IntentView> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, signal_id)
            .await
            .unwrap();
        if done(&intents) {
            return intents;
        }
        assert!(Instant::now() < deadline, "still waiting: {intents:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

on_both_databases!(
    async fn a_burst_of_signals_executes_without_waiting_for_the_executors_scan(t) {
        let e = exec_app(t).await;
        let t = trader(&e, "1").await;
        // Only ingress's hand-over remains: a signal that arrives while the
        // account drains must make it drain again, or it would wait forever.
        e.app.stop_executor_polling();
        // The first order answers slowly: the other signals arrive while
        // the account is draining.
        e.sim.faults().fail_next(1, Fault::Latency(Duration::from_millis(300)));
        let mut signal_ids = Vec::new();
        for n in 0..8 {
            let action = if n % 2 == 0 { "BUY" } else { "SELL" };
            let res = atomik_testkit::client()
                .post(format!("{}?secret={}", t.hook_url, t.secret))
                .json(&json!({"action": action, "id": format!("burst{n}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
            let body: Value = res.json().await.unwrap();
            signal_ids.push(body["signal_id"].as_str().unwrap().to_string());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for id in &signal_ids {
            loop {
                let intents = execution::intents_of_signal(&e.app.db, id).await.unwrap();
                assert_eq!(intents.len(), 1);
                if intents[0].status == IntentStatus::Accepted {
                    break;
                }
                assert!(
                    matches!(intents[0].status, IntentStatus::Pending | IntentStatus::Sending),
                    "{intents:?}"
                );
                assert!(Instant::now() < deadline, "signal {id} still open: {intents:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        assert_eq!(e.sim.orders().len(), 8);
        assert_eq!(e.sim.faults().fired_kind("latency"), 1);
    }
);
