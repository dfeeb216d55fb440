//! Polymarket connected from the dashboard and the REST API over real HTTP,
//! with the CLOB simulator serving the Demo environment: the wallet form,
//! Test Connection's report (signer, funder, pUSD balance), Save, a wrong
//! funder explained in words (nothing saved), the JSON API, and the wallet's
//! private key and API secret/passphrase never shown back anywhere.

use atomik_polymarket_sim::SimConfig;
use atomik_testkit::{
    CapturedLogs, Fixture, PolymarketEnv, csrf_in, on_both_databases, polymarket_app, test_config,
};
use serde_json::{Value, json};

const ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const KEYS: &str = "/broker-accounts/connect/polymarket/keys";

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

async fn get(fx: &Fixture, path: &str) -> String {
    fx.client
        .get(fx.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn post_form(fx: &Fixture, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = fx
        .client
        .post(fx.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Post the wallet form (Demo) with `fields` after its CSRF token.
async fn wallet_form(fx: &Fixture, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = vec![("csrf", fx.csrf.as_str()), ("environment", "demo")];
    form.extend_from_slice(fields);
    post_form(fx, KEYS, &form).await
}

async fn api(fx: &Fixture, path: &str, body: &Value) -> (u16, Value) {
    let res = fx
        .client
        .post(fx.url(path))
        .header("x-csrf-token", &fx.csrf)
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

on_both_databases!(
    async fn a_user_connects_the_demo_wallet_from_the_dashboard(t) {
        let PolymarketEnv { app, sim: _sim } = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&app, "polymarket@example.com").await;
        let brokers = get(&fx, "/broker-accounts/connect").await;
        assert!(!brokers.contains("Not available in this build yet"), "{brokers}");
        assert!(brokers.contains("id=\"broker-polymarket\""), "{brokers}");
        // Environment first, as for IB.
        let choose = get(&fx, "/broker-accounts/connect?broker=polymarket").await;
        assert!(choose.contains("will-it-rain-tomorrow:YES"), "{choose}");
        assert!(choose.contains("href=\"/broker-accounts/connect?broker=polymarket&amp;environment=demo\""), "{choose}");
        let form = get(&fx, "/broker-accounts/connect?broker=polymarket&environment=demo").await;
        assert!(form.contains("id=\"wallet-form\""), "{form}");
        assert!(form.contains("type=\"password\" name=\"private_key\" id=\"private_key\" autocomplete=\"off\""), "{form}");
        for help in [
            "0 · EOA: a wallet you hold the key of trades its own funds",
            "1 · Polymarket proxy wallet: you log in to Polymarket with email or Magic",
            "2 · Gnosis safe: you log in to Polymarket with a browser wallet",
            "3 · Deposit wallet: an EIP-1271 deposit wallet",
        ] {
            assert!(form.contains(help), "{help}: {form}");
        }
        assert!(form.contains("<option value=\"0\" selected>"), "{form}");
        assert!(form.contains("The address Polymarket shows as your profile&#39;s wallet; leave empty for EOA.") || form.contains("The address Polymarket shows as your profile's wallet; leave empty for EOA."), "{form}");
        assert!(form.contains("API credentials (optional)") && form.contains("Leave empty and atomik derives them from the wallet."), "{form}");
        assert!(form.contains("signs every order") && form.contains("vault"), "{form}");

        let (status, tested) = wallet_form(&fx, &[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "0"), ("funder", ""), ("intent", "test")]).await;
        assert_eq!(status, 200, "{tested}");
        assert!(tested.contains("Connection OK: this wallet can trade"), "{tested}");
        assert!(tested.contains(&format!("Signer {ADDRESS}.")), "{tested}");
        assert!(tested.contains(&format!("Funder {ADDRESS} (EOA).")), "{tested}");
        assert!(tested.contains("Balances: 1,000.00 pUSD"), "{tested}");
        assert!(tested.contains("API credentials: derived from the wallet."), "{tested}");
        assert!(fx.account_ids().await.is_empty(), "Test Connection saves nothing");
        let pending = hidden(&tested, "pending").expect("a Save form");
        let (status, saved) = post_form(&fx, KEYS, &[("csrf", &csrf_in(&tested)), ("pending", &pending), ("intent", "save")]).await;
        assert_eq!(status, 200, "{saved}");
        assert!(saved.contains(&format!("Connected Polymarket Demo · {ADDRESS} (account {ADDRESS}), balance pUSD 1,000.00.")), "{saved}");
        let accounts = get(&fx, "/api/v1/broker-accounts").await;
        let accounts: Value = serde_json::from_str(&accounts).unwrap();
        assert_eq!(accounts.as_array().unwrap().len(), 1, "{accounts}");
        let account = &accounts[0];
        assert_eq!((account["broker"].as_str(), account["environment"].as_str()), (Some("polymarket"), Some("demo")));
        assert_eq!(account["broker_account_id"], ADDRESS);
        assert_eq!(account["status"], "connected");
        // The pending token is good once.
        let (_, again) = post_form(&fx, KEYS, &[("csrf", &fx.csrf), ("pending", &pending), ("intent", "save")]).await;
        assert!(again.contains("expired or were already saved"), "{again}");
        // Test Connection on the stored account, then Disconnect says there is nothing to revoke.
        let id = account["id"].as_str().unwrap();
        let (_, test) = post_form(&fx, &format!("/broker-accounts/{id}/test"), &[("csrf", &fx.csrf)]).await;
        assert!(test.contains(&format!("Connection OK: signed in as Polymarket wallet {ADDRESS}")), "{test}");
        let (_, gone) = post_form(&fx, &format!("/broker-accounts/{id}/disconnect"), &[("csrf", &fx.csrf), ("confirm", "yes")]).await;
        assert!(gone.contains("Nothing to revoke at Polymarket: the wallet and its key stay yours"), "{gone}");
    }
);

on_both_databases!(
    async fn a_wrong_funder_is_explained_in_words_and_nothing_is_saved(t) {
        let PolymarketEnv { app, sim: _sim } = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&app, "polymarket-wrong@example.com").await;
        // Proxy wallet with the signer's own address as the funder.
        let (status, tested) = wallet_form(&fx, &[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "1"), ("funder", ADDRESS), ("intent", "test")]).await;
        assert_eq!(status, 200, "{tested}");
        assert!(tested.contains("Test Connection failed"), "{tested}");
        assert!(tested.contains("choose signature type EOA"), "{tested}");
        assert!(!tested.contains("id=\"save\""), "not offered as a working connection: {tested}");
        // What was typed is kept (not the key).
        assert!(tested.contains("<option value=\"1\" selected>"), "{tested}");
        assert!(tested.contains(&format!("name=\"funder\" id=\"funder\" value=\"{ADDRESS}\"")), "{tested}");
        // Save (without Test) refuses with the same words.
        let (status, saved) = wallet_form(&fx, &[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "1"), ("funder", ADDRESS), ("intent", "save")]).await;
        assert_eq!(status, 422, "{saved}");
        assert!(saved.contains("choose signature type EOA") && saved.contains("Nothing was saved"), "{saved}");
        assert!(fx.account_ids().await.is_empty());

        // Values are checked when saved; each error says what is wrong.
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("private_key", ""), ("signature_type", "0")], "Fill in the wallet&#39;s private key"),
            (&[("private_key", ADDRESS), ("signature_type", "0")], "must be 64 hexadecimal digits"),
            (&[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "7")], "Signature type must be 0 (EOA)"),
            (&[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "2"), ("funder", "")], "Fill in the funder address"),
            (&[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "2"), ("funder", "0x1234")], "must be 0x followed by 40 hexadecimal digits"),
            (&[("private_key", SimConfig::DEMO_PRIVATE_KEY), ("signature_type", "0"), ("api_key", "k"), ("api_secret", "s")], "Give all three API credentials"),
        ];
        for (fields, expected) in cases {
            let mut fields = fields.to_vec();
            fields.push(("intent", "save"));
            let (status, page) = wallet_form(&fx, &fields).await;
            assert_eq!(status, 422, "{expected}: {page}");
            let expected_plain = expected.replace("&#39;", "'");
            assert!(page.contains(expected) || page.contains(&expected_plain), "{expected}: {page}");
            assert!(page.contains("id=\"wallet-form\""), "the form is shown again: {page}");
        }
        assert!(fx.account_ids().await.is_empty());

        // The API says the same, and saves nothing.
        let (status, body) = api(&fx, "/api/v1/broker-accounts", &json!({"broker": "polymarket", "environment": "demo", "private_key": SimConfig::DEMO_PRIVATE_KEY, "signature_type": 1, "funder": ADDRESS})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("choose signature type EOA"), "{body}");
        assert!(fx.account_ids().await.is_empty());
    }
);

