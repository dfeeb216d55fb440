//! Test support shared by every crate's tests (a dev-dependency only).
//!
//! - [`sqlite`] / [`postgres`]: a fresh, migrated database per test — a temp
//!   SQLite file, or a private schema in the PostgreSQL `test` database —
//!   so tests run in parallel. [`on_both_databases!`] runs one test body on each.
//! - [`spawn_app`]: the real server on a loopback port.
//! - [`Browser`]-less HTTP helpers: a cookie-keeping client and form tokens.
//! - [`Fixture`]: sign up, connect broker accounts, webhooks, strategies.

pub mod fixture;
pub use fixture::{Connected, Fixture};

use std::net::SocketAddr;

use std::sync::Arc;

pub use atomik_broker::ManualClock;
use atomik_broker::{Clock, SystemClock};
use atomik_engine::{Brokers, RefreshConfig, TokenService};
use atomik_secrets::vault::{KeyRing, Vault};
use atomik_server::ServerConfig;
use atomik_storage::{Db, DbConfig};

/// PostgreSQL server used by tests (trust auth); override with `ATOMIK_TEST_PG_URL`.
pub fn pg_url() -> String {
    std::env::var("ATOMIK_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestDb {
    pub db: Db,
    pub config: DbConfig,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn name(&self) -> &'static str {
        match self.db.backend() {
            atomik_storage::Backend::Sqlite => "sqlite",
            atomik_storage::Backend::Postgres => "postgres",
        }
    }

    /// A second, independent connection pool to the same database (as a
    /// second server process would have).
    pub async fn reconnect(&self) -> Db {
        Db::connect(&self.config)
            .await
            .expect("reconnect to test database")
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = DbConfig::new(format!(
        "sqlite://{}",
        dir.path().join("atomik.db").display()
    ));
    let db = Db::connect(&config)
        .await
        .expect("open SQLite test database");
    db.migrate().await.expect("migrate SQLite test database");
    TestDb {
        db,
        config,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> TestDb {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut config = DbConfig::new(pg_url());
    config.pg_schema = Some(schema);
    config.max_connections = 10;
    let db = Db::connect(&config).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL test server unreachable at {} ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or run ./scripts/test.sh",
            pg_url()
        )
    });
    db.migrate().await.expect("migrate PostgreSQL test schema");
    TestDb {
        db,
        config,
        _dir: None,
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.config.pg_schema.clone() else {
            return;
        };
        // Drop the private schema from a helper thread with its own runtime
        // (Drop cannot await).
        let url = pg_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    sqlx::any::install_default_drivers();
                    if let Ok(pool) = sqlx::AnyPool::connect(&url).await {
                        let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Run one async test body on SQLite and on PostgreSQL:
/// `on_both_databases!(async fn name(db) { … })` makes `name::sqlite` and
/// `name::postgres`, each given a fresh [`TestDb`].
#[macro_export]
macro_rules! on_both_databases {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            async fn run($arg: $crate::TestDb) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run($crate::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                run($crate::postgres().await).await
            }
        }
    };
}

/// A fresh vault whose key file lives in `dir`.
pub fn test_vault(dir: &std::path::Path) -> Vault {
    Vault::new(KeyRing::load_or_create_file(&dir.join("vault.key")).expect("test vault key"))
}

/// A running server on a loopback port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    /// The server's state (its refusal log, connection counters…).
    pub state: atomik_server::AppState,
    pub test_db: TestDb,
    pub vault: Vault,
    pub tokens: TokenService,
    pub executor: atomik_engine::Executor,
    /// The clock the whole app runs on (a [`ManualClock`] when the test gave one).
    pub clock: Arc<dyn Clock>,
    _stop_executor: tokio::sync::watch::Sender<bool>,
    _vault_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The intents of `signal_id` once every one is final (running the
    /// executor meanwhile); panics after 30 s with what is still open.
    pub async fn settled(&self, signal_id: &str) -> Vec<atomik_storage::execution::IntentView> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let intents = atomik_storage::execution::intents_of_signal(&self.db, signal_id)
                .await
                .expect("intents readable");
            if !intents.is_empty() && intents.iter().all(|i| i.status.is_terminal()) {
                return intents;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "intents still open: {intents:?}"
            );
            self.executor.run_once().await.expect("executor step");
            tokio::task::yield_now().await;
        }
    }

    /// Stop the executor's periodic scan: from then on only what ingress
    /// hands it directly gets executed.
    pub fn stop_executor_polling(&self) {
        let _ = self._stop_executor.send(true);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Server configuration for tests: small throttle limits so they are quick to reach.
pub fn test_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.throttle.account_failures = 3;
    config.throttle.ip_failures = 6;
    config
}

