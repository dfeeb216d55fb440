//! Webhook ingress over real HTTP on SQLite and PostgreSQL: every status of
//! SPEC §3, duplicates, the same-instant race, and the delivery log.

use atomik_testkit::{
    ManualClock, TestApp, client, element_text, manual_clock, on_both_databases, signup,
    spawn_app_on_clock, submit_form, test_config,
};
use serde_json::{Value, json};

const PW: &str = "correct horse battery";

/// A user with an API token and a webhook, on an app whose clock moves
/// only when the test advances it: (app, clock, bearer token, webhook id,
/// ingress URL, secret).
async fn setup(
    t: atomik_testkit::TestDb,
) -> (TestApp, ManualClock, String, String, String, String) {
    let clock = manual_clock();
    let app = spawn_app_on_clock(t, test_config(), &clock).await;
    let c = signup(&app, "ingress@example.com", PW).await;
    let res = submit_form(
        &c,
        &app,
        "/settings",
        "/settings/tokens",
        &[("name", "api")],
    )
    .await;
    let token = element_text(&res.text().await.unwrap(), "new-token").unwrap();
    let created: Value = client()
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"name": "alerts"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = app.url(created["webhook"]["url_path"].as_str().unwrap());
    let id = created["webhook"]["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    (app, clock, token, id, url, secret)
}

async fn send(
    url: &str,
    secret: Option<&str>,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let target = match secret {
        Some(s) => format!("{url}?secret={s}"),
        None => url.to_string(),
    };
    client()
        .post(target)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

on_both_databases!(
    async fn every_status_is_answered_exactly(t) {
        let (app, clock, token, id, url, secret) = setup(t).await;
        let buy = || json!({"action": "BUY", "ticker": "MNQ1!", "quantity": 1}).to_string();
        // 202 with the documented body; text/plain holding JSON; secret in the body.
        let res = send(&url, Some(&secret), "application/json", buy()).await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "accepted");
        assert!(body["signal_id"].is_string() && body["timestamp"].as_str().unwrap().contains('T') && body["message"].is_string());
        let res = send(&url, None, "text/plain", json!({"action": "sell", "comment": "EXIT_50", "secret": secret}).to_string()).await;
        assert_eq!(res.status(), 202);
        // 404 unknown token.
        let (s, e) = error_of(send(&app.url("/api/v1/webhooks/wh_unknown"), Some(&secret), "application/json", buy()).await).await;
        assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
        // 401: one answer for a missing and a wrong secret.
        let missing = error_of(send(&url, None, "application/json", buy()).await).await;
        let wrong = error_of(send(&url, Some("whs_wrong"), "application/json", buy()).await).await;
        assert_eq!(missing.0, 401);
        assert_eq!(missing, wrong);
        // 400 not JSON, 422 invalid signal, 413 over 64 KiB.
        let (s, e) = error_of(send(&url, Some(&secret), "text/plain", "BUY NQ".into()).await).await;
        assert_eq!(s, 400);
        assert!(e["error"]["message"].as_str().unwrap().contains("not JSON"));
        let (s, e) = error_of(send(&url, Some(&secret), "application/json", json!({"action": "HOLD"}).to_string()).await).await;
        assert_eq!(s, 422);
        assert!(e["error"]["message"].as_str().unwrap().contains("send BUY, SELL or EXIT"));
        let big = json!({"action": "BUY", "pad": "x".repeat(70 * 1024)}).to_string();
        assert_eq!(send(&url, Some(&secret), "application/json", big).await.status(), 413);
        // 403 allow-list (we send from 127.0.0.1).
        let http = client();
        http.put(app.url(&format!("/api/v1/webhooks/{id}/allowed-ips")))
            .bearer_auth(&token)
            .json(&json!({"allowed_ips": ["10.0.0.0/8"]}))
            .send()
            .await
            .unwrap();
        let (s, e) = error_of(send(&url, Some(&secret), "application/json", buy()).await).await;
        assert_eq!(s, 403);
        assert!(e["error"]["message"].as_str().unwrap().contains("127.0.0.1 is not in this webhook's allow-list"));
        http.put(app.url(&format!("/api/v1/webhooks/{id}/allowed-ips")))
            .bearer_auth(&token)
            .json(&json!({"allowed_ips": ["127.0.0.0/8"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(send(&url, Some(&secret), "application/json", json!({"action": "EXIT"}).to_string()).await.status(), 202);
        // 403 paused.
        http.post(app.url(&format!("/api/v1/webhooks/{id}/pause"))).bearer_auth(&token).send().await.unwrap();
        let (s, e) = error_of(send(&url, Some(&secret), "application/json", buy()).await).await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("webhook_paused")));
        http.post(app.url(&format!("/api/v1/webhooks/{id}/resume"))).bearer_auth(&token).send().await.unwrap();
        // 403 subscription without execution.
        sqlx::query("UPDATE users SET subscription_status = 'canceled'").execute(app.db.pool()).await.unwrap();
        let (s, e) = error_of(send(&url, Some(&secret), "application/json", buy()).await).await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("execution_not_allowed")));
        assert!(e["error"]["message"].as_str().unwrap().contains("canceled"));
        sqlx::query("UPDATE users SET subscription_status = 'active'").execute(app.db.pool()).await.unwrap();
        // 429 past the token bucket: full again after 10 s (burst 50), 60 at
        // once on a clock that does not move are 50 accepted and 10 refused.
        clock.advance(10_000);
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let url = url.clone();
                let secret = secret.clone();
                tokio::spawn(async move {
                    send(&url, Some(&secret), "application/json", json!({"action": "BUY", "n": i}).to_string()).await
                })
            })
            .collect();
        let mut limited = 0;
        for t in tasks {
            let res = t.await.unwrap();
            assert!(res.status() == 202 || res.status() == 429, "{}", res.status());
            if res.status() == 429 {
                assert_eq!(res.headers()["retry-after"], "1");
                limited += 1;
            }
        }
        assert_eq!(limited, 10, "rate-limited past the burst");
        // A second later the bucket holds 10 again.
        clock.advance(1_000);
        assert_eq!(send(&url, Some(&secret), "application/json", buy()).await.status(), 202);
        // Every delivery is logged with its status and reason (refusals in
        // batches, after their answers); no secret stored.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let rows = loop {
            let rows = atomik_storage::signals::deliveries(&app.db, &id, 1000).await.unwrap();
            let complete = rows.iter().any(|r| r.status == 401) && rows.iter().any(|r| r.status == 422) && rows.iter().any(|r| r.status == 429);
            if complete || std::time::Instant::now() > deadline {
                break rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert!(rows.iter().any(|r| r.status == 401) && rows.iter().any(|r| r.status == 422) && rows.iter().any(|r| r.status == 429));
        assert!(rows.iter().all(|r| !r.payload.contains(&secret) && !r.reason.is_empty()));
        assert!(rows.iter().any(|r| r.status == 202 && r.signal_id.is_some()));
    }
);

