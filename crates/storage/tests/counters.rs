//! Usage counters equal the rows they count, whatever users do in whatever
//! order: a property test over connects, disconnects, reconnects, dead
//! grants, strategy creation, toggles and deletion, webhook pauses and copy
//! groups, on both databases. After every step each counter `plans` keeps
//! is compared with the rows.

use std::sync::atomic::{AtomicUsize, Ordering};

use atomik_domain::{Resource, SubscriptionStatus};
use atomik_storage::broker_accounts::{
    self as accounts, AccountStatus, NewAccount, SealedCredential,
};
use atomik_storage::{Db, StorageError, copy_groups, execution, plans, users, webhooks};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Broker accounts a user may connect (the Starter plan allows 2 at once).
const ACCOUNTS: usize = 3;
/// Webhooks each user starts with (Starter allows 3 active).
const WEBHOOKS: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Connect(usize),
    Disconnect(usize),
    GrantDead(usize),
    CreateStrategy { webhook: usize, account: usize },
    SetStrategy { strategy: usize, active: bool },
    DeleteStrategy(usize),
    SetWebhook { webhook: usize, active: bool },
    CreateGroup(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..ACCOUNTS).prop_map(Op::Connect),
        2 => (0..ACCOUNTS).prop_map(Op::Disconnect),
        1 => (0..ACCOUNTS).prop_map(Op::GrantDead),
        3 => (0..WEBHOOKS, 0..ACCOUNTS)
            .prop_map(|(webhook, account)| Op::CreateStrategy { webhook, account }),
        3 => (0..8usize, any::<bool>())
            .prop_map(|(strategy, active)| Op::SetStrategy { strategy, active }),
        1 => (0..8usize).prop_map(Op::DeleteStrategy),
        1 => (0..WEBHOOKS, any::<bool>())
            .prop_map(|(webhook, active)| Op::SetWebhook { webhook, active }),
        1 => (0..ACCOUNTS).prop_map(Op::CreateGroup),
    ]
}

/// What one case's user has, to address it by index.
struct World {
    user_id: String,
    webhooks: Vec<String>,
    /// Account row ids by index, once connected at least once.
    accounts: Vec<Option<String>>,
    strategies: Vec<String>,
}

static CASE: AtomicUsize = AtomicUsize::new(0);

async fn world(db: &Db) -> Result<World, StorageError> {
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let email = format!("case{case}@example.com");
    let user = users::create(
        db,
        users::NewUser {
            email: &email,
            password_hash: "x",
            plan_id: "starter",
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        1,
    )
    .await?;
    let mut hooks = Vec::new();
    for w in 0..WEBHOOKS {
        let token = format!("tok-{case}-{w}");
        let hook = webhooks::NewWebhook {
            user_id: &user.id,
            name: "w",
            description: "",
            token: &token,
            secret_digest: &token,
        };
        hooks.push(webhooks::create(db, hook, 1).await?.id);
    }
    Ok(World {
        user_id: user.id,
        webhooks: hooks,
        accounts: vec![None; ACCOUNTS],
        strategies: Vec::new(),
    })
}

/// Refusals a user can meet; anything else fails the case.
fn expected(result: Result<(), StorageError>) -> Result<(), TestCaseError> {
    match result {
        Ok(())
        | Err(StorageError::LimitReached(_))
        | Err(StorageError::Conflict(_))
        | Err(StorageError::Invalid(_))
        | Err(StorageError::NotFound(_)) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!("unexpected error: {other}"))),
    }
}

