//! Broker-account storage on SQLite and PostgreSQL: the account limit under
//! concurrency, disconnect, refresh leases and rate slots.

use std::sync::Arc;

use atomik_domain::{Resource, SubscriptionStatus};
use atomik_storage::broker_accounts::{
    self as accounts, AccountStatus, NewAccount, SealedCredential,
};
use atomik_storage::{Db, StorageError, plans, rate_slots, users};
use atomik_testkit::on_both_databases;

async fn user(db: &Db, email: &str, plan: &str) -> String {
    users::create(
        db,
        users::NewUser {
            email,
            password_hash: "x",
            plan_id: plan,
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        1,
    )
    .await
    .unwrap()
    .id
}

fn sealed(tag: &str) -> SealedCredential {
    SealedCredential {
        kek_id: "k1".into(),
        sealed: tag.as_bytes().to_vec(),
    }
}

async fn connect(
    db: &Db,
    user_id: &str,
    broker_account_id: &str,
) -> Result<accounts::BrokerAccount, StorageError> {
    let id =
        accounts::id_for_connection(db, user_id, "tradovate", "demo", broker_account_id).await?;
    accounts::connect(
        db,
        NewAccount {
            id: &id,
            user_id,
            broker: "tradovate",
            environment: "demo",
            display_name: broker_account_id,
            broker_account_id,
            broker_account_name: broker_account_id,
            balance: Some("USD 50000.00"),
            token_expires_at: Some(10_000),
            next_refresh_at: Some(9_000),
            credential: sealed(broker_account_id),
        },
        5,
    )
    .await
}

on_both_databases!(
    /// 100 concurrent connects at a limit of 2 end with exactly 2 accounts;
    /// the rest get "Account limit reached" and leave no row behind.
    async fn concurrent_connects_respect_the_account_limit(t) {
        let user_id = user(&t.db, "limit@example.com", "starter").await;
        let db = Arc::new(t.db.clone());
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let db = db.clone();
                let user_id = user_id.clone();
                tokio::spawn(async move { connect(&db, &user_id, &format!("acct-{i}")).await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StorageError::LimitReached(l)) => {
                    assert!(l.to_string().starts_with("Account limit reached: the Starter plan allows 2"))
                }
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        assert_eq!(ok, 2);
        assert_eq!(accounts::list(&t.db, &user_id).await.unwrap().len(), 2);
        let creds = accounts::all_credentials(&t.db).await.unwrap();
        assert_eq!(creds.len(), 2, "refused connects leave no credential");
    }
);

on_both_databases!(
    async fn disconnect_destroys_credentials_turns_strategies_off_and_frees_the_slot(t) {
        let user_id = user(&t.db, "d@example.com", "starter").await;
        let a = connect(&t.db, &user_id, "A").await.unwrap();
        connect(&t.db, &user_id, "B").await.unwrap();
        assert!(matches!(connect(&t.db, &user_id, "C").await, Err(StorageError::LimitReached(_))));
        accounts::create_strategy(&t.db, &user_id, &a.id, "NQ scalper", 7).await.unwrap();
        accounts::create_strategy(&t.db, &user_id, &a.id, "ES swing", 7).await.unwrap();

        let other = user(&t.db, "other@example.com", "starter").await;
        assert!(matches!(
            accounts::disconnect(&t.db, &other, &a.id, "user", 8).await,
            Err(StorageError::NotFound(_))
        ));

        let report = accounts::disconnect(&t.db, &user_id, &a.id, "Disconnected by you", 9).await.unwrap();
        assert_eq!(report.deactivated_strategies, vec!["ES swing".to_string(), "NQ scalper".to_string()]);
        assert!(report.changed);
        assert!(accounts::credential(&t.db, &a.id).await.unwrap().is_none());
        let after = accounts::find(&t.db, &user_id, &a.id).await.unwrap().unwrap();
        assert_eq!(after.status, AccountStatus::Disconnected);
        assert_eq!(after.status_reason.as_deref(), Some("Disconnected by you"));
        assert!(accounts::active_strategy_names(&t.db, &a.id).await.unwrap().is_empty());
        assert!(plans::usage(&t.db, &user_id).await.unwrap().contains(&(Resource::BrokerAccounts, 1)));

        // Idempotent: a second disconnect frees nothing more.
        let again = accounts::disconnect(&t.db, &user_id, &a.id, "again", 10).await.unwrap();
        assert!(!again.changed);
        assert!(plans::usage(&t.db, &user_id).await.unwrap().contains(&(Resource::BrokerAccounts, 1)));

        // The freed slot takes a new account; reconnecting A reuses its row
        // and does not turn its strategies back on.
        connect(&t.db, &user_id, "C").await.unwrap();
        accounts::disconnect(&t.db, &user_id, &accounts::list(&t.db, &user_id).await.unwrap()[1].id, "x", 11)
            .await
            .unwrap();
        let back = connect(&t.db, &user_id, "A").await.unwrap();
        assert_eq!(back.id, a.id);
        assert_eq!(back.status, AccountStatus::Connected);
        assert!(accounts::active_strategy_names(&t.db, &a.id).await.unwrap().is_empty());
    }
);

on_both_databases!(
    async fn refresh_lease_is_single_flight_across_pools(t) {
        let user_id = user(&t.db, "lease@example.com", "trader").await;
        let a = connect(&t.db, &user_id, "A").await.unwrap();
        let second = t.reconnect().await;
        assert!(accounts::try_lease(&t.db, &a.id, "one", 100, 200).await.unwrap());
        assert!(!accounts::try_lease(&second, &a.id, "two", 150, 250).await.unwrap());
        assert!(accounts::due_for_refresh(&second, 150, 10).await.unwrap().is_empty(), "leased rows are not due");
        assert!(accounts::try_lease(&second, &a.id, "two", 201, 300).await.unwrap(), "expired lease is taken over");
        // The old holder can no longer store a renewal.
        assert!(!accounts::store_renewal(&t.db, &a.id, "one", &sealed("new"), 99_000, 90_000, 202).await.unwrap());
        assert!(accounts::store_renewal(&second, &a.id, "two", &sealed("new2"), 99_000, 90_000, 202).await.unwrap());
        accounts::release_lease(&second, &a.id, "two").await.unwrap();
        let row = accounts::get(&t.db, &a.id).await.unwrap().unwrap();
        assert_eq!((row.token_expires_at, row.next_refresh_at), (Some(99_000), Some(90_000)));
        assert_eq!(row.last_refresh_result.as_deref(), Some("renewed"));
        assert_eq!(accounts::credential(&t.db, &a.id).await.unwrap().unwrap().1, sealed("new2"));
    }
);

on_both_databases!(
    async fn rate_slots_space_calls_across_pools(t) {
        let second = t.reconnect().await;
        let db = Arc::new(t.db.clone());
        let second = Arc::new(second);
        // 40 concurrent takers at the same instant: exactly one wins.
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let db = if i % 2 == 0 { db.clone() } else { second.clone() };
                tokio::spawn(async move { rate_slots::try_take(&db, "tradovate:demo", 1_000, 6_000).await.unwrap() })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            won += task.await.unwrap() as i32;
        }
        assert_eq!(won, 1);
        assert!(!rate_slots::try_take(&t.db, "tradovate:demo", 6_999, 6_000).await.unwrap());
        assert!(rate_slots::try_take(&t.db, "tradovate:demo", 7_000, 6_000).await.unwrap());
        assert_eq!(rate_slots::next_free_at(&t.db, "tradovate:demo").await.unwrap(), 13_000);
        assert!(rate_slots::try_take(&t.db, "binance:live", 7_000, 6_000).await.unwrap(), "keys are independent");
    }
);

on_both_databases!(
    async fn execution_lease_keeps_other_instances_out_until_released_or_expired(t) {
        use atomik_storage::execution::{release_exec_lease, try_exec_lease};
        let user_id = user(&t.db, "exec-lease@example.com", "trader").await;
        let a = connect(&t.db, &user_id, "A").await.unwrap();
        let second = t.reconnect().await;
        assert!(try_exec_lease(&t.db, &a.id, "one/exec", 100, 200).await.unwrap());
        assert!(!try_exec_lease(&second, &a.id, "two/exec", 150, 250).await.unwrap(), "held: refused");
        // The holder renews its own lease (it keeps it between drains).
        assert!(try_exec_lease(&t.db, &a.id, "one/exec", 180, 280).await.unwrap());
        assert!(!try_exec_lease(&second, &a.id, "two/exec", 250, 350).await.unwrap(), "renewed: still refused");
        // Released (shutdown): taken at once.
        release_exec_lease(&t.db, &a.id, "one/exec").await.unwrap();
        assert!(try_exec_lease(&second, &a.id, "two/exec", 260, 360).await.unwrap());
        // A release by a former holder changes nothing; expiry hands it over.
        release_exec_lease(&t.db, &a.id, "one/exec").await.unwrap();
        assert!(!try_exec_lease(&t.db, &a.id, "one/exec", 300, 400).await.unwrap());
        assert!(try_exec_lease(&t.db, &a.id, "one/exec", 361, 461).await.unwrap(), "expired: taken over");
    }
);
