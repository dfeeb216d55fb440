//! Webhook management over real HTTP, on SQLite and PostgreSQL.

use atomik_testkit::{
    client, element_text, on_both_databases, signup, spawn_app, submit_form, test_config,
};
use serde_json::{Value, json};

const PW: &str = "correct horse battery";

on_both_databases!(
    async fn create_rotate_pause_allow_list_and_delete_through_the_api(t) {
        let app = spawn_app(t, test_config()).await;
        let c = signup(&app, "hooks@example.com", PW).await;
        let res = submit_form(&c, &app, "/settings", "/settings/tokens", &[("name", "api")]).await;
        let token = element_text(&res.text().await.unwrap(), "new-token").unwrap();
        let http = client();
        let create = |name: &'static str| {
            let http = http.clone();
            let url = app.url("/api/v1/webhooks");
            let token = token.clone();
            async move { http.post(url).bearer_auth(token).json(&json!({"name": name, "description": "NQ"})).send().await.unwrap() }
        };
        let res = create("first").await;
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_string();
        let id = created["webhook"]["id"].as_str().unwrap().to_string();
        assert!(created["webhook"]["url_path"].as_str().unwrap().starts_with("/api/v1/webhooks/wh_"));
        // Stored only as a keyed hash; never listed again.
        let digests: Vec<String> = sqlx::query_scalar("SELECT digest FROM webhook_secrets").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(digests.len(), 1);
        assert!(!digests[0].contains(&secret) && digests[0] != atomik_server::auth::tokens::digest(&secret));
        let list = http.get(app.url("/api/v1/webhooks")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        assert!(!list.contains(&secret));

        // Starter allows 3 active webhooks.
        create("second").await;
        create("third").await;
        let res = create("fourth").await;
        assert_eq!(res.status(), 409);
        let err: Value = res.json().await.unwrap();
        assert!(err["error"]["message"].as_str().unwrap().starts_with("Active webhooks limit reached: the Starter plan allows 3"));

        let post = |path: String, body: Value| {
            let http = http.clone();
            let token = token.clone();
            async move { http.post(path).bearer_auth(token).json(&body).send().await.unwrap() }
        };
        let rotated: Value = post(app.url(&format!("/api/v1/webhooks/{id}/rotate")), json!({"overlap_hours": 2})).await.json().await.unwrap();
        assert_ne!(rotated["secret"], secret);
        assert_eq!(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_secrets").fetch_one(app.db.pool()).await.unwrap(), 4);
        let paused: Value = post(app.url(&format!("/api/v1/webhooks/{id}/pause")), json!({})).await.json().await.unwrap();
        assert_eq!(paused["active"], false);
        assert_eq!(create("fourth").await.status(), 201, "pausing freed a slot");
        assert_eq!(post(app.url(&format!("/api/v1/webhooks/{id}/resume")), json!({})).await.status(), 409);

        let set = |list: Value| {
            let http = http.clone();
            let token = token.clone();
            let url = app.url(&format!("/api/v1/webhooks/{id}/allowed-ips"));
            async move { http.put(url).bearer_auth(token).json(&json!({"allowed_ips": list})).send().await.unwrap() }
        };
        let ok: Value = set(json!(["tradingview", "10.0.0.0/8"])).await.json().await.unwrap();
        assert_eq!(ok["allowed_ips"].as_array().unwrap().len(), 5);
        let bad = set(json!(["not-an-ip"])).await;
        assert_eq!(bad.status(), 422);

        let del = http.delete(app.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(del.status(), 204);
        let again = http.delete(app.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(again.status(), 404);

        // Management with a session cookie needs the CSRF token (only ingress is exempt).
        let other = c.post(app.url("/api/v1/webhooks")).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(other.status(), 403);
    }
);

on_both_databases!(
    async fn the_page_shows_the_secret_once(t) {
        let app = spawn_app(t, test_config()).await;
        let c = signup(&app, "page@example.com", PW).await;
        let res = submit_form(&c, &app, "/webhooks", "/webhooks", &[("name", "NQ alerts"), ("description", "5m")]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let secret = element_text(&html, "webhook-secret").expect("secret revealed");
        assert!(secret.starts_with("whs_"));
        assert!(element_text(&html, "webhook-url").unwrap().contains("/api/v1/webhooks/wh_"));
        let again = c.get(app.url("/webhooks")).send().await.unwrap().text().await.unwrap();
        assert!(again.contains("NQ alerts") && !again.contains(&secret));
        let bad = submit_form(&c, &app, "/webhooks", "/webhooks", &[("name", "  ")]).await;
        assert_eq!(bad.status(), 422);
        // A delivery shows on the Logs tab, without the secret.
        let path = element_text(&html, "webhook-url").unwrap();
        let path = &path[path.find("/api/").unwrap()..];
        let res = client().post(app.url(&format!("{path}?secret={secret}"))).body(r#"{"action":"HOLD"}"#).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let id: String = sqlx::query_scalar("SELECT id FROM webhooks").fetch_one(app.db.pool()).await.unwrap();
        // Refusals reach the log in batches, just after their answers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let logs = loop {
            let logs = c.get(app.url(&format!("/webhooks/{id}/logs"))).send().await.unwrap().text().await.unwrap();
            if logs.contains(">422<") || std::time::Instant::now() > deadline {
                break logs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert!(logs.contains("unknown action") && logs.contains(">422<") && !logs.contains(&secret), "{logs}");
    }
);
