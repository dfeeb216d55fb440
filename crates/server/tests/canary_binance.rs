//! Canary check for API-key brokers: a Binance API key and secret seeded
//! into the credential fields never appear in logs (trace level, every
//! crate), pages or API responses, across test → save → trade → a refused
//! signature → a failed order → disconnect.

use std::sync::Arc;

use atomik_binance_sim::{SimConfig, SimKey, SimSecret};
use atomik_broker::SystemClock;
use atomik_testkit::{CapturedLogs, Fixture, binance_app_with, csrf_in, test_config};
use serde_json::{Value, json};

const API_KEY: &str = "CANARYbinanceApiKey0001";
const SECRET: &str = "CANARY-binance-secret-77ab";

async fn run(t: atomik_testkit::TestDb, logs: CapturedLogs) {
    let mut sim = SimConfig::demo(Arc::new(SystemClock));
    sim.keys.push(SimKey {
        api_key: API_KEY.into(),
        secret: SimSecret::Hmac(SECRET.into()),
        uid: 9001,
        can_trade: true,
        enable_futures: true,
        ip_restricted: true,
        spot_balances: vec![("USDT".into(), 1000.into())],
        futures_wallet_usdt: 1000.into(),
    });
    let e = binance_app_with(t, test_config(), sim, |_| {}).await;
    let mut bodies: Vec<String> = Vec::new();
    let fx = Fixture::signup(&e.app, "canary@example.com").await;
    let (c, csrf) = (fx.client.clone(), fx.csrf.clone());
    let page = c
        .get(e.app.url("/broker-accounts/connect?broker=binance"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // A wrong secret: Binance refuses the signature; the page says so.
    let refused = c
        .post(e.app.url("/broker-accounts/connect/binance/keys"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("environment", "testnet"),
            ("api_key", API_KEY),
            ("secret", "CANARY-wrong-secret-0000"),
            ("intent", "test"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(refused.contains("signature"), "{refused}");
    bodies.push(refused);
    // The right one: Test Connection, then Save.
    let connected = fx.binance_account(API_KEY, SECRET).await;
    bodies.extend(connected.pages);
    let account = connected.id;
    let accounts: Value = c
        .get(e.app.url("/api/v1/broker-accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    bodies.push(accounts.to_string());
    let hook = fx.webhook("BTCUSDT.P signals").await;
    fx.strategy(&hook, &account, "BTCUSDT.P", "0.01").await;
    let url = hook.signal_url();
    // One order that fills, one that Binance refuses (the key lost futures).
    for (n, action) in ["buy", "sell"].into_iter().enumerate() {
        if n == 1 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while e.sim.orders().is_empty() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the first order never reached Binance"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            e.sim.set_permissions(API_KEY, true, false);
        }
        let res = atomik_testkit::client()
            .post(&url)
            .json(&json!({"action": action, "id": format!("c{n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let logs_page = loop {
        let page = c
            .get(e.app.url(&format!("/webhooks/{}/logs", hook.id)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("gave up") || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        logs_page.contains("gave up") && logs_page.contains("-2015"),
        "{logs_page}"
    );
    bodies.push(logs_page);
    let test = c
        .post(
            e.app
                .url(&format!("/api/v1/broker-accounts/{account}/test")),
        )
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    bodies.push(test);
    let gone = c
        .post(
            e.app
                .url(&format!("/api/v1/broker-accounts/{account}/disconnect")),
        )
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    bodies.push(gone);
    assert_eq!(e.sim.orders().len(), 1);

    let logs = logs.text();
    assert!(
        logs.len() > 1_000,
        "trace logs were captured ({} bytes)",
        logs.len()
    );
    for canary in [API_KEY, SECRET, "CANARY-wrong-secret-0000"] {
        assert!(!logs.contains(canary), "{canary} reached the logs");
        for body in &bodies {
            assert!(
                !body.contains(canary),
                "{canary} reached a response body: {body}"
            );
        }
    }
}

/// One test binary, one global subscriber: both backends run in sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binance_credentials_never_reach_logs_or_responses() {
    let logs = CapturedLogs::install();
    run(atomik_testkit::sqlite().await, logs.clone()).await;
    run(atomik_testkit::postgres().await, logs).await;
}
