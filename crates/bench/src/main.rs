//! `bench`: atomik's webhook-to-order path measured the way a trader feels it.
//!
//! Starts the Tradovate simulator (in this process, on its own runtime
//! thread), prepares a database (SQLite file or a fresh PostgreSQL database)
//! with 1,000 connected accounts, one webhook and strategy each, and copy
//! groups of 10, 100 and 500 followers, then runs the real `atomik serve` in
//! its own process and drives it with an open-loop load generator (this
//! process, its own runtime thread). Prints a table and writes JSON; see
//! BENCHMARKS.md for the method. `--broker ib` measures Interactive Brokers
//! instead, against the IB Gateway simulator (`ib.rs`); `--broker
//! polymarket` Polymarket, against the CLOB simulator (`polymarket.rs`);
//! `all`: every one.
//!
//! `cargo build --release -p atomik -p atomik-bench && target/release/bench --quick`

mod fixture;
mod ib;
mod load;
mod polymarket;
mod report;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use atomik_secrets::vault::Vault;
use atomik_storage::Db;
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use fixture::{BenchDb, Server, Sim};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "bench",
    about = "atomik end-to-end benchmarks (see BENCHMARKS.md)"
)]
struct Args {
    /// Short runs (under a minute for both databases).
    #[arg(long)]
    quick: bool,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    db: String,
    /// Write every figure (each run and the medians) here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Repetitions per database; the table shows medians (default 3, quick 1).
    #[arg(long)]
    runs: Option<usize>,
    /// The `atomik` binary (default: next to this one).
    #[arg(long)]
    atomik_bin: Option<PathBuf>,
    /// PostgreSQL server (a database is created per run and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Accounts (each with a webhook and a strategy) the load is spread over.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// The server's log filter.
    #[arg(long, default_value = "warn")]
    server_log: String,
    /// Rates of the throughput ladder instead of the plan's (e.g. to
    /// profile one rate: `--ladder 5000,5000,5000`).
    #[arg(long, value_delimiter = ',')]
    ladder: Option<Vec<f64>>,
    /// Seconds per ladder step instead of the plan's.
    #[arg(long)]
    step_secs: Option<f64>,
    /// tradovate (the figures above), ib (Interactive Brokers' figures),
    /// polymarket (Polymarket's) or all.
    #[arg(long, default_value = "tradovate")]
    broker: String,
}

struct Plan {
    warmup: Duration,
    low: Duration,
    mid: Duration,
    ladder: Vec<f64>,
    step: Duration,
    fan_sizes: Vec<usize>,
    fan_reps: usize,
    drain_timeout: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                warmup: Duration::from_millis(300),
                low: Duration::from_secs(1),
                mid: Duration::from_secs(2),
                ladder: vec![2500.0, 5000.0],
                step: Duration::from_secs(1),
                fan_sizes: vec![10, 100, 500],
                fan_reps: 1,
                drain_timeout: Duration::from_secs(15),
            }
        } else {
            Plan {
                warmup: Duration::from_secs(2),
                low: Duration::from_secs(10),
                mid: Duration::from_secs(10),
                ladder: vec![
                    500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0, 7000.0, 8000.0,
                ],
                step: Duration::from_secs(5),
                fan_sizes: vec![10, 100, 500],
                fan_reps: 5,
                drain_timeout: Duration::from_secs(120),
            }
        }
    }
}

/// Figures of one run on one database, by name.
type Figures = BTreeMap<String, f64>;