/// The app with no broker adapters configured.
pub async fn spawn_app(test_db: TestDb, config: ServerConfig) -> TestApp {
    spawn_app_with(test_db, config, Brokers::new(), Arc::new(SystemClock)).await
}

/// A clock that starts at the current time and moves only when the test
/// advances it (share it with [`spawn_app_with`]).
pub fn manual_clock() -> ManualClock {
    ManualClock::new(SystemClock.now_ms())
}

/// The app with no broker adapters, on `clock`.
pub async fn spawn_app_on_clock(
    test_db: TestDb,
    config: ServerConfig,
    clock: &ManualClock,
) -> TestApp {
    spawn_app_with(test_db, config, Brokers::new(), Arc::new(clock.clone())).await
}

/// The app with the given adapters and clock.
pub async fn spawn_app_with(
    test_db: TestDb,
    config: ServerConfig,
    brokers: Brokers,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    spawn_app_on(listener, test_db, config, brokers, clock).await
}

/// The app on a listener the caller bound (to know the address in advance,
/// e.g. for an OAuth redirect URI), assembled by [`atomik::assemble()`] as
/// the binary assembles it. The executor's scan runs; the token refresher
/// does not (tests drive renewals through [`TestApp::tokens`]).
pub async fn spawn_app_on(
    listener: tokio::net::TcpListener,
    test_db: TestDb,
    config: ServerConfig,
    brokers: Brokers,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let addr = listener.local_addr().expect("local addr");
    let db = test_db.db.clone();
    let vault_dir = tempfile::tempdir().expect("temp dir");
    let vault = test_vault(vault_dir.path());
    let runtime = atomik::assemble(atomik::Parts {
        db: db.clone(),
        vault: vault.clone(),
        brokers,
        clock: clock.clone(),
        server: config,
        executor: atomik_engine::ExecConfig::default(),
        refresh: RefreshConfig::default(),
    })
    .await
    .expect("assemble the app");
    let (stop_executor, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(runtime.executor.clone().run(stop_rx));
    let state = runtime.state.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = atomik_server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        addr,
        db,
        state: runtime.state.clone(),
        test_db,
        vault,
        tokens: runtime.tokens,
        executor: runtime.executor,
        clock,
        _stop_executor: stop_executor,
        _vault_dir: vault_dir,
        shutdown: Some(tx),
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (so tests
/// can see them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').expect("closing quote")].to_string()
}

/// The text of the element with `id`, e.g. `<code id="new-token">…</code>`.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(html[start..end].to_string())
}

/// Fetch a form page, then post `fields` with its CSRF token.
pub async fn submit_form(
    client: &reqwest::Client,
    app: &TestApp,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The CSRF token of the client's dashboard session (from a page).
pub async fn session_csrf(client: &reqwest::Client, app: &TestApp) -> String {
    let page = client.get(app.url("/settings")).send().await.unwrap();
    csrf_in(&page.text().await.unwrap())
}

/// A webhook created through the API, and where to send its signals.
pub struct Hook {
    pub id: String,
    /// `…/api/v1/webhooks/{token}` on the test app.
    pub url: String,
    pub secret: String,
}

impl Hook {
    /// The signal URL with the secret in the query.
    pub fn signal_url(&self) -> String {
        format!("{}?secret={}", self.url, self.secret)
    }
}

/// Sign up through the real form; returns the logged-in client.
pub async fn signup(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let client = client();
    let res = submit_form(
        &client,
        app,
        "/signup",
        "/signup",
        &[("email", email), ("password", password)],
    )
    .await;
    assert_eq!(res.status(), 303, "sign-up should redirect to the overview");
    client
}

/// The first form in `html`: its action and its named inputs' values.
pub fn form_in(html: &str) -> (String, Vec<(String, String)>) {
    let form_at = html.find("<form").expect("page has a form");
    let form = &html[form_at
        ..html[form_at..]
            .find("</form>")
            .map(|e| form_at + e)
            .unwrap_or(html.len())];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!("{name}=\"");
        let start = tag.find(&marker)? + marker.len();
        Some(tag[start..start + tag[start..].find('"')?].to_string())
    };
    let action = attr(&form[..form.find('>').unwrap_or(form.len())], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map(|e| i + e).unwrap_or(rest.len());
        let tag = &rest[i..tag_end];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[tag_end..];
    }
    (
        html_unescape(&action),
        fields
            .into_iter()
            .map(|(k, v)| (k, html_unescape(&v)))
            .collect(),
    )
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// Press **Authorize** on a broker simulator's authorization page: returns
/// the redirect back to the application (with `code` and `state`).
pub async fn press_authorize(authorize_url: &str, broker_base_url: &str) -> String {
    let http = client();
    let page = http
        .get(authorize_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (action, fields) = form_in(&page);
    let action = if action.starts_with("http") {
        action
    } else {
        format!("{broker_base_url}{action}")
    };
    let res = http.post(&action).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), 303, "the authorization page redirects back");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// The `code` parameter of an OAuth callback URL.
pub fn code_in(callback: &str) -> String {
    callback
        .split("code=")
        .nth(1)
        .expect("code")
        .split('&')
        .next()
        .unwrap()
        .to_string()
}

/// The app wired to a Tradovate simulator as its Demo environment, with the
/// app's real callback registered at the simulator.
pub struct TradovateEnv {
    pub app: TestApp,
    pub sim: atomik_tradovate_sim::SimHandle,
}

pub async fn tradovate_app(
    test_db: TestDb,
    client_secret: &str,
    request_timeout: std::time::Duration,
) -> TradovateEnv {
    tradovate_app_with_traders(test_db, client_secret, request_timeout, 0).await
}

/// As [`tradovate_app`], with `traders` more simulator users: `trader{k}` /
/// `pw{k}`, each with one $25,000 account (id 6000 + k).
pub async fn tradovate_app_with_traders(
    test_db: TestDb,
    client_secret: &str,
    request_timeout: std::time::Duration,
    traders: usize,
) -> TradovateEnv {
    tradovate_app_configured(
        test_db,
        client_secret,
        request_timeout,
        traders,
        test_config(),
    )
    .await
}

/// As [`tradovate_app_with_traders`], with a server configuration.
pub async fn tradovate_app_configured(
    test_db: TestDb,
    client_secret: &str,
    request_timeout: std::time::Duration,
    traders: usize,
    server_config: ServerConfig,
) -> TradovateEnv {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    tradovate_app_on_clock(
        test_db,
        client_secret,
        request_timeout,
        traders,
        server_config,
        clock,
    )
    .await
}

/// As [`tradovate_app_configured`], the app, its adapters and the simulator
/// all on `clock`.
pub async fn tradovate_app_on_clock(
    test_db: TestDb,
    client_secret: &str,
    request_timeout: std::time::Duration,
    traders: usize,
    server_config: ServerConfig,
    clock: Arc<dyn Clock>,
) -> TradovateEnv {
    use atomik_broker::{BrokerKind, Environment};
    use atomik_tradovate::{Tradovate, TradovateConfig, TradovateOAuth};
    use atomik_tradovate_sim as sim;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let callback = format!(
        "http://{}/broker-accounts/oauth/tradovate/callback",
        listener.local_addr().unwrap()
    );
    let mut cfg = sim::SimConfig::demo(clock.clone());
    cfg.clients[0].client_secret = client_secret.to_string();
    cfg.clients[0].redirect_uris = vec![callback.clone()];
    for k in 0..traders {
        cfg.users.push(sim::SimUser {
            username: format!("trader{k}"),
            password: format!("pw{k}"),
            user_id: 2000 + k as i64,
            name: format!("Trader {k}"),
            // The simulator enforces buying power (MNQ: $100 a contract);
            // $100,000 carries the 300-contract storms the tests send.
            accounts: vec![sim::SimAccount {
                id: 6000 + k as i64,
                name: format!("T{k}"),
                cash: 100_000.into(),
            }],
        });
    }
    let sim = sim::start(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("start simulator");
    let config = TradovateConfig {
        rest_url: sim.rest_url(),
        auth_url: sim.auth_url(),
        token_url: sim.token_url(),
        client_id: sim::SimConfig::DEMO_CLIENT_ID.into(),
        client_secret: atomik_secrets::Secret::new(client_secret.to_string()),
        redirect_uri: callback,
        request_timeout,
        max_penalty_wait: std::time::Duration::from_secs(1),
    };
    let mut brokers = Brokers::new();
    brokers.add(
        BrokerKind::Tradovate,
        Environment::Demo,
        Arc::new(Tradovate::new(config.clone(), clock.clone())),
    );
    brokers.add_oauth(
        BrokerKind::Tradovate,
        Environment::Demo,
        Arc::new(TradovateOAuth::new(config, clock.clone())),
    );
    let app = spawn_app_on(listener, test_db, server_config, brokers, clock).await;
    TradovateEnv { app, sim }
}

/// The app wired to a Binance simulator as its Testnet environment.
pub struct BinanceEnv {
    pub app: TestApp,
    pub sim: atomik_binance_sim::SimHandle,
}

/// As [`binance_app_with`] with the simulator's demo configuration.
pub async fn binance_app(test_db: TestDb, server_config: ServerConfig) -> BinanceEnv {
    let sim_config = atomik_binance_sim::SimConfig::demo(Arc::new(SystemClock));
    binance_app_with(test_db, server_config, sim_config, |_| {}).await
}

/// The app with a Binance simulator (`sim_config`) serving Testnet; `adjust`
/// tunes the adapter's configuration (timeouts, rate-limit headroom).
pub async fn binance_app_with(
    test_db: TestDb,
    server_config: ServerConfig,
    sim_config: atomik_binance_sim::SimConfig,
    adjust: impl FnOnce(&mut atomik_binance::BinanceConfig),
) -> BinanceEnv {
    use atomik_broker::{BrokerKind, Environment};
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = atomik_binance_sim::start(sim_config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("start Binance simulator");
    let mut config = atomik_binance::BinanceConfig::single(&sim.base_url());
    adjust(&mut config);
    let mut brokers = Brokers::new();
    brokers.add(
        BrokerKind::Binance,
        Environment::Testnet,
        Arc::new(atomik_binance::Binance::new(config, clock.clone())),
    );
    let app = spawn_app_with(test_db, server_config, brokers, clock).await;
    BinanceEnv { app, sim }
}

/// The app wired to an IB Gateway simulator as the Paper environment's
/// default Gateway (as the demo is).
pub struct IbEnv {
    pub app: TestApp,
    pub sim: atomik_ib_sim::SimHandle,
}

pub async fn ib_app(test_db: TestDb, server_config: ServerConfig) -> IbEnv {
    use atomik_broker::{BrokerKind, Environment};
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = atomik_ib_sim::start(
        atomik_ib_sim::SimConfig::demo(clock.clone()),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("start IB simulator");
    let ib = Arc::new(atomik_ib::InteractiveBrokers::new(
        atomik_ib::IbConfig {
            reconnect_min: std::time::Duration::from_millis(50),
            reconnect_max: std::time::Duration::from_millis(500),
            ..atomik_ib::IbConfig::default()
        },
        clock.clone(),
    ));
    let mut brokers = Brokers::new();
    brokers.add(
        BrokerKind::InteractiveBrokers,
        Environment::Paper,
        ib.clone(),
    );
    brokers.add(BrokerKind::InteractiveBrokers, Environment::Live, ib);
    let address = sim.socket_addr();
    brokers.add_gateway(
        BrokerKind::InteractiveBrokers,
        Environment::Paper,
        &address.ip().to_string(),
        address.port(),
    );
    let app = spawn_app_with(test_db, server_config, brokers, clock).await;
    IbEnv { app, sim }
}

/// The app wired to a Polymarket CLOB simulator as the Demo environment
/// (as the demo is).
pub struct PolymarketEnv {
    pub app: TestApp,
    pub sim: atomik_polymarket_sim::SimHandle,
}

pub async fn polymarket_app(test_db: TestDb, server_config: ServerConfig) -> PolymarketEnv {
    let sim_config = atomik_polymarket_sim::SimConfig::demo(Arc::new(SystemClock));
    polymarket_app_with(test_db, server_config, sim_config).await
}

pub async fn polymarket_app_with(
    test_db: TestDb,
    server_config: ServerConfig,
    sim_config: atomik_polymarket_sim::SimConfig,
) -> PolymarketEnv {
    use atomik_broker::{BrokerKind, Environment};
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = atomik_polymarket_sim::start(sim_config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("start Polymarket simulator");
    let mut config = atomik_polymarket::PolymarketConfig::simulator(&sim.base_url());
    config.timeout = std::time::Duration::from_secs(2);
    let mut brokers = Brokers::new();
    brokers.add(
        BrokerKind::Polymarket,
        Environment::Demo,
        Arc::new(atomik_polymarket::Polymarket::new(config, clock.clone())),
    );
    let app = spawn_app_with(test_db, server_config, brokers, clock).await;
    PolymarketEnv { app, sim }
}

/// Every log line of the process at trace level, captured in memory (for
/// canary checks that secrets never reach the logs). One per test binary:
/// it installs the global subscriber.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn install() -> CapturedLogs {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber in this test binary");
        logs
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).to_string()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
