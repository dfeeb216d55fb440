//! Strategies can be edited and deleted (issue 15), from the dashboard and
//! the REST API alike: the edit form keeps what was typed when a value is
//! refused, Delete confirms first and is refused while an order is in
//! flight, and each row shows its account's state. Real server, the
//! Tradovate simulator, SQLite and PostgreSQL.

use std::time::Duration;

use atomik_testkit::{Fixture, on_both_databases, tradovate_app};
use serde_json::{Value, json};

async fn get(fx: &Fixture, path: &str) -> (u16, String) {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(fx: &Fixture, path: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let mut form = vec![("csrf", fx.csrf.as_str())];
    form.extend_from_slice(fields);
    let res = fx
        .client
        .post(fx.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (res.status().as_u16(), location, res.text().await.unwrap())
}

async fn api(
    fx: &Fixture,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = fx
        .client
        .request(method, fx.url(path))
        .header("x-csrf-token", &fx.csrf);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

on_both_databases!(
    async fn strategies_are_edited_and_deleted_in_the_dashboard_and_the_api(t) {
        let e = tradovate_app(t, "edit-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "editor@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("edits").await;
        let id = fx.strategy(&hook, &account, "MNQ1!", "1").await;

        let (_, list) = get(&fx, "/strategies").await;
        assert!(list.contains("aria-label=\"Edit MNQ1! strategy\""), "{list}");
        assert!(list.contains("class=\"small muted account-status\">active<"), "{list}");
        let (status, form) = get(&fx, &format!("/strategies/{id}/edit")).await;
        assert_eq!(status, 200);
        assert!(form.contains("name=\"quantity\" value=\"1\""), "prefilled: {form}");

        // Refused: the form comes back with what was typed and why.
        let edit = format!("/strategies/{id}/edit");
        let typed = [("name", "Renamed"), ("instrument", "MNQ1!"), ("quantity", "lots"), ("max_position", "4")];
        let (status, _, page) = post(&fx, &edit, &typed).await;
        assert_eq!(status, 422);
        assert!(page.contains("quantity must be a positive number"), "{page}");
        assert!(page.contains("value=\"Renamed\"") && page.contains("value=\"lots\"") && page.contains("value=\"4\""), "kept: {page}");
        // Saved: back to Strategies (no resubmission on Refresh).
        let (status, to, _) = post(&fx, &edit, &[("name", "Renamed"), ("instrument", "MNQ1!"), ("quantity", "3"), ("max_position", "4")]).await;
        assert_eq!((status, to.as_deref()), (303, Some("/strategies")));
        let (_, all) = api(&fx, reqwest::Method::GET, "/api/v1/strategies", None).await;
        assert_eq!((all[0]["name"].as_str(), all[0]["quantity"].as_str(), all[0]["max_position"].as_str()), (Some("Renamed"), Some("3"), Some("4")));

        // The REST twin: same validation, unknown fields refused.
        let path = format!("/api/v1/strategies/{id}");
        let (status, _) = api(&fx, reqwest::Method::PUT, &path, Some(json!({"name": "x", "instrument": "MNQ1!", "quantity": "1", "webhook_id": "other"}))).await;
        assert_eq!(status, 422, "a strategy's webhook is not edited");
        let (status, body) = api(&fx, reqwest::Method::PUT, &path, Some(json!({"name": "Api", "instrument": "MNQ1!", "quantity": "1000000"}))).await;
        assert_eq!(status, 422, "{body}");
        let (status, body) = api(&fx, reqwest::Method::PUT, &path, Some(json!({"name": "Api", "instrument": "MNQ1!", "quantity": "2"}))).await;
        assert_eq!((status, body["name"].as_str(), body["max_position"].clone()), (200, Some("Api"), Value::Null), "{body}");
        let (status, _) = api(&fx, reqwest::Method::PUT, "/api/v1/strategies/not-mine", Some(json!({"name": "x", "instrument": "MNQ1!", "quantity": "1"}))).await;
        assert_eq!(status, 404);

        // Delete asks first; refused while an order is in flight.
        let delete = format!("/strategies/{id}/delete");
        let (_, _, page) = post(&fx, &delete, &[]).await;
        assert!(page.contains("Delete the strategy Api?") && page.contains("id=\"confirm-action\""), "{page}");
        let res = atomik_testkit::client().post(hook.signal_url()).json(&json!({"action": "buy"})).send().await.unwrap();
        let signal: Value = res.json().await.unwrap();
        e.app.settled(signal["signal_id"].as_str().unwrap()).await;
        sqlx::query("UPDATE order_intents SET status = 'ambiguous', not_before = 9000000000000000")
            .execute(e.app.db.pool()).await.unwrap();
        let (status, _, page) = post(&fx, &delete, &[("confirm", "yes")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("unfinished order(s)"), "{page}");
        let (status, _) = api(&fx, reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, 422, "the API refuses the same way");
        sqlx::query("UPDATE order_intents SET status = 'accepted'").execute(e.app.db.pool()).await.unwrap();
        let (status, _, page) = post(&fx, &delete, &[("confirm", "yes")]).await;
        assert_eq!(status, 200);
        assert!(page.contains("Strategy deleted."), "{page}");
        let (_, all) = api(&fx, reqwest::Method::GET, "/api/v1/strategies", None).await;
        assert_eq!(all.as_array().map(Vec::len), Some(0));

        // The create form keeps what was typed when a value is refused.
        let typed = [("name", "Typed"), ("webhook_id", hook.id.as_str()), ("broker_account_id", account.as_str()),
            ("instrument", "MNQ1!"), ("quantity", "many"), ("trading_hours", "13:30-20:00"), ("quantity_source", "alert")];
        let (status, _, page) = post(&fx, "/strategies", &typed).await;
        assert_eq!(status, 422);
        assert!(page.contains("quantity must be a positive number"), "{page}");
        for kept in ["value=\"Typed\"", "value=\"many\"", "value=\"13:30-20:00\"", "value=\"alert\" selected"] {
            assert!(page.contains(kept), "{kept}: {page}");
        }

        // The API's DELETE.
        let other = fx.strategy(&hook, &account, "MNQ1!", "1").await;
        let (status, _) = api(&fx, reqwest::Method::DELETE, &format!("/api/v1/strategies/{other}"), None).await;
        assert_eq!(status, 204);
        let (status, _) = api(&fx, reqwest::Method::DELETE, &format!("/api/v1/strategies/{other}"), None).await;
        assert_eq!(status, 404);
    }
);
