//! The REST API, OpenAPI document, health and metrics over real HTTP.

use atomik_testkit::{
    TestApp, client, on_both_databases, signup, spawn_app, submit_form, test_config,
};

const PW: &str = "correct horse battery";

/// A logged-in user's new API token, minted through the dashboard.
async fn token_for(app: &TestApp, email: &str) -> String {
    let c = signup(app, email, PW).await;
    let res = submit_form(
        &c,
        app,
        "/settings",
        "/settings/tokens",
        &[("name", "script")],
    )
    .await;
    atomik_testkit::element_text(&res.text().await.unwrap(), "new-token").expect("token shown once")
}

on_both_databases!(
    async fn bearer_tokens_authenticate_until_revoked(t) {
        let app = spawn_app(t, test_config()).await;
        let token = token_for(&app, "api@example.com").await;
        assert!(token.starts_with("atk_"));
        let http = client();
        let me: serde_json::Value = http
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["email"], "api@example.com");
        assert_eq!(me["plan"], "starter");
        assert_eq!(me["may_execute_trades"], true);
        let accounts = me["limits"].as_array().unwrap().iter().find(|l| l["resource"] == "broker_accounts").unwrap();
        assert_eq!((accounts["used"].as_u64(), accounts["limit"].as_u64()), (Some(0), Some(2)));

        // Bearer calls need no CSRF token; the stored form is a hash.
        let created: serde_json::Value = http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "second"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let second = created["token"].as_str().unwrap().to_string();
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
        assert_eq!(stored.len(), 2);
        assert!(!stored.iter().any(|h| h == &token || h == &second), "tokens are stored hashed");
        let list: serde_json::Value =
            http.get(app.url("/api/v1/tokens")).bearer_auth(&second).send().await.unwrap().json().await.unwrap();
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(&token[6..]), "listing never shows token values");

        let id = created["id"].as_str().unwrap();
        let del = http.delete(app.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(del.status(), 204);
        let dead = http.get(app.url("/api/v1/me")).bearer_auth(&second).send().await.unwrap();
        assert_eq!(dead.status(), 401);
        let body: serde_json::Value = dead.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_token");
    }
);

on_both_databases!(
    async fn errors_are_json_with_code_and_message(t) {
        let app = spawn_app(t, test_config()).await;
        let token = token_for(&app, "err@example.com").await;
        let http = client();
        let anon = http.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(anon.status(), 401);
        let body: serde_json::Value = anon.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"));
        let bad = http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let body: serde_json::Value = bad.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().starts_with("Invalid JSON body"));
        let empty = http
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "  "}))
            .send()
            .await
            .unwrap();
        assert_eq!(empty.status(), 422);
        let missing = http.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let body: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
);

on_both_databases!(
    async fn operators_set_plans_and_statuses(t) {
        let app = spawn_app(t, test_config()).await;
        let user_token = token_for(&app, "user@example.com").await;
        let admin_token = token_for(&app, "ops@example.com").await;
        sqlx::query("UPDATE users SET is_admin = 1 WHERE email = 'ops@example.com'")
            .execute(app.db.pool())
            .await
            .unwrap();
        let http = client();
        let denied = http.get(app.url("/api/v1/admin/users")).bearer_auth(&user_token).send().await.unwrap();
        assert_eq!(denied.status(), 403);
        let users: serde_json::Value =
            http.get(app.url("/api/v1/admin/users")).bearer_auth(&admin_token).send().await.unwrap().json().await.unwrap();
        let id = users.as_array().unwrap().iter().find(|u| u["email"] == "user@example.com").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let bad = http
            .patch(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&admin_token)
            .json(&serde_json::json!({"subscription_status": "gold"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 422);
        let res = http
            .patch(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&admin_token)
            .json(&serde_json::json!({"plan": "trader", "subscription_status": "suspended"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let me: serde_json::Value =
            http.get(app.url("/api/v1/me")).bearer_auth(&user_token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["plan"], "trader");
        assert_eq!(me["subscription_status"], "suspended");
        assert_eq!(me["may_execute_trades"], false);
        assert!(me["execution_denied_reason"].as_str().unwrap().contains("suspended"));
    }
);

on_both_databases!(
    async fn health_readiness_metrics_and_openapi(t) {
        let mut config = test_config();
        config.metrics_token = Some(atomik_secrets::Secret::new("metrics-token-for-tests".into()));
        let app = spawn_app(t, config).await;
        let http = client();
        assert_eq!(http.get(app.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
        let ready: serde_json::Value = http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["database"], "ok");
        let metrics = http
            .get(app.url("/metrics"))
            .bearer_auth("metrics-token-for-tests")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("atomik_http_requests_total"), "{metrics}");
        assert!(metrics.contains("route=\"/readyz\""));
        let doc: serde_json::Value =
            http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in ["/api/v1/me", "/api/v1/plans", "/api/v1/tokens", "/api/v1/tokens/{id}", "/api/v1/admin/users/{id}"] {
            assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        // Readiness fails when the database is gone.
        app.db.close().await;
        let down = http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(down.status(), 503);
    }
);
