//! An Interactive Brokers simulator: a TCP server speaking the TWS API as
//! IB Gateway does (both eras, through `atomik-ib-proto`), with paper
//! accounts, a contract catalogue, an authoritative order/execution ledger,
//! IB's error codes, pacing, and injectable faults; plus an HTTP side
//! (`/_sim/...`) to read the ledger, move marks and set faults.
//!
//! Decisions where IB documents nothing precise:
//! - Orders are keyed by (client id, order id); an order id must exceed
//!   every id that client id used before (103), and a rejected order still
//!   uses its id. Modifying an order (placing an id again) is not supported.
//! - MKT orders and marketable LMT orders fill in full at once at the mark;
//!   a resting LMT fills at its limit when a new mark crosses it. No
//!   partial fills.
//! - Cash moves by price × quantity × multiplier for every security type
//!   (futures too), so net liquidation = cash + positions at mark.
//! - Orders placed while connectivity is lost are rejected with 201.
//! - An empty account on an order is refused (201) when more than one
//!   account is managed, and means that account otherwise.
//! - A Gateway restart closes every connection and then closes each new
//!   one at once (the client sees end of stream) until its time is up.
//! - Order events go to the connection of the client id that placed the
//!   order (after a reconnect too) and to a connection with client id 0.
//! - The pacing limit counts every message after the hello in a sliding
//!   second; excess messages answer error 100 and are not executed.
//! - reqAccountUpdatesMulti answers the account's values (every managed
//!   account's for an empty account or `All`; with ledgerAndNLV only cash
//!   balances and net liquidation) then the end, and streams later changes
//!   under its request id until cancelled. There are no advisor models: a
//!   model code is answered with the end alone.

mod catalogue;
mod config;
mod conn;
mod faults;
mod ledger;
mod orders;
mod queries;
mod routes;

pub use catalogue::{Entry as CatalogueEntry, occ_symbol, quarterly_expiries, third_friday};
pub use config::{Mark, SimAccount, SimConfig};
pub use faults::{Faults, kind as fault_kind};
pub use ledger::{SimExecution, SimOrder, SimPosition};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atomik_ib_proto::Event;
use tokio::sync::mpsc;

/// Who an event goes to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum To {
    Conn(u64),
    /// The connection of this client id, and one with client id 0.
    Client(i32),
    /// Connections subscribed to positions.
    PositionSubs,
    /// Connections subscribed to this account's updates.
    AccountSubs(String),
    /// Every reqAccountUpdatesMulti subscription that covers this account;
    /// the event (an `AccountUpdateMulti`) goes out under each one's
    /// request id.
    AccountMultiSubs(String),
}

pub(crate) enum Out {
    Event(Box<Event>),
    /// Flush what came before, then close the socket.
    Close,
}

pub(crate) struct ConnEntry {
    pub client_id: Option<i32>,
    pub tx: mpsc::UnboundedSender<Out>,
    pub positions: bool,
    pub account_updates: Option<String>,
    /// reqAccountUpdatesMulti subscriptions, by request id.
    pub account_multi: HashMap<i32, MultiSub>,
}

/// One reqAccountUpdatesMulti subscription.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MultiSub {
    /// `None`: every managed account (an empty account or `All`).
    pub account: Option<String>,
    pub ledger_and_nlv: bool,
}

impl MultiSub {
    pub fn covers(&self, account: &str) -> bool {
        self.account.as_deref().is_none_or(|a| a == account)
    }
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub state: Mutex<ledger::State>,
    pub faults: Faults,
    pub conns: Mutex<HashMap<u64, ConnEntry>>,
    pub next_conn: AtomicU64,
}

impl Shared {
    pub fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, ledger::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ConnEntry>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Send each event to its recipients, in order.
    pub fn deliver(&self, events: Vec<(To, Event)>) {
        let conns = self.conns();
        for (to, event) in events {
            for (id, c) in conns.iter() {
                if let To::AccountMultiSubs(account) = &to {
                    for (req_id, sub) in &c.account_multi {
                        if let Some(e) =
                            crate::queries::for_multi_sub(&event, *req_id, sub, account)
                        {
                            let _ = c.tx.send(Out::Event(Box::new(e)));
                        }
                    }
                    continue;
                }
                let hit = match &to {
                    To::Conn(want) => id == want,
                    To::Client(cid) => {
                        c.client_id == Some(*cid) || (c.client_id == Some(0) && *cid != 0)
                    }
                    To::PositionSubs => c.positions,
                    To::AccountSubs(a) => c.account_updates.as_deref() == Some(a.as_str()),
                    To::AccountMultiSubs(_) => false,
                };
                if hit {
                    let _ = c.tx.send(Out::Event(Box::new(event.clone())));
                }
            }
        }
    }

