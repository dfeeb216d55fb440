//! Interactive Brokers figures (`--broker ib`): the real `atomik serve`
//! against the IB Gateway simulator (in this process, on the sim runtime).
//! Every account is an IB paper account of that one simulator with the same
//! client id, so the adapter trades them all over ONE socket, paced at
//! ≤ 45 messages/s (IB allows 50). Two figures:
//!
//! - signal → order: one account, an open-loop 20 signals/s (a position read
//!   from the adapter's cache, then one PlaceOrder each), from the request's
//!   send to the simulator's arrival stamp of the order;
//! - fan-out: a copy group, leader + 99 followers, one signal to the leader,
//!   until the last of the 100 orders reached the simulator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomik_broker::{Clock, Session, SystemClock};
use atomik_ib_sim as sim;
use atomik_secrets::vault::Vault;
use atomik_storage::broker_accounts::{self, NewAccount};
use atomik_storage::{Db, copy_groups, new_id};

use crate::fixture::{self, BenchDb, Hook, Server};
use crate::{Args, Figures, fan_out_once, load, report};

/// The client id every bench account connects with: one shared socket.
const CLIENT_ID: i32 = 7;
/// Webhooks (each with its strategy) on the signal→order account: 20/s
/// over four stays under the per-webhook limit (10/s) untouched.
const S2B_HOOKS: usize = 4;

pub struct IbPlan {
    rate: f64,
    s2b: Duration,
    followers: usize,
    fan_reps: usize,
    /// Between fan-out repetitions: the pacer's burst refills and the
    /// Gateway's one-second window empties, so each starts from idle.
    fan_pause: Duration,
}

impl IbPlan {
    pub fn new(quick: bool) -> IbPlan {
        IbPlan {
            rate: 20.0,
            s2b: Duration::from_secs(if quick { 2 } else { 5 }),
            followers: 99,
            fan_reps: if quick { 1 } else { 5 },
            fan_pause: Duration::from_millis(1500),
        }
    }

    /// The signal→order account, the leader and the followers.
    pub fn accounts(&self) -> usize {
        2 + self.followers
    }
}

fn account_id(k: usize) -> String {
    format!("DU{}", 3_000_000 + k)
}

/// The Gateway simulator with `accounts` paper accounts; call inside the
/// sim runtime.
pub async fn start_sim(accounts: usize) -> anyhow::Result<sim::SimHandle> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut cfg = sim::SimConfig::demo(clock);
    cfg.accounts = (0..accounts)
        .map(|k| sim::SimAccount {
            id: account_id(k),
            cash: 1_000_000.0,
        })
        .collect();
    Ok(sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await?)
}

struct Prepared {
    s2b_hooks: Vec<Hook>,
    leader: Hook,
}

