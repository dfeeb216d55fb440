//! What a SQLite read costs on the hot path: ingress's one read of a
//! webhook (`webhooks::for_ingress`) and an execution-side point read
//! (`broker_accounts::get`), alone and 64 at once on a two-worker runtime
//! (the server's shape on two cores). ARCHITECTURE.md (Storage) records the
//! figures that decided where reads run.

use std::time::Duration;

use atomik_domain::SubscriptionStatus;
use atomik_storage::broker_accounts::{self as accounts, NewAccount, SealedCredential};
use atomik_storage::{Db, DbConfig, users, webhooks};
use criterion::{Criterion, criterion_group, criterion_main};

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    account_id: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&DbConfig::new(url)).await.expect("open");
    db.migrate().await.expect("migrate");
    let user = users::create(
        &db,
        users::NewUser {
            email: "bench@example.com",
            password_hash: "x",
            plan_id: "unlimited",
            subscription_status: SubscriptionStatus::Active,
            trial_ends_at: None,
            is_admin: false,
        },
        1,
    )
    .await
    .expect("user");
    let hook = webhooks::NewWebhook {
        user_id: &user.id,
        name: "w",
        description: "",
        token: "bench-token",
        secret_digest: "bench-digest",
    };
    webhooks::create(&db, hook, 1).await.expect("webhook");
    let id = accounts::id_for_connection(&db, &user.id, "tradovate", "demo", "a1")
        .await
        .expect("id");
    accounts::connect(
        &db,
        NewAccount {
            id: &id,
            user_id: &user.id,
            broker: "tradovate",
            environment: "demo",
            display_name: "A",
            broker_account_id: "a1",
            broker_account_name: "A",
            balance: None,
            token_expires_at: None,
            next_refresh_at: None,
            credential: SealedCredential {
                kek_id: "k".into(),
                sealed: vec![7; 64],
            },
        },
        1,
    )
    .await
    .expect("account");
    Fixture {
        _dir: dir,
        db,
        account_id: id,
    }
}

fn reads(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let f = rt.block_on(fixture());
    let mut group = c.benchmark_group("sqlite read");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("webhooks::for_ingress, one caller", |b| {
        b.iter(|| {
            rt.block_on(webhooks::for_ingress(
                &f.db,
                "bench-token",
                Some("bench-digest"),
                2,
            ))
            .expect("read")
        })
    });
    group.bench_function("broker_accounts::get, one caller", |b| {
        b.iter(|| {
            rt.block_on(accounts::get(&f.db, &f.account_id))
                .expect("read")
        })
    });
    group.bench_function("webhooks::for_ingress, 64 concurrent on 2 workers", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..64)
                    .map(|_| {
                        let db = f.db.clone();
                        tokio::spawn(async move {
                            webhooks::for_ingress(&db, "bench-token", Some("bench-digest"), 2).await
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task").expect("read");
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, reads);
criterion_main!(benches);