on_both_databases!(
    async fn duplicates_and_the_same_instant_race(t) {
        let (app, clock, _token, id, url, secret) = setup(t).await;
        let payload = json!({"action": "BUY", "ticker": "MNQ1!", "quantity": "2"}).to_string();
        let first: Value = send(&url, Some(&secret), "application/json", payload.clone()).await.json().await.unwrap();
        // Same payload, keys reordered, within the window: a duplicate of the first.
        let reordered = json!({"quantity": "2", "ticker": "MNQ1!", "action": "BUY"}).to_string();
        let dup: Value = send(&url, Some(&secret), "application/json", reordered).await.json().await.unwrap();
        assert_eq!(dup["duplicate"], true);
        assert_eq!(dup["signal_id"], first["signal_id"]);
        // A repeated sender id within 24 h is a duplicate even with another payload.
        let a: Value = send(&url, Some(&secret), "application/json", json!({"action": "SELL", "id": "t-1"}).to_string()).await.json().await.unwrap();
        // Past the duplicate window (1 s), within the sender id's 24 h.
        clock.advance(1_100);
        let b: Value = send(&url, Some(&secret), "application/json", json!({"action": "EXIT", "id": "t-1"}).to_string()).await.json().await.unwrap();
        assert_eq!((b["duplicate"].as_bool(), &b["signal_id"]), (Some(true), &a["signal_id"]));
        // After the window the same payload is a new signal.
        let again: Value = send(&url, Some(&secret), "application/json", payload).await.json().await.unwrap();
        assert!(again.get("duplicate").is_none());
        assert_ne!(again["signal_id"], first["signal_id"]);
        // Ten identical deliveries released together: exactly one accepted.
        for round in 0..3 {
            clock.advance(1_100);
            let body = json!({"action": "BUY", "round": round}).to_string();
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
            let tasks: Vec<_> = (0..10)
                .map(|_| {
                    let (url, secret, body, barrier) = (url.clone(), secret.clone(), body.clone(), barrier.clone());
                    tokio::spawn(async move {
                        barrier.wait().await;
                        send(&url, Some(&secret), "application/json", body).await.json::<Value>().await.unwrap()
                    })
                })
                .collect();
            let mut accepted = 0;
            let mut ids = std::collections::HashSet::new();
            for t in tasks {
                let v = t.await.unwrap();
                assert_eq!(v["status"], "accepted", "{v}");
                ids.insert(v["signal_id"].as_str().unwrap().to_string());
                if v.get("duplicate").is_none() {
                    accepted += 1;
                }
            }
            assert_eq!((accepted, ids.len()), (1, 1), "round {round}");
        }
        // The sender id is taken for 24 h after t-1 (sent 4 × 1.1 s ago), then free.
        clock.advance(24 * 3600 * 1000 - 4 * 1_100 - 1);
        let late: Value = send(&url, Some(&secret), "application/json", json!({"action": "EXIT", "id": "t-1"}).to_string()).await.json().await.unwrap();
        assert_eq!(late["duplicate"], true, "still within 24 h of t-1");
        clock.advance(1);
        let later: Value = send(&url, Some(&secret), "application/json", json!({"action": "EXIT", "id": "t-1"}).to_string()).await.json().await.unwrap();
        assert!(later.get("duplicate").is_none(), "{later}");
        assert_ne!(later["signal_id"], a["signal_id"]);
        assert_eq!(atomik_storage::signals::count(&app.db, &id).await.unwrap(), 3 + 3 + 1, "first, t-1, again, one per round, t-1 a day later");
    }
);
