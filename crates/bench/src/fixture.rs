//! The world a benchmark runs in: the Tradovate simulator (in the bench
//! process, on its own runtime thread), a database prepared directly through
//! the storage layer (user, 1,000+ connected accounts, webhooks, strategies,
//! copy groups), and the real `atomik serve` in its own process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use atomik_broker::{Clock, Session, SystemClock};
use atomik_domain::SubscriptionStatus;
use atomik_secrets::Secret;
use atomik_secrets::vault::Vault;
use atomik_storage::broker_accounts::{self, NewAccount};
use atomik_storage::execution::{self, NewStrategy};
use atomik_storage::{Db, DbConfig, copy_groups, new_id, users, webhooks};
use atomik_tradovate_sim as sim;
use rand::RngCore;

/// Sim users `trader{k}`, one account each (id 6000 + k).
pub const SIM_ACCOUNT_BASE: i64 = 6000;
const CALLBACK: &str = "http://127.0.0.1:9/bench-callback";

/// A webhook the load generator posts to.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Full URL with `?secret=`.
    pub url: String,
}

/// A copy group: its leader's webhook and how many followers it has.
#[derive(Clone, Debug)]
pub struct FanGroup {
    pub followers: usize,
    pub hook: Hook,
}

pub struct Sim {
    pub handle: sim::SimHandle,
}

impl Sim {
    /// Start the simulator with `users` traders; call inside the sim runtime.
    pub async fn start(users: usize) -> anyhow::Result<Sim> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut cfg = sim::SimConfig::demo(clock);
        cfg.clients[0].redirect_uris = vec![CALLBACK.into()];
        for k in 0..users {
            cfg.users.push(sim::SimUser {
                username: format!("trader{k}"),
                password: format!("pw{k}"),
                user_id: 2000 + k as i64,
                name: format!("Trader {k}"),
                accounts: vec![sim::SimAccount {
                    id: SIM_ACCOUNT_BASE + k as i64,
                    name: format!("T{k}"),
                    cash: 25_000.into(),
                }],
            });
        }
        let handle = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Ok(Sim { handle })
    }
}