    /// [`Shared::deliver`] after `delay` (status-delay fault).
    pub fn deliver_after(self: &Arc<Self>, delay: Duration, events: Vec<(To, Event)>) {
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            shared.deliver(events);
        });
    }

    /// Close one connection. It leaves the registry at once, so its client
    /// id is free again before the client sees the socket close.
    pub fn close(&self, conn: u64) {
        if let Some(c) = self.conns().remove(&conn) {
            let _ = c.tx.send(Out::Close);
        }
    }

    pub fn close_all(&self) {
        for (_, c) in self.conns().drain() {
            let _ = c.tx.send(Out::Close);
        }
    }

    /// Close every connection and refuse new ones for `refuse` (ledger kept).
    pub fn restart(&self, refuse: Duration) {
        self.faults.count(fault_kind::RESTART);
        self.faults.refuse_for(refuse);
        self.close_all();
    }

    /// 1100 to every connection now, 1102 after `restore`.
    pub fn lose_connectivity(self: &Arc<Self>, restore: Duration) {
        self.faults.count(fault_kind::CONNECTIVITY_LOST);
        self.faults.set_connectivity_lost(true);
        self.broadcast_notice(
            1100,
            "Connectivity between IB and Trader Workstation has been lost.",
        );
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(restore).await;
            shared.faults.set_connectivity_lost(false);
            shared.broadcast_notice(
                1102,
                "Connectivity between IB and Trader Workstation has been restored - data maintained.",
            );
        });
    }

    fn broadcast_notice(&self, code: i32, message: &str) {
        let event = self.error(-1, code, message);
        for c in self.conns().values().filter(|c| c.client_id.is_some()) {
            let _ = c.tx.send(Out::Event(Box::new(event.clone())));
        }
    }

    pub fn error(&self, id: i32, code: i32, message: &str) -> Event {
        Event::Error {
            id,
            time_ms: self.now_ms(),
            code,
            message: message.into(),
            advanced_order_reject_json: String::new(),
        }
    }
}

/// A running simulator: the TWS API socket and the HTTP side.
pub struct SimHandle {
    shared: Arc<Shared>,
    socket_addr: SocketAddr,
    served: atomik_simkit::Served,
    stop: tokio::sync::watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

/// Start the Gateway on `bind` (the TWS API socket) and its HTTP side on
/// the same IP, another free port.
pub async fn start(config: SimConfig, bind: SocketAddr) -> std::io::Result<SimHandle> {
    let now = config.clock.now_ms();
    let shared = Arc::new(Shared {
        state: Mutex::new(ledger::State::new(&config, now)),
        config,
        faults: Faults::default(),
        conns: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
    });
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let socket_addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let accept = tokio::spawn(conn::serve(listener, shared.clone(), stopped));
    let served = atomik_simkit::Served::start(
        SocketAddr::new(bind.ip(), 0),
        routes::service(shared.clone()),
    )
    .await?;
    Ok(SimHandle {
        shared,
        socket_addr,
        served,
        stop,
        accept,
    })
}

impl SimHandle {
    /// Where TWS API clients connect (IB Gateway's 4002).
    pub fn socket_addr(&self) -> SocketAddr {
        self.socket_addr
    }

    /// `/_sim/orders`, `/_sim/positions`, `/_sim/prices`, `/_sim/faults`.
    pub fn http_base_url(&self) -> String {
        self.served.base_url()
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The order ledger, in arrival order.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.state().orders.clone()
    }

    pub fn positions(&self) -> Vec<SimPosition> {
        self.shared.state().positions.clone()
    }

    pub fn executions(&self) -> Vec<SimExecution> {
        self.shared.state().executions.clone()
    }

    pub fn cash(&self, account: &str) -> f64 {
        self.shared.state().cash(account)
    }

    pub fn net_liquidation(&self, account: &str) -> f64 {
        self.shared.state().net_liquidation(account)
    }

    /// Every listed contract, expired ones included.
    pub fn catalogue(&self) -> Vec<CatalogueEntry> {
        self.shared.state().catalogue.entries.clone()
    }

    /// The con id of a listed contract by local symbol (`MNQZ6`, `AAPL`).
    pub fn con_id(&self, local_symbol: &str) -> Option<i32> {
        let state = self.shared.state();
        state
            .catalogue
            .entries
            .iter()
            .find(|e| e.contract().local_symbol == local_symbol)
            .map(|e| e.contract().con_id)
    }

    pub fn mark(&self, con_id: i32) -> f64 {
        self.shared.state().mark(con_id)
    }

    /// Move a mark; resting LMT orders it makes marketable fill at their limit.
    pub fn set_mark(&self, con_id: i32, price: f64) {
        orders::set_mark(&self.shared, con_id, price);
    }

    /// Connections that completed StartApi.
    pub fn api_connections(&self) -> usize {
        self.shared
            .conns()
            .values()
            .filter(|c| c.client_id.is_some())
            .count()
    }

    /// Gateway restart: every connection closed, new ones refused for `refuse`.
    pub fn restart(&self, refuse: Duration) {
        self.shared.restart(refuse);
    }

    /// Error 1100 to every connection, 1102 after `restore`.
    pub fn lose_connectivity(&self, restore: Duration) {
        self.shared.lose_connectivity(restore);
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept.await;
        self.shared.close_all();
        self.served.shutdown().await;
    }
}
