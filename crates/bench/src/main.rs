//! `bench`: atomik's webhook-to-order path measured the way a trader feels it.
//!
//! Starts the Tradovate simulator (in this process, on its own runtime
//! thread), prepares a database (SQLite file or a fresh PostgreSQL database)
//! with 1,000 connected accounts, one webhook and strategy each, and copy
//! groups of 10, 100 and 500 followers, then runs the real `atomik serve` in
//! its own process and drives it with an open-loop load generator (this
//! process, its own runtime thread). Prints a table and writes JSON; see
//! BENCHMARKS.md for the method.
//!
//! `cargo build --release -p atomik -p atomik-bench && target/release/bench --quick`

mod fixture;
mod load;

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
            let sim = sim_rt.block_on(Sim::start(args.accounts + plan.fan_sizes.len()))?;
            let figures = load_rt.block_on(trial(&args, &plan, &bin, backend, &sim));
            sim_rt.block_on(sim.handle.shutdown());
            let figures = figures.with_context(|| format!("{backend} run {}", run + 1))?;
            all.entry(backend.to_string()).or_default().push(figures);
        }
    }
    let medians: BTreeMap<String, Figures> = all
        .iter()
        .map(|(b, runs)| (b.clone(), median_figures(runs)))
        .collect();
    print_table(&medians, runs);
    eprintln!("total time: {:.0} s", started.elapsed().as_secs_f64());
    if let Some(path) = &args.json {
        let doc = json!({
            "quick": args.quick,
            "runs_per_database": runs,
            "accounts": args.accounts,
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
            &sim.handle.base_url(),
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
        let s2b = signal_to_broker(db, sim, &r.accepted, since).await?;
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
        let mut lasts = Vec::new();
        let mut leaders = Vec::new();
        for _ in 0..plan.fan_reps {
            let (signal_id, sent) = load::one(&http, &group.hook).await?;
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
            let arrivals = arrivals(sim);
            let mut last = Duration::ZERO;
            let mut reached = 0;
            for (cl, leader) in &ids {
                if let Some(at) = arrivals.get(cl) {
                    reached += 1;
                    let d = at.saturating_duration_since(sent);
                    last = last.max(d);
                    if leader.is_none() {
                        leaders.push(d.as_secs_f64() * 1000.0);
                    }
                }
            }
            anyhow::ensure!(
                reached == group.followers + 1,
                "fan-out of {}: only {reached} orders reached the simulator",
                group.followers
            );
            lasts.push(last.as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let n = group.followers;
        eprintln!("   fan-out {n}: last order after {lasts:.1?} ms (leader {leaders:.1?} ms)");
        f.insert(format!("fan_{n}_last_ms"), median(&lasts));
        f.insert(format!("fan_{n}_leader_ms"), median(&leaders));
    }
    if !rss_after_taken {
        f.insert("rss_after_mib".into(), server.rss_mib());
        f.insert("rss_after_signals".into(), accepted_total as f64);
    }
    f.insert("signals_total".into(), accepted_total as f64);
    Ok(())
}

fn record_run(f: &mut Figures, key: &str, r: &load::RunResult, drained: Duration) {
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

fn report_run(key: &str, r: &load::RunResult, drained: Duration, s2b: Option<&Histogram<u64>>) {
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

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The open intent states (the lifecycle's one mapping).
const OPEN: &str = atomik_domain::lifecycle::IntentStatus::OPEN_SQL;

/// Wait until no intent is open; how long that took.
async fn drain(db: &Db, timeout: Duration) -> anyhow::Result<Duration> {
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

/// When each client order id reached the simulator.
fn arrivals(sim: &Sim) -> HashMap<String, Instant> {
    sim.handle
        .orders()
        .into_iter()
        .map(|o| (o.cl_ord_id, o.arrived))
        .collect()
}

/// From each accepted signal's request to its order's arrival at the sim.
async fn signal_to_broker(
    db: &Db,
    sim: &Sim,
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
    let arrivals = arrivals(sim);
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for (signal, sent) in accepted {
        if let Some(at) = by_signal.get(signal).and_then(|cl| arrivals.get(cl)) {
            h.saturating_record(at.saturating_duration_since(*sent).as_micros() as u64);
        }
    }
    Ok(h)
}

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn median_figures(runs: &[Figures]) -> Figures {
    let mut keys: Vec<&String> = runs.iter().flat_map(|f| f.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let vals: Vec<f64> = runs.iter().filter_map(|f| f.get(k).copied()).collect();
            (k.clone(), median(&vals))
        })
        .collect()
}

/// (label, figure key, target, lower is better)
const TABLE: &[(&str, &str, Option<f64>, bool)] = &[
    ("ack p50 @100/s (ms)", "ack_100_p50_ms", None, true),
    ("ack p99 @100/s (ms)", "ack_100_p99_ms", None, true),
    ("ack p99.9 @100/s (ms)", "ack_100_p999_ms", None, true),
    ("ack p50 @1000/s (ms)", "ack_1000_p50_ms", Some(1.0), true),
    ("ack p99 @1000/s (ms)", "ack_1000_p99_ms", Some(5.0), true),
    ("ack p99.9 @1000/s (ms)", "ack_1000_p999_ms", None, true),
    (
        "  from due time p50 (ms)",
        "ack_from_due_1000_p50_ms",
        None,
        true,
    ),
    (
        "  from due time p99 (ms)",
        "ack_from_due_1000_p99_ms",
        None,
        true,
    ),
    (
        "max sustained rate (/s)",
        "max_sustained_per_s",
        Some(5000.0),
        false,
    ),
    ("  accepted /s at it", "max_achieved_per_s", None, false),
    ("  ack p50 at it (ms)", "ack_max_p50_ms", None, true),
    ("  ack p99 at it (ms)", "ack_max_p99_ms", None, true),
    ("  ack p99.9 at it (ms)", "ack_max_p999_ms", None, true),
    (
        "  orders executed /s at it",
        "exec_max_orders_per_s",
        None,
        false,
    ),
    (
        "signal→broker p50 @100/s (ms)",
        "s2b_100_p50_ms",
        Some(2.0),
        true,
    ),
    (
        "signal→broker p99 @100/s (ms)",
        "s2b_100_p99_ms",
        None,
        true,
    ),
    (
        "signal→broker p50 @1000/s (ms)",
        "s2b_1000_p50_ms",
        None,
        true,
    ),
    (
        "signal→broker p99 @1000/s (ms)",
        "s2b_1000_p99_ms",
        None,
        true,
    ),
    ("fan-out 10: last order (ms)", "fan_10_last_ms", None, true),
    (
        "fan-out 100: last order (ms)",
        "fan_100_last_ms",
        Some(50.0),
        true,
    ),
    (
        "fan-out 500: last order (ms)",
        "fan_500_last_ms",
        Some(250.0),
        true,
    ),
    ("RSS idle (MiB)", "idle_rss_mib", Some(64.0), true),
    ("RSS after load (MiB)", "rss_after_mib", None, true),
    (
        "  signals accepted by then",
        "rss_after_signals",
        None,
        false,
    ),
];

fn print_table(medians: &BTreeMap<String, Figures>, runs: usize) {
    let backends: Vec<&String> = medians.keys().collect();
    print!("\n{:<32}", format!("median of {runs} run(s)"));
    for b in &backends {
        print!("{:>12}", b);
    }
    println!("   target");
    for (label, key, target, lower) in TABLE {
        print!("{label:<32}");
        for b in &backends {
            let v = medians[*b].get(*key).copied().unwrap_or(f64::NAN);
            let cell = if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            };
            print!("{cell:>12}");
        }
        let t = match (target, key) {
            (Some(_), &"max_sustained_per_s") => "≥ 5000 SQLite, ≥ 3000 PG".to_string(),
            (Some(t), _) if *lower => format!("≤ {t}"),
            (Some(t), _) => format!("≥ {t}"),
            (None, _) => String::new(),
        };
        println!("   {t}");
    }
}
