//! Runs the real `atomik` binary as a child process.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_atomik");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Start `atomik` on a free port with `args`, and wait until /healthz answers.
    pub fn start(data_dir: &Path, args: &[&str]) -> Server {
        Self::start_on(data_dir, free_port(), args)
    }

    /// Start `atomik` on `port` (e.g. again after a crash).
    pub fn start_on(data_dir: &Path, port: u16, args: &[&str]) -> Server {
        Self::start_with_env(data_dir, port, args, &[])
    }

    /// As [`Self::start_on`], with extra environment variables (e.g.
    /// `ATOMIK_FAILPOINTS`). stderr is discarded: an abort must not block on
    /// a full pipe.
    pub fn start_with_env(
        data_dir: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .env_remove("ATOMIK_CONFIG")
            .env_remove("ATOMIK_FAILPOINTS")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(if env.is_empty() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start atomik");
        let server = Server { child, port };
        server.wait_healthy();
        server
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Wait (polling, up to `within`) for the process to end by itself.
    pub fn wait_exit(mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("atomik did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("atomik did not start listening on port {}", self.port);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit output.
    pub fn terminate(self) -> Output {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait_with_output().unwrap()
    }
}

/// Run `atomik ARGS` to completion with `stdin`.
pub fn run(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    run_with_env(data_dir, args, stdin, &[])
}

/// As [`run`], with extra environment variables.
pub fn run_with_env(data_dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("ATOMIK_CONFIG")
        .env_remove("ATOMIK_FAILPOINTS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Whether `status` is a death by SIGABRT (what a failpoint's abort gives).
pub fn aborted(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(6)
}

/// `atomik sim` as its own process (both simulators), so their ledgers
/// outlive every crash of the server. Killed on drop.
pub struct Sims {
    child: Child,
    pub tradovate: String,
    pub binance: String,
}

impl Sims {
    /// The simulators, with the OAuth callback of a server on `server_port`
    /// registered; `extra` is passed on (e.g. a token lifetime).
    pub fn start(server_port: u16, extra: &[&str]) -> Sims {
        let (t, b) = (free_port(), free_port());
        let callback =
            format!("http://127.0.0.1:{server_port}/broker-accounts/oauth/tradovate/callback");
        let child = Command::new(BIN)
            .args(["sim", "--tradovate", &format!("127.0.0.1:{t}")])
            .args(["--binance", &format!("127.0.0.1:{b}")])
            // Any free port: tests run side by side, 4002 is one port.
            .args(["--ib", "127.0.0.1:0", "--polymarket", "127.0.0.1:0"])
            .args(["--redirect-uri", &callback])
            .args(extra)
            .env_remove("ATOMIK_CONFIG")
            .env_remove("ATOMIK_FAILPOINTS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start atomik sim");
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [t, b] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "simulator did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Sims {
            child,
            tradovate: format!("http://127.0.0.1:{t}"),
            binance: format!("http://127.0.0.1:{b}"),
        }
    }

    /// Server flags pointing Tradovate Demo and Binance Testnet at these.
    pub fn server_args(&self) -> Vec<String> {
        [
            "--tradovate-sim-url",
            &self.tradovate,
            "--binance-testnet-spot-url",
            &self.binance,
            "--binance-testnet-futures-url",
            &self.binance,
        ]
        .map(String::from)
        .to_vec()
    }

    /// Every client order id in both ledgers (`/_sim/orders`), with repeats.
    pub async fn client_order_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for (url, field) in [
            (&self.tradovate, "clOrdId"),
            (&self.binance, "clientOrderId"),
        ] {
            let ledger: Vec<serde_json::Value> = reqwest::get(format!("{url}/_sim/orders"))
                .await
                .expect("ledger answers")
                .json()
                .await
                .expect("ledger JSON");
            ids.extend(
                ledger
                    .iter()
                    .map(|o| o[field].as_str().unwrap_or("").to_string()),
            );
        }
        ids
    }
}

impl Drop for Sims {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll the server's database until no intent is open (or panic at `within`).
pub async fn until_settled(db: &atomik_storage::Db, within: Duration) {
    use atomik_domain::lifecycle::IntentStatus;
    let deadline = Instant::now() + within;
    loop {
        let sql = format!(
            "SELECT COUNT(*) FROM order_intents WHERE status IN ({})",
            IntentStatus::OPEN_SQL
        );
        let open: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await
            .unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{open} intents stuck");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exactly once, from the broker's side and the server's: every accepted
/// intent has exactly one order at a broker, every order at a broker belongs
/// to an accepted intent (no phantom), nothing is open. Returns the number
/// of accepted intents.
pub async fn assert_exactly_once(db: &atomik_storage::Db, sims: &Sims) -> usize {
    use atomik_domain::lifecycle::IntentStatus;
    let intents: Vec<(String, String, String)> =
        sqlx::query_as("SELECT client_order_id, status, COALESCE(reason, '') FROM order_intents")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let orders = sims.client_order_ids().await;
    let mut accepted = 0;
    for (client_id, status, reason) in &intents {
        assert_eq!(
            status,
            IntentStatus::Accepted.as_str(),
            "intent {client_id} ended {status}: {reason}"
        );
        accepted += 1;
        let n = orders.iter().filter(|id| *id == client_id).count();
        assert_eq!(n, 1, "{n} orders at the broker for intent {client_id}");
    }
    for id in &orders {
        assert!(
            intents.iter().any(|(c, _, _)| c == id),
            "phantom order {id}: no intent has that client order id"
        );
    }
    accepted
}
