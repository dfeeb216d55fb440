use std::sync::Arc;

use atomik_broker::Clock;
use atomik_engine::{Brokers, TokenService, WebhookKey};
use atomik_secrets::vault::Vault;
use atomik_storage::Db;

use crate::ServerConfig;

/// Shared state of every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The services handlers use beyond the database.
#[derive(Clone)]
pub struct Services {
    pub vault: Vault,
    pub brokers: Brokers,
    pub tokens: TokenService,
    pub webhook_key: WebhookKey,
    /// The execution service: a recorded signal hands it the accounts it
    /// gave work to.
    pub executor: atomik_engine::Executor,
    /// Every time the server reads — duplicate window, rate limits,
    /// sessions, throttles, OAuth flow expiry — comes from this clock (the
    /// same one the engine and the adapters run on).
    pub clock: Arc<dyn Clock>,
}

pub struct Inner {
    pub db: Db,
    pub config: ServerConfig,
    pub services: Services,
    pub ingress_limiter: crate::ratelimit::RateLimiter,
    pub refusals: crate::refusals::RefusalLog,
    pub connection_stats: Arc<crate::listener::ConnectionStats>,
    /// Whether any kill switch may be engaged (for the webhook's answer).
    pub halt_hint: crate::halt_hint::HaltHint,
    /// A real Argon2id hash of a random password: verified against when the
    /// account does not exist, so unknown users cost the same time as known ones.
    pub dummy_password_hash: String,
}

impl AppState {
    pub fn new(db: Db, config: ServerConfig, services: Services) -> Self {
        let dummy = crate::auth::password::random_dummy_hash();
        let refusals = crate::refusals::RefusalLog::start(db.clone());
        AppState(Arc::new(Inner {
            db,
            config,
            services,
            ingress_limiter: Default::default(),
            refusals,
            connection_stats: Default::default(),
            halt_hint: Default::default(),
            dummy_password_hash: dummy,
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn halt_hint(&self) -> &crate::halt_hint::HaltHint {
        &self.0.halt_hint
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub fn vault(&self) -> &Vault {
        &self.0.services.vault
    }

    pub fn brokers(&self) -> &Brokers {
        &self.0.services.brokers
    }

    pub fn tokens(&self) -> &TokenService {
        &self.0.services.tokens
    }

    /// Execute the new intents of these accounts now.
    pub fn dispatch(&self, accounts: Vec<String>) {
        self.0.services.executor.dispatch_accounts(accounts);
    }

    pub fn webhook_key(&self) -> &WebhookKey {
        &self.0.services.webhook_key
    }

    pub fn ingress_limiter(&self) -> &crate::ratelimit::RateLimiter {
        &self.0.ingress_limiter
    }

    /// What the accept loop has done: open connections, refusals per cap.
    pub fn connection_stats(&self) -> &Arc<crate::listener::ConnectionStats> {
        &self.0.connection_stats
    }

    pub fn refusals(&self) -> &crate::refusals::RefusalLog {
        &self.0.refusals
    }

    pub fn dummy_password_hash(&self) -> &str {
        &self.0.dummy_password_hash
    }

    /// Wall-clock time in Unix milliseconds, from the injected [`Clock`].
    pub fn now_ms(&self) -> i64 {
        self.0.services.clock.now_ms()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.services.clock
    }
}
