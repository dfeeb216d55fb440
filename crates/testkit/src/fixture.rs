//! One builder for the fixtures most tests need, made through the app's own
//! HTTP interface as a user makes them: sign up, connect broker accounts,
//! create webhooks and strategies. Every step asserts the app's answer.
//!
//! ```ignore
//! let fx = Fixture::signup(&e.app, "trader@example.com").await;
//! let account = fx.tradovate_account(&e.sim.base_url()).await.id;
//! let hook = fx.webhook("signals").await;
//! fx.strategy(&hook, &account, "MNQ1!", "1").await;
//! ```
//!
//! It speaks HTTP to a base URL only, so it serves an in-process
//! [`TestApp`] and a server running as a child process alike.

use serde_json::{Value, json};

use crate::{Hook, TestApp, client, csrf_in, form_in, press_authorize};

/// The password every fixture user signs up with.
pub const PASSWORD: &str = "correct horse battery";

/// A signed-up user: its logged-in client and its session's CSRF token.
pub struct Fixture {
    base: String,
    pub client: reqwest::Client,
    pub csrf: String,
}

/// A broker account connected through the dashboard.
pub struct Connected {
    /// atomik's id of the account.
    pub id: String,
    /// Every page the connect flow showed, in order (for assertions and
    /// canary scans).
    pub pages: Vec<String>,
}

impl Fixture {
    /// Sign up `email` (password [`PASSWORD`]) on the in-process app.
    pub async fn signup(app: &TestApp, email: &str) -> Fixture {
        Self::signup_at(&app.url(""), email, PASSWORD).await
    }

