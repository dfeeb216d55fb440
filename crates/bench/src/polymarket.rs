//! Polymarket figures (`--broker polymarket`): the real `atomik serve`
//! against the Polymarket CLOB simulator (in this process, on the sim
//! runtime), registered as Polymarket's Demo environment
//! (`--polymarket-demo-clob-url`). Every account is the simulator's demo
//! wallet (an EOA; its API key derived once by the adapter), trading
//! `will-it-rain-tomorrow:YES`, 5 shares (the market minimum) per order,
//! against deep house liquidity. Each order costs the adapter a balance
//! read (`/balance-allowance`), a book read (`/book`, for the FOK's worst
//! price), an EIP-712 signature and the `POST /order`. Two figures:
//!
//! - signal → order: one account, an open-loop 20 signals/s (alternating
//!   buy and sell), from the request's send to the simulator's arrival stamp
//!   of the order, matched by the order hash (Polymarket orders carry no
//!   client order id; atomik stores the hash as the intent's broker order id
//!   before the order leaves);
//! - fan-out: a copy group, leader + 19 followers, one signal to the leader,
//!   until the last of the 20 orders reached the simulator. All the accounts
//!   are the same wallet (stored under distinct account ids, `address/k`,
//!   as the connect form would refuse the same wallet twice): it measures
//!   atomik's pipeline, not twenty wallets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomik_broker::{Clock, Session, SystemClock};
use atomik_polymarket_sim as sim;
use atomik_secrets::Secret;
use atomik_secrets::vault::Vault;
use atomik_storage::broker_accounts::{self, NewAccount};
use atomik_storage::execution::{self, NewStrategy};
use atomik_storage::{Db, copy_groups, new_id, webhooks};
use hdrhistogram::Histogram;
use rust_decimal::Decimal;

use crate::fixture::{self, BenchDb, Hook, Server};
use crate::{Args, Figures, load, report};

/// The outcome every strategy trades.
const INSTRUMENT: &str = "will-it-rain-tomorrow:YES";
/// Shares per order: the market's minimum.
const QUANTITY: &str = "5";
/// Webhooks (each with its strategy) on the signal→order account: 20/s
/// over four stays under the per-webhook limit (10/s) untouched.
const S2B_HOOKS: usize = 4;

pub struct PolymarketPlan {
    rate: f64,
    s2b: Duration,
    followers: usize,
    fan_reps: usize,
    fan_pause: Duration,
}

impl PolymarketPlan {
    pub fn new(quick: bool) -> PolymarketPlan {
        PolymarketPlan {
            rate: 20.0,
            s2b: Duration::from_secs(if quick { 2 } else { 5 }),
            followers: 19,
            fan_reps: if quick { 1 } else { 5 },
            fan_pause: Duration::from_millis(500),
        }
    }

    /// The signal→order account, the leader and the followers.
    pub fn accounts(&self) -> usize {
        2 + self.followers
    }
}

/// The CLOB simulator with deep house liquidity on the rain market's YES
/// and a well-funded demo wallet; call inside the sim runtime.
pub async fn start_sim() -> anyhow::Result<sim::SimHandle> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cfg = sim::SimConfig::demo(clock);
    let token_id = cfg
        .market(sim::SimConfig::RAIN)
        .ok_or_else(|| anyhow::anyhow!("the demo has no rain market"))?
        .tokens[0]
        .token_id
        .clone();
    let handle = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let d = |s: &str| s.parse::<Decimal>().expect("decimal");
    for (side, price) in [(sim::Side::Sell, "0.57"), (sim::Side::Buy, "0.53")] {
        handle.add_liquidity(sim::SimLevel {
            token_id: token_id.clone(),
            side,
            price: d(price),
            size: d("1000000"),
        });
    }
    handle.set_collateral(sim::SimConfig::DEMO_ADDRESS, d("10000000"));
    Ok(handle)
}

struct Prepared {
    s2b_hooks: Vec<Hook>,
    leader: Hook,
}

/// A webhook and its strategy (the rain market's YES, 5 shares).
async fn hook_and_strategy(
    db: &Db,
    key: &atomik_engine::WebhookKey,
    user_id: &str,
    account_id: &str,
    name: &str,
    server_base: &str,
) -> anyhow::Result<Hook> {
    let now = fixture::now_ms();
    let token = fixture::random_hex(16);
    let secret = fixture::random_hex(32);
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
        quantity: QUANTITY,
        ..Default::default()
    })?;
    execution::create_strategy(
        db,
        NewStrategy {
            user_id,
            webhook_id: &hook.id,
            broker_account_id: account_id,
            name,
            instrument: INSTRUMENT,
            rules: &rules,
        },
        now,
    )
    .await?;
    Ok(Hook {
        url: format!("{server_base}/api/v1/webhooks/{token}?secret={secret}"),
    })
}

