//! The kill switch from the dashboard (issue 15's safety defects): a Stop
//! button on every page, a banner while a switch is engaged, one switch per
//! account on Broker Accounts, the operator's global switch for operators
//! only, and a webhook answer and log that say nothing was sent because of
//! it — in words, with no internal ids. Real server, the Tradovate
//! simulator, SQLite and PostgreSQL.

use std::time::Duration;

use atomik_domain::lifecycle::IntentStatus;
use atomik_testkit::{Fixture, Hook, on_both_databases, tradovate_app};
use serde_json::{Value, json};

const PAGES: [&str; 5] = [
    "/",
    "/broker-accounts",
    "/webhooks",
    "/strategies",
    "/settings",
];

async fn page(fx: &Fixture, path: &str) -> String {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// Post a header or row form as the browser would and follow its
/// redirect: the status, where it went, and the page there.
async fn switch(fx: &Fixture, action: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", fx.csrf.as_str())];
    form.extend_from_slice(fields);
    let res = fx
        .client
        .post(fx.url(action))
        .form(&form)
        .send()
        .await
        .unwrap();
    if res.status() != 303 {
        return (
            res.status().as_u16(),
            action.to_string(),
            res.text().await.unwrap(),
        );
    }
    let to = res.headers()["location"].to_str().unwrap().to_string();
    (303, to.clone(), page(fx, &to).await)
}

/// Fire a signal; the 202's message.
async fn fire(hook: &Hook, id: &str) -> (String, String) {
    let res = atomik_testkit::client()
        .post(hook.signal_url())
        .json(&json!({"action": "buy", "id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    (
        body["signal_id"].as_str().unwrap().to_string(),
        body["message"].as_str().unwrap().to_string(),
    )
}

on_both_databases!(
    async fn the_kill_switch_is_on_every_page_and_says_what_it_stopped(t) {
        let e = tradovate_app(t, "kill-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "halt@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("halt").await;
        fx.strategy(&hook, &account, "MNQ1!", "1").await;
        for path in PAGES {
            let html = page(&fx, path).await;
            assert!(html.contains("id=\"stop-trading\""), "{path} has the Stop button");
            assert!(!html.contains("id=\"halted\""), "{path}: no banner while trading");
            assert!(!html.contains("id=\"stop-everyone\""), "{path}: the global switch is for operators");
        }

        // Stop: back on the page it was pressed on, with the banner.
        let (status, url, html) = switch(&fx, "/kill-switch", &[("engaged", "on"), ("back", "/strategies")]).await;
        assert_eq!((status, url.as_str()), (303, "/strategies"), "redirected back after the POST");
        assert!(html.contains("your kill switch is engaged"), "{html}");
        assert!(html.contains("id=\"resume-trading\""));
        for path in PAGES {
            assert!(page(&fx, path).await.contains("id=\"halted\""), "{path} shows the banner");
        }
        let orders = e.sim.orders().len();
        let (signal, message) = fire(&hook, "while-stopped").await;
        assert!(message.contains("no order will be sent: your kill switch is engaged"), "{message}");
        assert!(!message.contains("queued"), "{message}");
        let intents = e.app.settled(&signal).await;
        assert_eq!(intents[0].status, IntentStatus::Skipped);
        let reason = intents[0].reason.clone().unwrap_or_default();
        assert!(reason.contains("your kill switch is engaged: no order was sent"), "{reason}");
        assert!(!reason.contains("user:") && !reason.contains("account:"), "no internal ids: {reason}");
        assert_eq!(e.sim.orders().len(), orders, "nothing reached the broker");
        let logs = page(&fx, &format!("/webhooks/{}/logs", hook.id)).await;
        assert!(logs.contains("your kill switch is engaged: no order was sent"), "{logs}");

        // Resume: trading again.
        let (_, _, html) = switch(&fx, "/kill-switch", &[("engaged", "off"), ("back", "/")]).await;
        assert!(!html.contains("id=\"halted\""), "{html}");
        let (signal, message) = fire(&hook, "after-resume").await;
        assert!(message.contains("1 order queued"), "{message}");
        assert_eq!(e.app.settled(&signal).await[0].status, IntentStatus::Accepted);

        // One account's switch, from its row on Broker Accounts.
        let accounts = page(&fx, "/broker-accounts").await;
        assert!(accounts.contains("Stop trading on "), "a row-specific button: {accounts}");
        let (_, url, html) = switch(&fx, "/kill-switch", &[("engaged", "on"), ("account_id", &account), ("back", "/broker-accounts")]).await;
        assert_eq!(url, "/broker-accounts");
        assert!(html.contains("Trading is stopped on ") && html.contains("Resume trading on "), "{html}");
        let (signal, _) = fire(&hook, "account-stopped").await;
        let reason = e.app.settled(&signal).await[0].reason.clone().unwrap_or_default();
        assert!(reason.contains("this account's kill switch is engaged"), "{reason}");
        switch(&fx, "/kill-switch", &[("engaged", "off"), ("account_id", &account)]).await;

        // A redirect goes to a local page only; someone else's account is not found.
        let (_, url, _) = switch(&fx, "/kill-switch", &[("engaged", "off"), ("back", "//evil.example/")]).await;
        assert_eq!(url, "/");
        let (status, _, _) = switch(&fx, "/kill-switch", &[("engaged", "on"), ("account_id", "not-mine")]).await;
        assert_eq!(status, 404);

        // The global switch: refused to users, offered to operators.
        let (status, _, _) = switch(&fx, "/admin/kill-switch", &[("engaged", "on")]).await;
        assert_eq!(status, 403);
        sqlx::query("UPDATE users SET is_admin = 1").execute(e.app.db.pool()).await.unwrap();
        assert!(page(&fx, "/").await.contains("id=\"stop-everyone\""));
        let (_, _, html) = switch(&fx, "/admin/kill-switch", &[("engaged", "on"), ("back", "/webhooks")]).await;
        assert!(html.contains("Trading is stopped for everyone"), "{html}");
        let (_, message) = fire(&hook, "global").await;
        assert!(message.contains("the operator's global kill switch is engaged"), "{message}");
        switch(&fx, "/admin/kill-switch", &[("engaged", "off")]).await;
        assert!(!page(&fx, "/").await.contains("id=\"halted\""));
    }
);
