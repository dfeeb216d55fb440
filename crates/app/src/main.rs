//! `atomik`: the trade-automation server and its operator commands.

mod config;
mod users_cli;

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use atomik_storage::{Db, DbConfig, sessions};
use config::{GlobalArgs, LogFormat, ServeArgs, Settings};

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

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given)
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit
    Migrate,
    /// Manage users: create, list, set plan, set subscription status
    #[command(subcommand)]
    User(users_cli::UserCommand),
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
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let state = atomik_server::AppState::new(db.clone(), settings.server.clone());
    tokio::spawn(purge_sessions(db.clone()));
    tracing::info!(address = %settings.listen, "atomik is serving the dashboard at http://{}", settings.listen);
    atomik_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    db.close().await;
    Ok(())
}

/// Background service: drop expired sessions every ten minutes.
async fn purge_sessions(db: Db) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        if let Err(err) = sessions::purge_expired(&db, now).await {
            tracing::warn!(error = %err, "could not purge expired sessions");
        }
    }
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
