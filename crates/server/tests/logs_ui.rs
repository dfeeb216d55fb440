//! The Logs tab explains itself (issue 15): when a signal executed nothing
//! it says why (no strategy, a strategy turned off, an account paused), and
//! each account's line names its strategy and shows the latency trace.
//! Real server, the Tradovate simulator, SQLite and PostgreSQL.

use std::time::Duration;

use atomik_testkit::{Fixture, Hook, on_both_databases, tradovate_app};
use serde_json::{Value, json};

async fn fire(hook: &Hook, id: &str) -> String {
    let res = atomik_testkit::client()
        .post(hook.signal_url())
        .json(&json!({"action": "buy", "id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    body["signal_id"].as_str().unwrap().to_string()
}

async fn logs(fx: &Fixture, hook: &Hook) -> String {
    let res = fx
        .client
        .get(fx.url(&format!("/webhooks/{}/logs", hook.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

on_both_databases!(
    async fn the_logs_say_why_nothing_executed_and_trace_what_did(t) {
        let e = tradovate_app(t, "logs-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "logs@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("explained").await;

        fire(&hook, "no-strategy").await;
        let page = logs(&fx, &hook).await;
        assert!(page.contains("Nothing executed") && page.contains("no strategy uses it"), "{page}");

        let strategy = fx.strategy(&hook, &account, "MNQ1!", "1").await;
        let res = fx.client.post(fx.url(&format!("/strategies/{strategy}/deactivate")))
            .form(&[("csrf", fx.csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        fire(&hook, "strategy-off").await;
        let page = logs(&fx, &hook).await;
        assert!(page.contains("MNQ1! strategy: turned off"), "{page}");

        let res = fx.client.post(fx.url(&format!("/strategies/{strategy}/activate")))
            .form(&[("csrf", fx.csrf.as_str())]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let signal = fire(&hook, "executes").await;
        e.app.settled(&signal).await;
        let page = logs(&fx, &hook).await;
        assert!(page.contains(" · MNQ1! strategy: accepted"), "the line names its strategy: {page}");
        assert!(page.contains("received → sent +") && page.contains("broker answered in"), "{page}");
    }
);

on_both_databases!(
    async fn an_alert_quantity_beyond_the_cap_says_so_in_the_log(t) {
        let e = tradovate_app(t, "cap-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "capped@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("capped").await;
        fx.strategy_with(&hook, &account, "MNQ1!", "1", json!({"quantity_source": "alert", "max_per_signal": "5"})).await;
        let res = atomik_testkit::client().post(hook.signal_url()).json(&json!({"action": "buy", "quantity": 8})).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        let intents = e.app.settled(body["signal_id"].as_str().unwrap()).await;
        assert_eq!(intents[0].quantity.as_deref(), Some("5"));
        let page = logs(&fx, &hook).await;
        assert!(page.contains("the alert asked for 8; capped to the strategy&#39;s max per signal 5"), "{page}");
    }
);
