//! Storage behaviour, each test on SQLite and on PostgreSQL.

use std::sync::Arc;

use atomik_domain::{Limit, Resource, SubscriptionStatus};
use atomik_storage::{Db, StorageError, plans, throttle, users, webhooks};
use atomik_testkit::on_both_databases;

async fn make_user(db: &Db, email: &str, plan: &str) -> users::User {
    users::create(
        db,
        users::NewUser {
            email,
            password_hash: "$argon2id$dummy",
            plan_id: plan,
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        1_000,
    )
    .await
    .expect("create user")
}

on_both_databases!(
    async fn plan_catalog_is_the_spec_table(t) {
        let catalog = plans::catalog(&t.db).await.unwrap();
        let row = |id: &str| catalog.iter().find(|p| p.id.0 == id).unwrap().clone();
        let starter = row("starter");
        assert_eq!(starter.price_cents_per_month, 4900);
        assert_eq!(starter.broker_accounts, Limit::Finite(2));
        assert_eq!(starter.active_webhooks, Limit::Finite(3));
        assert_eq!(starter.copy_groups, Limit::Finite(1));
        assert_eq!(starter.followers_per_group, Limit::Finite(2));
        let trader = row("trader");
        assert_eq!(trader.broker_accounts, Limit::Finite(10));
        assert_eq!(trader.copy_groups, Limit::Finite(3));
        assert_eq!(trader.followers_per_group, Limit::Finite(5));
        assert!(!row("free").trade_execution);
        assert_eq!(row("free").broker_accounts, Limit::Finite(0));
        assert_eq!(row("unlimited").broker_accounts, Limit::Unlimited);
        assert_eq!(catalog.first().unwrap().id.0, "free", "cheapest first");
    }
);

on_both_databases!(
    /// The acceptance proof of the entitlement primitive: 200 concurrent
    /// reservations at a limit of 2 end with exactly 2, and every other caller
    /// gets the limit error (not a database error).
    async fn concurrent_reservations_never_pass_the_limit(t) {
        let user = make_user(&t.db, "race@example.com", "starter").await;
        let db = Arc::new(t.db.clone());
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let db = db.clone();
            let user_id = user.id.clone();
            tasks.push(tokio::spawn(async move {
                plans::reserve(&db, &user_id, Resource::BrokerAccounts).await
            }));
        }
        let (mut ok, mut limited) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StorageError::LimitReached(limit)) => {
                    assert!(limit.to_string().starts_with("Account limit reached: the Starter plan allows 2"));
                    limited += 1;
                }
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!((ok, limited), (2, 198));
        let usage = plans::usage(&t.db, &user.id).await.unwrap();
        assert!(usage.contains(&(Resource::BrokerAccounts, 2)));
    }
);

on_both_databases!(
    async fn released_and_rolled_back_slots_are_free_again(t) {
        let user = make_user(&t.db, "slots@example.com", "starter").await;
        for _ in 0..2 {
            plans::reserve(&t.db, &user.id, Resource::BrokerAccounts).await.unwrap();
        }
        let err = plans::reserve(&t.db, &user.id, Resource::BrokerAccounts).await.unwrap_err();
        assert!(matches!(err, StorageError::LimitReached(_)));
        plans::release(&t.db, &user.id, Resource::BrokerAccounts).await.unwrap();
        assert!(plans::usage(&t.db, &user.id).await.unwrap().contains(&(Resource::BrokerAccounts, 1)));
        // A reservation whose transaction rolls back takes nothing: a webhook
        // refused after its slot was taken (the token is already in use).
        let hook = |token: &'static str| webhooks::NewWebhook {
            user_id: &user.id,
            name: "w",
            description: "",
            token,
            secret_digest: token,
        };
        webhooks::create(&t.db, hook("tok-1"), 1).await.unwrap();
        webhooks::create(&t.db, hook("tok-1"), 1).await.unwrap_err();
        assert!(plans::usage(&t.db, &user.id).await.unwrap().contains(&(Resource::ActiveWebhooks, 1)));
        // Free has no slots; Unlimited has no ceiling.
        let free = make_user(&t.db, "free@example.com", "free").await;
        let err = plans::reserve(&t.db, &free.id, Resource::ActiveWebhooks).await.unwrap_err();
        assert!(err.to_string().contains("Upgrade to Starter for 3"), "{err}");
        let big = make_user(&t.db, "big@example.com", "unlimited").await;
        for _ in 0..25 {
            plans::reserve(&t.db, &big.id, Resource::CopyGroups).await.unwrap();
        }
        assert!(plans::usage(&t.db, &big.id).await.unwrap().contains(&(Resource::CopyGroups, 25)));
    }
);

