//! The chaos checker (docs/CHAOS.md): real processes — `atomik sim` (both
//! simulators), a fault-injecting proxy in front of each, the server
//! pointed at the proxies with a Tradovate Demo and a Binance Testnet
//! futures account trading one webhook — a TradingView-like sender, and
//! SIGKILLs of the server at seeded moments (some while an order request
//! is held in a proxy), each followed by a restart. Afterwards the sender's
//! log, both ledgers and the server's database give the verdict.

pub mod procs;
pub mod proxy;
pub mod report;
pub mod sender;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use atomik_binance_sim::SimConfig as BinanceDemo;
use atomik_domain::lifecycle::IntentStatus;
use atomik_storage::{Db, DbConfig};
use atomik_testkit::Fixture;
use procs::{ServerSpec, free_port};
use proxy::{Hold, KillArm, Proxy, Rates, Venue};
use report::{Facts, IntentRow, Verdict};

#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub signals: usize,
    pub kills: usize,
    /// Fraction of order requests that get a fault (half injected by the
    /// proxy, half by the simulator through `/_sim/faults`).
    pub fault_rate: f64,
    /// `None`: SQLite in the run's temp directory.
    pub database_url: Option<String>,
    /// `None`: the `atomik` binary beside this executable.
    pub atomik_bin: Option<PathBuf>,
    /// Alerts per second (the webhook limit is 10).
    pub per_second: f64,
    /// How long, after the last alert, intents may take to become terminal.
    pub settle: Duration,
}

impl Config {
    pub fn new(seed: u64) -> Config {
        Config {
            seed,
            signals: 300,
            kills: 5,
            fault_rate: 0.2,
            database_url: None,
            atomik_bin: None,
            per_second: 3.0,
            settle: Duration::from_secs(90),
        }
    }
}

pub struct Report {
    pub seed: u64,
    pub verdict: Verdict,
    pub kills: usize,
    /// Kills that landed while a proxy held an order request.
    pub kills_holding_order: usize,
    /// Faults that fired, by source and kind.
    pub faults: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub database: String,
    pub dir: PathBuf,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.verdict.ok()
    }

    pub fn faults_fired(&self) -> u64 {
        self.faults
            .iter()
            .filter(|(k, _)| !k.ends_with(".sim_queued") && !k.ends_with(".kill_hold"))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn json(&self) -> Value {
        let mut v = self.verdict.json();
        v["seed"] = json!(self.seed);
        v["kills"] = json!(self.kills);
        v["kills_holding_order"] = json!(self.kills_holding_order);
        v["faults"] = json!(self.faults);
        v["faults_fired"] = json!(self.faults_fired());
        v["elapsed_s"] = json!((self.elapsed.as_secs_f64() * 10.0).round() / 10.0);
        v["database"] = json!(self.database);
        v
    }

    pub fn summary(&self) -> String {
        let v = &self.verdict;
        let delay = v.delays().map_or("no orders".into(), |(p50, p99, max)| {
            format!("p50 {p50} ms, p99 {p99} ms, max {max} ms")
        });
        let mut s = format!(
            "atomik-chaos seed {} on {} ({:.1} s)\n\
             alerts: {} sent, {} acked ({} as duplicates of a lost answer), {} unacked but executed, \
             {} unacked and never recorded, {} refused with 429\n\
             orders at the brokers: {}; intents: {:?}\n\
             kills: {} ({} while an order request was held); faults fired: {} {:?}\n\
             signal→order delay: {delay}\n\
             lost {}  duplicate {}  phantom {}  stuck {}  => {}\n",
            self.seed,
            self.database,
            self.elapsed.as_secs_f64(),
            v.sent,
            v.acked,
            v.duplicate_acks,
            v.unacked_executed,
            v.unacked_absent,
            v.rate_limited,
            v.orders,
            v.statuses,
            self.kills,
            self.kills_holding_order,
            self.faults_fired(),
            self.faults,
            v.lost,
            v.duplicate,
            v.phantom,
            v.stuck,
            if self.ok() { "OK" } else { "FAILED" },
        );
        for e in &v.examples {
            s.push_str(&format!("  {e}\n"));
        }
        if !self.ok() {
            s.push_str(&format!(
                "  logs and database kept in {}\n",
                self.dir.display()
            ));
        }
        s
    }
}

