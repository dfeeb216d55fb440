//! Sign-up, log-in, sessions, CSRF, throttling and two-factor log-in over real
//! HTTP, on SQLite and PostgreSQL. Each protection has a test that fails if
//! the protection is removed.

use atomik_server::auth::totp;
use atomik_testkit::{
    ManualClock, TestApp, client, csrf_in, element_text, manual_clock, on_both_databases, signup,
    spawn_app, spawn_app_on_clock, submit_form, test_config,
};

const PW: &str = "correct horse battery";

async fn app(t: atomik_testkit::TestDb) -> TestApp {
    spawn_app(t, test_config()).await
}

/// The app on a clock the test moves.
async fn app_on(t: atomik_testkit::TestDb) -> (TestApp, ManualClock) {
    let clock = manual_clock();
    (spawn_app_on_clock(t, test_config(), &clock).await, clock)
}

async fn login(app: &TestApp, email: &str, password: &str) -> (reqwest::Client, reqwest::Response) {
    let c = client();
    let res = submit_form(
        &c,
        app,
        "/login",
        "/login",
        &[("email", email), ("password", password)],
    )
    .await;
    (c, res)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// `atomik_session=…` from a response's Set-Cookie headers.
fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("atomik_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("session cookie set")
}

on_both_databases!(
    async fn sign_up_log_out_log_in_and_see_the_plan(t) {
        let app = app(t).await;
        let c = signup(&app, "Trader@Example.com", PW).await;
        let home = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert_eq!(element_text(&html, "plan-name").as_deref(), Some("Starter"));
        assert_eq!(element_text(&html, "subscription-status").as_deref(), Some("trialing"));
        assert_eq!(element_text(&html, "who").as_deref(), Some("trader@example.com"));
        let settings = c.get(app.url("/settings")).send().await.unwrap().text().await.unwrap();
        assert!(settings.contains("<td>Connected broker accounts</td><td>0</td><td>2</td>"), "{settings}");

        let out = submit_form(&c, &app, "/", "/logout", &[]).await;
        assert_eq!(location(&out), "/login");
        let home = c.get(app.url("/")).send().await.unwrap();
        assert_eq!((home.status().as_u16(), location(&home)), (303, "/login".into()));

        let (c2, res) = login(&app, "trader@example.com", PW).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/".into()));
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("atomik_session="))
            .expect("session cookie set");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert_eq!(c2.get(app.url("/")).send().await.unwrap().status(), 200);
    }
);

on_both_databases!(
    async fn sign_up_refuses_bad_input_and_duplicates(t) {
        let app = app(t).await;
        let c = client();
        let res = submit_form(&c, &app, "/signup", "/signup", &[("email", "not-an-email"), ("password", PW)]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("Enter a valid email address"));
        let res = submit_form(&c, &app, "/signup", "/signup", &[("email", "a@b.io"), ("password", "short")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("at least 12 characters"));
        signup(&app, "a@b.io", PW).await;
        let res = submit_form(&client(), &app, "/signup", "/signup", &[("email", "A@B.io"), ("password", PW)]).await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("already exists"));
    }
);

on_both_databases!(
    async fn unknown_user_and_wrong_password_get_identical_answers(t) {
        let app = app(t).await;
        signup(&app, "known@example.com", PW).await;
        let (_, wrong) = login(&app, "known@example.com", "wrong password!!").await;
        let (_, unknown) = login(&app, "nobody@example.com", "wrong password!!").await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(unknown.status(), 401);
        let wrong = element_text(&wrong.text().await.unwrap(), "error");
        let unknown = element_text(&unknown.text().await.unwrap(), "error");
        assert_eq!(wrong, unknown);
        assert_eq!(wrong.as_deref(), Some("Email or password is incorrect."));
    }
);