/// A rate is sustained when every request was acknowledged 202, none was
/// shed, and the acknowledgement p99 stayed under this.
const SUSTAINED_P99_MS: f64 = 100.0;
/// RSS "after load" is read once this many signals have been accepted.
const RSS_AFTER_SIGNALS: u64 = 10_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = fixture::atomik_bin(args.atomik_bin.clone())?;
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 3 });
    let backends: Vec<&str> = match args.db.as_str() {
        "both" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" | "pg" => vec!["postgres"],
        other => anyhow::bail!("--db must be sqlite, postgres or both, not {other}"),
    };
    let (tradovate, ib, pm) = match args.broker.as_str() {
        "tradovate" => (true, false, false),
        "ib" => (false, true, false),
        "polymarket" => (false, false, true),
        "all" => (true, true, true),
        other => {
            anyhow::bail!("--broker must be tradovate, ib, polymarket or all, not {other}")
        }
    };
    // The simulator answers on its own thread; the load generator and the
    // orchestration share another. The server is a separate process.
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sim")
        .enable_all()
        .build()?;
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut plan = Plan::new(args.quick);
    if let Some(ladder) = args.ladder.clone() {
        plan.ladder = ladder;
    }
    if let Some(secs) = args.step_secs {
        plan.step = Duration::from_secs_f64(secs);
    }
    let mut all: BTreeMap<String, Vec<Figures>> = BTreeMap::new();
    for backend in &backends {
        for run in 0..runs {
            eprintln!("== {backend}: run {} of {runs}", run + 1);
            let mut figures = Figures::new();
            if tradovate {
                let sim = sim_rt.block_on(Sim::start(args.accounts + plan.fan_sizes.len()))?;
                let f = load_rt.block_on(trial(&args, &plan, &bin, backend, &sim));
                sim_rt.block_on(sim.handle.shutdown());
                figures.extend(f.with_context(|| format!("{backend} run {}", run + 1))?);
            }
            if ib {
                let ib_plan = ib::IbPlan::new(args.quick);
                let sim = sim_rt.block_on(ib::start_sim(ib_plan.accounts()))?;
                let f = load_rt.block_on(ib::trial(&args, &ib_plan, &bin, backend, &sim));
                sim_rt.block_on(sim.shutdown());
                figures.extend(f.with_context(|| format!("{backend} IB run {}", run + 1))?);
            }
            if pm {
                let pm_plan = polymarket::PolymarketPlan::new(args.quick);
                let sim = sim_rt.block_on(polymarket::start_sim())?;
                let f = load_rt.block_on(polymarket::trial(&args, &pm_plan, &bin, backend, &sim));
                sim_rt.block_on(sim.shutdown());
                figures.extend(f.with_context(|| format!("{backend} Polymarket run {}", run + 1))?);
            }
            all.entry(backend.to_string()).or_default().push(figures);
        }
    }
    let medians: BTreeMap<String, Figures> = all
        .iter()
        .map(|(b, runs)| (b.clone(), report::median_figures(runs)))
        .collect();
    report::print_table(&medians, runs);
    eprintln!("total time: {:.0} s", started.elapsed().as_secs_f64());
    if let Some(path) = &args.json {
        let doc = json!({
            "quick": args.quick,
            "runs_per_database": runs,
            "accounts": args.accounts,
            "broker": args.broker,
            "machine": machine(),
            "medians": medians,
            "runs": all,
            "total_seconds": started.elapsed().as_secs_f64(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": kernel.trim(),
    })
}

async fn trial(
    args: &Args,
    plan: &Plan,
    bin: &std::path::Path,
    backend: &str,
    sim: &Sim,
) -> anyhow::Result<Figures> {
    let mut f = Figures::new();
    let dir = tempfile::tempdir()?;
    let bench_db = BenchDb::create(backend, dir.path(), &args.pg_url).await?;
    let result = async {
        let db = bench_db.open().await?;
        let vault = Vault::from_file(&dir.path().join("vault.key"))?;
        let port = fixture::free_port();
        let server_base = format!("http://127.0.0.1:{port}");
        let setup = Instant::now();
        let prepared = fixture::prepare(
            &db,
            &vault,
            &sim.handle.base_url(),
            &server_base,
            args.accounts,
            &plan.fan_sizes,
        )
        .await?;
        f.insert("setup_s".into(), setup.elapsed().as_secs_f64());
        eprintln!(
            "   prepared {} accounts in {:.1} s",
            args.accounts,
            setup.elapsed().as_secs_f64()
        );
        let mut server = Server::spawn(
            bin,
            dir.path(),
            &bench_db.url,
            port,
            Some(&sim.handle.base_url()),
            &args.server_log,
        )?;
        let measured = measure(plan, &db, sim, &prepared, &mut server, dir.path(), &mut f).await;
        server.stop();
        db.close().await;
        measured
    }
    .await;
    bench_db.drop_db().await;
    result.map(|_| f)
}

async fn measure(
    plan: &Plan,
    db: &Db,
    sim: &Sim,
    prepared: &fixture::Prepared,
    server: &mut Server,
    dir: &std::path::Path,
    f: &mut Figures,
) -> anyhow::Result<()> {
    server.wait_ready(dir).await?;
    tokio::time::sleep(Duration::from_secs(if plan.ladder.len() > 3 {
        3
    } else {
        1
    }))
    .await;
    f.insert("idle_rss_mib".into(), server.rss_mib());
    let http = load::client();
    let mut accepted_total = 0u64;
    let mut rss_after_taken = false;
    let mut rss_check = |server: &Server, accepted: u64, f: &mut Figures| {
        if !rss_after_taken && accepted >= RSS_AFTER_SIGNALS {
            rss_after_taken = true;
            f.insert("rss_after_mib".into(), server.rss_mib());
            f.insert("rss_after_signals".into(), accepted as f64);
        }
    };
    // Warm-up: connections, statement caches, sessions.
    let r = load::open_loop(&http, &prepared.hooks, 200.0, plan.warmup).await;
    accepted_total += r.ok;
    drain(db, plan.drain_timeout).await?;

    for (rate, duration, key) in [(100.0, plan.low, "100"), (1000.0, plan.mid, "1000")] {
        let since = now_ms();
        let r = load::open_loop(&http, &prepared.hooks, rate, duration).await;
        let drained = drain(db, plan.drain_timeout).await?;
        accepted_total += r.ok;
        record_run(f, key, &r, drained);
        let s2b = signal_to_broker(db, &arrivals(sim), &r.accepted, since).await?;
        f.insert(format!("s2b_{key}_p50_ms"), pct(&s2b, 0.5));
        f.insert(format!("s2b_{key}_p99_ms"), pct(&s2b, 0.99));
        report_run(key, &r, drained, Some(&s2b));
        rss_check(server, accepted_total, f);
    }

    // The ladder: the highest rate still sustained.
    let mut best: Option<f64> = None;
    for &rate in &plan.ladder {
        let r = load::open_loop(&http, &prepared.hooks, rate, plan.step).await;
        let drained = drain(db, plan.drain_timeout).await?;
        accepted_total += r.ok;
        let key = format!("{rate:.0}");
        report_run(&key, &r, drained, None);
        let sustained =
            r.errors() == 0 && r.ok == r.planned && pct(&r.ack_from_due, 0.99) <= SUSTAINED_P99_MS;
        rss_check(server, accepted_total, f);
        if !sustained {
            break;
        }
        best = Some(rate);
        record_run(f, "max", &r, drained);
        f.insert("max_sustained_per_s".into(), rate);
        f.insert("max_achieved_per_s".into(), r.achieved());
    }
    if best.is_none() {
        f.insert("max_sustained_per_s".into(), 0.0);
    }

    // Copy-trading fan-out: one signal, the time until the last order of
    // the leader and every follower reaches the simulator.
    for group in &prepared.fan {
        let (mut lasts, mut leaders) = (Vec::new(), Vec::new());
        for _ in 0..plan.fan_reps {
            let rep =
                fan_out_once(db, &http, &group.hook, group.followers, || arrivals(sim)).await?;
            lasts.push(rep.last_ms());
            leaders.push(rep.leader_ms);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let n = group.followers;
        eprintln!("   fan-out {n}: last order after {lasts:.1?} ms (leader {leaders:.1?} ms)");
        f.insert(format!("fan_{n}_last_ms"), report::median(&lasts));
        f.insert(format!("fan_{n}_leader_ms"), report::median(&leaders));
    }
    if !rss_after_taken {
        f.insert("rss_after_mib".into(), server.rss_mib());
        f.insert("rss_after_signals".into(), accepted_total as f64);
    }
    f.insert("signals_total".into(), accepted_total as f64);
    Ok(())
}

pub fn record_run(f: &mut Figures, key: &str, r: &load::RunResult, drained: Duration) {
    f.insert(format!("ack_{key}_p50_ms"), r.pct_ms(0.5));
    f.insert(format!("ack_{key}_p99_ms"), r.pct_ms(0.99));
    f.insert(format!("ack_{key}_p999_ms"), r.pct_ms(0.999));
    f.insert(format!("ack_{key}_max_ms"), r.ack.max() as f64 / 1000.0);
    f.insert(
        format!("ack_from_due_{key}_p50_ms"),
        pct(&r.ack_from_due, 0.5),
    );
    f.insert(
        format!("ack_from_due_{key}_p99_ms"),
        pct(&r.ack_from_due, 0.99),
    );
    f.insert(format!("lag_{key}_p50_ms"), pct(&r.lag, 0.5));
    f.insert(format!("lag_{key}_p99_ms"), pct(&r.lag, 0.99));
    f.insert(format!("ack_{key}_errors"), r.errors() as f64);
    f.insert(format!("ack_{key}_achieved_per_s"), r.achieved());
    // Orders executed per second over the run and its drain.
    let exec = r.ok as f64 / (r.elapsed + drained).as_secs_f64().max(1e-9);
    f.insert(format!("exec_{key}_orders_per_s"), exec);
}

pub fn report_run(key: &str, r: &load::RunResult, drained: Duration, s2b: Option<&Histogram<u64>>) {
    let s2b = s2b
        .map(|h| {
            format!(
                ", signal→broker p50 {:.2} p99 {:.2} ms",
                pct(h, 0.5),
                pct(h, 0.99)
            )
        })
        .unwrap_or_default();
    eprintln!(
        "   {key:>5}/s: {} of {} accepted ({:.0}/s), errors {:?} shed {}, ack p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.1} ms (from due time: p50 {:.2} p99 {:.2}; generator lag p50 {:.2} p99 {:.2}), backlog drained in {:.2} s{s2b}",
        r.ok,
        r.planned,
        r.achieved(),
        r.failed,
        r.shed,
        r.pct_ms(0.5),
        r.pct_ms(0.99),
        r.pct_ms(0.999),
        r.ack.max() as f64 / 1000.0,
        pct(&r.ack_from_due, 0.5),
        pct(&r.ack_from_due, 0.99),
        pct(&r.lag, 0.5),
        pct(&r.lag, 0.99),
        drained.as_secs_f64()
    );
}

pub fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The open intent states (the lifecycle's one mapping).
const OPEN: &str = atomik_domain::lifecycle::IntentStatus::OPEN_SQL;

/// Wait until no intent is open; how long that took.
pub async fn drain(db: &Db, timeout: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let sql = format!("SELECT COUNT(*) FROM order_intents WHERE status IN ({OPEN})");
    loop {
        let open: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(db.pool())
            .await?;
        if open == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            eprintln!("   (backlog of {open} intents still open after {timeout:?}; going on)");
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn open_intents_of(db: &Db, signal_id: &str) -> anyhow::Result<i64> {
    let sql =
        format!("SELECT COUNT(*) FROM order_intents WHERE signal_id = $1 AND status IN ({OPEN})");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(signal_id)
        .fetch_one(db.pool())
        .await?)
}

/// One fan-out signal: when the leader's and each follower's order
/// reached the simulator, in ms after the signal was sent.
pub struct FanRep {
    pub leader_ms: f64,
    /// Followers' arrivals, ascending.
    pub followers_ms: Vec<f64>,
}

impl FanRep {
    pub fn last_ms(&self) -> f64 {
        self.followers_ms
            .last()
            .copied()
            .unwrap_or(0.0)
            .max(self.leader_ms)
    }
}

/// Send one signal to a group's leader, wait until none of its intents is
/// open, and read when each order reached the simulator (`arrivals`).
pub async fn fan_out_once(
    db: &Db,
    http: &reqwest::Client,
    hook: &fixture::Hook,
    followers: usize,
    arrivals: impl Fn() -> HashMap<String, Instant>,
) -> anyhow::Result<FanRep> {
    let (signal_id, sent) = load::one(http, hook).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_intents_of(db, &signal_id).await? > 0 {
        anyhow::ensure!(Instant::now() < deadline, "fan-out did not finish in 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ids: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT client_order_id, leader_intent_id FROM order_intents WHERE signal_id = $1",
    )
    .bind(&signal_id)
    .fetch_all(db.pool())
    .await?;
    let arrivals = arrivals();
    let ms = |at: &Instant| at.saturating_duration_since(sent).as_secs_f64() * 1000.0;
    let mut rep = FanRep {
        leader_ms: f64::NAN,
        followers_ms: Vec::with_capacity(followers),
    };
    for (cl, leader) in &ids {
        if let Some(at) = arrivals.get(cl) {
            match leader {
                None => rep.leader_ms = ms(at),
                Some(_) => rep.followers_ms.push(ms(at)),
            }
        }
    }
    let reached = rep.followers_ms.len() + usize::from(!rep.leader_ms.is_nan());
    anyhow::ensure!(
        reached == followers + 1,
        "fan-out of {followers}: only {reached} orders reached the simulator"
    );
    rep.followers_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(rep)
}

/// When each client order id reached the simulator.
fn arrivals(sim: &Sim) -> HashMap<String, Instant> {
    sim.handle
        .orders()
        .into_iter()
        .map(|o| (o.cl_ord_id, o.arrived))
        .collect()
}

/// From each accepted signal's request to its order's arrival at the sim.
pub async fn signal_to_broker(
    db: &Db,
    arrivals: &HashMap<String, Instant>,
    accepted: &[(String, Instant)],
    since_ms: i64,
) -> anyhow::Result<Histogram<u64>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT signal_id, client_order_id FROM order_intents WHERE created_at >= $1",
    )
    .bind(since_ms - 1000)
    .fetch_all(db.pool())
    .await?;
    let by_signal: HashMap<String, String> = rows.into_iter().collect();
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for (signal, sent) in accepted {
        if let Some(at) = by_signal.get(signal).and_then(|cl| arrivals.get(cl)) {
            h.saturating_record(at.saturating_duration_since(*sent).as_micros() as u64);
        }
    }
    Ok(h)
}
