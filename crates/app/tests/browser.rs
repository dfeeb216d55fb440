//! A real browser (Debian's headless Chromium through ChromeDriver) signs up,
//! logs out and logs in through the dashboard pages of the real binary, then
//! connects a Tradovate Demo account through OAuth on the built-in simulator,
//! trades it from a webhook, then connects a Binance Testnet key (the
//! built-in Binance simulator) with Test Connection and Save; at 390 px
//! every page fits, the kill switch, a copy group and a confirmed Delete
//! work, and screenshots land in `artifacts/screenshots`.
//! Needs `chromium` and `chromium-driver` (./scripts/test.sh installs them).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port};
use fantoccini::{Client, ClientBuilder, Locator};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(binary: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = format!("{dir}/{binary}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    panic!(
        "{binary} not found: install Debian's chromium and chromium-driver (./scripts/test.sh does)"
    );
}

async fn browser() -> (Driver, Client) {
    let port = free_port();
    let driver = Command::new(which("chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(driver);
    let profile = tempfile::tempdir().unwrap().keep();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": which("chromium"),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn fill_and_submit(b: &Client, email: &str, password: &str) {
    b.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_and_log_in_through_the_real_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (_driver, b) = browser().await;
    let password = "a long browser passphrase";

    b.goto(&server.url("/signup")).await.unwrap();
    fill_and_submit(&b, "browser@example.com", password).await;
    let plan = b
        .wait()
        .for_element(Locator::Id("plan-name"))
        .await
        .unwrap();
    assert_eq!(plan.text().await.unwrap(), "Starter");
    assert_eq!(b.current_url().await.unwrap().path(), "/");

    // Settings shows the plan's limits.
    b.find(Locator::LinkText("Settings"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let limits = b.wait().for_element(Locator::Id("limits")).await.unwrap();
    assert!(
        limits
            .text()
            .await
            .unwrap()
            .contains("Connected broker accounts 0 2")
    );

    // Log out, then a wrong password, then the right one.
    b.find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Id("email")).await.unwrap();
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    fill_and_submit(&b, "browser@example.com", "not the password at all").await;
    let error = b.wait().for_element(Locator::Id("error")).await.unwrap();
    assert_eq!(
        error.text().await.unwrap(),
        "Email or password is incorrect."
    );
    b.find(Locator::Id("email"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    fill_and_submit(&b, "browser@example.com", password).await;
    let who = b.wait().for_element(Locator::Id("who")).await.unwrap();
    assert_eq!(who.text().await.unwrap(), "browser@example.com");
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("atomik-overview.png"), png);
    }

    // Settings › Broker Accounts → Connect Broker → Tradovate → Demo → the
    // simulator's authorization page → Authorize → back on atomik, Connected.
    b.find(Locator::LinkText("Broker Accounts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("connect-broker"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("broker-tradovate"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("env-demo"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let authorize = b
        .wait()
        .for_element(Locator::Id("authorize"))
        .await
        .unwrap();
    assert_ne!(
        b.current_url().await.unwrap().port(),
        Some(server.port),
        "on the broker's page"
    );
    authorize.click().await.unwrap();
    let notice = b.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert!(
        notice
            .text()
            .await
            .unwrap()
            .starts_with("Connected Tradovate Demo")
    );
    let table = b
        .find(Locator::Id("accounts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("Connected") && table.contains("USD 50,000.00"),
        "{table}"
    );
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("atomik-broker-accounts.png"), png);
    }

    // Webhooks → create; Strategies → activate on the demo account; fire the
    // webhook with curl; the order shows in the Logs tab and the position on
    // the account.
    b.find(Locator::LinkText("Webhooks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("webhook-name"))
        .await
        .unwrap()
        .send_keys("TradingView NQ")
        .await
        .unwrap();
    b.find(Locator::Id("create-webhook"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = b
        .wait()
        .for_element(Locator::Id("webhook-url"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = b
        .find(Locator::Id("webhook-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    b.find(Locator::LinkText("Strategies"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("strategy-name"))
        .await
        .unwrap()
        .send_keys("MNQ trend")
        .await
        .unwrap();
    b.find(Locator::Id("activate-strategy"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert_eq!(
        notice.text().await.unwrap(),
        "Strategy MNQ trend is active."
    );
    let curl = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            "Content-Type: text/plain",
            "-d",
            r#"{"action":"buy","ticker":"MNQ1!"}"#,
        ])
        .arg(format!("{url}?secret={secret}"))
        .output()
        .expect("curl");
    let answer = String::from_utf8_lossy(&curl.stdout).to_string();
    assert!(
        answer.contains("\"status\":\"accepted\"") && answer.contains("1 order queued"),
        "{answer}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let outcome = loop {
        b.find(Locator::LinkText("Webhooks"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.wait()
            .for_element(Locator::LinkText("Logs"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let table = b
            .wait()
            .for_element(Locator::Id("deliveries"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if table.contains("accepted buy 1 MNQZ6") || Instant::now() > deadline {
            break table;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        outcome.contains("accepted buy 1 MNQZ6") && outcome.contains("broker order"),
        "{outcome}"
    );
    b.find(Locator::LinkText("Broker Accounts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let positions = b
        .wait()
        .for_element(Locator::Css("td.positions"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(positions, "MNQZ6 1");
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("atomik-positions.png"), png);
    }

    // Connect Broker → Binance: the built-in simulator serves Testnet; paste
    // its demo key, Test Connection shows what the key may do, Save.
    b.find(Locator::Id("connect-broker"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("broker-binance"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let note = b
        .wait()
        .for_element(Locator::Id("note-testnet"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        note.contains(atomik_binance_sim::SimConfig::DEMO_API_KEY),
        "{note}"
    );
    b.find(Locator::Id("api_key"))
        .await
        .unwrap()
        .send_keys(atomik_binance_sim::SimConfig::DEMO_API_KEY)
        .await
        .unwrap();
    b.find(Locator::Id("secret"))
        .await
        .unwrap()
        .send_keys(atomik_binance_sim::SimConfig::DEMO_SECRET_KEY)
        .await
        .unwrap();
    b.find(Locator::Id("test-connection"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let report = b
        .wait()
        .for_element(Locator::Id("test-report"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        report.contains("Connection OK") && report.contains("Spot trading: enabled"),
        "{report}"
    );
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("atomik-binance-test.png"), png);
    }
    b.find(Locator::Id("save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert!(
        notice
            .text()
            .await
            .unwrap()
            .starts_with("Connected Binance Testnet"),
        "{}",
        notice.text().await.unwrap()
    );

    // Phone-sized (390 px), every page fits the width (tables scroll inside
    // their card); then the safety controls: Stop all trading shows the
    // banner, Resume clears it; a copy group is created from its page; a
    // webhook's Delete asks first and Cancel keeps it. Screenshots of each
    // page at both widths are saved (`artifacts/screenshots`).
    save_screenshot(&b, "desktop-strategies").await;
    b.set_window_size(390, 844).await.unwrap();
    for (name, path) in [
        ("overview", "/"),
        ("broker-accounts", "/broker-accounts"),
        ("webhooks", "/webhooks"),
        ("strategies", "/strategies"),
        ("copy-trading", "/copy-groups"),
        ("settings", "/settings"),
    ] {
        b.goto(&server.url(path)).await.unwrap();
        b.wait().for_element(Locator::Id("who")).await.unwrap();
        let width = b
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap();
        assert!(
            width.as_i64().is_some_and(|w| w <= 390),
            "{path} is {width} px wide at 390 px"
        );
        save_screenshot(&b, &format!("phone-{name}")).await;
    }
    b.find(Locator::Id("stop-trading"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let banner = b.wait().for_element(Locator::Id("halted")).await.unwrap();
    assert!(
        banner
            .text()
            .await
            .unwrap()
            .contains("your kill switch is engaged"),
        "{}",
        banner.text().await.unwrap()
    );
    save_screenshot(&b, "phone-kill-switch").await;
    b.find(Locator::Id("resume-trading"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("stop-trading"))
        .await
        .unwrap();
    assert!(
        b.find(Locator::Id("halted")).await.is_err(),
        "banner gone after Resume"
    );
    b.find(Locator::LinkText("Copy Trading"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("group-name"))
        .await
        .unwrap()
        .send_keys("Phone group")
        .await
        .unwrap();
    b.find(Locator::Id("create-group"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let group = b
        .wait()
        .for_element(Locator::Css("section.copy-group h2"))
        .await
        .unwrap();
    assert_eq!(group.text().await.unwrap(), "Phone group");
    save_screenshot(&b, "phone-copy-group").await;
    b.find(Locator::LinkText("Webhooks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("button[aria-label^='Delete webhook']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let question = b.wait().for_element(Locator::Id("confirm")).await.unwrap();
    assert!(question.text().await.unwrap().contains("answers 404"));
    save_screenshot(&b, "phone-confirm-delete").await;
    b.find(Locator::Id("cancel-action"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("button[aria-label^='Delete webhook']"))
        .await
        .unwrap();
    b.close().await.unwrap();
    server.kill9();
}

/// Save a screenshot as a CI artifact: `artifacts/screenshots/<name>.png`
/// at the workspace root (`ATOMIK_ARTIFACTS` moves it). Best effort: a
/// screenshot that cannot be taken or written fails nothing.
async fn save_screenshot(b: &Client, name: &str) {
    let dir = std::env::var_os("ATOMIK_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts"))
        .join("screenshots");
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}
