//! Composition: the only place that knows every concrete broker adapter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{BrokerKind, Clock, Environment, SystemClock};
use atomik_engine::{Brokers, ExecConfig, RefreshConfig};
use atomik_secrets::Secret;
use atomik_storage::Db;
use atomik_tradovate::{Tradovate, TradovateConfig, TradovateOAuth};
use atomik_tradovate_sim as sim;

use crate::assemble::{Parts, Runtime, assemble};
use crate::config::Settings;

/// Tradovate's production endpoints (BROKERS.md §5).
const TRADOVATE_DEMO_REST: &str = "https://demo.tradovateapi.com/v1";
const TRADOVATE_LIVE_REST: &str = "https://live.tradovateapi.com/v1";
const TRADOVATE_AUTHORIZE: &str = "https://trader.tradovate.com/oauth";
const TRADOVATE_TOKEN: &str = "https://live.tradovateapi.com/auth/oauthtoken";

/// A configured instance: the assembled runtime and the in-process
/// simulators it may have started.
pub struct Built {
    pub runtime: Runtime,
    /// Held while the process runs: its lock keeps the instance id its own.
    pub instance: crate::instance::Instance,
    /// The in-process Tradovate simulator serving the Demo environment.
    pub tradovate_sim: Option<sim::SimHandle>,
    /// The in-process Binance simulator serving the Testnet environment.
    pub binance_sim: Option<atomik_binance_sim::SimHandle>,
    /// The in-process IB Gateway simulator: the Paper environment's default
    /// Gateway in the demo.
    pub ib_sim: Option<atomik_ib_sim::SimHandle>,
    /// The in-process Polymarket CLOB simulator serving the Demo environment.
    pub polymarket_sim: Option<atomik_polymarket_sim::SimHandle>,
}

pub fn tradovate_callback(public_url: &str) -> String {
    format!("{public_url}/broker-accounts/oauth/tradovate/callback")
}

fn register_tradovate(
    brokers: &mut Brokers,
    env: Environment,
    config: TradovateConfig,
    clock: Arc<dyn Clock>,
) {
    brokers.add(
        BrokerKind::Tradovate,
        env,
        Arc::new(Tradovate::new(config.clone(), clock.clone())),
    );
    brokers.add_oauth(
        BrokerKind::Tradovate,
        env,
        Arc::new(TradovateOAuth::new(config, clock)),
    );
}

/// The broker adapters (and simulators) `settings` ask for, assembled with
/// the system clock through [`crate::assemble()`].
pub async fn build(settings: &Settings, db: Db) -> anyhow::Result<Built> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let vault = crate::vault::open(settings, &db).await?;
    let mut brokers = Brokers::new();
    let callback = tradovate_callback(&settings.public_url);
    let mut tradovate_sim = None;
    if let Some(url) = &settings.tradovate_sim_url {
        let base = url.trim_end_matches('/');
        tracing::info!(url = %base, "an external Tradovate simulator serves the Demo environment");
        register_tradovate(
            &mut brokers,
            Environment::Demo,
            TradovateConfig {
                rest_url: format!("{base}/v1"),
                auth_url: format!("{base}/oauth"),
                token_url: format!("{base}/auth/oauthtoken"),
                client_id: sim::SimConfig::DEMO_CLIENT_ID.to_string(),
                client_secret: Secret::new(sim::SimConfig::DEMO_CLIENT_SECRET.to_string()),
                redirect_uri: callback.clone(),
                request_timeout: Duration::from_secs(10),
                max_penalty_wait: Duration::from_secs(30),
            },
            clock.clone(),
        );
    } else if settings.demo {
        let mut config = sim::SimConfig::demo(clock.clone());
        for client in &mut config.clients {
            client.redirect_uris.push(callback.clone());
        }
        let handle = sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        tracing::info!(url = %handle.base_url(), "Tradovate simulator serves the Demo environment");
        let demo_client = sim::SimConfig::DEMO_CLIENT_ID;
        register_tradovate(
            &mut brokers,
            Environment::Demo,
            TradovateConfig {
                rest_url: handle.rest_url(),
                auth_url: handle.auth_url(),
                token_url: handle.token_url(),
                client_id: demo_client.to_string(),
                client_secret: Secret::new(sim::SimConfig::DEMO_CLIENT_SECRET.to_string()),
                redirect_uri: callback.clone(),
                request_timeout: Duration::from_secs(10),
                max_penalty_wait: Duration::from_secs(30),
            },
            clock.clone(),
        );
        tradovate_sim = Some(handle);
    }
    if let Some(client_id) = &settings.tradovate_client_id {
        let secret = std::env::var("ATOMIK_TRADOVATE_CLIENT_SECRET").unwrap_or_default();
        let real = |rest: &str| TradovateConfig {
            rest_url: rest.to_string(),
            auth_url: TRADOVATE_AUTHORIZE.to_string(),
            token_url: TRADOVATE_TOKEN.to_string(),
            client_id: client_id.clone(),
            client_secret: Secret::new(secret.clone()),
            redirect_uri: callback.clone(),
            request_timeout: Duration::from_secs(10),
            max_penalty_wait: Duration::from_secs(30),
        };
        register_tradovate(
            &mut brokers,
            Environment::Live,
            real(TRADOVATE_LIVE_REST),
            clock.clone(),
        );
        if !settings.demo {
            register_tradovate(
                &mut brokers,
                Environment::Demo,
                real(TRADOVATE_DEMO_REST),
                clock.clone(),
            );
        }
    }
    let binance_sim = register_binance(&mut brokers, settings, clock.clone()).await?;
    let ib_sim = register_ib(&mut brokers, settings, clock.clone()).await?;
    let polymarket_sim = register_polymarket(&mut brokers, settings, clock.clone()).await?;
    // Claimed before anything runs: a second process on this data
    // directory stops here.
    let instance = crate::instance::claim(&settings.data_dir)?;
    tracing::info!(instance = %instance.id, "execution leases are held as this instance's id");
    let runtime = assemble(Parts {
        db,
        vault,
        brokers,
        clock,
        server: settings.server.clone(),
        executor: ExecConfig {
            instance_id: Some(instance.id.clone()),
            ..Default::default()
        },
        refresh: RefreshConfig::default(),
    })
    .await?;
    Ok(Built {
        runtime,
        instance,
        tradovate_sim,
        binance_sim,
        ib_sim,
        polymarket_sim,
    })
}

