//! Crash soak: while signals flow, the server is killed with SIGKILL at
//! random moments and restarted, five times. The simulators run in their
//! own process (`atomik sim`), so their ledgers outlive every crash.
//! Afterwards every acknowledged signal has exactly one order at the broker
//! and nothing is stuck.

mod common;

use atomik_domain::lifecycle::IntentStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atomik_testkit::Fixture;
use atomik_testkit::fixture::PASSWORD;
use common::{Server, Sims, free_port, until_settled};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_signals_flow_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("atomik.db").display());
    soak(dir, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_signals_flow_on_postgres() {
    let name = format!("atomik_soak_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&atomik_testkit::pg_url())
        .await
        .expect("PostgreSQL reachable");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    soak(
        tempfile::tempdir().unwrap(),
        format!("postgres://postgres@127.0.0.1:5432/{name}"),
    )
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// Wait until the sender holds `n` acknowledged signals.
async fn until_acked(acked: &Mutex<Vec<String>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "the server stopped acknowledging signals"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn soak(dir: tempfile::TempDir, database_url: String) {
    let port = free_port();
    let sims = Sims::start(port, &[]);
    let sim_url = sims.tradovate.clone();
    let args = [
        "--tradovate-sim-url",
        sim_url.as_str(),
        "--database-url",
        database_url.as_str(),
    ];
    let mut server = Server::start_on(dir.path(), port, &args);

    // Sign up, connect the demo account through the simulator, webhook, strategy.
    let fx = Fixture::signup_at(&server.url(""), "soak@example.com", PASSWORD).await;
    let account = fx.tradovate_account(&sim_url).await.id;
    let hook = fx.webhook("soak").await;
    fx.strategy(&hook, &account, "MNQ1!", "1").await;

    // A sender posts signals all along, keeping the acknowledged ones.
    let ingress = hook.signal_url();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (acked, stop) = (acked.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let body = json!({"action": "BUY", "id": format!("c{n}")});
                if let Ok(res) = http.post(&ingress).json(&body).send().await
                    && res.status() == 202
                    && let Ok(v) = res.json::<Value>().await
                {
                    acked
                        .lock()
                        .unwrap()
                        .push(v["signal_id"].as_str().unwrap().to_string());
                }
                // Pacing, not synchronization: a steady stream of signals
                // for the kills to land in.
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        })
    };
    // Five SIGKILLs, each followed by a restart. Each incarnation first
    // acknowledges two signals (so signals really flow through every one);
    // the kill then lands a pseudo-random real time later, at whatever
    // moment of ingress or execution that is — the OS kills in real time,
    // so this one wait has to be real time.
    for round in 0..5u64 {
        let n = acked.lock().unwrap().len() + 2;
        until_acked(&acked, n).await;
        tokio::time::sleep(Duration::from_millis((round * 277) % 500)).await;
        server.kill9();
        server = Server::start_on(dir.path(), port, &args);
    }
    // The last incarnation takes signals too.
    let n = acked.lock().unwrap().len() + 2;
    until_acked(&acked, n).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    sender.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10,
        "only {} signals acknowledged",
        acked.len()
    );

    // Wait until no intent is open, reading the server's database.
    let db = atomik_storage::Db::connect(&atomik_storage::DbConfig::new(database_url.clone()))
        .await
        .unwrap();
    until_settled(&db, Duration::from_secs(60)).await;
    let ledger: Vec<Value> = reqwest::get(format!("{sim_url}/_sim/orders"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ledger_ids: Vec<String> = ledger
        .iter()
        .map(|o| o["clOrdId"].as_str().unwrap().to_string())
        .collect();
    let mut unique = ledger_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ledger_ids.len(),
        "no client order id twice at the broker"
    );
    for signal_id in &acked {
        let intents: Vec<(String, String)> = sqlx::query_as(
            "SELECT client_order_id, status FROM order_intents WHERE signal_id = $1",
        )
        .bind(signal_id)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(
            intents.len(),
            1,
            "one intent per target account for {signal_id}"
        );
        let (client_id, status) = &intents[0];
        assert_eq!(status, IntentStatus::Accepted.as_str(), "{signal_id}");
        assert_eq!(
            ledger_ids.iter().filter(|id| *id == client_id).count(),
            1,
            "exactly one order for {signal_id}"
        );
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_intents WHERE status = $1")
        .bind(IntentStatus::Accepted.as_str())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        total as usize,
        ledger.len(),
        "every order at the broker belongs to an accepted intent"
    );
    server.kill9();
    db.close().await;
    drop(sims);
}