/// One planned kill: after alert `at` started, how it lands.
#[derive(Debug, Clone, Copy)]
enum Kill {
    After { at: usize, delay_ms: u64 },
    Holding { at: usize, hold: Hold },
}

fn plan_kills(rng: &mut StdRng, signals: usize, kills: usize) -> Vec<Kill> {
    let (lo, hi) = (signals / 20, (signals * 9 / 10).max(signals / 20 + 1));
    let mut at: Vec<usize> = (0..kills).map(|_| rng.random_range(lo..hi)).collect();
    at.sort_unstable();
    at.into_iter()
        .map(|at| match rng.random_range(0..3) {
            0 => Kill::After {
                at,
                delay_ms: rng.random_range(0..500),
            },
            1 => Kill::Holding {
                at,
                hold: Hold::BeforeForward,
            },
            _ => Kill::Holding {
                at,
                hold: Hold::AfterExecution,
            },
        })
        .collect()
}

/// A fresh PostgreSQL database for `url` (`postgres://…/<name>`).
async fn create_postgres(url: &str) -> anyhow::Result<()> {
    let (base, name) = url
        .rsplit_once('/')
        .context("no database name in the URL")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("database name `{name}`: use letters, digits and _");
    }
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&format!("{base}/postgres"))
        .await
        .context("PostgreSQL not reachable")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .with_context(|| format!("cannot create database {name} (give a fresh name)"))?;
    admin.close().await;
    Ok(())
}

async fn ledger(url: &str, field: &str) -> anyhow::Result<Vec<String>> {
    let orders: Vec<Value> = reqwest::get(format!("{url}/_sim/orders"))
        .await?
        .json()
        .await?;
    Ok(orders
        .iter()
        .filter_map(|o| o[field].as_str().map(String::from))
        .collect())
}

async fn sim_fired(url: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let v: Value = reqwest::get(format!("{url}/_sim/faults"))
        .await?
        .json()
        .await?;
    Ok(v["fired"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default())
}

async fn open_intents(db: &Db, hook: &str) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM order_intents i JOIN signals s ON s.id = i.signal_id \
         WHERE s.webhook_id = $1 AND i.status IN ({})",
        IntentStatus::OPEN_SQL
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(hook)
        .fetch_one(db.pool())
        .await?)
}

