//! Webhook storage on SQLite and PostgreSQL: the active-webhook limit,
//! pause/resume/delete and secret rotation with an overlap.

use std::sync::Arc;

use atomik_domain::{Resource, SubscriptionStatus};
use atomik_storage::webhooks::{self, NewWebhook};
use atomik_storage::{Db, StorageError, plans, users};
use atomik_testkit::on_both_databases;

async fn user(db: &Db) -> String {
    users::create(
        db,
        users::NewUser {
            email: "hooks@example.com",
            password_hash: "x",
            plan_id: "starter",
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

/// Whether ingress accepts `digest` for the webhook behind `token` at `now`.
async fn secret_ok(db: &Db, token: &str, digest: &str, now: i64) -> bool {
    webhooks::for_ingress(db, token, Some(digest), now)
        .await
        .unwrap()
        .expect("the webhook exists")
        .secret_ok
}

async fn create(db: &Db, user_id: &str, n: usize) -> Result<webhooks::Webhook, StorageError> {
    webhooks::create(
        db,
        NewWebhook {
            user_id,
            name: &format!("hook {n}"),
            description: "",
            token: &format!("token-{n}"),
            secret_digest: &format!("digest-{n}"),
        },
        10,
    )
    .await
}

on_both_databases!(
    async fn active_webhooks_are_limited_and_slots_follow_pause_and_delete(t) {
        let user_id = user(&t.db).await;
        let db = Arc::new(t.db.clone());
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let db = db.clone();
                let user_id = user_id.clone();
                tokio::spawn(async move { create(&db, &user_id, i).await })
            })
            .collect();
        let mut created = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(w) => created.push(w),
                Err(StorageError::LimitReached(l)) => {
                    assert!(l.to_string().starts_with("Active webhooks limit reached: the Starter plan allows 3"))
                }
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        assert_eq!(created.len(), 3);
        let first = &created[0];
        // Pausing frees a slot; resuming needs one.
        webhooks::set_active(&t.db, &user_id, &first.id, false).await.unwrap();
        create(&t.db, &user_id, 100).await.unwrap();
        let err = webhooks::set_active(&t.db, &user_id, &first.id, true).await.unwrap_err();
        assert!(matches!(err, StorageError::LimitReached(_)));
        webhooks::delete(&t.db, &user_id, &created[1].id).await.unwrap();
        assert!(webhooks::set_active(&t.db, &user_id, &first.id, true).await.unwrap().active);
        assert!(plans::usage(&t.db, &user_id).await.unwrap().contains(&(Resource::ActiveWebhooks, 3)));
        assert!(webhooks::for_ingress(&t.db, &created[1].token, None, 0).await.unwrap().is_none());
    }
);

on_both_databases!(
    async fn rotated_secrets_overlap_then_expire(t) {
        let user_id = user(&t.db).await;
        let w = create(&t.db, &user_id, 1).await.unwrap();
        assert!(secret_ok(&t.db, &w.token, "digest-1", 20).await);
        assert!(!secret_ok(&t.db, &w.token, "digest-x", 20).await);
        webhooks::rotate_secret(&t.db, &user_id, &w.id, "digest-2", 1_000, 50).await.unwrap();
        assert!(secret_ok(&t.db, &w.token, "digest-1", 999).await, "old secret in the overlap");
        assert!(secret_ok(&t.db, &w.token, "digest-2", 999).await);
        assert!(!secret_ok(&t.db, &w.token, "digest-1", 1_000).await, "old secret expired");
        assert!(secret_ok(&t.db, &w.token, "digest-2", 5_000).await);
        assert!(matches!(
            webhooks::rotate_secret(&t.db, "someone-else", &w.id, "d3", 1, 1).await,
            Err(StorageError::NotFound(_))
        ));
        let updated = webhooks::set_allowed_ips(&t.db, &user_id, &w.id, "52.89.214.238,34.212.75.30").await.unwrap();
        assert_eq!(updated.allowed_ips, "52.89.214.238,34.212.75.30");
    }
);