    /// Sign up `email` with `password` on the server at `base_url` (e.g.
    /// `http://127.0.0.1:8080`, a child process).
    pub async fn signup_at(base_url: &str, email: &str, password: &str) -> Fixture {
        let base = base_url.trim_end_matches('/').to_string();
        let client = client();
        let page = get_text(&client, &format!("{base}/signup")).await;
        let res = client
            .post(format!("{base}/signup"))
            .form(&[
                ("csrf", csrf_in(&page).as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("sign-up answers");
        assert_eq!(res.status(), 303, "sign-up should redirect to the overview");
        let csrf = csrf_in(&get_text(&client, &format!("{base}/settings")).await);
        Fixture { base, client, csrf }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The ids of the user's broker accounts, as the API lists them.
    pub async fn account_ids(&self) -> Vec<String> {
        let accounts = self.get_json("/api/v1/broker-accounts").await;
        accounts
            .as_array()
            .expect("a list of accounts")
            .iter()
            .map(|a| a["id"].as_str().expect("account id").to_string())
            .collect()
    }

    /// Connect the Tradovate simulator's demo user (Demo environment)
    /// through OAuth, pressing Authorize on the simulator at `sim_base_url`.
    pub async fn tradovate_account(&self, sim_base_url: &str) -> Connected {
        self.tradovate_oauth(sim_base_url, None).await
    }

    /// As [`Self::tradovate_account`], authorizing as the simulator user
    /// `username` / `password`.
    pub async fn tradovate_account_as(
        &self,
        sim_base_url: &str,
        username: &str,
        password: &str,
    ) -> Connected {
        self.tradovate_oauth(sim_base_url, Some((username, password)))
            .await
    }

    async fn tradovate_oauth(&self, sim_base_url: &str, login: Option<(&str, &str)>) -> Connected {
        let before = self.account_ids().await;
        let connect = get_text(
            &self.client,
            &self.url("/broker-accounts/connect?broker=tradovate"),
        )
        .await;
        let res = self
            .client
            .post(self.url("/broker-accounts/connect/tradovate"))
            .form(&[
                ("csrf", csrf_in(&connect).as_str()),
                ("environment", "demo"),
            ])
            .send()
            .await
            .expect("connect answers");
        assert_eq!(res.status(), 303, "connect redirects to the broker");
        let authorize = res.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let back = match login {
            None => press_authorize(&authorize, sim_base_url).await,
            Some((username, password)) => {
                authorize_as(&authorize, sim_base_url, username, password).await
            }
        };
        let res = self.client.get(&back).send().await.expect("callback");
        assert_eq!(
            res.status(),
            200,
            "the callback shows the connected account"
        );
        let callback = res.text().await.expect("callback page");
        let id = self.new_account(&before).await;
        Connected {
            id,
            pages: vec![connect, callback],
        }
    }

    /// Connect Binance Testnet with this key from the dashboard: Test
    /// Connection (which must say "Connection OK"), then Save.
    pub async fn binance_account(&self, api_key: &str, secret: &str) -> Connected {
        let before = self.account_ids().await;
        let path = "/broker-accounts/connect/binance/keys";
        let connect = get_text(
            &self.client,
            &self.url("/broker-accounts/connect?broker=binance"),
        )
        .await;
        let tested = self
            .post_form(
                path,
                &[
                    ("csrf", csrf_in(&connect).as_str()),
                    ("environment", "testnet"),
                    ("api_key", api_key),
                    ("secret", secret),
                    ("intent", "test"),
                ],
            )
            .await;
        assert!(tested.contains("Connection OK"), "{tested}");
        let marker = "name=\"pending\" value=\"";
        let at = tested.find(marker).expect("a Save form for the tested key") + marker.len();
        let pending = tested[at..at + tested[at..].find('"').expect("closing quote")].to_string();
        let saved = self
            .post_form(
                path,
                &[
                    ("csrf", csrf_in(&tested).as_str()),
                    ("pending", pending.as_str()),
                    ("intent", "save"),
                ],
            )
            .await;
        assert!(saved.contains("Connected Binance Testnet"), "{saved}");
        let id = self.new_account(&before).await;
        Connected {
            id,
            pages: vec![connect, tested, saved],
        }
    }

    /// Connect an IB account from the dashboard: Interactive Brokers ›
    /// Paper, the Gateway form as proposed (the simulator's address) with
    /// `account_id`, Test Connection, then Save.
    pub async fn ib_account(&self, account_id: &str) -> Connected {
        let before = self.account_ids().await;
        let choose = get_text(
            &self.client,
            &self.url("/broker-accounts/connect?broker=ib"),
        )
        .await;
        assert!(choose.contains("id=\"env-paper\""), "{choose}");
        let connect = get_text(
            &self.client,
            &self.url("/broker-accounts/connect?broker=ib&environment=paper"),
        )
        .await;
        let value = |name: &str| {
            let marker = format!("name=\"{name}\" id=\"{name}\" value=\"");
            let at = connect
                .find(&marker)
                .unwrap_or_else(|| panic!("no {name} field: {connect}"))
                + marker.len();
            connect[at..at + connect[at..].find('"').expect("closing quote")].to_string()
        };
        let (host, port, client_id) = (value("host"), value("port"), value("client_id"));
        let path = "/broker-accounts/connect/ib/keys";
        let tested = self
            .post_form(
                path,
                &[
                    ("csrf", csrf_in(&connect).as_str()),
                    ("environment", "paper"),
                    ("host", &host),
                    ("port", &port),
                    ("client_id", &client_id),
                    ("account_id", account_id),
                    ("intent", "test"),
                ],
            )
            .await;
        assert!(tested.contains("Connection OK"), "{tested}");
        let marker = "name=\"pending\" value=\"";
        let at = tested
            .find(marker)
            .expect("a Save form for the tested Gateway")
            + marker.len();
        let pending = tested[at..at + tested[at..].find('"').expect("closing quote")].to_string();
        let saved = self
            .post_form(
                path,
                &[
                    ("csrf", csrf_in(&tested).as_str()),
                    ("pending", pending.as_str()),
                    ("intent", "save"),
                ],
            )
            .await;
        assert!(
            saved.contains("Connected Interactive Brokers Paper"),
            "{saved}"
        );
        let id = self.new_account(&before).await;
        Connected {
            id,
            pages: vec![choose, connect, tested, saved],
        }
    }

    /// Connect the Polymarket Demo wallet (the simulator's demo key, EOA)
    /// through the API; returns the account id.
    pub async fn polymarket_account(&self) -> String {
        let res = self
            .client
            .post(self.url("/api/v1/broker-accounts"))
            .header("x-csrf-token", &self.csrf)
            .json(&serde_json::json!({
                "broker": "polymarket",
                "environment": "demo",
                "private_key": atomik_polymarket_sim::SimConfig::DEMO_PRIVATE_KEY,
                "signature_type": 0,
                "funder": "",
            }))
            .send()
            .await
            .expect("connect Polymarket");
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("JSON answer");
        assert!(status.is_success(), "{status}: {body}");
        body["account"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no account id in {body}"))
            .to_string()
    }

    /// Create a webhook named `name` through the API.
    pub async fn webhook(&self, name: &str) -> Hook {
        let res = self
            .client
            .post(self.url("/api/v1/webhooks"))
            .header("x-csrf-token", &self.csrf)
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("create webhook answers");
        assert_eq!(res.status(), 201, "create webhook");
        let hook: Value = res.json().await.expect("webhook JSON");
        Hook {
            id: hook["webhook"]["id"]
                .as_str()
                .expect("webhook id")
                .to_string(),
            url: self.url(hook["webhook"]["url_path"].as_str().expect("url path")),
            secret: hook["secret"].as_str().expect("secret").to_string(),
        }
    }

    /// An active strategy on `hook` trading `quantity` of `instrument` on
    /// `account`; returns its id.
    pub async fn strategy(
        &self,
        hook: &Hook,
        account: &str,
        instrument: &str,
        quantity: &str,
    ) -> String {
        self.strategy_with(hook, account, instrument, quantity, json!({}))
            .await
    }

    /// As [`Self::strategy`], with more of the API's fields in `extra`
    /// (e.g. `{"max_position": "1"}`).
    pub async fn strategy_with(
        &self,
        hook: &Hook,
        account: &str,
        instrument: &str,
        quantity: &str,
        extra: Value,
    ) -> String {
        let mut body = json!({"webhook_id": hook.id, "broker_account_id": account,
            "name": format!("{instrument} strategy"), "instrument": instrument, "quantity": quantity});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let res = self
            .client
            .post(self.url("/api/v1/strategies"))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("create strategy answers");
        let status = res.status();
        let text = res.text().await.expect("strategy answer");
        assert_eq!(status, 201, "{text}");
        let created: Value = serde_json::from_str(&text).expect("strategy JSON");
        created["id"].as_str().expect("strategy id").to_string()
    }

    async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET answers")
            .json()
            .await
            .expect("JSON")
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> String {
        let res = self
            .client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("form post answers");
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.expect("page")
    }

    /// The one account that is not in `before`.
    async fn new_account(&self, before: &[String]) -> String {
        let mut new: Vec<String> = self
            .account_ids()
            .await
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        assert_eq!(new.len(), 1, "one account connected: {new:?}");
        new.remove(0)
    }
}

/// Authorize at the simulator's page as `username` / `password`; returns
/// the redirect back to the application.
async fn authorize_as(
    authorize_url: &str,
    broker_base_url: &str,
    username: &str,
    password: &str,
) -> String {
    let http = client();
    let page = get_text(&http, authorize_url).await;
    let (action, mut fields) = form_in(&page);
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "username" => *value = username.to_string(),
            "password" => *value = password.to_string(),
            _ => {}
        }
    }
    let action = if action.starts_with("http") {
        action
    } else {
        format!("{broker_base_url}{action}")
    };
    let res = http
        .post(&action)
        .form(&fields)
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(res.status(), 303, "the authorization page redirects back");
    res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("GET answers")
        .text()
        .await
        .expect("page")
}
