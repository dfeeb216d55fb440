//! The HTTP edge under attack: CSRF with a junk bearer header, DELETE
//! dressed as ingress, security headers, `/metrics`, password and code
//! throttles, error answers in the contract, bursts and floods of webhook
//! requests. Each test fails on the code before the hardening issue.

use std::time::{Duration, Instant};

use atomik_testkit::{
    Fixture, TestApp, client, on_both_databases, spawn_app, submit_form, test_config,
};
use serde_json::{Value, json};

async fn app(t: atomik_testkit::TestDb) -> TestApp {
    spawn_app(t, test_config()).await
}

async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn deliveries(app: &TestApp) -> Vec<(i64, String, String)> {
    sqlx::query_as("SELECT status, payload, reason FROM webhook_deliveries ORDER BY received_at")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

async fn webhook_active(app: &TestApp, id: &str) -> Option<bool> {
    sqlx::query_scalar::<_, i64>("SELECT active FROM webhooks WHERE id = $1")
        .bind(id)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
        .map(|a| a != 0)
}

on_both_databases!(
    async fn a_junk_bearer_header_does_not_turn_off_csrf(t) {
        let app = app(t).await;
        let fx = Fixture::signup(&app, "csrf@example.com").await;
        let hook = fx.webhook("victim").await;
        // A foreign page posts with the victim's cookies and a junk bearer
        // header: the cookie must not authenticate it.
        let pause = fx
            .client
            .post(app.url(&format!("/api/v1/webhooks/{}/pause", hook.id)))
            .header("authorization", "Bearer junk")
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(pause.status(), 401, "authenticated by the bearer token alone");
        assert_eq!(webhook_active(&app, &hook.id).await, Some(true));
        let mint = fx
            .client
            .post(app.url("/api/v1/tokens"))
            .header("authorization", "Bearer junk")
            .json(&json!({"name": "stolen"}))
            .send()
            .await
            .unwrap();
        assert_eq!(mint.status(), 401);
        let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(tokens, 0, "no API token was minted");
        // A dashboard form with a bearer header still needs its CSRF token.
        let form = fx
            .client
            .post(app.url(&format!("/webhooks/{}/pause", hook.id)))
            .header("authorization", "Bearer junk")
            .form(&[("x", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 403);
        assert_eq!(webhook_active(&app, &hook.id).await, Some(true));
        let form = fx
            .client
            .post(app.url("/settings/tokens"))
            .header("authorization", "Bearer junk")
            .header("origin", "https://evil.example")
            .form(&[("name", "stolen")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 403);
        let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(tokens, 0, "no API token was minted from a dashboard form either");
        // DELETE on the ingress path is management, not ingress.
        let delete = fx
            .client
            .delete(app.url(&format!("/api/v1/webhooks/{}", hook.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), 403, "DELETE needs the CSRF token");
        assert_eq!(webhook_active(&app, &hook.id).await, Some(true), "not deleted");
        let delete = fx
            .client
            .delete(app.url(&format!("/api/v1/webhooks/{}", hook.id)))
            .header("x-csrf-token", &fx.csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), 204);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_carries_the_security_headers() {
    let mut config = test_config();
    config.secure_cookies = true;
    let app = spawn_app(atomik_testkit::sqlite().await, config).await;
    let c = client();
    for path in [
        "/login",
        "/api/v1/me",
        "/static/app.css",
        "/healthz",
        "/nope",
    ] {
        let res = c.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        let cache = h["cache-control"].to_str().unwrap();
        if path.starts_with("/static/") {
            assert!(cache.starts_with("public"), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
    }
    // Without TLS there is no HSTS (it would lock users out of plain HTTP).
    let plain = spawn_app(atomik_testkit::sqlite().await, test_config()).await;
    let res = c.get(plain.url("/login")).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_need_the_configured_token() {
    let open = spawn_app(atomik_testkit::sqlite().await, test_config()).await;
    let c = client();
    let res = c.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404, "not served without a token configured");
    let mut config = test_config();
    config.metrics_token = Some(atomik_secrets::Secret::new(
        "scrape-token-0123456789".into(),
    ));
    let app = spawn_app(atomik_testkit::sqlite().await, config).await;
    let res = c.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = c
        .get(app.url("/metrics"))
        .bearer_auth("wrong-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = c
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("atomik_http_requests_total")
    );
}

on_both_databases!(
    async fn the_password_check_before_turning_2fa_off_is_throttled(t) {
        let app = app(t).await;
        let fx = Fixture::signup(&app, "2fa@example.com").await;
        // With 2FA off, nothing is checked at all.
        let res = submit_form(&fx.client, &app, "/settings", "/settings/2fa/disable", &[("password", "wrong")]).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("already off"));
        sqlx::query("UPDATE users SET totp_enabled = 1")
            .execute(app.db.pool())
            .await
            .unwrap();
        // test_config allows 3 failures per account.
        for _ in 0..3 {
            let res = submit_form(&fx.client, &app, "/settings", "/settings/2fa/disable", &[("password", "wrong")]).await;
            assert_eq!(res.status(), 401);
        }
        let res = submit_form(
            &fx.client,
            &app,
            "/settings",
            "/settings/2fa/disable",
            &[("password", atomik_testkit::fixture::PASSWORD)],
        )
        .await;
        assert_eq!(res.status(), 429, "even the right password waits out the throttle");
        assert!(res.text().await.unwrap().contains("Too many failed attempts"));
        // The same throttle guards log-in.
        let c = client();
        let res = submit_form(
            &c,
            &app,
            "/login",
            "/login",
            &[("email", "2fa@example.com"), ("password", atomik_testkit::fixture::PASSWORD)],
        )
        .await;
        assert_eq!(res.status(), 429);
    }
);

on_both_databases!(
    async fn a_bar_close_burst_is_accepted_and_resends_are_duplicates(t) {
        let app = app(t).await;
        let fx = Fixture::signup(&app, "burst@example.com").await;
        let hook = fx.webhook("burst").await;
        let c = client();
        let url = format!("{}?secret={}", hook.url, hook.secret);
        // Twenty distinct alerts at once: all accepted (the old fixed window
        // refused 10 of them).
        let sends = (0..20).map(|i| {
            let (c, url) = (c.clone(), url.clone());
            async move {
                c.post(&url)
                    .json(&json!({"action": "buy", "ticker": format!("T{i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        });
        let mut tasks = Vec::new();
        for send in sends {
            tasks.push(tokio::spawn(send));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
        // A sender re-sending the same alert is stopped by duplicate
        // filtering, with a 202 (TradingView does not resend a 4xx).
        let again = c
            .post(&url)
            .json(&json!({"action": "buy", "ticker": "T0"}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 202);
        assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);
        // Past the burst, the rate holds: 429 with Retry-After.
        let mut limited = None;
        for i in 0..60 {
            let res = c.post(&url).json(&json!({"action": "buy", "n": i})).send().await.unwrap();
            if res.status() == 429 {
                limited = Some(res);
                break;
            }
        }
        let limited = limited.expect("a sustained flood is limited");
        assert!(limited.headers().contains_key("retry-after"));
        let body: Value = limited.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        // The 429 reaches the Logs tab (queued, written in a batch).
        until("the 429 in the delivery log", || async {
            deliveries(&app).await.iter().any(|d| d.0 == 429)
        })
        .await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limited_request_never_touches_the_database() {
    let mut config = test_config();
    config.webhook_rate = atomik_server::ratelimit::Rate {
        per_second: 1,
        burst: 2,
    };
    let app = spawn_app(atomik_testkit::sqlite().await, config).await;
    let fx = Fixture::signup(&app, "flood@example.com").await;
    let hook = fx.webhook("flood").await;
    let c = client();
    let url = format!("{}?secret={}", hook.url, hook.secret);
    for i in 0..2 {
        let res = c
            .post(&url)
            .json(&json!({"action": "buy", "n": i}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    // With the database gone, an over-limit request is still answered 429:
    // it was refused before any query.
    app.db.close().await;
    let res = c
        .post(&url)
        .json(&json!({"action": "buy", "n": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

on_both_databases!(
    async fn refusals_are_written_in_batches(t) {
        let (log, writer) = atomik_server::refusals::RefusalLog::new(t.db.clone());
        let user = atomik_storage::users::create(
            &t.db,
            atomik_storage::users::NewUser {
                email: "batch@example.com",
                password_hash: "x",
                plan_id: "starter",
                subscription_status: atomik_domain::SubscriptionStatus::Active,
                trial_ends_at: None,
                is_admin: false,
            },
            0,
        )
        .await
        .unwrap();
        let hook = atomik_storage::webhooks::create(
            &t.db,
            atomik_storage::webhooks::NewWebhook {
                user_id: &user.id,
                name: "w",
                description: "",
                token: "wh_batch",
                secret_digest: "d",
            },
            0,
        )
        .await
        .unwrap();
        for i in 0..300 {
            log.record(atomik_storage::signals::RefusedDelivery {
                webhook_id: hook.id.clone(),
                source_ip: None,
                status: 401,
                payload: format!("{{\"n\":{i}}}"),
                reason: "bad secret".into(),
                processing_us: 1,
                received_at: i,
            });
        }
        tokio::spawn(writer.run());
        until("300 refusals written", || async { log.rows_written() == 300 }).await;
        assert_eq!(log.batches_written(), 1, "one transaction for the lot");
        let rows = atomik_storage::signals::deliveries(&t.db, &hook.id, 1_000).await.unwrap();
        assert_eq!(rows.len(), 300);
    }
);

on_both_databases!(
    async fn error_answers_follow_the_contract(t) {
        let app = app(t).await;
        let fx = Fixture::signup(&app, "errors@example.com").await;
        let hook = fx.webhook("errors").await;
        let c = client();
        let url = format!("{}?secret={}", hook.url, hook.secret);
        // 413: the JSON error body, and a line in the Logs tab.
        let big = format!("{{\"action\":\"buy\",\"pad\":\"{}\"}}", "x".repeat(70_000));
        let res = c.post(&url).body(big.clone()).send().await.unwrap();
        assert_eq!(res.status(), 413);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large");
        until("the 413 in the delivery log", || async {
            deliveries(&app).await.iter().any(|d| d.0 == 413)
        })
        .await;
        // Elsewhere in the API too.
        let res = fx
            .client
            .post(app.url("/api/v1/webhooks"))
            .header("x-csrf-token", &fx.csrf)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
        // A byte-order mark before the JSON is not an error.
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(br#"{"action":"buy","ticker":"BOM"}"#);
        let res = c.post(&url).body(bom).send().await.unwrap();
        assert_eq!(res.status(), 202);
        // Wrongly typed fields are refused, not defaulted.
        for bad in [json!({"overlap_hours": 1.5}), json!({"overlap_hours": "5"}), json!({"overlap": 5})] {
            let res = fx
                .client
                .post(app.url(&format!("/api/v1/webhooks/{}/rotate", hook.id)))
                .header("x-csrf-token", &fx.csrf)
                .json(&bad)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 422, "{bad}");
        }
        let res = fx
            .client
            .post(app.url(&format!("/api/v1/webhooks/{}/rotate", hook.id)))
            .header("x-csrf-token", &fx.csrf)
            .json(&json!({"overlap_hours": 2}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
);

on_both_databases!(
    async fn a_webhook_sets_its_rate_within_the_plan_ceiling(t) {
        let app = app(t).await;
        let fx = Fixture::signup(&app, "rate@example.com").await;
        let hook = fx.webhook("rate").await;
        let put = |body: Value| {
            let (c, csrf, url) = (fx.client.clone(), fx.csrf.clone(), app.url(&format!("/api/v1/webhooks/{}/rate-limit", hook.id)));
            async move {
                c.put(url).header("x-csrf-token", csrf).json(&body).send().await.unwrap()
            }
        };
        let res = put(json!({"per_second": 500, "burst": 1000})).await;
        assert_eq!(res.status(), 422, "over the plan's ceiling");
        assert!(res.text().await.unwrap().contains("ceiling"));
        assert_eq!(put(json!({"per_second": 5})).await.status(), 422, "both or neither");
        let res = put(json!({"per_second": 1, "burst": 3})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["rate_burst"], 3);
        // The webhook's own limit applies from the next request on.
        let c = client();
        let url = format!("{}?secret={}", hook.url, hook.secret);
        let mut statuses = Vec::new();
        for i in 0..6 {
            statuses.push(c.post(&url).json(&json!({"action": "buy", "n": i})).send().await.unwrap().status().as_u16());
        }
        assert!(statuses.contains(&429), "{statuses:?}");
        assert_eq!(put(json!({})).await.status(), 200, "back to the default");
    }
);

#[tokio::test]
async fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let t = atomik_testkit::sqlite().await;
    let path = t.config.url.trim_start_matches("sqlite://").to_string();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{path}");
    // An existing file readable by others is tightened on open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = t.reconnect().await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
