//! The REST twins of what the dashboard shows (issue 15): a webhook's
//! deliveries with each account's outcome, an account's positions, the
//! kill switches in force — and each is in the OpenAPI document. Real
//! server, the Tradovate simulator, SQLite and PostgreSQL.

use std::time::Duration;

use atomik_testkit::{Fixture, on_both_databases, tradovate_app};
use serde_json::{Value, json};

async fn get(fx: &Fixture, path: &str) -> (u16, Value) {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

on_both_databases!(
    async fn deliveries_positions_and_kill_switches_are_served_as_json(t) {
        let e = tradovate_app(t, "activity-secret", Duration::from_secs(5)).await;
        let fx = Fixture::signup(&e.app, "rest@example.com").await;
        let account = fx.tradovate_account(&e.sim.base_url()).await.id;
        let hook = fx.webhook("rest").await;
        fx.strategy(&hook, &account, "MNQ1!", "2").await;
        let res = atomik_testkit::client().post(hook.signal_url()).json(&json!({"action": "buy"})).send().await.unwrap();
        let signal: Value = res.json().await.unwrap();
        let signal = signal["signal_id"].as_str().unwrap().to_string();
        e.app.settled(&signal).await;

        let (status, list) = get(&fx, &format!("/api/v1/webhooks/{}/deliveries", hook.id)).await;
        assert_eq!(status, 200, "{list}");
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 1, "{list:?}");
        let accepted = &list[0];
        assert_eq!(accepted["status"], 202);
        assert_eq!(accepted["signal_id"], signal.as_str());
        let o = &accepted["outcomes"][0];
        assert_eq!((o["account_id"].as_str(), o["strategy"].as_str(), o["status"].as_str()), (Some(account.as_str()), Some("MNQ1! strategy"), Some("accepted")), "{o}");
        assert_eq!((o["side"].as_str(), o["quantity"].as_str()), (Some("buy"), Some("2")));
        assert!(o["broker_order_id"].is_string() && o["sent_after_ms"].is_number() && o["broker_latency_ms"].is_number(), "{o}");
        let (_, one) = get(&fx, &format!("/api/v1/webhooks/{}/deliveries?limit=1", hook.id)).await;
        assert_eq!(one.as_array().map(Vec::len), Some(1));
        assert_eq!(get(&fx, "/api/v1/webhooks/nope/deliveries").await.0, 404);

        let (status, positions) = get(&fx, &format!("/api/v1/broker-accounts/{account}/positions")).await;
        assert_eq!(status, 200);
        assert_eq!(positions[0]["quantity"], "2", "{positions}");
        assert_eq!(get(&fx, "/api/v1/broker-accounts/nope/positions").await.0, 404);

        let (_, switches) = get(&fx, "/api/v1/kill-switch").await;
        assert_eq!(switches, json!({"global": false, "user": false, "accounts": []}));
        let res = fx.client.post(fx.url("/api/v1/kill-switch")).header("x-csrf-token", &fx.csrf)
            .json(&json!({"engaged": true, "account_id": account})).send().await.unwrap();
        assert_eq!(res.status(), 204);
        let (_, switches) = get(&fx, "/api/v1/kill-switch").await;
        assert_eq!(switches, json!({"global": false, "user": false, "accounts": [account]}));

        let (_, doc) = get(&fx, "/api/v1/openapi.json").await;
        for path in ["/api/v1/webhooks/{id}/deliveries", "/api/v1/broker-accounts/{id}/positions", "/api/v1/kill-switch", "/api/v1/strategies/{id}"] {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
        assert!(doc["paths"]["/api/v1/kill-switch"].get("get").is_some());
        let ingress = &doc["paths"]["/api/v1/webhooks/{token}"]["post"];
        assert!(ingress["responses"].get("202").is_some() && ingress["responses"].get("429").is_some(), "the ingress endpoint is documented: {ingress}");
        assert!(doc["paths"]["/api/v1/strategies/{id}"].get("put").is_some() && doc["paths"]["/api/v1/strategies/{id}"].get("delete").is_some());
    }
);