async fn apply(db: &Db, w: &mut World, op: &Op) -> Result<(), StorageError> {
    let user = w.user_id.clone();
    match *op {
        Op::Connect(k) => {
            let broker_account_id = format!("acct-{k}");
            let id =
                accounts::id_for_connection(db, &user, "tradovate", "demo", &broker_account_id)
                    .await?;
            accounts::connect(
                db,
                NewAccount {
                    id: &id,
                    user_id: &user,
                    broker: "tradovate",
                    environment: "demo",
                    display_name: "A",
                    broker_account_id: &broker_account_id,
                    broker_account_name: "A",
                    balance: None,
                    token_expires_at: None,
                    next_refresh_at: None,
                    credential: SealedCredential {
                        kek_id: "k1".into(),
                        sealed: vec![1, 2, 3],
                    },
                },
                1,
            )
            .await?;
            w.accounts[k] = Some(id);
        }
        Op::Disconnect(k) => {
            if let Some(id) = &w.accounts[k] {
                accounts::disconnect(db, &user, id, "user", 2).await?;
            }
        }
        Op::GrantDead(k) => {
            if let Some(id) = &w.accounts[k] {
                accounts::mark_grant_dead(db, id, "grant revoked", 2).await?;
            }
        }
        Op::CreateStrategy { webhook, account } => {
            let Some(account) = w.accounts[account].clone() else {
                return Ok(());
            };
            let s = execution::create_strategy(
                db,
                execution::NewStrategy {
                    user_id: &user,
                    webhook_id: &w.webhooks[webhook],
                    broker_account_id: &account,
                    name: "s",
                    instrument: "MNQ",
                    rules: &atomik_domain::risk::StrategyRules::parse(
                        &atomik_domain::risk::RawRules {
                            quantity: "1",
                            ..Default::default()
                        },
                    )
                    .expect("valid rules"),
                },
                3,
            )
            .await?;
            w.strategies.push(s.id);
        }
        Op::SetStrategy { strategy, active } => {
            if let Some(id) = pick(&w.strategies, strategy) {
                execution::set_strategy_active(db, &user, &id, active).await?;
            }
        }
        Op::DeleteStrategy(strategy) => {
            if let Some(id) = pick(&w.strategies, strategy) {
                execution::delete_strategy(db, &user, &id).await?;
                w.strategies.retain(|s| *s != id);
            }
        }
        Op::SetWebhook { webhook, active } => {
            webhooks::set_active(db, &user, &w.webhooks[webhook], active).await?;
        }
        Op::CreateGroup(k) => {
            if let Some(id) = &w.accounts[k] {
                copy_groups::create(db, &user, "g", id, 4).await?;
            }
        }
    }
    Ok(())
}

fn pick(items: &[String], index: usize) -> Option<String> {
    (!items.is_empty()).then(|| items[index % items.len()].clone())
}

/// Every counter of `plans` against the rows it counts.
async fn counters_match_rows(db: &Db, user: &str) -> Result<(), TestCaseError> {
    let fail = |e: StorageError| TestCaseError::fail(e.to_string());
    let usage = plans::usage(db, user).await.map_err(fail)?;
    let used = |r: Resource| {
        usage
            .iter()
            .find(|(x, _)| *x == r)
            .map_or(0, |u| u.1 as usize)
    };
    let accounts = accounts::list(db, user).await.map_err(fail)?;
    let strategies = execution::strategies(db, user).await.map_err(fail)?;
    let hooks = webhooks::list(db, user).await.map_err(fail)?;
    let groups = copy_groups::list(db, user).await.map_err(fail)?;
    let holding = accounts
        .iter()
        .filter(|a| a.status != AccountStatus::Disconnected)
        .count();
    prop_assert_eq!(used(Resource::BrokerAccounts), holding, "broker accounts");
    let active = strategies.iter().filter(|s| s.active).count();
    prop_assert_eq!(
        used(Resource::ActiveStrategies),
        active,
        "active strategies"
    );
    let active_hooks = hooks.iter().filter(|h| h.active).count();
    prop_assert_eq!(
        used(Resource::ActiveWebhooks),
        active_hooks,
        "active webhooks"
    );
    prop_assert_eq!(used(Resource::CopyGroups), groups.len(), "copy groups");
    for s in strategies.iter().filter(|s| s.active) {
        let account = accounts.iter().find(|a| a.id == s.broker_account_id);
        prop_assert!(
            account.is_some_and(|a| a.status != AccountStatus::Disconnected),
            "active strategy {} on a disconnected account",
            s.id
        );
    }
    Ok(())
}

fn counters_equal_rows(
    make: fn() -> std::pin::Pin<Box<dyn Future<Output = atomik_testkit::TestDb>>>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let t = rt.block_on(make());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        rt.block_on(async {
            let mut w = world(&t.db)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for op in &ops {
                expected(apply(&t.db, &mut w, op).await)?;
                counters_match_rows(&t.db, &w.user_id).await?;
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn counters_equal_rows_on_sqlite() {
    counters_equal_rows(|| Box::pin(atomik_testkit::sqlite()));
}

#[test]
fn counters_equal_rows_on_postgres() {
    counters_equal_rows(|| Box::pin(atomik_testkit::postgres()));
}