on_both_databases!(
    async fn sessions_are_server_side_and_end_at_log_out(t) {
        let app = app(t).await;
        let c = signup(&app, "s@example.com", PW).await;
        // Capture the raw session cookie, log out, then replay it.
        let (_, res) = login(&app, "s@example.com", PW).await;
        let value = session_cookie(&res);
        assert!(value.starts_with("atomik_session=") && value.len() > "atomik_session=".len() + 40);
        let replay = |v: String| {
            let app_url = app.url("/");
            async move {
                client().get(app_url).header("cookie", v).send().await.unwrap()
            }
        };
        assert_eq!(replay(value.clone()).await.status(), 200, "valid session cookie works");
        assert_eq!(replay("atomik_session=forged-value".into()).await.status(), 303);
        // Log out from the session we captured: the server forgets it.
        let logout_page = client().get(app.url("/")).header("cookie", value.clone()).send().await.unwrap();
        let csrf = csrf_in(&logout_page.text().await.unwrap());
        let out = client()
            .post(app.url("/logout"))
            .header("cookie", value.clone())
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&out), "/login");
        assert_eq!(replay(value).await.status(), 303, "a logged-out session id is dead");
        assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 200, "other sessions live on");
    }
);

on_both_databases!(
    async fn state_changing_requests_need_the_csrf_token(t) {
        let app = app(t).await;
        let c = signup(&app, "csrf@example.com", PW).await;
        // No token, wrong token, right token.
        let none = c.post(app.url("/settings/tokens")).form(&[("name", "x")]).send().await.unwrap();
        assert_eq!(none.status(), 403);
        let wrong = c
            .post(app.url("/settings/tokens"))
            .form(&[("csrf", "nope"), ("name", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
        let ok = submit_form(&c, &app, "/settings", "/settings/tokens", &[("name", "x")]).await;
        assert_eq!(ok.status(), 200);
        // JSON API with a session cookie needs the header; cross-site is refused even with it.
        let api = c.post(app.url("/api/v1/tokens")).json(&serde_json::json!({"name": "y"})).send().await.unwrap();
        assert_eq!(api.status(), 403);
        let body: serde_json::Value = api.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf_failed");
        let html = c.get(app.url("/settings")).send().await.unwrap().text().await.unwrap();
        let token = csrf_in(&html);
        let cross = c
            .post(app.url("/api/v1/tokens"))
            .header("x-csrf-token", &token)
            .header("sec-fetch-site", "cross-site")
            .json(&serde_json::json!({"name": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403);
        let foreign = c
            .post(app.url("/api/v1/tokens"))
            .header("x-csrf-token", &token)
            .header("origin", "https://evil.example")
            .json(&serde_json::json!({"name": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        let good = c
            .post(app.url("/api/v1/tokens"))
            .header("x-csrf-token", &token)
            .json(&serde_json::json!({"name": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(good.status(), 201);
        // Log-in form without the pre-session cookie (login CSRF) is refused.
        let bare = client()
            .post(app.url("/login"))
            .form(&[("csrf", "guess"), ("email", "csrf@example.com"), ("password", PW)])
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 403);
    }
);

on_both_databases!(
    async fn repeated_failures_throttle_the_account_then_the_ip(t) {
        let (app, clock) = app_on(t).await;
        signup(&app, "victim@example.com", PW).await;
        // test_config: 3 failures per account, 6 per IP, per 15 minutes.
        for _ in 0..3 {
            let (_, res) = login(&app, "victim@example.com", "not the password").await;
            assert_eq!(res.status(), 401);
        }
        let (_, res) = login(&app, "victim@example.com", PW).await;
        assert_eq!(res.status(), 429, "even the right password waits out the lock");
        assert!(res.headers().get("retry-after").is_some());
        // Unknown accounts are throttled the same way (no enumeration).
        for _ in 0..3 {
            login(&app, "ghost@example.com", "not the password").await;
        }
        let (_, res) = login(&app, "ghost@example.com", "not the password").await;
        assert_eq!(res.status(), 429);
        // 6 failures from this IP in all: a fresh account is refused too.
        signup(&app, "other@example.com", PW).await;
        let (_, res) = login(&app, "other@example.com", PW).await;
        assert_eq!(res.status(), 429, "per-IP throttle");
        // Once the window (15 minutes) has passed, the right password works again.
        clock.advance(15 * 60 * 1000 - 1_000);
        let (_, res) = login(&app, "victim@example.com", PW).await;
        assert_eq!(res.status(), 429, "still inside the window");
        clock.advance(1_001);
        let (_, res) = login(&app, "victim@example.com", PW).await;
        assert_eq!(res.status(), 303, "the lock has expired");
    }
);

on_both_databases!(
    async fn sessions_end_when_their_lifetime_is_over(t) {
        let (app, clock) = app_on(t).await;
        let c = signup(&app, "ttl@example.com", PW).await;
        assert_eq!(c.get(app.url("/")).send().await.unwrap().status(), 200);
        let ttl = test_config().session_ttl.as_millis() as i64;
        clock.advance(ttl + 1);
        let res = c.get(app.url("/")).send().await.unwrap();
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/login".to_string()), "an expired session is dead");
    }
);

/// Turn 2FA on through the settings pages; returns the secret and recovery codes.
async fn enable_2fa(app: &TestApp, c: &reqwest::Client) -> (String, Vec<String>) {
    let res = submit_form(c, app, "/settings", "/settings/2fa/start", &[]).await;
    let html = res.text().await.unwrap();
    let secret = element_text(&html, "totp-secret").expect("secret shown");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Confirm with the previous step's code so the login below can use the current one.
    let code = totp::code_at(&secret, now - 30).unwrap();
    let bad = submit_form(
        c,
        app,
        "/settings",
        "/settings/2fa/confirm",
        &[("code", "000000")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let res = submit_form(
        c,
        app,
        "/settings",
        "/settings/2fa/confirm",
        &[("code", &code)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let codes_html = &html[html
        .find("id=\"recovery-codes\"")
        .expect("codes shown once")..];
    let codes: Vec<String> = codes_html
        .split("<code>")
        .skip(1)
        .take(10)
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

on_both_databases!(
    async fn two_factor_log_in_requires_a_fresh_code(t) {
        let app = app(t).await;
        let c = signup(&app, "mfa@example.com", PW).await;
        let (secret, codes) = enable_2fa(&app, &c).await;
        let stored: String = sqlx::query_scalar("SELECT totp_secret FROM users WHERE email = 'mfa@example.com'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert!(!stored.contains(&secret), "the TOTP secret is sealed at rest");
        let settings = c.get(app.url("/settings")).send().await.unwrap().text().await.unwrap();
        assert!(!settings.contains(&codes[0]), "recovery codes are shown once");

        let (c2, res) = login(&app, "mfa@example.com", PW).await;
        assert_eq!(location(&res), "/login/2fa");
        // The password alone opens nothing.
        let home = c2.get(app.url("/")).send().await.unwrap();
        assert_eq!((home.status().as_u16(), location(&home)), (303, "/login".into()));
        let api = c2.get(app.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(api.status(), 401);
        let wrong = submit_form(&c2, &app, "/login/2fa", "/login/2fa", &[("code", "123456")]).await;
        assert_eq!(wrong.status(), 401);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let code = totp::code_at(&secret, now).unwrap();
        let ok = submit_form(&c2, &app, "/login/2fa", "/login/2fa", &[("code", &code)]).await;
        assert_eq!((ok.status().as_u16(), location(&ok)), (303, "/".into()));
        assert_eq!(c2.get(app.url("/")).send().await.unwrap().status(), 200);

        // The same code cannot be replayed for another log-in.
        let (c3, _) = login(&app, "mfa@example.com", PW).await;
        let replay = submit_form(&c3, &app, "/login/2fa", "/login/2fa", &[("code", &code)]).await;
        assert_eq!(replay.status(), 401);
        // A recovery code works once (dashes and case do not matter).
        let rc = codes[3].to_uppercase();
        let ok = submit_form(&c3, &app, "/login/2fa", "/login/2fa", &[("code", &rc)]).await;
        assert_eq!(location(&ok), "/");
        let (c4, _) = login(&app, "mfa@example.com", PW).await;
        let again = submit_form(&c4, &app, "/login/2fa", "/login/2fa", &[("code", &rc)]).await;
        assert_eq!(again.status(), 401);
    }
);

on_both_databases!(
    async fn second_factor_guessing_is_throttled(t) {
        let app = app(t).await;
        let c = signup(&app, "guess@example.com", PW).await;
        let (secret, _) = enable_2fa(&app, &c).await;
        let (c2, _) = login(&app, "guess@example.com", PW).await;
        for _ in 0..3 {
            let res = submit_form(&c2, &app, "/login/2fa", "/login/2fa", &[("code", "000000")]).await;
            assert_eq!(res.status(), 401);
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let code = totp::code_at(&secret, now + 30).unwrap();
        let res = submit_form(&c2, &app, "/login/2fa", "/login/2fa", &[("code", &code)]).await;
        assert_eq!(res.status(), 429);
    }
);
