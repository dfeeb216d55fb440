//! Settings › Broker Accounts over real HTTP: connecting Tradovate through
//! OAuth against the simulator, the refusals, test, pause, disconnect, and
//! the canary check — on SQLite and PostgreSQL.

use std::time::Duration;

use atomik_storage::broker_accounts as accounts;
use atomik_testkit::{
    TradovateEnv, csrf_in, on_both_databases, press_authorize, signup, tradovate_app,
};
use atomik_tradovate_sim as sim;

const PW: &str = "correct horse battery";
/// Seeded as the OAuth client secret: must never appear in any answer.
const CANARY: &str = "CANARY-client-secret-5a7e1d";

async fn env(t: atomik_testkit::TestDb) -> TradovateEnv {
    tradovate_app(t, CANARY, Duration::from_secs(5)).await
}

/// Connect Broker → Tradovate → Demo: returns the broker's authorize URL.
async fn start_connect(e: &TradovateEnv, c: &reqwest::Client) -> String {
    let page = c
        .get(e.app.url("/broker-accounts/connect?broker=tradovate"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"env-demo\""), "{page}");
    let res = c
        .post(e.app.url("/broker-accounts/connect/tradovate"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("environment", "demo")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Broker accounts stored, for any user.
async fn account_rows(e: &TradovateEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM broker_accounts")
        .fetch_one(e.app.db.pool())
        .await
        .unwrap()
}

async fn authorize_at_broker(authorize_url: &str, sim: &sim::SimHandle) -> String {
    press_authorize(authorize_url, &sim.base_url()).await
}

on_both_databases!(
    async fn connect_tradovate_through_oauth_then_test_pause_disconnect(t) {
        let e = env(t).await;
        let c = signup(&e.app, "oauth@example.com", PW).await;
        let url = start_connect(&e, &c).await;
        assert!(url.starts_with(&e.sim.auth_url()));
        assert!(url.contains("code_challenge_method=S256") && url.contains("state="));
        let back = authorize_at_broker(&url, &e.sim).await;
        let res = c.get(&back).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Connected Tradovate Demo"), "{html}");
        assert!(html.contains(">Connected<") && html.contains("USD 50,000.00"), "{html}");
        assert!(!html.contains(CANARY));

        // The same callback again (replayed state) is refused.
        let replay = c.get(&back).send().await.unwrap();
        assert_eq!(replay.status(), 400);
        assert!(replay.text().await.unwrap().contains("invalid, expired or already used"));

        // API: list, test, pause, resume, disconnect.
        let page = c.get(e.app.url("/settings")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_in(&page);
        let list: serde_json::Value = c.get(e.app.url("/api/v1/broker-accounts")).send().await.unwrap().json().await.unwrap();
        let account = &list[0];
        assert_eq!((account["status"].as_str(), account["active"].as_bool()), (Some("connected"), Some(true)));
        assert!(account["next_refresh_at_ms"].as_i64().unwrap() < account["token_expires_at_ms"].as_i64().unwrap());
        let id = account["id"].as_str().unwrap().to_string();
        let post = |path: String| {
            let c = c.clone();
            let csrf = csrf.clone();
            async move { c.post(path).header("x-csrf-token", csrf).send().await.unwrap() }
        };
        let test: serde_json::Value = post(e.app.url(&format!("/api/v1/broker-accounts/{id}/test"))).await.json().await.unwrap();
        assert_eq!(test["can_trade"], true);
        let paused: serde_json::Value = post(e.app.url(&format!("/api/v1/broker-accounts/{id}/pause"))).await.json().await.unwrap();
        assert_eq!((paused["paused"].as_bool(), paused["active"].as_bool()), (Some(true), Some(false)));
        post(e.app.url(&format!("/api/v1/broker-accounts/{id}/resume"))).await;
        let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = 'oauth@example.com'")
            .fetch_one(e.app.db.pool())
            .await
            .unwrap();
        accounts::create_strategy(&e.app.db, &user_id, &id, "MNQ momentum", 1).await.unwrap();
        let sealed = accounts::credential(&e.app.db, &id).await.unwrap().unwrap().1;
        let done: serde_json::Value = post(e.app.url(&format!("/api/v1/broker-accounts/{id}/disconnect"))).await.json().await.unwrap();
        assert_eq!(done["deactivated_strategies"], serde_json::json!(["MNQ momentum"]));
        assert_eq!(done["account"]["status"], "disconnected");
        // No decryptable credential remains; the slot is free again.
        assert!(accounts::credential(&e.app.db, &id).await.unwrap().is_none());
        let me: serde_json::Value = c.get(e.app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
        let used = me["limits"].as_array().unwrap().iter().find(|l| l["resource"] == "broker_accounts").unwrap()["used"].clone();
        assert_eq!(used, 0);
        // The old ciphertext, put back on another row or user, does not open.
        assert!(atomik_engine::credentials::open(&e.app.vault, &id, "someone-else", &sealed).is_err());
        assert!(atomik_engine::credentials::open(&e.app.vault, "other-row", &user_id, &sealed).is_err());
        assert!(atomik_engine::credentials::open(&e.app.vault, &id, &user_id, &sealed).is_ok(), "control: right binding opens");
    }
);

on_both_databases!(
    /// An authorization started more than ten minutes ago is refused, even
    /// with a valid code from the broker; within the ten minutes it connects.
    async fn an_authorization_expires_after_ten_minutes(t) {
        let clock = atomik_testkit::manual_clock();
        let e = atomik_testkit::tradovate_app_on_clock(t, CANARY, Duration::from_secs(5), 0, atomik_testkit::test_config(), std::sync::Arc::new(clock.clone())).await;
        let c = signup(&e.app, "late@example.com", PW).await;
        // The user comes back from the broker's page (with a fresh code)
        // just after the ten minutes: refused.
        let url = start_connect(&e, &c).await;
        clock.advance(10 * 60 * 1000 + 1);
        let back = authorize_at_broker(&url, &e.sim).await;
        let late = c.get(&back).send().await.unwrap();
        assert_eq!(late.status(), 400);
        assert!(late.text().await.unwrap().contains("invalid, expired or already used"));
        assert_eq!(account_rows(&e).await, 0, "nothing was saved");
        // Just inside them: connected.
        let url = start_connect(&e, &c).await;
        clock.advance(10 * 60 * 1000 - 1_000);
        let back = authorize_at_broker(&url, &e.sim).await;
        let res = c.get(&back).send().await.unwrap();
        assert_eq!(res.status(), 200, "just inside the ten minutes: {}", res.text().await.unwrap());
        assert_eq!(account_rows(&e).await, 1);
    }
);

on_both_databases!(
    async fn forged_foreign_and_cross_session_states_are_refused(t) {
        let e = env(t).await;
        let alice = signup(&e.app, "alice@example.com", PW).await;
        let mallory = signup(&e.app, "mallory@example.com", PW).await;
        // Forged state.
        let forged = alice
            .get(e.app.url("/broker-accounts/oauth/tradovate/callback?code=abc&state=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 400);
        // Mallory's authorization completed in Alice's session: refused
        // (state is bound to the session that started it).
        let url = start_connect(&e, &mallory).await;
        let back = authorize_at_broker(&url, &e.sim).await;
        let cross = alice.get(&back).send().await.unwrap();
        assert_eq!(cross.status(), 400);
        assert_eq!(account_rows(&e).await, 0, "nothing was saved");
        // A redirect URI the broker does not know is refused at the broker.
        let foreign = url.replace("redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example%2Fcb&x=");
        let page = atomik_testkit::client().get(&foreign).send().await.unwrap();
        assert_eq!(page.status(), 400);
        // A code exchanged without the PKCE verifier is refused by the broker.
        let url = start_connect(&e, &alice).await;
        let back = authorize_at_broker(&url, &e.sim).await;
        let code = back.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
        let res = atomik_testkit::client()
            .post(e.sim.token_url())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", sim::SimConfig::DEMO_CLIENT_ID),
                ("client_secret", CANARY),
                ("redirect_uri", &format!("http://{}/broker-accounts/oauth/tradovate/callback", e.app.addr)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
    }
);

on_both_databases!(
    async fn the_account_limit_holds_through_oauth(t) {
        let e = env(t).await;
        let c = signup(&e.app, "limit@example.com", PW).await;
        // Starter allows 2. The demo user has 2 accounts but one grant connects
        // one account, so fill the plan by setting the limit low.
        sqlx::query("UPDATE plans SET broker_accounts = 0 WHERE id = 'starter'")
            .execute(e.app.db.pool())
            .await
            .unwrap();
        let url = start_connect(&e, &c).await;
        let back = authorize_at_broker(&url, &e.sim).await;
        let res = c.get(&back).send().await.unwrap();
        assert_eq!(res.status(), 409);
        let html = res.text().await.unwrap();
        assert!(html.contains("Account limit reached: the Starter plan allows 0"), "{html}");
        let list: serde_json::Value = c.get(e.app.url("/api/v1/broker-accounts")).send().await.unwrap().json().await.unwrap();
        assert_eq!(list.as_array().unwrap().len(), 0);
    }
);
