//! A Tradovate simulator speaking Tradovate's wire protocol: the OAuth
//! authorization page and token endpoint (PKCE, exact redirect URIs, no
//! refresh token), `renewaccesstoken`, the REST endpoints atomik uses with
//! Tradovate's paths and JSON field names (paths case-insensitive, as the
//! docs mix cases), an authoritative order/fill ledger with positions, and
//! fault injection. Time comes from a [`Clock`], so tests can run hours of
//! token lifetimes in seconds.
//!
//! Decisions where Tradovate documents nothing precise:
//! - renewal issues a new token and leaves the old one valid until its own
//!   expiry (renewal "extends the session" instead of creating one);
//! - orders without `isAutomated: true` are rejected (`failureReason`
//!   `Unsupported`), since the exchange requires the flag for automated orders;
//! - market orders fill at once at a fixed price per product.

mod routes;
mod state;
mod wire;

/// The request parsing (bodies, contract names), public for the fuzz
/// targets (`atomik-fuzzing`); not an API.
#[doc(hidden)]
pub mod parsing {
    pub use crate::state::{
        Placement, State, contract_by_name, contract_name, front_month, margin_of, price_of,
    };
    pub use crate::wire::{PlaceOrder, RollContract, format_time_ms, s256};
}

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atomik_broker::Clock;
use rust_decimal::Decimal;

/// Tradovate's own faults (beside simkit's venue-neutral ones).
#[derive(Debug, Clone, PartialEq)]
pub enum TradovateFault {
    /// HTTP 200 `{"p-ticket", "p-time", "p-captcha"}` without executing.
    Penalty { p_time_secs: u64, captcha: bool },
}

impl atomik_simkit::VenueFault for TradovateFault {
    fn kind(&self) -> &'static str {
        match self {
            TradovateFault::Penalty { .. } => "penalty",
        }
    }
}

/// A fault the Tradovate simulator can inject.
pub type Fault = atomik_simkit::Fault<TradovateFault>;
/// The simulator's fault queue and the count of faults that fired.
pub type Faults = atomik_simkit::Faults<TradovateFault>;
pub use state::{AuthCall, AuthCallKind, SimOrder, SimPosition};

#[derive(Debug, Clone)]
pub struct SimClient {
    pub client_id: String,
    pub client_secret: String,
    /// Exact-match redirect URIs.
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SimAccount {
    pub id: i64,
    pub name: String,
    pub cash: Decimal,
}

#[derive(Debug, Clone)]
pub struct SimUser {
    pub username: String,
    pub password: String,
    pub user_id: i64,
    pub name: String,
    pub accounts: Vec<SimAccount>,
}

#[derive(Clone)]
pub struct SimConfig {
    pub clock: Arc<dyn Clock>,
    /// Access token lifetime (Tradovate: 90 minutes).
    pub token_lifetime: Duration,
    pub clients: Vec<SimClient>,
    pub users: Vec<SimUser>,
    /// At most N auth calls (code exchanges + renewals) per window; more → 429.
    pub auth_rate_limit: Option<(u32, Duration)>,
}

impl SimConfig {
    pub const DEMO_CLIENT_ID: &'static str = "atomik-demo";
    pub const DEMO_CLIENT_SECRET: &'static str = "atomik-demo-secret";

    /// One OAuth client and one user `demo`/`demo` with two $50,000 accounts.
    pub fn demo(clock: Arc<dyn Clock>) -> Self {
        SimConfig {
            clock,
            token_lifetime: Duration::from_secs(90 * 60),
            clients: vec![SimClient {
                client_id: Self::DEMO_CLIENT_ID.into(),
                client_secret: Self::DEMO_CLIENT_SECRET.into(),
                redirect_uris: Vec::new(),
            }],
            users: vec![SimUser {
                username: "demo".into(),
                password: "demo".into(),
                user_id: 1001,
                name: "Demo Trader".into(),
                accounts: vec![
                    SimAccount {
                        id: 5001,
                        name: "DEMO5001".into(),
                        cash: Decimal::from(50_000),
                    },
                    SimAccount {
                        id: 5002,
                        name: "DEMO5002".into(),
                        cash: Decimal::from(50_000),
                    },
                ],
            }],
            auth_rate_limit: None,
        }
    }
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub state: Mutex<state::State>,
    pub faults: Faults,
}

/// A running simulator.
pub struct SimHandle {
    served: atomik_simkit::Served,
    shared: Arc<Shared>,
}

pub async fn start(config: SimConfig, bind: SocketAddr) -> std::io::Result<SimHandle> {
    let shared = Arc::new(Shared {
        state: Mutex::new(state::State::new(&config)),
        config,
        faults: Faults::default(),
    });
    let served = atomik_simkit::Served::start(bind, routes::service(shared.clone())).await?;
    Ok(SimHandle { served, shared })
}

impl SimHandle {
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    pub fn rest_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    pub fn auth_url(&self) -> String {
        format!("{}/oauth", self.base_url())
    }

    pub fn token_url(&self) -> String {
        format!("{}/auth/oauthtoken", self.base_url())
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    fn state(&self) -> std::sync::MutexGuard<'_, state::State> {
        self.shared.state.lock().expect("sim state")
    }

    /// Every auth call (code exchange or renewal) with its sim-clock time.
    pub fn auth_calls(&self) -> Vec<AuthCall> {
        self.state().auth_calls.clone()
    }

    /// The order ledger.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.state().orders.clone()
    }

    pub fn positions(&self, account_id: i64) -> Vec<SimPosition> {
        self.state()
            .positions
            .iter()
            .filter(|p| p.account_id == account_id)
            .cloned()
            .collect()
    }

    /// Revoke every grant: every token stops working (401).
    pub fn revoke_all_grants(&self) {
        self.state().revoke_all();
    }

    /// When a token expires (sim clock), if the sim issued it.
    pub fn token_expiry(&self, token: &str) -> Option<i64> {
        self.state().tokens.get(token).map(|t| t.expires_at)
    }

    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}