/// Accounts connected as the wallet form does (the private key sealed by
/// the vault); account 0 gets the signal→order webhooks, account 1 leads a
/// copy group of the rest.
async fn prepare(
    db: &Db,
    vault: &Vault,
    server_base: &str,
    plan: &PolymarketPlan,
) -> anyhow::Result<Prepared> {
    let key = atomik_engine::WebhookKey::load_or_create(db, vault).await?;
    let now = fixture::now_ms();
    let user = fixture::bench_user(db, now).await?;
    let address = sim::SimConfig::DEMO_ADDRESS.to_checksum(None);
    let mut ids = Vec::with_capacity(plan.accounts());
    for k in 0..plan.accounts() {
        let id = new_id();
        let session = Session::Wallet {
            private_key: Secret::new(sim::SimConfig::DEMO_PRIVATE_KEY.into()),
            signature_type: 0,
            funder: String::new(),
            api: None,
        };
        let credential = atomik_engine::credentials::seal(vault, &id, &user.id, &session)?;
        // One wallet may be connected once per user: the followers get
        // distinct ids (`address/k`); the adapter trades from the sealed
        // key, not from this id.
        let broker_id = match k {
            0 => address.clone(),
            k => format!("{address}/{k}"),
        };
        let name = format!("Polymarket Demo · {k}");
        broker_accounts::connect(
            db,
            NewAccount {
                id: &id,
                user_id: &user.id,
                broker: "polymarket",
                environment: "demo",
                display_name: &name,
                broker_account_id: &broker_id,
                broker_account_name: &broker_id,
                balance: None,
                token_expires_at: None,
                next_refresh_at: None,
                credential,
            },
            now,
        )
        .await?;
        ids.push(id);
    }
    let mut s2b_hooks = Vec::new();
    for h in 0..S2B_HOOKS {
        let name = format!("polymarket s2b {h}");
        s2b_hooks.push(hook_and_strategy(db, &key, &user.id, &ids[0], &name, server_base).await?);
    }
    let leader = hook_and_strategy(
        db,
        &key,
        &user.id,
        &ids[1],
        "polymarket leader",
        server_base,
    )
    .await?;
    let group = copy_groups::create(db, &user.id, "polymarket fan", &ids[1], now).await?;
    for follower in &ids[2..] {
        copy_groups::add_follower(db, &user.id, &group, follower, "1").await?;
    }
    if db.backend() == atomik_storage::Backend::Postgres {
        sqlx::raw_sql("ANALYZE").execute(db.pool()).await?;
    }
    Ok(Prepared { s2b_hooks, leader })
}

/// When each order (by its hash, the CLOB's order id) reached the simulator.
fn arrivals(sim: &sim::SimHandle) -> HashMap<String, Instant> {
    sim.orders()
        .into_iter()
        .map(|o| (o.id, o.arrived))
        .collect()
}

/// From each accepted signal's request to its order's arrival at the
/// simulator, matched by the intent's broker order id (the order hash);
/// and how many of those signals sent an order (a SELL while flat sends
/// none: prediction markets never short).
async fn signal_to_order(
    db: &Db,
    arrivals: &HashMap<String, Instant>,
    accepted: &[(String, Instant)],
    since_ms: i64,
) -> anyhow::Result<(Histogram<u64>, usize)> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT signal_id, broker_order_id FROM order_intents WHERE created_at >= $1",
    )
    .bind(since_ms - 1000)
    .fetch_all(db.pool())
    .await?;
    let by_signal: HashMap<String, String> = rows
        .into_iter()
        .filter_map(|(s, h)| h.map(|h| (s, h)))
        .collect();
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut orders = 0;
    for (signal, sent) in accepted {
        let Some(hash) = by_signal.get(signal) else {
            continue;
        };
        orders += 1;
        if let Some(at) = arrivals.get(hash) {
            h.saturating_record(at.saturating_duration_since(*sent).as_micros() as u64);
        }
    }
    Ok((h, orders))
}

