//! Destructive actions ask first (issue 15): Disconnect and webhook Delete
//! show what will happen — open positions stay open at the broker, which
//! strategies turn off or go — and act only on the confirmation's button;
//! a stray POST (or a GET of the action's URL) shows the confirmation
//! instead. Real server, the Tradovate simulator, SQLite and PostgreSQL.

use std::time::Duration;

use atomik_domain::lifecycle::IntentStatus;
use atomik_testkit::{Fixture, Hook, TradovateEnv, on_both_databases, tradovate_app};
use serde_json::{Value, json};

async fn get(fx: &Fixture, path: &str) -> (u16, String) {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(fx: &Fixture, path: &str, confirm: bool) -> (u16, String) {
    let mut form = vec![("csrf", fx.csrf.as_str())];
    if confirm {
        form.push(("confirm", "yes"));
    }
    let res = fx
        .client
        .post(fx.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn fire(hook: &Hook, id: &str) -> reqwest::Response {
    atomik_testkit::client()
        .post(hook.signal_url())
        .json(&json!({"action": "buy", "id": id}))
        .send()
        .await
        .unwrap()
}

async fn accepted(e: &TradovateEnv, hook: &Hook, id: &str) {
    let res = fire(hook, id).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let signal = body["signal_id"].as_str().unwrap().to_string();
    let intents = e.app.settled(&signal).await;
    assert_eq!(intents[0].status, IntentStatus::Accepted, "{intents:?}");
}

on_both_databases!(
    async fn disconnect_and_delete_say_what_happens_and_act_only_when_confirmed(t) {
        let e = tradovate_app(t, "confirm-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "careful@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("careful").await;
        fx.strategy(&hook, &account, "MNQ1!", "1").await;
        accepted(&e, &hook, "open-a-position").await;

        // Disconnect: the GET of its URL and a stray POST both ask first.
        let disconnect = format!("/broker-accounts/{account}/disconnect");
        let (status, page) = get(&fx, &disconnect).await;
        assert_eq!(status, 200, "a page, not a blank 405");
        for said in ["Disconnect ", "Open positions stay open at the broker", "MNQ", "These strategies turn off", "MNQ1! strategy", "id=\"confirm-action\""] {
            assert!(page.contains(said), "{said}: {page}");
        }
        let (_, page) = post(&fx, &disconnect, false).await;
        assert!(page.contains("id=\"confirm-action\""), "{page}");
        let (_, list) = get(&fx, "/broker-accounts").await;
        assert!(!list.to_lowercase().contains(">disconnected<"), "not disconnected by a stray POST: {list}");
        assert!(list.contains("aria-label=\"Disconnect "), "row-specific button names");

        // Delete a webhook: its strategies go with it; the URL stops working.
        let delete = format!("/webhooks/{}/delete", hook.id);
        let (status, page) = get(&fx, &delete).await;
        assert_eq!(status, 200);
        for said in ["Delete the webhook careful?", "answers 404", "These strategies are deleted with it: MNQ1! strategy"] {
            assert!(page.contains(said), "{said}: {page}");
        }
        post(&fx, &delete, false).await;
        accepted(&e, &hook, "still-there").await;
        // Never while an order may be in flight: its outcome would be lost.
        sqlx::query("UPDATE order_intents SET status = 'ambiguous', not_before = 9000000000000000")
            .execute(e.app.db.pool()).await.unwrap();
        let (status, page) = post(&fx, &delete, true).await;
        assert!(status == 422 || page.contains("in flight"), "{status}: {page}");
        assert!(page.contains("order(s) in flight"), "{page}");
        let (_, list) = get(&fx, "/webhooks").await;
        assert!(list.contains(&delete), "not deleted: {list}");
        sqlx::query("UPDATE order_intents SET status = 'accepted'").execute(e.app.db.pool()).await.unwrap();

        // Confirmed, both happen.
        let (_, done) = post(&fx, &disconnect, true).await;
        assert!(done.contains("Account disconnected"), "{done}");
        let (_, list) = get(&fx, "/broker-accounts").await;
        assert!(list.to_lowercase().contains(">disconnected<"), "the check above can fail: {list}");
        let (_, done) = post(&fx, &delete, true).await;
        assert!(done.contains("Webhook deleted"), "{done}");
        assert_eq!(fire(&hook, "gone").await.status(), 404);
    }
);