/// An access token for `trader{k}` through the simulator's own OAuth
/// endpoints (authorization form, then code exchange) — no browser, no
/// atomik in between.
async fn sim_token(http: &reqwest::Client, base: &str, k: usize) -> anyhow::Result<String> {
    let res = http
        .post(format!("{base}/oauth/authorize"))
        .form(&[
            ("client_id", sim::SimConfig::DEMO_CLIENT_ID),
            ("redirect_uri", CALLBACK),
            ("state", "bench"),
            ("username", &format!("trader{k}")),
            ("password", &format!("pw{k}")),
        ])
        .send()
        .await?;
    let location = res
        .headers()
        .get("location")
        .context("no redirect from the sim's authorize form")?
        .to_str()?
        .to_string();
    let code = location
        .split("code=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .context("no code")?
        .to_string();
    let v: serde_json::Value = http
        .post(format!("{base}/auth/oauthtoken"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", sim::SimConfig::DEMO_CLIENT_ID),
            ("client_secret", sim::SimConfig::DEMO_CLIENT_SECRET),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(v["access_token"]
        .as_str()
        .context("no access token")?
        .to_string())
}

pub fn now_ms() -> i64 {
    SystemClock.now_ms()
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The one bench user, on the `unlimited` plan.
pub async fn bench_user(db: &Db, now: i64) -> anyhow::Result<users::User> {
    Ok(users::create(
        db,
        users::NewUser {
            email: "bench@example.com",
            password_hash: "not-a-hash",
            plan_id: "unlimited",
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        now,
    )
    .await?)
}

/// A webhook and its strategy (MNQ1!, 1 contract) on `account_id`.
pub async fn hook_and_strategy(
    db: &Db,
    key: &atomik_engine::WebhookKey,
    user_id: &str,
    account_id: &str,
    name: &str,
    server_base: &str,
) -> anyhow::Result<Hook> {
    let now = now_ms();
    let token = random_hex(16);
    let secret = random_hex(32);
    let hook = webhooks::create(
        db,
        webhooks::NewWebhook {
            user_id,
            name,
            description: "",
            token: &token,
            secret_digest: &key.digest(&secret),
        },
        now,
    )
    .await?;
    let rules = atomik_domain::risk::StrategyRules::parse(&atomik_domain::risk::RawRules {
        quantity: "1",
        ..Default::default()
    })?;
    execution::create_strategy(
        db,
        NewStrategy {
            user_id,
            webhook_id: &hook.id,
            broker_account_id: account_id,
            name,
            instrument: "MNQ1!",
            rules: &rules,
        },
        now,
    )
    .await?;
    Ok(Hook {
        url: format!("{server_base}/api/v1/webhooks/{token}?secret={secret}"),
    })
}

/// Everything set up in the database before the server starts.
pub struct Prepared {
    pub hooks: Vec<Hook>,
    pub fan: Vec<FanGroup>,
}

/// Accounts `0..accounts` get one webhook and one strategy each; then one
/// copy group per entry of `fan_sizes`, led by its own extra account, with
/// followers taken from the first accounts.
pub async fn prepare(
    db: &Db,
    vault: &Vault,
    sim_base: &str,
    server_base: &str,
    accounts: usize,
    fan_sizes: &[usize],
) -> anyhow::Result<Prepared> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let key = atomik_engine::WebhookKey::load_or_create(db, vault).await?;
    let now = now_ms();
    let user = bench_user(db, now).await?;
    let total = accounts + fan_sizes.len();
    // Connect every account (token from the sim, credential sealed by the
    // vault exactly as the OAuth callback does), a few at a time.
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for k in 0..total {
        let (db, vault, http, sem) = (db.clone(), vault.clone(), http.clone(), sem.clone());
        let (user_id, sim_base, key) = (user.id.clone(), sim_base.to_string(), key.clone());
        let server_base = server_base.to_string();
        set.spawn(async move {
            let _p = sem.acquire().await?;
            let token = sim_token(&http, &sim_base, k).await?;
            let now = now_ms();
            let expires = now + 90 * 60 * 1000;
            let id = new_id();
            let session = Session::OAuth {
                access_token: Secret::new(token),
                expires_at_ms: expires,
            };
            let credential = atomik_engine::credentials::seal(&vault, &id, &user_id, &session)?;
            let broker_id = (SIM_ACCOUNT_BASE + k as i64).to_string();
            let name = format!("T{k}");
            broker_accounts::connect(
                &db,
                NewAccount {
                    id: &id,
                    user_id: &user_id,
                    broker: "tradovate",
                    environment: "demo",
                    display_name: &name,
                    broker_account_id: &broker_id,
                    broker_account_name: &name,
                    balance: None,
                    token_expires_at: Some(expires),
                    next_refresh_at: Some(expires - 30 * 60 * 1000),
                    credential,
                },
                now,
            )
            .await?;
            let hook = hook_and_strategy(
                &db,
                &key,
                &user_id,
                &id,
                &format!("bench {k}"),
                &server_base,
            )
            .await?;
            Ok::<_, anyhow::Error>((k, id, hook))
        });
    }
    let mut rows: Vec<(usize, String, Hook)> = Vec::with_capacity(total);
    while let Some(r) = set.join_next().await {
        rows.push(r??);
    }
    rows.sort_by_key(|r| r.0);
    let mut fan = Vec::new();
    for (i, &size) in fan_sizes.iter().enumerate() {
        let (_, leader, hook) = &rows[accounts + i];
        let group = copy_groups::create(db, &user.id, &format!("fan {size}"), leader, now).await?;
        for (_, follower, _) in rows.iter().take(size.min(accounts)) {
            copy_groups::add_follower(db, &user.id, &group, follower, "1").await?;
        }
        fan.push(FanGroup {
            followers: size.min(accounts),
            hook: hook.clone(),
        });
    }
    // PostgreSQL: a bulk load leaves the planner's statistics stale until
    // autovacuum's next pass (about a minute); a running deployment has
    // them. (SQLite keeps none unless told to, and atomik does not.)
    if db.backend() == atomik_storage::Backend::Postgres {
        sqlx::raw_sql("ANALYZE").execute(db.pool()).await?;
    }
    Ok(Prepared {
        hooks: rows.into_iter().take(accounts).map(|r| r.2).collect(),
        fan,
    })
}

/// The database a run uses: a temp SQLite file or a fresh PostgreSQL
/// database (dropped afterwards).
pub struct BenchDb {
    pub url: String,
    pub pg_admin: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(backend: &str, dir: &Path, pg_url: &str) -> anyhow::Result<BenchDb> {
        if backend == "sqlite" {
            return Ok(BenchDb {
                url: format!("sqlite://{}", dir.join("atomik.db").display()),
                pg_admin: None,
            });
        }
        sqlx::any::install_default_drivers();
        let name = format!("atomik_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::AnyPool::connect(pg_url)
            .await
            .with_context(|| format!("PostgreSQL unreachable at {pg_url}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let base = pg_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(pg_url);
        Ok(BenchDb {
            url: format!("{base}/{name}"),
            pg_admin: Some((pg_url.to_string(), name)),
        })
    }

    pub async fn open(&self) -> anyhow::Result<Db> {
        let db = Db::connect(&DbConfig::new(self.url.clone())).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn drop_db(&self) {
        if let Some((admin_url, name)) = &self.pg_admin
            && let Ok(admin) = sqlx::AnyPool::connect(admin_url).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

/// The `atomik` server process.
pub struct Server {
    pub child: Child,
    pub base: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The `atomik` binary next to this one (built by `scripts/bench.sh`).
pub fn atomik_bin(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("bench binary has no directory")?
            .join("atomik"),
    };
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p atomik) or pass --atomik-bin",
            path.display()
        );
    }
    Ok(path)
}

impl Server {
    pub fn spawn(
        bin: &Path,
        dir: &Path,
        db_url: &str,
        port: u16,
        tradovate_sim: Option<&str>,
        log: &str,
    ) -> anyhow::Result<Server> {
        Server::spawn_with(bin, dir, db_url, port, tradovate_sim, &[], log)
    }

    /// [`Server::spawn`] with more `serve` arguments (e.g. a broker's URL).
    pub fn spawn_with(
        bin: &Path,
        dir: &Path,
        db_url: &str,
        port: u16,
        tradovate_sim: Option<&str>,
        extra: &[&str],
        log: &str,
    ) -> anyhow::Result<Server> {
        let log_file = std::fs::File::create(dir.join("server.log"))?;
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["--database-url", db_url, "--log", log, "serve"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--demo", "false"]);
        if let Some(url) = tradovate_sim {
            cmd.args(["--tradovate-sim-url", url]);
        }
        cmd.args(extra);
        let child = cmd
            .env_remove("ATOMIK_CONFIG")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn wait_ready(&mut self, dir: &Path) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                bail!("atomik exited ({status}) during start-up:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("atomik did not become ready in 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident set size (VmRSS) in MiB.
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    /// SIGTERM, then wait (SIGKILL after 10 s).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