/// Polymarket Live at Polymarket's hosts; Demo at the configured CLOB, or
/// the in-process CLOB simulator in demo mode.
async fn register_polymarket(
    brokers: &mut Brokers,
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<atomik_polymarket_sim::SimHandle>> {
    use atomik_polymarket::{Polymarket, PolymarketConfig};
    use atomik_polymarket_sim as psim;
    let bounded = |config: PolymarketConfig| PolymarketConfig {
        max_slippage: settings.polymarket_max_slippage,
        ..config
    };
    brokers.add(
        BrokerKind::Polymarket,
        Environment::Live,
        Arc::new(Polymarket::new(
            bounded(PolymarketConfig::live()),
            clock.clone(),
        )),
    );
    let (demo, handle) = match &settings.polymarket_demo_clob_url {
        Some(url) => (PolymarketConfig::simulator(url), None),
        None if settings.demo => {
            let handle = psim::start(
                psim::SimConfig::demo(clock.clone()),
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await?;
            tracing::info!(url = %handle.base_url(), "Polymarket CLOB simulator serves the Demo environment");
            brokers.add_note(
                BrokerKind::Polymarket,
                Environment::Demo,
                format!(
                    "served by atomik's built-in Polymarket CLOB simulator; its demo wallet's private key is {} (signature type EOA), and it trades {}:YES and {}:YES",
                    psim::SimConfig::DEMO_PRIVATE_KEY,
                    psim::SimConfig::RAIN,
                    psim::SimConfig::ELECTION,
                ),
            );
            (
                PolymarketConfig::simulator(&handle.base_url()),
                Some(handle),
            )
        }
        None => return Ok(None),
    };
    brokers.add(
        BrokerKind::Polymarket,
        Environment::Demo,
        Arc::new(Polymarket::new(bounded(demo), clock)),
    );
    Ok(handle)
}

/// Interactive Brokers, Paper and Live: one adapter (the Gateway's address
/// is each account's own). In the demo, the built-in IB Gateway simulator
/// is the Paper environment's default Gateway.
async fn register_ib(
    brokers: &mut Brokers,
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<atomik_ib_sim::SimHandle>> {
    let ib = Arc::new(atomik_ib::InteractiveBrokers::new(
        atomik_ib::IbConfig::default(),
        clock.clone(),
    ));
    brokers.add(
        BrokerKind::InteractiveBrokers,
        Environment::Paper,
        ib.clone(),
    );
    brokers.add(BrokerKind::InteractiveBrokers, Environment::Live, ib);
    if !settings.demo {
        return Ok(None);
    }
    let handle = atomik_ib_sim::start(
        atomik_ib_sim::SimConfig::demo(clock),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let address = handle.socket_addr();
    tracing::info!(gateway = %address, ledger = %handle.http_base_url(), "IB Gateway simulator serves the Paper environment");
    brokers.add_gateway(
        BrokerKind::InteractiveBrokers,
        Environment::Paper,
        &address.ip().to_string(),
        address.port(),
    );
    brokers.add_note(
        BrokerKind::InteractiveBrokers,
        Environment::Paper,
        format!(
            "atomik's built-in IB Gateway simulator listens on {address}; its paper accounts are {}",
            atomik_ib_sim::SimConfig::demo(Arc::new(atomik_broker::SystemClock))
                .accounts
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    );
    Ok(Some(handle))
}

/// Binance Live at its configured URLs; Testnet at the configured URLs, or
/// the in-process simulator in demo mode, or Binance's own testnet.
async fn register_binance(
    brokers: &mut Brokers,
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<atomik_binance_sim::SimHandle>> {
    use atomik_binance::{Binance, BinanceConfig};
    use atomik_binance_sim as bsim;
    let (live_spot, live_futures) = &settings.binance_live;
    brokers.add(
        BrokerKind::Binance,
        Environment::Live,
        Arc::new(Binance::new(
            BinanceConfig::new(live_spot, live_futures),
            clock.clone(),
        )),
    );
    let (testnet, handle) = match &settings.binance_testnet {
        Some((spot, futures)) => (BinanceConfig::new(spot, futures), None),
        None if settings.demo => {
            let handle = bsim::start(
                bsim::SimConfig::demo(clock.clone()),
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await?;
            tracing::info!(url = %handle.base_url(), "Binance simulator serves the Testnet environment");
            brokers.add_note(
                BrokerKind::Binance,
                Environment::Testnet,
                format!(
                    "served by atomik's built-in Binance simulator; its demo key is API key {} with secret key {}",
                    bsim::SimConfig::DEMO_API_KEY,
                    bsim::SimConfig::DEMO_SECRET_KEY
                ),
            );
            (BinanceConfig::single(&handle.base_url()), Some(handle))
        }
        None => (
            BinanceConfig::new(BinanceConfig::TESTNET_SPOT, BinanceConfig::TESTNET_FUTURES),
            None,
        ),
    };
    brokers.add(
        BrokerKind::Binance,
        Environment::Testnet,
        Arc::new(Binance::new(testnet, clock)),
    );
    Ok(handle)
}