/// Accounts connected as the Gateway form does (a socket credential sealed
/// by the vault); account 0 gets the signal→order webhooks, account 1 leads
/// a copy group of the rest.
async fn prepare(
    db: &Db,
    vault: &Vault,
    gateway: SocketAddr,
    server_base: &str,
    plan: &IbPlan,
) -> anyhow::Result<Prepared> {
    let key = atomik_engine::WebhookKey::load_or_create(db, vault).await?;
    let now = fixture::now_ms();
    let user = fixture::bench_user(db, now).await?;
    let mut ids = Vec::with_capacity(plan.accounts());
    for k in 0..plan.accounts() {
        let id = new_id();
        let broker_id = account_id(k);
        let session = Session::Socket {
            host: gateway.ip().to_string(),
            port: gateway.port(),
            client_id: CLIENT_ID,
            account: broker_id.clone(),
        };
        let credential = atomik_engine::credentials::seal(vault, &id, &user.id, &session)?;
        let name = format!("Interactive Brokers Paper · {broker_id}");
        broker_accounts::connect(
            db,
            NewAccount {
                id: &id,
                user_id: &user.id,
                broker: "ib",
                environment: "paper",
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
        let name = format!("ib s2b {h}");
        s2b_hooks.push(
            fixture::hook_and_strategy(db, &key, &user.id, &ids[0], &name, server_base).await?,
        );
    }
    let leader =
        fixture::hook_and_strategy(db, &key, &user.id, &ids[1], "ib leader", server_base).await?;
    let group = copy_groups::create(db, &user.id, "ib fan", &ids[1], now).await?;
    for follower in &ids[2..] {
        copy_groups::add_follower(db, &user.id, &group, follower, "1").await?;
    }
    if db.backend() == atomik_storage::Backend::Postgres {
        sqlx::raw_sql("ANALYZE").execute(db.pool()).await?;
    }
    Ok(Prepared { s2b_hooks, leader })
}

/// When each order (by its `orderRef`, atomik's client order id) reached
/// the simulator.
fn arrivals(sim: &sim::SimHandle) -> HashMap<String, Instant> {
    sim.orders()
        .into_iter()
        .map(|o| (o.order_ref, o.arrived))
        .collect()
}

pub async fn trial(
    args: &Args,
    plan: &IbPlan,
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
        let prepared = prepare(&db, &vault, sim.socket_addr(), &server_base, plan).await?;
        eprintln!(
            "   IB: {} paper accounts on one Gateway connection",
            plan.accounts()
        );
        let mut server =
            Server::spawn(bin, dir.path(), &bench_db.url, port, None, &args.server_log)?;
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
    plan: &IbPlan,
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
    // Warm-up: the socket's handshake and first position list, the
    // front-month contract's resolution, the server's statement caches.
    load::open_loop(&http, &prepared.s2b_hooks, 5.0, Duration::from_secs(1)).await;
    crate::drain(db, drain_timeout).await?;

    let since = crate::now_ms();
    let r = load::open_loop(&http, &prepared.s2b_hooks, plan.rate, plan.s2b).await;
    let drained = crate::drain(db, drain_timeout).await?;
    let s2b = crate::signal_to_broker(db, &arrivals(sim), &r.accepted, since).await?;
    crate::report_run("IB", &r, drained, Some(&s2b));
    anyhow::ensure!(
        r.errors() == 0 && s2b.len() == r.ok,
        "IB signal→order: {} of {} signals accepted, {} orders reached the simulator",
        r.ok,
        r.planned,
        s2b.len()
    );
    f.insert("ib_s2b_p50_ms".into(), crate::pct(&s2b, 0.5));
    f.insert("ib_s2b_p99_ms".into(), crate::pct(&s2b, 0.99));
    f.insert("ib_s2b_max_ms".into(), s2b.max() as f64 / 1000.0);
    f.insert("ib_s2b_ack_p50_ms".into(), r.pct_ms(0.5));
    f.insert("ib_s2b_orders".into(), s2b.len() as f64);

    let (mut lasts, mut leaders, mut firsts, mut steady) = (vec![], vec![], vec![], vec![]);
    for _ in 0..plan.fan_reps {
        tokio::time::sleep(plan.fan_pause).await;
        let rep = fan_out_once(db, &http, &prepared.leader, plan.followers, || {
            arrivals(sim)
        })
        .await?;
        // The arrival rate once the pacer's burst is spent: the 10th
        // order to the last (the leader is the first).
        let (tenth, last) = (rep.followers_ms[8], rep.last_ms());
        let rate = (plan.followers - 9) as f64 / ((last - tenth) / 1000.0);
        eprintln!(
            "   IB fan-out, leader + {}: last order after {last:.0} ms (leader {:.1} ms, first follower {:.1} ms, {rate:.1} orders/s from the 10th)",
            plan.followers, rep.leader_ms, rep.followers_ms[0]
        );
        lasts.push(last);
        leaders.push(rep.leader_ms);
        firsts.push(rep.followers_ms[0]);
        steady.push(rate);
    }
    f.insert("ib_fan_last_ms".into(), report::median(&lasts));
    f.insert("ib_fan_leader_ms".into(), report::median(&leaders));
    f.insert("ib_fan_first_follower_ms".into(), report::median(&firsts));
    f.insert("ib_fan_steady_per_s".into(), report::median(&steady));
    f.insert("ib_fan_orders".into(), (plan.followers + 1) as f64);
    f.insert("ib_rss_mib".into(), server.rss_mib());
    Ok(())
}