on_both_databases!(
    async fn the_api_connects_a_polymarket_wallet_with_json(t) {
        let PolymarketEnv { app, sim: _sim } = polymarket_app(t, test_config()).await;
        let fx = Fixture::signup(&app, "polymarket-api@example.com").await;
        let wallet = json!({"broker": "polymarket", "environment": "demo", "private_key": SimConfig::DEMO_PRIVATE_KEY, "signature_type": 0});
        let (status, body) = api(&fx, "/api/v1/broker-accounts/test-credentials", &wallet).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["can_trade"], true, "{body}");
        assert!(body["balances"][0].as_str().unwrap().starts_with("pUSD 1000"), "{body}");
        let notes = body["notes"].to_string();
        assert!(notes.contains(&format!("Signer {ADDRESS}.")) && notes.contains("derived from the wallet"), "{body}");
        assert!(fx.account_ids().await.is_empty(), "testing saves nothing");
        let (status, body) = api(&fx, "/api/v1/broker-accounts", &wallet).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["account"]["broker"], "polymarket");
        assert_eq!(body["account"]["broker_account_id"], ADDRESS);
        assert_eq!(body["account"]["balance"], "pUSD 1,000.00");
        assert!(body["test"]["notes"][1].as_str().unwrap().contains("(EOA)"), "{body}");
        // Validation errors are 400s that say what to do.
        let (status, body) = api(&fx, "/api/v1/broker-accounts", &json!({"broker": "polymarket", "environment": "demo", "private_key": SimConfig::DEMO_PRIVATE_KEY, "signature_type": 3})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("Fill in the funder address"), "{body}");
        let (status, body) = api(&fx, "/api/v1/broker-accounts", &json!({"broker": "polymarket", "environment": "demo", "private_key": SimConfig::DEMO_PRIVATE_KEY, "api_key": "only-a-key"})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("Give all three API credentials"), "{body}");
        assert_eq!(fx.account_ids().await.len(), 1);
    }
);

