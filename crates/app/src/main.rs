//! `atomik`: the trade-automation server and its operator commands.

mod users_cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use atomik::config::{GlobalArgs, LogFormat, ServeArgs, Settings};
use atomik::{vault, wiring};
use atomik_storage::{Db, DbConfig};

#[derive(Parser)]
#[command(
    name = "atomik",
    version,
    about = "Self-hosted trade automation: TradingView webhooks to broker orders."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// Server flags, when no command is given (same as `atomik serve …`)
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given)
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit
    Migrate,
    /// Manage users: create, list, set plan, set subscription status
    #[command(subcommand)]
    User(users_cli::UserCommand),
    /// Manage the credential vault's keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Run the broker simulators on their own (for tests and demos)
    Sim(SimArgs),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// New primary key, then re-wrap every stored credential under it (re-run to resume)
    Rotate,
}

#[derive(clap::Args)]
struct SimArgs {
    /// Address of the Tradovate simulator
    #[arg(long, default_value = "127.0.0.1:8081")]
    tradovate: std::net::SocketAddr,
    /// Address of the Binance simulator (spot under /api, USDⓈ-M futures under /fapi)
    #[arg(long, default_value = "127.0.0.1:8082")]
    binance: std::net::SocketAddr,
    /// Address of the IB Gateway simulator's TWS API socket (its ledger is
    /// served over HTTP on the next free port of the same IP)
    #[arg(long, default_value = "127.0.0.1:4002")]
    ib: std::net::SocketAddr,
    /// Address of the Polymarket CLOB simulator (market data under /gamma,
    /// positions under /data-api)
    #[arg(long, default_value = "127.0.0.1:8083")]
    polymarket: std::net::SocketAddr,
    /// Extra OAuth redirect URI to register for the demo client
    #[arg(long)]
    redirect_uri: Vec<String>,
    /// Tradovate access-token lifetime in seconds (Tradovate: 5400); short
    /// lifetimes make a server renew tokens within a test
    #[arg(long, default_value_t = 5400)]
    tradovate_token_lifetime_secs: u64,
}

fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Human => builder.init(),
    }
}

async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    if settings.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create data directory {}",
                settings.data_dir.display()
            )
        })?;
    }
    let db = Db::connect(&DbConfig::new(settings.database_url.clone()))
        .await
        .context("cannot open the database")?;
    db.migrate().await.context("database migration failed")?;
    Ok(db)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Test crash points (ATOMIK_FAILPOINTS): refuse a bad spec before anything runs.
    if let Err(why) = atomik_failpoint::init() {
        eprintln!("error: {why}");
        std::process::exit(2);
    }
    let serve_args = match &cli.command {
        Some(Command::Serve(args)) => args.clone(),
        _ => cli.serve.clone(),
    };
    let settings = Settings::resolve(&cli.global, &serve_args)?;
    init_logging(&settings);
    match cli.command {
        None | Some(Command::Serve(_)) => serve(settings).await,
        Some(Command::Migrate) => {
            open_database(&settings).await?;
            println!("database is up to date");
            Ok(())
        }
        Some(Command::User(cmd)) => users_cli::run(cmd, open_database(&settings).await?).await,
        Some(Command::Keys(KeysCommand::Rotate)) => {
            vault::rotate(&settings, &open_database(&settings).await?).await
        }
        Some(Command::Sim(args)) => run_sim(&settings, args).await,
    }
}

async fn run_sim(settings: &Settings, args: SimArgs) -> anyhow::Result<()> {
    use atomik_tradovate_sim as sim;
    let clock: std::sync::Arc<dyn atomik_broker::Clock> =
        std::sync::Arc::new(atomik_broker::SystemClock);
    let mut config = sim::SimConfig::demo(clock.clone());
    config.token_lifetime = std::time::Duration::from_secs(args.tradovate_token_lifetime_secs);
    for client in &mut config.clients {
        client
            .redirect_uris
            .push(wiring::tradovate_callback(&settings.public_url));
        client
            .redirect_uris
            .extend(args.redirect_uri.iter().cloned());
    }
    let handle = sim::start(config, args.tradovate).await?;
    println!(
        "Tradovate simulator: {} (REST {}, OAuth {})",
        handle.base_url(),
        handle.rest_url(),
        handle.auth_url()
    );
    let binance = atomik_binance_sim::start(
        atomik_binance_sim::SimConfig::demo(clock.clone()),
        args.binance,
    )
    .await?;
    println!(
        "Binance simulator: {} (demo API key {})",
        binance.base_url(),
        atomik_binance_sim::SimConfig::DEMO_API_KEY
    );
    let ib = atomik_ib_sim::start(atomik_ib_sim::SimConfig::demo(clock.clone()), args.ib).await?;
    println!(
        "IB Gateway simulator: {} (TWS API socket; ledger {}/_sim/orders; paper accounts DU1234567, DU7654321)",
        ib.socket_addr(),
        ib.http_base_url()
    );
    let polymarket = atomik_polymarket_sim::start(
        atomik_polymarket_sim::SimConfig::demo(clock),
        args.polymarket,
    )
    .await?;
    println!(
        "Polymarket CLOB simulator: {} (demo wallet key {}, EOA)",
        polymarket.base_url(),
        atomik_polymarket_sim::SimConfig::DEMO_PRIVATE_KEY
    );
    shutdown_signal().await;
    handle.shutdown().await;
    binance.shutdown().await;
    ib.shutdown().await;
    polymarket.shutdown().await;
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let fd_limit = atomik_server::listener::raise_fd_limit();
    tracing::info!(fd_limit, "file-descriptor limit");
    let db = open_database(&settings).await?;
    let built = wiring::build(&settings, db.clone()).await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = built.runtime.spawn_background(stop_rx.clone());
    if let Some(address) = settings.metrics_listen {
        let metrics = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for metrics"))?;
        tracing::info!(%address, "serving /metrics (no authentication: keep this address private)");
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let app = atomik_server::ops::metrics_routes();
            let _ = axum::serve(metrics, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
    }
    tracing::info!(address = %settings.listen, "atomik is serving the dashboard at http://{}", settings.listen);
    atomik_server::serve(listener, built.runtime.state, shutdown_signal()).await?;
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    if let Some(sim) = built.tradovate_sim {
        sim.shutdown().await;
    }
    if let Some(sim) = built.binance_sim {
        sim.shutdown().await;
    }
    if let Some(sim) = built.ib_sim {
        sim.shutdown().await;
    }
    if let Some(sim) = built.polymarket_sim {
        sim.shutdown().await;
    }
    tracing::info!("shut down cleanly");
    db.close().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C: in-flight requests then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
