//! The plan, said where a trader needs it (issue 15): the trial's end date
//! on the Overview, and Connect Broker warning before OAuth or key entry
//! that the plan's account limit is reached, pointing to where plans are
//! seen and changed. Real server, SQLite and PostgreSQL.

use atomik_testkit::{Fixture, on_both_databases, spawn_app, test_config};

async fn page(fx: &Fixture, path: &str) -> String {
    let res = fx.client.get(fx.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

on_both_databases!(
    async fn the_trial_end_and_a_full_plan_are_said_up_front(t) {
        let app = spawn_app(t, test_config()).await;
        let fx = Fixture::signup(&app, "plan@example.com").await;
        let overview = page(&fx, "/").await;
        assert!(overview.contains("id=\"trial-ends\""), "{overview}");
        assert!(overview.contains("days left"), "{overview}");

        let connect = page(&fx, "/broker-accounts/connect").await;
        assert!(!connect.contains("id=\"account-limit\""), "room on the plan: no warning");
        sqlx::query("UPDATE plans SET broker_accounts = 0 WHERE id = 'starter'")
            .execute(app.db.pool())
            .await
            .unwrap();
        let connect = page(&fx, "/broker-accounts/connect").await;
        assert!(connect.contains("id=\"account-limit\""), "{connect}");
        assert!(connect.contains("Account limit reached: the Starter plan allows 0"), "{connect}");
        assert!(connect.contains("Settings › Plan"), "says where the plan is: {connect}");
        let settings = page(&fx, "/settings").await;
        assert!(settings.contains("id=\"settings-broker-accounts-link\" ") || settings.contains("href=\"/broker-accounts\" id=\"settings-broker-accounts-link\""), "Broker Accounts is reached from Settings: {settings}");
    }
);