/// One fan-out signal (as [`crate::fan_out_once`], matched by order hash).
async fn fan_out_once(
    db: &Db,
    http: &reqwest::Client,
    hook: &Hook,
    followers: usize,
    sim: &sim::SimHandle,
) -> anyhow::Result<crate::FanRep> {
    let (signal_id, sent) = load::one(http, hook).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let open = format!(
        "SELECT COUNT(*) FROM order_intents WHERE signal_id = $1 AND status IN ({})",
        atomik_domain::lifecycle::IntentStatus::OPEN_SQL
    );
    loop {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(open.clone()))
            .bind(&signal_id)
            .fetch_one(db.pool())
            .await?;
        if n == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "fan-out did not finish in 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ids: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT broker_order_id, leader_intent_id FROM order_intents WHERE signal_id = $1",
    )
    .bind(&signal_id)
    .fetch_all(db.pool())
    .await?;
    let arrivals = arrivals(sim);
    let ms = |at: &Instant| at.saturating_duration_since(sent).as_secs_f64() * 1000.0;
    let mut rep = crate::FanRep {
        leader_ms: f64::NAN,
        followers_ms: Vec::with_capacity(followers),
    };
    for (hash, leader) in &ids {
        if let Some(at) = hash.as_ref().and_then(|h| arrivals.get(h)) {
            match leader {
                None => rep.leader_ms = ms(at),
                Some(_) => rep.followers_ms.push(ms(at)),
            }
        }
    }
    let reached = rep.followers_ms.len() + usize::from(!rep.leader_ms.is_nan());
    anyhow::ensure!(
        reached == followers + 1,
        "Polymarket fan-out of {followers}: only {reached} orders reached the simulator"
    );
    rep.followers_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(rep)
}

pub async fn trial(
    args: &Args,
    plan: &PolymarketPlan,
    bin: &std::path::Path,
    backend: &str,
    sim: &sim::SimHandle,
) -> anyhow::Result<Figures> {
    let mut f = Figures::new();
    let dir = tempfile::tempdir()?;
    let bench_db = BenchDb::create(backend, dir.path(), &args.pg_url).await?;
    let result = async {
        let db = bench_db.open().await?;
        let vault = Vault::from_file(&dir.path().join("vault.key"))?;
        let port = fixture::free_port();
        let server_base = format!("http://127.0.0.1:{port}");
        let prepared = prepare(&db, &vault, &server_base, plan).await?;
        eprintln!(
            "   Polymarket: {} Demo accounts on the demo wallet",
            plan.accounts()
        );
        let clob = sim.base_url();
        let mut server = Server::spawn_with(
            bin,
            dir.path(),
            &bench_db.url,
            port,
            None,
            &["--polymarket-demo-clob-url", &clob],
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
    plan: &PolymarketPlan,
    db: &Db,
    sim: &sim::SimHandle,
    prepared: &Prepared,
    server: &mut Server,
    dir: &std::path::Path,
    f: &mut Figures,
) -> anyhow::Result<()> {
    server.wait_ready(dir).await?;
    let http = load::client();
    let drain_timeout = Duration::from_secs(60);
    // Warm-up: the API key's derivation, `/version`, the market's
    // resolution, the server's statement caches.
    load::open_loop(&http, &prepared.s2b_hooks, 5.0, Duration::from_secs(1)).await;
    crate::drain(db, drain_timeout).await?;

    let since = crate::now_ms();
    let r = load::open_loop(&http, &prepared.s2b_hooks, plan.rate, plan.s2b).await;
    let drained = crate::drain(db, drain_timeout).await?;
    let (s2b, orders) = signal_to_order(db, &arrivals(sim), &r.accepted, since).await?;
    crate::report_run("PM", &r, drained, Some(&s2b));
    anyhow::ensure!(
        r.errors() == 0 && s2b.len() as usize == orders && orders as u64 * 2 >= r.ok,
        "Polymarket signal→order: {} of {} signals accepted, {orders} sent an order, {} orders reached the simulator",
        r.ok,
        r.planned,
        s2b.len()
    );
    f.insert("pm_s2b_p50_ms".into(), crate::pct(&s2b, 0.5));
    f.insert("pm_s2b_p99_ms".into(), crate::pct(&s2b, 0.99));
    f.insert("pm_s2b_max_ms".into(), s2b.max() as f64 / 1000.0);
    f.insert("pm_s2b_ack_p50_ms".into(), r.pct_ms(0.5));
    f.insert("pm_s2b_orders".into(), s2b.len() as f64);

    let (mut lasts, mut leaders, mut firsts) = (vec![], vec![], vec![]);
    for _ in 0..plan.fan_reps {
        tokio::time::sleep(plan.fan_pause).await;
        let rep = fan_out_once(db, &http, &prepared.leader, plan.followers, sim).await?;
        let last = rep.last_ms();
        eprintln!(
            "   Polymarket fan-out, leader + {}: last order after {last:.1} ms (leader {:.1} ms, first follower {:.1} ms)",
            plan.followers, rep.leader_ms, rep.followers_ms[0]
        );
        lasts.push(last);
        leaders.push(rep.leader_ms);
        firsts.push(rep.followers_ms[0]);
    }
    f.insert("pm_fan_last_ms".into(), report::median(&lasts));
    f.insert("pm_fan_leader_ms".into(), report::median(&leaders));
    f.insert("pm_fan_first_follower_ms".into(), report::median(&firsts));
    f.insert("pm_fan_orders".into(), (plan.followers + 1) as f64);
    f.insert("pm_rss_mib".into(), server.rss_mib());
    Ok(())
}
