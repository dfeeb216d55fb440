//! A crash at each named failpoint (`ATOMIK_FAILPOINTS=<point>=abort`) of a
//! real server process, then a restart without it: every acknowledged
//! signal has exactly one order at the broker, no order without an intent,
//! nothing left open. Each test asserts the process died by the abort
//! (SIGABRT), i.e. that the failpoint fired where it was meant to.

mod common;

use std::time::{Duration, Instant};

use atomik_binance_sim::SimConfig as BinanceDemo;
use atomik_storage::{Db, DbConfig};
use atomik_testkit::fixture::PASSWORD;
use atomik_testkit::{Fixture, Hook};
use common::{Server, Sims, aborted, assert_exactly_once, free_port, run_with_env, until_settled};
use serde_json::{Value, json};

/// One data directory, both simulators, and a server port kept across restarts.
struct Env {
    dir: tempfile::TempDir,
    sims: Sims,
    port: u16,
    database_url: String,
}

impl Env {
    fn new(sim_args: &[&str]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}", dir.path().join("atomik.db").display());
        let port = free_port();
        let sims = Sims::start(port, sim_args);
        Env {
            dir,
            sims,
            port,
            database_url,
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = self.sims.server_args();
        args.extend(["--database-url".into(), self.database_url.clone()]);
        args
    }

    /// The server, with `failpoint` armed (`None`: a plain restart).
    fn server(&self, failpoint: Option<&str>) -> Server {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = failpoint
            .map(|f| ("ATOMIK_FAILPOINTS", f))
            .into_iter()
            .collect();
        Server::start_with_env(self.dir.path(), self.port, &args, &env)
    }

    async fn db(&self) -> Db {
        Db::connect(&DbConfig::new(self.database_url.clone()))
            .await
            .unwrap()
    }

