//! Crash soak: while signals flow, the server is killed with SIGKILL at
//! random moments and restarted, five times. The Tradovate simulator runs in
//! its own process (`atomik sim`), so its ledger outlives every crash.
//! Afterwards every acknowledged signal has exactly one order at the broker
//! and nothing is stuck.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atomik_testkit::{csrf_in, press_authorize};
use common::{BIN, Server, free_port};
use serde_json::{Value, json};

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

async fn soak(dir: tempfile::TempDir, database_url: String) {
    let (sim_port, port) = (free_port(), free_port());
    let callback = format!("http://127.0.0.1:{port}/broker-accounts/oauth/tradovate/callback");
    let sim = Sim(Command::new(BIN)
        .args([
            "sim",
            "--tradovate",
            &format!("127.0.0.1:{sim_port}"),
            "--binance",
            "127.0.0.1:0",
            "--redirect-uri",
            &callback,
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", sim_port)).is_err() {
        assert!(Instant::now() < deadline, "simulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let args = [
        "--tradovate-sim-url",
        sim_url.as_str(),
        "--database-url",
        database_url.as_str(),
    ];
    let mut server = Server::start_on(dir.path(), port, &args);

    // Sign up, connect the demo account through the simulator, webhook, strategy.
    let c = atomik_testkit::client();
    let page = c
        .get(server.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", csrf_in(&page)),
        ("email", "soak@example.com".into()),
        ("password", "correct horse battery".into()),
    ];
    assert_eq!(
        c.post(server.url("/signup"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let page = c
        .get(server.url("/broker-accounts/connect?broker=tradovate"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = c
        .post(server.url("/broker-accounts/connect/tradovate"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("environment", "demo")])
        .send()
        .await
        .unwrap();
    let back = press_authorize(res.headers()["location"].to_str().unwrap(), &sim_url).await;
    assert_eq!(c.get(&back).send().await.unwrap().status(), 200);
    let csrf = csrf_in(
        &c.get(server.url("/settings"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let accounts: Value = c
        .get(server.url("/api/v1/broker-accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook: Value = c
        .post(server.url("/api/v1/webhooks"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "soak"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = c
        .post(server.url("/api/v1/strategies"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"webhook_id": hook["webhook"]["id"], "broker_account_id": accounts[0]["id"], "name": "soak",
                      "instrument": "MNQ1!", "quantity": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // A sender posts signals all along, keeping the acknowledged ones.
    let ingress = format!(
        "{}?secret={}",
        server.url(hook["webhook"]["url_path"].as_str().unwrap()),
        hook["secret"].as_str().unwrap()
    );
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
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        })
    };
    // Five SIGKILLs at pseudo-random moments, each followed by a restart.
    for round in 0..5u64 {
        tokio::time::sleep(Duration::from_millis(400 + (round * 277) % 500)).await;
        server.kill9();
        server = Server::start_on(dir.path(), port, &args);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_intents WHERE status IN ('pending', 'sending', 'ambiguous')")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} intents stuck");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
        assert_eq!(status, "accepted", "{signal_id}");
        assert_eq!(
            ledger_ids.iter().filter(|id| *id == client_id).count(),
            1,
            "exactly one order for {signal_id}"
        );
    }
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_intents WHERE status = 'accepted'")
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
    drop(sim);
}