/// Run the checker once.
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    let started = Instant::now();
    let bin = match &config.atomik_bin {
        Some(b) => b.clone(),
        None => procs::sibling_atomik()?,
    };
    let dir = tempfile::Builder::new().prefix("atomik-chaos-").tempdir()?;
    let database_url = match &config.database_url {
        Some(url) if url.starts_with("postgres") => {
            create_postgres(url).await?;
            url.clone()
        }
        Some(url) => url.clone(),
        None => format!("sqlite://{}", dir.path().join("atomik.db").display()),
    };
    let (port, tport, bport) = (free_port()?, free_port()?, free_port()?);
    let callback = format!("http://127.0.0.1:{port}/broker-accounts/oauth/tradovate/callback");
    let _sims = procs::start_sims(&bin, dir.path(), tport, bport, &callback).await?;
    let (tsim, bsim) = (
        format!("http://127.0.0.1:{tport}"),
        format!("http://127.0.0.1:{bport}"),
    );
    let mut rng = StdRng::seed_from_u64(config.seed);
    let rates = Rates {
        proxy: config.fault_rate / 2.0,
        sim: config.fault_rate / 2.0,
    };
    let arm = Arc::new(KillArm::default());
    let tproxy = Proxy::start(
        Venue::Tradovate,
        tsim.clone(),
        rates,
        rng.random(),
        arm.clone(),
    )
    .await?;
    let bproxy = Proxy::start(
        Venue::Binance,
        bsim.clone(),
        rates,
        rng.random(),
        arm.clone(),
    )
    .await?;
    let spec = ServerSpec {
        bin: bin.clone(),
        data_dir: dir.path().to_path_buf(),
        port,
        args: vec![
            "--database-url".into(),
            database_url.clone(),
            "--tradovate-sim-url".into(),
            tproxy.url.clone(),
            "--binance-testnet-spot-url".into(),
            bproxy.url.clone(),
            "--binance-testnet-futures-url".into(),
            bproxy.url.clone(),
        ],
    };
    let mut server = spec.start().await?;

    // The user: both accounts, one webhook, a strategy on each account.
    let fx = Fixture::signup_at(
        &spec.url(),
        "chaos@example.com",
        atomik_testkit::fixture::PASSWORD,
    )
    .await;
    let tradovate = fx.tradovate_account(&tproxy.url).await.id;
    let binance = fx
        .binance_account(BinanceDemo::DEMO_API_KEY, BinanceDemo::DEMO_SECRET_KEY)
        .await
        .id;
    let hook = fx.webhook("chaos").await;
    fx.strategy(&hook, &tradovate, "MNQ1!", "1").await;
    fx.strategy(&hook, &binance, "BTCUSDT.P", "0.01").await;

    // Sender and kills.
    let kills = plan_kills(&mut rng, config.signals, config.kills);
    let progress = Arc::new(AtomicUsize::new(0));
    let sender = tokio::spawn(sender::run(
        hook.signal_url(),
        config.seed,
        config.signals,
        config.per_second,
        progress.clone(),
    ));
    let (mut killed, mut holding) = (0, 0);
    for (n, kill) in kills.iter().enumerate() {
        let at = match *kill {
            Kill::After { at, .. } | Kill::Holding { at, .. } => at,
        };
        while progress.load(Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let how = match *kill {
            Kill::After { delay_ms, .. } => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                format!("{delay_ms} ms after alert {at}")
            }
            Kill::Holding { hold, .. } => {
                let seen = arm.arm(hold);
                match tokio::time::timeout(Duration::from_secs(10), seen).await {
                    Ok(Ok(())) => {
                        holding += 1;
                        format!("at alert {at}, holding an order request ({hold:?})")
                    }
                    _ => {
                        arm.disarm();
                        format!("at alert {at} (no order request came within 10 s)")
                    }
                }
            }
        };
        server.kill9();
        killed += 1;
        eprintln!("atomik-chaos: kill {}/{} {how}", n + 1, kills.len());
        server = spec.start().await?;
    }
    let sent = sender.await.context("the sender panicked")?;

    // Settle: no faults any more; every intent must become terminal.
    tproxy.calm();
    bproxy.calm();
    let db = Db::connect(&DbConfig::new(database_url.clone())).await?;
    let deadline = Instant::now() + config.settle;
    while open_intents(&db, &hook.id).await? > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let signals: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, sender_id FROM signals WHERE webhook_id = $1")
            .bind(&hook.id)
            .fetch_all(db.pool())
            .await?;
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT i.signal_id, i.account_id, i.client_order_id, i.status, COALESCE(i.reason, '') \
         FROM order_intents i JOIN signals s ON s.id = i.signal_id WHERE s.webhook_id = $1",
    )
    .bind(&hook.id)
    .fetch_all(db.pool())
    .await?;
    let mut orders = ledger(&tsim, "clOrdId").await?;
    orders.extend(ledger(&bsim, "clientOrderId").await?);
    let mut forwarded = tproxy.forwarded();
    forwarded.extend(bproxy.forwarded());
    let facts = Facts {
        sent,
        signals,
        intents: rows
            .into_iter()
            .map(
                |(signal_id, account_id, client_order_id, status, reason)| IntentRow {
                    signal_id,
                    account_id,
                    client_order_id,
                    status,
                    reason,
                },
            )
            .collect(),
        orders,
        accounts: vec![tradovate, binance],
        forwarded,
        open_statuses: IntentStatus::OPEN_SQL
            .split(',')
            .map(|s| s.trim().trim_matches('\'').to_string())
            .collect(),
    };
    let verdict = report::judge(&facts);
    let mut faults = BTreeMap::new();
    for (name, proxy) in [("tradovate_proxy", &tproxy), ("binance_proxy", &bproxy)] {
        for (kind, n) in proxy.fired() {
            faults.insert(format!("{name}.{kind}"), n);
        }
    }
    for (name, url) in [("tradovate_sim", &tsim), ("binance_sim", &bsim)] {
        for (kind, n) in sim_fired(url).await? {
            faults.insert(format!("{name}.{kind}"), n);
        }
    }
    server.kill9();
    db.close().await;
    let report = Report {
        seed: config.seed,
        verdict,
        kills: killed,
        kills_holding_order: holding,
        faults,
        elapsed: started.elapsed(),
        database: if database_url.starts_with("postgres") {
            "PostgreSQL".into()
        } else {
            "SQLite".into()
        },
        dir: dir.path().to_path_buf(),
    };
    if !report.ok() {
        // Keep the logs and the database for a post-mortem.
        let _ = dir.keep();
    }
    Ok(report)
}
