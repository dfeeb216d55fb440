//! The Token Refresh Service against the Tradovate simulator over real HTTP,
//! on SQLite and PostgreSQL, with a manual clock shared by the service and
//! the simulator (hours of token lifetimes run in seconds).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{BrokerKind, Clock, Environment, ManualClock, OAuthConnector, Session};
use atomik_domain::SubscriptionStatus;
use atomik_engine::{Brokers, RefreshConfig, TokenService, credentials};
use atomik_secrets::Secret;
use atomik_secrets::vault::Vault;
use atomik_storage::broker_accounts::{self as accounts, AccountStatus, NewAccount};
use atomik_storage::{Db, users};
use atomik_testkit::{TestDb, code_in, on_both_databases, press_authorize, test_vault};
use atomik_tradovate::{Tradovate, TradovateConfig, TradovateOAuth};
use atomik_tradovate_sim as sim;

const T0: i64 = 1_790_000_000_000;
const REDIRECT: &str = "http://127.0.0.1:1/callback";

struct Fixture {
    clock: ManualClock,
    sim: sim::SimHandle,
    config: TradovateConfig,
    vault: Vault,
    brokers: Brokers,
    user_id: String,
    _dir: tempfile::TempDir,
}

async fn fixture(db: &Db, auth_limit: Option<(u32, Duration)>) -> Fixture {
    let clock = ManualClock::new(T0);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut cfg = sim::SimConfig::demo(shared.clone());
    cfg.token_lifetime = Duration::from_secs(90 * 60);
    cfg.auth_rate_limit = auth_limit;
    for c in &mut cfg.clients {
        c.redirect_uris.push(REDIRECT.to_string());
    }
    let sim = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let config = TradovateConfig {
        rest_url: sim.rest_url(),
        auth_url: sim.auth_url(),
        token_url: sim.token_url(),
        client_id: sim::SimConfig::DEMO_CLIENT_ID.into(),
        client_secret: Secret::new(sim::SimConfig::DEMO_CLIENT_SECRET.into()),
        redirect_uri: REDIRECT.into(),
        request_timeout: Duration::from_secs(5),
        max_penalty_wait: Duration::from_secs(1),
    };
    let mut brokers = Brokers::new();
    brokers.add(
        BrokerKind::Tradovate,
        Environment::Demo,
        Arc::new(Tradovate::new(config.clone(), shared.clone())),
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = test_vault(dir.path());
    let user_id = users::create(
        db,
        users::NewUser {
            email: "refresh@example.com",
            password_hash: "x",
            plan_id: "unlimited",
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        T0,
    )
    .await
    .unwrap()
    .id;
    Fixture {
        clock,
        sim,
        config,
        vault,
        brokers,
        user_id,
        _dir: dir,
    }
}

/// Authorize on the simulator's page and exchange the code, as a browser and
/// atomik would.
async fn authorize(f: &Fixture) -> Session {
    let clock: Arc<dyn Clock> = Arc::new(f.clock.clone());
    let connector = TradovateOAuth::new(f.config.clone(), clock);
    let start = connector.start("state-1");
    let code = code_in(&press_authorize(&start.authorize_url, &f.sim.base_url()).await);
    connector
        .exchange_code(&code, start.code_verifier.expose())
        .await
        .unwrap()
}

async fn seed_account(
    f: &Fixture,
    db: &Db,
    service: &TokenService,
    n: usize,
    session: &Session,
) -> String {
    let id = atomik_storage::new_id();
    let credential = credentials::seal(&f.vault, &id, &f.user_id, session).unwrap();
    let expires = session.expires_at_ms().unwrap();
    accounts::connect(
        db,
        NewAccount {
            id: &id,
            user_id: &f.user_id,
            broker: "tradovate",
            environment: "demo",
            display_name: "demo",
            broker_account_id: &format!("acct-{n}"),
            broker_account_name: "demo",
            balance: None,
            token_expires_at: Some(expires),
            next_refresh_at: Some(service.next_refresh_at(f.clock.now_ms(), expires)),
            credential,
        },
        f.clock.now_ms(),
    )
    .await
    .unwrap();
    id
}

fn service(f: &Fixture, db: Db) -> TokenService {
    TokenService::new(
        db,
        f.vault.clone(),
        f.brokers.clone(),
        Arc::new(f.clock.clone()),
        RefreshConfig::default(),
    )
}

fn renewals(sim: &sim::SimHandle) -> usize {
    sim.auth_calls()
        .iter()
        .filter(|c| c.kind == sim::AuthCallKind::Renew)
        .count()
}

on_both_databases!(
    /// 50 concurrent callers needing a fresh token at expiry, split across two
    /// service instances with their own connection pools (as two server
    /// processes would be): exactly one renewal reaches the broker.
    async fn fifty_callers_at_expiry_share_one_renewal(t) {
        let f = fixture(&t.db, None).await;
        let a = service(&f, t.db.clone());
        let b = service(&f, t.reconnect().await);
        let session = authorize(&f).await;
        let id = seed_account(&f, &t.db, &a, 0, &session).await;
        f.clock.set(session.expires_at_ms().unwrap() - 30_000);
        let before = renewals(&f.sim);
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let svc = if i % 2 == 0 { a.clone() } else { b.clone() };
                let id = id.clone();
                tokio::spawn(async move { svc.session_for(&id).await })
            })
            .collect();
        let mut expiries = Vec::new();
        for task in tasks {
            let s = task.await.unwrap().expect("fresh session");
            expiries.push(s.expires_at_ms().unwrap());
        }
        assert_eq!(renewals(&f.sim) - before, 1, "exactly one call to the token endpoint");
        assert!(expiries.iter().all(|e| *e == expiries[0] && *e > f.clock.now_ms() + 60_000));
        let row = accounts::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(row.token_expires_at, Some(expiries[0]));
        assert_eq!(row.last_refresh_result.as_deref(), Some("renewed"));
    }
);