    /// A user with the Tradovate demo account (and, if `binance`, a Binance
    /// Testnet futures account), each with a strategy on one webhook.
    async fn setup(&self, server: &Server, binance: bool) -> Hook {
        let fx = Fixture::signup_at(&server.url(""), "fp@example.com", PASSWORD).await;
        let account = fx.tradovate_account(&self.sims.tradovate).await.id;
        let hook = fx.webhook("failpoints").await;
        fx.strategy(&hook, &account, "MNQ1!", "1").await;
        if binance {
            let account = fx
                .binance_account(BinanceDemo::DEMO_API_KEY, BinanceDemo::DEMO_SECRET_KEY)
                .await
                .id;
            fx.strategy(&hook, &account, "BTCUSDT.P", "0.01").await;
        }
        hook
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Post an alert; `Some(answer)` for a 202, `None` for anything else (an
/// error, no answer).
async fn send(hook: &Hook, body: &Value) -> Option<Value> {
    let res = http()
        .post(hook.signal_url())
        .json(body)
        .send()
        .await
        .ok()?;
    if res.status() != 202 {
        return None;
    }
    res.json().await.ok()
}

fn assert_aborted(server: Server) {
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(aborted(&status), "the failpoint should abort: {status:?}");
}

/// Orders at the broker right after the crash (before any restart).
async fn orders(env: &Env) -> usize {
    env.sims.client_order_ids().await.len()
}

/// Crash on the order path at `point`; the alert is re-sent after the
/// restart, as a sender that saw no 202 does. Returns the orders the broker
/// held at the moment of the crash.
async fn crash_on_order_path(point: &str) -> usize {
    let env = Env::new(&[]);
    let server = env.server(Some(&format!("{point}=abort")));
    let hook = env.setup(&server, false).await;
    let alert = json!({"action": "buy", "id": format!("{point}-1")});
    let first = send(&hook, &alert).await;
    assert_aborted(server);
    let at_crash = orders(&env).await;

    let server = env.server(None);
    let again = send(&hook, &alert).await.expect("202 after the restart");
    if let Some(first) = first {
        assert_eq!(first["signal_id"], again["signal_id"], "the same signal");
    }
    let db = env.db().await;
    until_settled(&db, Duration::from_secs(30)).await;
    assert_eq!(assert_exactly_once(&db, &env.sims).await, 1);
    assert_eq!(orders(&env).await, 1, "exactly one order");
    server.kill9();
    db.close().await;
    at_crash
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_signal_commit_before_the_202() {
    let env = Env::new(&[]);
    let server = env.server(Some("after_signal_commit=abort"));
    let hook = env.setup(&server, false).await;
    let alert = json!({"action": "buy", "id": "commit-1"});
    assert!(
        send(&hook, &alert).await.is_none(),
        "no 202 reached the sender"
    );
    assert_aborted(server);

    let server = env.server(None);
    let again = send(&hook, &alert).await.expect("202 after the restart");
    assert_eq!(
        again["duplicate"], true,
        "the committed signal is recognised"
    );
    let db = env.db().await;
    until_settled(&db, Duration::from_secs(30)).await;
    assert_eq!(assert_exactly_once(&db, &env.sims).await, 1);
    server.kill9();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_sending_before_the_broker_call() {
    let at_crash = crash_on_order_path("after_sending").await;
    assert_eq!(at_crash, 0, "the crash came before the order left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_the_broker_answer_before_the_outcome_is_written() {
    let at_crash = crash_on_order_path("after_broker_answer").await;
    assert_eq!(at_crash, 1, "the crash came after the broker placed it");
}

/// Tokens of 65 s: usable (over a minute of validity left) for 5 s, then
/// the executor renews before its next order, and the renewal crashes
/// between the broker's answer and the store. After the restart the old
/// token (still valid at the broker) renews again and the account trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_token_renewal() {
    let env = Env::new(&["--tradovate-token-lifetime-secs", "65"]);
    let mut server = env.server(Some("token_renewal=abort"));
    let hook = env.setup(&server, false).await;
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        n += 1;
        let _ = send(&hook, &json!({"action": "buy", "id": format!("renew-{n}")})).await;
        // Pacing the alerts; the exit itself is polled.
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(status) = server.exited() {
            break status;
        }
        assert!(Instant::now() < deadline, "no renewal crashed the server");
    };
    assert!(aborted(&status), "the failpoint should abort: {status:?}");

    let server = env.server(None);
    let after = send(&hook, &json!({"action": "buy", "id": "after-restart"}))
        .await
        .expect("202 after the restart");
    let db = env.db().await;
    until_settled(&db, Duration::from_secs(40)).await;
    assert_exactly_once(&db, &env.sims).await;
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM order_intents WHERE signal_id = $1")
            .bind(after["signal_id"].as_str().unwrap())
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(status, "accepted", "the account still trades");
    server.kill9();
    db.close().await;
}

/// `atomik keys rotate` crashes after re-wrapping the first of two
/// credentials; the re-run resumes and completes, and both accounts trade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_key_rotation() {
    let env = Env::new(&[]);
    let server = env.server(None);
    let hook = env.setup(&server, true).await;
    server.kill9();
    let args = [
        "--database-url",
        env.database_url.as_str(),
        "keys",
        "rotate",
    ];
    let fp = [("ATOMIK_FAILPOINTS", "key_rotation_mid_batch=abort")];
    let crashed = run_with_env(env.dir.path(), &args, "", &fp);
    assert!(aborted(&crashed.status), "{crashed:?}");
    let rerun = run_with_env(env.dir.path(), &args, "", &[]);
    let out = String::from_utf8_lossy(&rerun.stdout);
    assert!(rerun.status.success(), "{rerun:?}");
    assert!(
        out.contains("resuming an unfinished rotation: 1 credential(s)"),
        "{out}"
    );

    let server = env.server(None);
    send(&hook, &json!({"action": "buy", "id": "rotated-1"}))
        .await
        .expect("202");
    let db = env.db().await;
    until_settled(&db, Duration::from_secs(30)).await;
    assert_eq!(
        assert_exactly_once(&db, &env.sims).await,
        2,
        "both accounts"
    );
    server.kill9();
    db.close().await;
}

#[test]
fn a_bad_failpoint_spec_stops_atomik_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for spec in [
        "after_sending",
        "after_sendnig=abort",
        "token_renewal=abort@0",
    ] {
        let out = run_with_env(dir.path(), &["migrate"], "", &[("ATOMIK_FAILPOINTS", spec)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains("ATOMIK_FAILPOINTS"), "{spec}: {err}");
        assert!(
            !dir.path().join("atomik.db").exists(),
            "nothing ran before the check"
        );
    }
}
