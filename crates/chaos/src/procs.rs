//! The real processes: `atomik sim` and `atomik serve`, started, killed with
//! SIGKILL and restarted. Their stderr goes to log files in the run's
//! directory (kept on failure for a post-mortem).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Poll until something listens on `port` (or the process ended).
pub async fn wait_listening(child: &mut Child, port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("the process exited before listening on {port}: {status}");
        }
        if Instant::now() > deadline {
            bail!("nothing listened on port {port} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(Child);

impl Proc {
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<Stdio> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))?;
    Ok(Stdio::from(f))
}

/// `atomik sim` on two fixed ports, registering `callback` as a redirect URI.
pub async fn start_sims(
    bin: &Path,
    dir: &Path,
    tradovate: u16,
    binance: u16,
    callback: &str,
) -> anyhow::Result<Proc> {
    let mut child = Command::new(bin)
        .args(["sim", "--tradovate", &format!("127.0.0.1:{tradovate}")])
        .args(["--binance", &format!("127.0.0.1:{binance}")])
        // The IB and Polymarket simulators on any free port (the chaos run
        // does not use them).
        .args(["--ib", "127.0.0.1:0", "--polymarket", "127.0.0.1:0"])
        .args(["--redirect-uri", callback])
        .env_remove("ATOMIK_CONFIG")
        .env_remove("ATOMIK_FAILPOINTS")
        .stdout(Stdio::null())
        .stderr(log_file(dir, "sim.log")?)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    for port in [tradovate, binance] {
        wait_listening(&mut child, port, Duration::from_secs(30)).await?;
    }
    Ok(Proc(child))
}

/// How to start (and restart) the server.
pub struct ServerSpec {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub port: u16,
    pub args: Vec<String>,
}

impl ServerSpec {
    pub async fn start(&self) -> anyhow::Result<Proc> {
        let mut child = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .env_remove("ATOMIK_CONFIG")
            .env_remove("ATOMIK_FAILPOINTS")
            .stdout(Stdio::null())
            .stderr(log_file(&self.data_dir, "server.log")?)
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        wait_listening(&mut child, self.port, Duration::from_secs(60)).await?;
        Ok(Proc(child))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The `atomik` binary beside this executable (a test's executable sits in
/// `deps/`, one level further down).
pub fn sibling_atomik() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("no executable directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("no profile directory")?;
    }
    let bin = dir.join("atomik");
    if !bin.exists() {
        bail!(
            "{} does not exist: build it (`cargo build -p atomik`) or pass --atomik-bin",
            bin.display()
        );
    }
    Ok(bin)
}