/// The private key (as typed, without `0x`, in either case) and the API
/// secret and passphrase never appear in a page, an API answer or a log
/// line, across a connect → test → fail → disconnect run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_private_key_and_api_secrets_never_appear_in_pages_answers_or_logs() {
    let logs = CapturedLogs::install();
    let PolymarketEnv { app, sim: _sim } =
        polymarket_app(atomik_testkit::sqlite().await, test_config()).await;
    let fx = Fixture::signup(&app, "polymarket-canary@example.com").await;
    const SECRET: &str = "CANARY-api-secret-5e1f";
    const PASSPHRASE: &str = "CANARY-passphrase-77ab";
    let mut bodies = vec![
        get(&fx, "/broker-accounts/connect?broker=polymarket").await,
        get(
            &fx,
            "/broker-accounts/connect?broker=polymarket&environment=demo",
        )
        .await,
    ];
    let key = SimConfig::DEMO_PRIVATE_KEY;
    // Dashboard: tested, saved; wrong combination; given API credentials that are not the wallet's; validation errors.
    let (_, tested) = wallet_form(
        &fx,
        &[
            ("private_key", key),
            ("signature_type", "0"),
            ("intent", "test"),
        ],
    )
    .await;
    let pending = hidden(&tested, "pending").expect("a Save form");
    bodies.push(tested);
    bodies.push(
        post_form(
            &fx,
            KEYS,
            &[
                ("csrf", &fx.csrf),
                ("pending", &pending),
                ("intent", "save"),
            ],
        )
        .await
        .1,
    );
    for intent in ["test", "save"] {
        bodies.push(
            wallet_form(
                &fx,
                &[
                    ("private_key", key),
                    ("signature_type", "1"),
                    ("funder", ADDRESS),
                    ("intent", intent),
                ],
            )
            .await
            .1,
        );
        bodies.push(
            wallet_form(
                &fx,
                &[
                    ("private_key", key),
                    ("signature_type", "0"),
                    ("api_key", "00000000-0000-0000-0000-000000000000"),
                    ("api_secret", SECRET),
                    ("api_passphrase", PASSPHRASE),
                    ("intent", intent),
                ],
            )
            .await
            .1,
        );
        bodies.push(
            wallet_form(
                &fx,
                &[
                    ("private_key", key),
                    ("signature_type", "0"),
                    ("api_secret", SECRET),
                    ("api_passphrase", PASSPHRASE),
                    ("intent", intent),
                ],
            )
            .await
            .1,
        );
        bodies.push(
            wallet_form(
                &fx,
                &[
                    ("private_key", &key[2..60]),
                    ("signature_type", "0"),
                    ("intent", intent),
                ],
            )
            .await
            .1,
        );
    }
    // API: test, connect, with and without wrong credentials.
    for path in [
        "/api/v1/broker-accounts/test-credentials",
        "/api/v1/broker-accounts",
    ] {
        for body in [
            json!({"broker": "polymarket", "environment": "demo", "private_key": key}),
            json!({"broker": "polymarket", "environment": "demo", "private_key": key, "signature_type": 1, "funder": ADDRESS}),
            json!({"broker": "polymarket", "environment": "demo", "private_key": key, "api_key": "00000000-0000-0000-0000-000000000000", "secret": SECRET, "passphrase": PASSPHRASE}),
            json!({"broker": "polymarket", "environment": "demo", "private_key": key, "secret": SECRET}),
            json!({"broker": "polymarket", "environment": "demo", "private_key": &key[3..], "passphrase": PASSPHRASE}),
        ] {
            bodies.push(api(&fx, path, &body).await.1.to_string());
        }
    }
    bodies.push(get(&fx, "/broker-accounts").await);
    bodies.push(get(&fx, "/api/v1/broker-accounts").await);
    for id in fx.account_ids().await {
        bodies.push(
            post_form(
                &fx,
                &format!("/broker-accounts/{id}/test"),
                &[("csrf", &fx.csrf)],
            )
            .await
            .1,
        );
        bodies.push(
            api(
                &fx,
                &format!("/api/v1/broker-accounts/{id}/test"),
                &json!({}),
            )
            .await
            .1
            .to_string(),
        );
        bodies.push(
            post_form(
                &fx,
                &format!("/broker-accounts/{id}/disconnect"),
                &[("csrf", &fx.csrf), ("confirm", "yes")],
            )
            .await
            .1,
        );
    }
    bodies.push(get(&fx, "/broker-accounts").await);
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Connected Polymarket Demo")),
        "the run connected an account"
    );
    let hex = &key[2..];
    let canaries = [
        hex.to_string(),
        hex.to_ascii_uppercase(),
        key[3..40].to_string(),
        SECRET.into(),
        PASSPHRASE.into(),
    ];
    for body in &bodies {
        for canary in &canaries {
            assert!(
                !body.contains(canary.as_str()),
                "{canary} in a response: {body}"
            );
        }
    }
    let logs = logs.text();
    assert!(
        logs.contains("broker account connected"),
        "logs were captured"
    );
    for canary in &canaries {
        assert!(!logs.contains(canary.as_str()), "{canary} in the logs");
    }
}
