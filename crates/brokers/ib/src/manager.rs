//! The connection manager: one long-lived socket per endpoint (host, port,
//! client id), shared by every account that trades through it, reconnected
//! with back-off when it drops (a Gateway's nightly restart included), and
//! its state and last error kept for the account's status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use atomik_broker::BrokerError;

use crate::config::IbConfig;
use crate::conn::{Connection, Endpoint, IbLink, OrderIds};

/// What the product shows about one Gateway connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub state: LinkState,
    /// The last failure, in the Gateway's or the socket's words.
    pub last_error: Option<String>,
    pub server_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// The socket is up but IB Gateway has lost IB (1100): sending paused.
    IbUnreachable,
    /// Down; reconnecting with back-off.
    Reconnecting,
}

impl LinkState {
    pub fn label(self) -> &'static str {
        match self {
            LinkState::Connecting => {
                "not connected yet (atomik connects at the first order or test)"
            }
            LinkState::Connected => "connected",
            LinkState::IbUnreachable => {
                "connected to the Gateway, but the Gateway has lost IB (1100)"
            }
            LinkState::Reconnecting => "disconnected; reconnecting",
        }
    }
}

struct Slot {
    endpoint: Endpoint,
    ids: Arc<OrderIds>,
    current: Mutex<Option<Arc<Connection>>>,
    last_error: Mutex<Option<String>>,
    /// One connect attempt at a time per endpoint.
    connecting: tokio::sync::Mutex<()>,
    supervised: std::sync::atomic::AtomicBool,
}

impl Slot {
    fn live(&self) -> Option<Arc<Connection>> {
        self.current
            .lock()
            .expect("slot")
            .as_ref()
            .filter(|c| c.closed_reason().is_none())
            .cloned()
    }
}

#[derive(Clone)]
pub struct Connections {
    config: IbConfig,
    slots: Arc<Mutex<HashMap<Endpoint, Arc<Slot>>>>,
}

impl Connections {
    pub fn new(config: IbConfig) -> Connections {
        Connections {
            config,
            slots: Arc::default(),
        }
    }

    pub fn config(&self) -> &IbConfig {
        &self.config
    }

    fn slot(&self, endpoint: &Endpoint) -> Arc<Slot> {
        self.slots
            .lock()
            .expect("slots")
            .entry(endpoint.clone())
            .or_insert_with(|| {
                Arc::new(Slot {
                    endpoint: endpoint.clone(),
                    ids: Arc::default(),
                    current: Mutex::new(None),
                    last_error: Mutex::new(None),
                    connecting: tokio::sync::Mutex::new(()),
                    supervised: Default::default(),
                })
            })
            .clone()
    }

    /// The endpoint's live connection, connecting now if there is none.
    pub async fn get(&self, endpoint: &Endpoint) -> Result<Arc<Connection>, BrokerError> {
        let slot = self.slot(endpoint);
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        let _one = slot.connecting.lock().await;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        let conn = self.connect(&slot).await?;
        if !slot
            .supervised
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            tokio::spawn(supervise(self.clone(), slot.clone()));
        }
        Ok(conn)
    }

    async fn connect(&self, slot: &Slot) -> Result<Arc<Connection>, BrokerError> {
        match Connection::open(&slot.endpoint, slot.ids.clone(), &self.config).await {
            Ok(conn) => {
                *slot.current.lock().expect("slot") = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                *slot.last_error.lock().expect("slot") = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// The endpoint's state as the account's status shows it.
    pub fn status(&self, endpoint: &Endpoint) -> LinkStatus {
        let slot = self.slot(endpoint);
        let last_error = slot.last_error.lock().expect("slot").clone();
        let current = slot.current.lock().expect("slot").clone();
        let (state, server_version) = match current {
            None => (LinkState::Connecting, None),
            Some(c) if c.closed_reason().is_some() => {
                (LinkState::Reconnecting, Some(c.server_version))
            }
            Some(c) if c.ib_link() == IbLink::Lost => {
                (LinkState::IbUnreachable, Some(c.server_version))
            }
            Some(c) => (LinkState::Connected, Some(c.server_version)),
        };
        LinkStatus {
            state,
            last_error,
            server_version,
        }
    }
}

/// Keep the endpoint connected: after every drop, reconnect with back-off
/// (doubling from `reconnect_min` to `reconnect_max`) until it is back.
async fn supervise(connections: Connections, slot: Arc<Slot>) {
    loop {
        let Some(conn) = slot.current.lock().expect("slot").clone() else {
            return;
        };
        let reason = conn.closed().await;
        drop(conn);
        tracing::warn!(endpoint = %slot.endpoint, reason, "IB Gateway connection dropped; reconnecting");
        *slot.last_error.lock().expect("slot") = Some(reason);
        let mut wait = connections.config.reconnect_min;
        loop {
            tokio::time::sleep(wait).await;
            let _one = slot.connecting.lock().await;
            if slot.live().is_some() {
                break;
            }
            match connections.connect(&slot).await {
                Ok(_) => {
                    tracing::info!(endpoint = %slot.endpoint, "IB Gateway connection restored");
                    break;
                }
                Err(e) => {
                    tracing::debug!(endpoint = %slot.endpoint, error = %e, "IB Gateway reconnect failed");
                    wait = (wait * 2).min(connections.config.reconnect_max);
                }
            }
        }
    }
}
