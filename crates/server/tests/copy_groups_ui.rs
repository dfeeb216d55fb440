//! The Copy Trading page (issue 15): create a group, add a follower with
//! its multiplier, see what the last copied signal did, remove it, delete
//! the group after confirming — and the API's twins (delete a group,
//! remove a follower). Real server, the Tradovate simulator, SQLite and
//! PostgreSQL.

use std::time::Duration;

use atomik_testkit::{Fixture, on_both_databases, tradovate_app_with_traders};
use serde_json::{Value, json};

async fn get(fx: &Fixture, path: &str) -> String {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// Post a form; a 303 is followed to the page it names.
async fn post(fx: &Fixture, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = vec![("csrf", fx.csrf.as_str())];
    form.extend_from_slice(fields);
    let res = fx
        .client
        .post(fx.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 303 {
        let to = res.headers()["location"].to_str().unwrap().to_string();
        return (status, get(fx, &to).await);
    }
    (status, res.text().await.unwrap())
}

async fn groups(fx: &Fixture) -> Value {
    fx.client
        .get(fx.url("/api/v1/copy-groups"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

on_both_databases!(
    async fn a_copy_group_is_built_watched_and_taken_down_from_its_page(t) {
        let e = tradovate_app_with_traders(t, "copy-secret", Duration::from_secs(5), 1).await;
        let fx = Fixture::signup(&e.app, "copier@example.com").await;
        let base = e.sim.base_url();
        let leader = fx.tradovate_account(&base).await.id;
        let follower = fx.tradovate_account_as(&base, "trader0", "pw0").await.id;
        let hook = fx.webhook("copied").await;
        fx.strategy(&hook, &leader, "MNQ1!", "1").await;

        let page = get(&fx, "/copy-groups").await;
        assert!(page.contains("No copy groups yet.") && page.contains("id=\"create-group\""), "{page}");
        let (status, page) = post(&fx, "/copy-groups", &[("name", "Team"), ("leader_account_id", &leader)]).await;
        assert_eq!(status, 303, "redirected after the POST");
        assert!(page.contains("<h2>Team</h2>"), "{page}");
        let group = groups(&fx).await[0]["id"].as_str().unwrap().to_string();

        // A bad multiplier is refused, saying why; a good one adds the follower.
        let (status, page) = post(&fx, &format!("/copy-groups/{group}/followers"), &[("account_id", &follower), ("multiplier", "0")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("multiplier must be a number in (0, 100]"), "{page}");
        let (_, page) = post(&fx, &format!("/copy-groups/{group}/followers"), &[("account_id", &follower), ("multiplier", "2")]).await;
        assert!(page.contains("× 2") && page.contains("copying") && page.contains("no signal copied yet"), "{page}");

        // A signal: the follower's line shows what it did.
        let res = atomik_testkit::client().post(hook.signal_url()).json(&json!({"action": "buy"})).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        let intents = e.app.settled(body["signal_id"].as_str().unwrap()).await;
        assert_eq!(intents.len(), 2, "leader and follower: {intents:?}");
        let page = get(&fx, "/copy-groups").await;
        assert!(page.contains("accepted: accepted by the broker"), "{page}");
        assert!(page.contains("aria-label=\"Remove "), "row-specific button: {page}");

        // Remove the follower, then delete the group (confirmed first).
        let (_, page) = post(&fx, &format!("/copy-groups/{group}/followers/{follower}/remove"), &[]).await;
        assert!(page.contains("No followers yet."), "{page}");
        let (_, page) = post(&fx, &format!("/copy-groups/{group}/delete"), &[]).await;
        assert!(page.contains("Delete the copy group Team?") && page.contains("id=\"confirm-action\""), "{page}");
        assert_eq!(groups(&fx).await.as_array().map(Vec::len), Some(1), "not deleted unconfirmed");
        let (_, page) = post(&fx, &format!("/copy-groups/{group}/delete"), &[("confirm", "yes")]).await;
        assert!(page.contains("No copy groups yet."), "{page}");

        // The API's twins; the plan slot was freed (Starter allows one group).
        let api = |m: reqwest::Method, p: String| fx.client.request(m, fx.url(&p)).header("x-csrf-token", &fx.csrf);
        let res = api(reqwest::Method::POST, "/api/v1/copy-groups".into()).json(&json!({"name": "Again", "leader_account_id": leader})).send().await.unwrap();
        assert_eq!(res.status(), 201, "the slot was freed");
        let again: Value = res.json().await.unwrap();
        let again = again["id"].as_str().unwrap().to_string();
        let res = api(reqwest::Method::POST, format!("/api/v1/copy-groups/{again}/followers")).json(&json!({"account_id": follower})).send().await.unwrap();
        assert_eq!(res.status(), 204);
        let res = api(reqwest::Method::DELETE, format!("/api/v1/copy-groups/{again}/followers/{follower}")).send().await.unwrap();
        assert_eq!(res.status(), 204);
        let res = api(reqwest::Method::DELETE, format!("/api/v1/copy-groups/{again}/followers/{follower}")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let res = api(reqwest::Method::DELETE, format!("/api/v1/copy-groups/{again}")).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(groups(&fx).await.as_array().map(Vec::len), Some(0));
    }
);
