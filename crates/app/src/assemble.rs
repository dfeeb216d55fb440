//! The one assembly of a running atomik: the binary (`wiring::build`) and the
//! in-process tests (`atomik-testkit`) both go through [`assemble`], so the
//! tests exercise the production wiring. What differs between them — the
//! database, the vault, the broker adapters, the clock, the server and
//! executor configuration — comes in as [`Parts`].

use std::sync::Arc;
use std::time::Duration;

use atomik_broker::Clock;
use atomik_engine::{Brokers, ExecConfig, Executor, RefreshConfig, TokenService, WebhookKey};
use atomik_secrets::vault::Vault;
use atomik_server::{AppState, ServerConfig, Services};
use atomik_storage::{Db, sessions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a serving instance drops expired sessions.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(600);

/// What an assembly is made of.
pub struct Parts {
    pub db: Db,
    pub vault: Vault,
    pub brokers: Brokers,
    /// The one clock of the instance: server, executor and token service.
    pub clock: Arc<dyn Clock>,
    pub server: ServerConfig,
    pub executor: ExecConfig,
    pub refresh: RefreshConfig,
}

/// An assembled instance: the HTTP state and the background services, not
/// yet running.
#[derive(Clone)]
pub struct Runtime {
    pub state: AppState,
    pub db: Db,
    pub tokens: TokenService,
    pub executor: Executor,
    pub clock: Arc<dyn Clock>,
}

/// Build the services and the server state from `parts` (loads or creates
/// the webhook key in the database).
pub async fn assemble(parts: Parts) -> anyhow::Result<Runtime> {
    let Parts {
        db,
        vault,
        brokers,
        clock,
        server,
        executor,
        refresh,
    } = parts;
    let tokens = TokenService::new(
        db.clone(),
        vault.clone(),
        brokers.clone(),
        clock.clone(),
        refresh,
    );
    let webhook_key = WebhookKey::load_or_create(&db, &vault).await?;
    let executor = Executor::new(
        db.clone(),
        brokers.clone(),
        tokens.clone(),
        clock.clone(),
        executor,
    );
    let state = AppState::new(
        db.clone(),
        server,
        Services {
            vault,
            brokers,
            tokens: tokens.clone(),
            webhook_key,
            executor: executor.clone(),
            clock: clock.clone(),
        },
    );
    Ok(Runtime {
        state,
        db,
        tokens,
        executor,
        clock,
    })
}

impl Runtime {
    /// The background services of a serving instance — token refresh, the
    /// executor's scan, the session purge — each until `stop` turns true
    /// (or its sender is dropped).
    pub fn spawn_background(&self, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        vec![
            tokio::spawn(self.tokens.clone().run(stop.clone())),
            tokio::spawn(self.executor.clone().run(stop.clone())),
            tokio::spawn(purge_sessions(self.db.clone(), self.clock.clone(), stop)),
        ]
    }
}

/// Drop expired sessions every ten minutes, until `stop`.
async fn purge_sessions(db: Db, clock: Arc<dyn Clock>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SESSION_PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(err) = sessions::purge_expired(&db, clock.now_ms()).await {
                    tracing::warn!(error = %err, "could not purge expired sessions");
                }
            }
            _ = stop.changed() => break,
        }
    }
}