on_both_databases!(
    /// Concurrent writes share group commits: the ones that fail (duplicate
    /// emails) fail alone, every other one is written.
    async fn concurrent_sign_ups_with_duplicates_fail_alone(t) {
        let mut tasks = Vec::new();
        for i in 0..90 {
            let db = t.db.clone();
            tasks.push(tokio::spawn(async move {
                let email = format!("u{}@example.com", i % 60);
                users::create(
                    &db,
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
                .await
            }));
        }
        let (mut ok, mut conflicts) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StorageError::Conflict(_)) => conflicts += 1,
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!((ok, conflicts), (60, 30));
        assert_eq!(users::list(&t.db).await.unwrap().len(), 60);
    }
);

on_both_databases!(
    async fn users_are_unique_by_email_and_plans_must_exist(t) {
        let user = make_user(&t.db, "a@example.com", "trader").await;
        let dup = users::create(
            &t.db,
            users::NewUser {
                email: "a@example.com",
                password_hash: "x",
                plan_id: "trader",
                subscription_status: SubscriptionStatus::Active,
                trial_ends_at: None,
                is_admin: false,
            },
            2_000,
        )
        .await
        .unwrap_err();
        assert!(matches!(dup, StorageError::Conflict(_)), "{dup}");
        let err = users::set_plan(&t.db, &user.id, "gold").await.unwrap_err();
        assert!(err.to_string().contains("unknown plan \"gold\""));
        users::set_plan(&t.db, &user.id, "unlimited").await.unwrap();
        users::set_subscription_status(&t.db, &user.id, SubscriptionStatus::PastDue, None).await.unwrap();
        let found = users::find_by_email(&t.db, "a@example.com").await.unwrap().unwrap();
        assert_eq!(found.plan_id, "unlimited");
        assert_eq!(found.subscription_status, SubscriptionStatus::PastDue);
    }
);

on_both_databases!(
    async fn throttle_counts_failures_within_a_window(t) {
        let window = 60_000;
        for i in 0..3 {
            assert_eq!(throttle::blocked_for(&t.db, "k", 1_000 + i, 3, window).await.unwrap(), None);
            throttle::record_failure(&t.db, "k", 1_000 + i, window).await.unwrap();
        }
        assert_eq!(throttle::blocked_for(&t.db, "k", 2_000, 3, window).await.unwrap(), Some(59_000));
        assert_eq!(throttle::blocked_for(&t.db, "k", 61_000, 3, window).await.unwrap(), None);
        // A failure after the window starts a new one.
        throttle::record_failure(&t.db, "k", 70_000, window).await.unwrap();
        assert_eq!(throttle::blocked_for(&t.db, "k", 70_001, 1, window).await.unwrap(), Some(59_999));
        assert_eq!(throttle::blocked_for(&t.db, "k", 70_001, 2, window).await.unwrap(), None);
        throttle::clear(&t.db, "k").await.unwrap();
        assert_eq!(throttle::blocked_for(&t.db, "k", 70_001, 1, window).await.unwrap(), None);
    }
);

on_both_databases!(
    async fn totp_steps_and_recovery_codes_are_single_use(t) {
        let user = make_user(&t.db, "mfa@example.com", "starter").await;
        users::set_pending_totp(&t.db, &user.id, "JBSWY3DPEHPK3PXP").await.unwrap();
        users::enable_totp(&t.db, &user.id, &["h1".into(), "h2".into()]).await.unwrap();
        assert!(users::find(&t.db, &user.id).await.unwrap().unwrap().totp_enabled);
        assert!(users::claim_totp_step(&t.db, &user.id, 100).await.unwrap());
        assert!(!users::claim_totp_step(&t.db, &user.id, 100).await.unwrap(), "same step twice");
        assert!(!users::claim_totp_step(&t.db, &user.id, 99).await.unwrap(), "older step");
        assert!(users::claim_totp_step(&t.db, &user.id, 101).await.unwrap());
        assert!(users::consume_recovery_code(&t.db, &user.id, "h1", 5).await.unwrap());
        assert!(!users::consume_recovery_code(&t.db, &user.id, "h1", 6).await.unwrap());
        assert_eq!(users::remaining_recovery_codes(&t.db, &user.id).await.unwrap(), 1);
    }
);

#[tokio::test]
async fn sqlite_runs_in_wal_with_full_sync_and_survives_reopen() {
    let t = atomik_testkit::sqlite().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
    make_user(&t.db, "persist@example.com", "starter").await;
    let again = t.reconnect().await;
    again.migrate().await.unwrap();
    assert!(
        users::find_by_email(&again, "persist@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn unsupported_database_urls_are_refused_clearly() {
    let err = Db::connect(&atomik_storage::DbConfig::new(
        "mysql://root:pw@localhost/x",
    ))
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("use sqlite://PATH or postgres://"), "{msg}");
    assert!(!msg.contains("pw@"), "password must be redacted: {msg}");
}
