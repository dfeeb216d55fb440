//! The attack suite, against the real `atomik` binary on loopback.
//!
//! - CSRF matrix over every state-changing route the router registers (read
//!   from its source, so a new route is covered the day it is added): no
//!   token, a wrong token, a foreign `Origin`, cross-site fetch metadata, a
//!   junk bearer header next to the cookie — each refused.
//! - Authorization matrix: a second user, with a valid session and CSRF
//!   token and with an API token, on every route and every id of the
//!   first user's — nothing of the victim's changes.
//! - Security headers on every page; the log-in throttle; a slow-header
//!   client cut off; a webhook secret in malformed bodies never in the log
//!   output or the Logs tab.

mod common;

use std::time::Duration;

use atomik_testkit::Fixture;
use atomik_testkit::fixture::PASSWORD;
use common::Server;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `(method, path)` of every state-changing route in a router source file.
fn state_changing_routes(source: &str, prefix: &str) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    let pieces: Vec<&str> = source.split(".route(").skip(1).collect();
    for piece in pieces {
        let Some(start) = piece.find('"') else {
            continue;
        };
        let rest = &piece[start + 1..];
        let path = &rest[..rest.find('"').expect("closing quote")];
        for method in ["post", "put", "patch", "delete"] {
            let call = format!("{method}(");
            let found = rest.match_indices(&call).any(|(i, _)| {
                i == 0
                    || !rest.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && rest.as_bytes()[i - 1] != b'_'
                        && rest.as_bytes()[i - 1] != b':'
            });
            if found {
                routes.push((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    routes
}

fn every_state_changing_route() -> Vec<(String, String)> {
    let mut routes = state_changing_routes(include_str!("../../server/src/web/mod.rs"), "");
    routes.extend(state_changing_routes(
        include_str!("../../server/src/api/mod.rs"),
        "/api/v1",
    ));
    routes
}

/// The victim's objects, by route parameter.
struct Ids {
    webhook: String,
    strategy: String,
    account: String,
    token: String,
    user: String,
}

fn concrete(path: &str, ids: &Ids) -> String {
    let id = if path.contains("webhooks") {
        &ids.webhook
    } else if path.contains("strategies") {
        &ids.strategy
    } else if path.contains("broker-accounts") {
        &ids.account
    } else if path.contains("tokens") {
        &ids.token
    } else if path.contains("admin/users") {
        &ids.user
    } else {
        "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    };
    path.replace("{id}", id)
        .replace("{state}", "off")
        .replace("{broker}", "binance")
}

fn is_ingress(method: &str, path: &str) -> bool {
    method == "POST" && path == "/api/v1/webhooks/{id}"
}

/// Everything the victim can see of their own state, as one value.
async fn snapshot(fx: &Fixture, base: &str) -> Value {
    let mut all = serde_json::Map::new();
    for path in [
        "me",
        "webhooks",
        "tokens",
        "strategies",
        "broker-accounts",
        "copy-groups",
    ] {
        let res = fx
            .client
            .get(format!("{base}/api/v1/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        all.insert(path.into(), res.json().await.unwrap());
    }
    // `last_used` moves with every API call: not a change of state.
    if let Some(tokens) = all.get_mut("tokens").and_then(Value::as_array_mut) {
        for t in tokens {
            t.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.contains("last_used"));
        }
    }
    Value::Object(all)
}

async fn api_token(fx: &Fixture, base: &str) -> (String, String) {
    let res = fx
        .client
        .post(format!("{base}/api/v1/tokens"))
        .header("x-csrf-token", &fx.csrf)
        .json(&json!({"name": "attack suite"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    (
        v["id"]
            .as_str()
            .or(v["token"]["id"].as_str())
            .unwrap_or_default()
            .to_string(),
        v["token"]
            .as_str()
            .or(v["secret"].as_str())
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_real_binary_holds_against_the_attack_suite() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--header-read-timeout-secs", "1"]);
    let base = server.url("");
    let routes = every_state_changing_route();
    assert!(
        routes.len() >= 30,
        "the route scan found {} routes",
        routes.len()
    );

    // The victim: a Binance demo account, a webhook, a strategy, an API token.
    let victim = Fixture::signup_at(&base, "victim@example.com", PASSWORD).await;
    let account = victim
        .binance_account(
            atomik_binance_sim::SimConfig::DEMO_API_KEY,
            atomik_binance_sim::SimConfig::DEMO_SECRET_KEY,
        )
        .await
        .id;
    let hook = victim.webhook("victim").await;
    let strategy = victim.strategy(&hook, &account, "BTCUSDT", "0.001").await;
    let (token_id, _victim_token) = api_token(&victim, &base).await;
    let me: Value = victim
        .client
        .get(format!("{base}/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = Ids {
        webhook: hook.id.clone(),
        strategy,
        account,
        token: token_id,
        user: me["id"].as_str().unwrap_or_default().to_string(),
    };
    let before = snapshot(&victim, &base).await;

    // CSRF matrix: the victim's own cookie, five ways a forged request looks.
    let c = &victim.client;
    for (method, path) in routes.iter().filter(|(m, p)| !is_ingress(m, p)) {
        let url = format!("{base}{}", concrete(path, &ids));
        let m: reqwest::Method = method.parse().unwrap();
        let api = path.starts_with("/api/");
        let attempts: Vec<(&str, reqwest::RequestBuilder)> = vec![
            (
                "no token",
                c.request(m.clone(), &url).form(&[("name", "x")]),
            ),
            (
                "wrong token",
                c.request(m.clone(), &url).header("x-csrf-token", "wrong"),
            ),
            (
                "foreign origin",
                c.request(m.clone(), &url)
                    .header("x-csrf-token", &victim.csrf)
                    .header("origin", "https://evil.example"),
            ),
            (
                "cross-site fetch",
                c.request(m.clone(), &url)
                    .header("x-csrf-token", &victim.csrf)
                    .header("sec-fetch-site", "cross-site"),
            ),
            (
                "junk bearer",
                c.request(m.clone(), &url)
                    .header("authorization", "Bearer junk")
                    .form(&[("name", "x")]),
            ),
        ];
        for (how, request) in attempts {
            let status = request.send().await.unwrap().status().as_u16();
            let expected: &[u16] = if how == "junk bearer" && api {
                &[401]
            } else {
                &[403]
            };
            assert!(
                expected.contains(&status),
                "{how}: {method} {path} answered {status}"
            );
        }
    }
    assert_eq!(
        snapshot(&victim, &base).await,
        before,
        "a forged request changed the victim's state"
    );

    // Authorization matrix: another user, fully authenticated, on the
    // victim's ids.
    let attacker = Fixture::signup_at(&base, "attacker@example.com", PASSWORD).await;
    let (_, attacker_token) = api_token(&attacker, &base).await;
    for (method, path) in routes
        .iter()
        .filter(|(m, p)| !is_ingress(m, p) && p.contains('{'))
    {
        let url = format!("{base}{}", concrete(path, &ids));
        let m: reqwest::Method = method.parse().unwrap();
        let by_session = attacker
            .client
            .request(m.clone(), &url)
            .header("x-csrf-token", &attacker.csrf)
            .form(&[
                ("csrf", attacker.csrf.as_str()),
                ("name", "x"),
                ("allowed_ips", ""),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(
            !(200..300).contains(&by_session) || !path.starts_with("/api/"),
            "{method} {path}: {by_session}"
        );
        if path.starts_with("/api/") {
            let by_token = reqwest::Client::new()
                .request(m, &url)
                .bearer_auth(&attacker_token)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert!(
                [400, 403, 404, 422].contains(&by_token),
                "{method} {path} by token: {by_token}"
            );
        }
    }
    assert_eq!(
        snapshot(&victim, &base).await,
        before,
        "another user changed the victim's state"
    );

    // Security headers on every page a user sees.
    for path in [
        "/",
        "/login",
        "/signup",
        "/settings",
        "/webhooks",
        "/strategies",
        "/broker-accounts",
        "/api/v1/me",
    ] {
        let res = victim
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    // /metrics is not public.
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_ne!(metrics.status(), 200);

    // The secret in malformed bodies reaches neither the Logs tab nor the log output.
    for body in [
        format!(r#"{{"action":"buy","secret":"{}",}}"#, hook.secret),
        format!(r#"[{{"secret":"{}"}}]"#, hook.secret),
        format!("secret={}&action=buy", hook.secret),
    ] {
        let status = reqwest::Client::new()
            .post(&hook.url)
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_client_error(), "{status}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let logs = victim
            .client
            .get(format!("{base}/webhooks/{}/logs", ids.webhook))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !logs.contains(&hook.secret),
            "the Logs tab shows the secret"
        );
        if logs.matches("[REDACTED]").count() >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refusals never reached the Logs tab"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The log-in throttle: five failures, then even the right password waits.
    let c = atomik_testkit::client();
    let mut last = 0;
    for _ in 0..6 {
        let page = c
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        last = c
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", atomik_testkit::csrf_in(&page).as_str()),
                ("email", "victim@example.com"),
                ("password", "wrong"),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "log-in is throttled");

    // A slow-header client is cut off (the server runs with a 1 s limit).
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        cut.is_ok(),
        "a slow-header client was still connected after 10 s"
    );

    let output = server.terminate();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.len() > 100, "the server logged");
    assert!(
        !stderr.contains(&hook.secret),
        "the webhook secret reached the log output"
    );
}