/// No 60-second window holds more than `max` calls.
fn max_calls_in_any_minute(times: &[i64]) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..sorted.len() {
        while sorted[hi] - sorted[lo] >= 60_000 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

async fn run_until(
    f: &Fixture,
    svc: &TokenService,
    end: i64,
    step_ms: i64,
    mut on_tick: impl FnMut(i64) -> bool,
) -> Vec<i64> {
    let mut connect_at = Vec::new();
    while f.clock.now_ms() < end {
        f.clock.advance(step_ms);
        if on_tick(f.clock.now_ms()) {
            connect_at.push(f.clock.now_ms());
        }
        svc.run_once().await.expect("refresh pass");
    }
    connect_at
}

async fn hours_of_renewals(t: TestDb) {
    let f = fixture(&t.db, Some((10, Duration::from_secs(60)))).await;
    let first = service(&f, t.db.clone());
    // Connect 300 accounts, one every 18 s (expiries spread over 90 minutes),
    // while the service runs.
    let mut ids = Vec::new();
    let step = 2_000;
    while ids.len() < 300 {
        f.clock.advance(step);
        if (f.clock.now_ms() - T0) % 18_000 == 0 {
            let session = authorize(&f).await;
            ids.push(seed_account(&f, &t.db, &first, ids.len(), &session).await);
        }
        first.run_once().await.unwrap();
    }
    // Two more hours, with a restart (new instance, new pool) half-way.
    let restart_at = f.clock.now_ms() + 60 * 60_000;
    run_until(&f, &first, restart_at, step, |_| false).await;
    drop(first);
    let second = service(&f, t.reconnect().await);
    run_until(&f, &second, restart_at + 60 * 60_000, step, |_| false).await;

    let calls = f.sim.auth_calls();
    assert!(
        calls.iter().all(|c| c.ok),
        "every auth call succeeded (no 429, no expired token)"
    );
    let times: Vec<i64> = calls.iter().map(|c| c.at_ms).collect();
    let peak = max_calls_in_any_minute(&times);
    assert!(peak <= 10, "{peak} auth calls in one minute");
    assert!(
        renewals(&f.sim) >= 300,
        "every account renewed at least once"
    );
    let now = f.clock.now_ms();
    for id in &ids {
        let row = accounts::get(&t.db, id).await.unwrap().unwrap();
        assert_eq!(row.status, AccountStatus::Connected, "{:?}", row.last_error);
        assert!(
            row.token_expires_at.unwrap() > now,
            "token of {id} expired unrenewed"
        );
    }
    eprintln!(
        "{} backend: {} auth calls, peak {peak}/min",
        t.name(),
        calls.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_accounts_through_a_restart_sqlite() {
    hours_of_renewals(atomik_testkit::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_accounts_through_a_restart_postgres() {
    hours_of_renewals(atomik_testkit::postgres().await).await;
}

on_both_databases!(
    async fn a_dead_grant_disconnects_with_the_reason_and_transient_failures_back_off(t) {
        let f = fixture(&t.db, None).await;
        let svc = service(&f, t.db.clone());
        let session = authorize(&f).await;
        let id = seed_account(&f, &t.db, &svc, 0, &session).await;
        accounts::create_strategy(&t.db, &f.user_id, &id, "NQ", T0).await.unwrap();

        // A 5xx during renewal: recorded, retried later, account stays connected.
        let due = accounts::get(&t.db, &id).await.unwrap().unwrap().next_refresh_at.unwrap();
        f.clock.set(due);
        f.sim.faults().fail_next(1, sim::Fault::ServerErrorBefore);
        let pass = svc.run_once().await.unwrap();
        assert_eq!(pass.failed, 1);
        assert_eq!(f.sim.faults().fired(&sim::Fault::ServerErrorBefore), 1);
        let row = accounts::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(row.status, AccountStatus::Connected);
        assert_eq!(row.refresh_failures, 1);
        assert!(row.last_refresh_result.unwrap().starts_with("renewal failed"));
        assert!(row.next_refresh_at.unwrap() > due && row.next_refresh_at.unwrap() < session.expires_at_ms().unwrap());
        f.clock.set(row.next_refresh_at.unwrap());
        assert_eq!(svc.run_once().await.unwrap().renewed, 1);

        // The grant is revoked at the broker: the account is disconnected with
        // the reason, its credential destroyed.
        f.sim.revoke_all_grants();
        let due = accounts::get(&t.db, &id).await.unwrap().unwrap().next_refresh_at.unwrap();
        f.clock.set(due);
        let pass = svc.run_once().await.unwrap();
        assert_eq!(pass.disconnected, 1);
        let row = accounts::get(&t.db, &id).await.unwrap().unwrap();
        assert_eq!(row.status, AccountStatus::Disconnected);
        assert!(row.status_reason.unwrap().contains("Reconnect the account"));
        assert!(accounts::credential(&t.db, &id).await.unwrap().is_none());
        assert!(svc.session_for(&id).await.is_err());
    }
);

on_both_databases!(
    async fn more_accounts_than_the_budget_can_keep_alive_are_warned_about(t) {
        let f = fixture(&t.db, None).await;
        let config = RefreshConfig {
            spacing: Duration::from_secs(30 * 60),
            ..RefreshConfig::default()
        };
        // (90 − 15) min / 30 min = 2 accounts per environment.
        assert_eq!(config.capacity(config.assumed_lifetime), 2);
        let svc = TokenService::new(t.db.clone(), f.vault.clone(), f.brokers.clone(), Arc::new(f.clock.clone()), config);
        for n in 0..2 {
            let s = authorize(&f).await;
            seed_account(&f, &t.db, &svc, n, &s).await;
        }
        assert!(svc.budget_warnings().await.unwrap().is_empty());
        let s = authorize(&f).await;
        seed_account(&f, &t.db, &svc, 2, &s).await;
        let warnings = svc.budget_warnings().await.unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("3 accounts on tradovate:demo"), "{}", warnings[0]);
    }
);
