//! One socket to an IB Gateway / TWS: the handshake (hello, version,
//! StartApi, NextValidId, ManagedAccounts), a writer that paces and encodes
//! in the negotiated era, and a reader that decodes every event, keeps the
//! connection's own state (order ids, IB link, positions) and broadcasts the
//! rest to whoever waits for it.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atomik_broker::BrokerError;
use atomik_ib_proto::{self as proto, Event, Request, frame, version};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::book::PositionBook;
use crate::config::IbConfig;
use crate::pacing::Pacer;

/// Where a Gateway listens and the client id atomik uses there: one shared
/// connection per endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub client_id: i32,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} (client id {})",
            self.host, self.port, self.client_id
        )
    }
}

/// Order ids for one endpoint, across reconnects: never below what the
/// Gateway says is next, never reused.
#[derive(Debug, Default)]
pub struct OrderIds {
    next: Mutex<i32>,
}

impl OrderIds {
    pub fn observe(&self, next_valid: i32) {
        let mut next = self.next.lock().expect("order ids");
        *next = (*next).max(next_valid);
    }

    pub fn take(&self) -> i32 {
        let mut next = self.next.lock().expect("order ids");
        let id = (*next).max(1);
        *next = id + 1;
        id
    }
}

/// IB's own link behind the Gateway (codes 1100 / 1101 / 1102).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IbLink {
    Up,
    Lost,
}

pub struct Connection {
    pub endpoint: Endpoint,
    pub server_version: i32,
    pub connection_time: String,
    pub accounts: Vec<String>,
    pub ids: Arc<OrderIds>,
    pub positions: PositionBook,
    /// Serializes queries whose answers carry no request id (open and
    /// completed orders), so each sees its own end marker.
    pub query_lock: tokio::sync::Mutex<()>,
    out: mpsc::UnboundedSender<Request>,
    events: broadcast::Sender<Event>,
    req_ids: AtomicI32,
    link: watch::Receiver<IbLink>,
    closed: watch::Receiver<Option<String>>,
}

/// Why a wait for an answer ended without one.
#[derive(Debug)]
pub enum WaitError {
    Closed(String),
    Timeout,
    /// Events were dropped for this waiter (it fell behind).
    Lagged,
}

/// The Gateway's own words for a socket that cannot be opened (IB error 502).
pub fn not_reachable(endpoint: &Endpoint, cause: &str) -> BrokerError {
    BrokerError::NotSent(format!(
        "cannot connect to IB Gateway / TWS at {}:{} ({cause}). Couldn't connect to TWS (IB 502): confirm that \
         \"Enable ActiveX and Socket Clients\" is on and that the port is the \"Socket Port\" of API › Settings, \
         and that this server's address is a trusted IP there",
        endpoint.host, endpoint.port
    ))
}

impl Connection {
    /// Connect and complete the handshake, within `config.connect_timeout`.
    pub async fn open(
        endpoint: &Endpoint,
        ids: Arc<OrderIds>,
        config: &IbConfig,
    ) -> Result<Arc<Connection>, BrokerError> {
        let deadline = Instant::now() + config.connect_timeout;
        let timed = |what: &'static str| {
            move |_| not_reachable(endpoint, &format!("no answer to the {what} in time"))
        };
        let stream = tokio::time::timeout_at(
            deadline,
            TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
        )
        .await
        .map_err(timed("connection attempt"))?
        .map_err(|e| not_reachable(endpoint, &e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let (min, max) = version::CLIENT_RANGE;
        writer
            .write_all(&frame::client_hello(min, max, ""))
            .await
            .map_err(|e| not_reachable(endpoint, &e.to_string()))?;
        let (server_version, connection_time) =
            tokio::time::timeout_at(deadline, frame::read_server_hello(&mut reader))
                .await
                .map_err(timed("API hello"))?
                .map_err(|e| not_reachable(endpoint, &format!("the hello failed: {e}")))?;
        if !version::supported(server_version) {
            return Err(BrokerError::Misconfigured(format!(
                "IB Gateway / TWS at {}:{} speaks API server version {server_version}; atomik speaks {}–{} (text \
                 protocol) and {}–{} (protobuf): update IB Gateway / TWS to a current release",
                endpoint.host,
                endpoint.port,
                version::TEXT_MIN,
                version::TEXT_MAX,
                version::PROTOBUF_ALL,
                version::PROTOBUF_MAX
            )));
        }
        let start = Request::StartApi {
            client_id: endpoint.client_id,
            optional_capabilities: String::new(),
        };
        let payload = proto::encode_request(&start, server_version)
            .map_err(|e| BrokerError::Misconfigured(e.to_string()))?;
        frame::write_frame(&mut writer, &payload)
            .await
            .map_err(|e| not_reachable(endpoint, &e.to_string()))?;
        let mut accounts = None;
        let mut next_valid = None;
        while accounts.is_none() || next_valid.is_none() {
            let payload = tokio::time::timeout_at(deadline, frame::read_frame(&mut reader))
                .await
                .map_err(timed("StartApi (no NextValidId and ManagedAccounts)"))?
                .map_err(|e| match e {
                    frame::FrameError::Closed => not_reachable(
                        endpoint,
                        "the Gateway closed the connection during the handshake",
                    ),
                    e => not_reachable(endpoint, &e.to_string()),
                })?;
            match proto::decode_event(&payload, server_version) {
                Ok(Event::NextValidId { order_id }) => next_valid = Some(order_id),
                Ok(Event::ManagedAccounts { accounts: list }) => accounts = Some(list),
                Ok(Event::Error {
                    code: 326, message, ..
                }) => {
                    return Err(BrokerError::Misconfigured(format!(
                        "client id {} is already in use at {}:{} (IB 326: {message}); choose another client id \
                         for this connection",
                        endpoint.client_id, endpoint.host, endpoint.port
                    )));
                }
                Ok(Event::Error { code, message, .. }) if !is_notice(code) => {
                    tracing::warn!(%endpoint, code, message, "IB Gateway error during the handshake");
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(not_reachable(
                        endpoint,
                        &format!("unreadable handshake message: {e}"),
                    ));
                }
            }
        }
        let next_valid = next_valid.unwrap_or(1);
        ids.observe(next_valid);
        let (out, out_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(config.event_buffer);
        let (link_tx, link) = watch::channel(IbLink::Up);
        let (closed_tx, closed) = watch::channel(None);
        let closed_tx = Arc::new(closed_tx);
        let connection = Arc::new(Connection {
            endpoint: endpoint.clone(),
            server_version,
            connection_time,
            accounts: accounts.unwrap_or_default(),
            ids,
            positions: PositionBook::default(),
            query_lock: tokio::sync::Mutex::new(()),
            out,
            events: events.clone(),
            req_ids: AtomicI32::new(1),
            link,
            closed,
        });
        tokio::spawn(write_loop(
            writer,
            out_rx,
            server_version,
            config.messages_per_second,
            closed_tx.clone(),
        ));
        tokio::spawn(read_loop(
            reader,
            Arc::downgrade(&connection),
            events,
            link_tx,
            closed_tx,
        ));
        connection.send(Request::ReqPositions)?;
        tracing::info!(%endpoint, server_version, accounts = ?connection.accounts, "connected to IB Gateway");
        Ok(connection)
    }

    /// Queue a request. `NotSent` when the socket is already closed.
    pub fn send(&self, req: Request) -> Result<(), BrokerError> {
        if let Some(reason) = self.closed_reason() {
            return Err(BrokerError::NotSent(format!(
                "the connection to IB Gateway {} is down: {reason}",
                self.endpoint
            )));
        }
        self.out.send(req).map_err(|_| {
            BrokerError::NotSent(format!(
                "the connection to IB Gateway {} is down",
                self.endpoint
            ))
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn next_req_id(&self) -> i32 {
        self.req_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub fn closed_reason(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    pub fn ib_link(&self) -> IbLink {
        *self.link.borrow()
    }

    /// Resolves when the socket has closed, with the reason.
    pub async fn closed(&self) -> String {
        let mut closed = self.closed.clone();
        loop {
            if let Some(reason) = closed.borrow_and_update().clone() {
                return reason;
            }
            if closed.changed().await.is_err() {
                return "the connection ended".into();
            }
        }
    }

    /// Wait on `rx` until `pick` accepts an event, the socket closes or
    /// `timeout` passes.
    pub async fn wait_for<T>(
        &self,
        rx: &mut broadcast::Receiver<Event>,
        timeout: Duration,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T, WaitError> {
        let deadline = Instant::now() + timeout;
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Ok(event) => {
                        if let Some(found) = pick(&event) {
                            return Ok(found);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(WaitError::Lagged),
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(WaitError::Closed("the connection ended".into()))
                    }
                },
                reason = self.closed() => return Err(WaitError::Closed(reason)),
                _ = tokio::time::sleep_until(deadline) => return Err(WaitError::Timeout),
            }
        }
    }
}

/// IB's informational codes: farm status (2100–2169) and order warnings (399).
pub fn is_notice(code: i32) -> bool {
    (2100..=2169).contains(&code) || code == 399 || code == 10167
}

async fn write_loop(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    mut out: mpsc::UnboundedReceiver<Request>,
    server_version: i32,
    per_second: usize,
    closed: Arc<watch::Sender<Option<String>>>,
) {
    let mut pacer = Pacer::new(per_second);
    while let Some(req) = out.recv().await {
        let wait = pacer.delay(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let payload = match proto::encode_request(&req, server_version) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a request for IB");
                continue;
            }
        };
        if let Err(e) = frame::write_frame(&mut writer, &payload).await {
            closed.send_replace(Some(format!("writing to the Gateway failed: {e}")));
            return;
        }
        pacer.sent(Instant::now());
    }
}

async fn read_loop(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    connection: std::sync::Weak<Connection>,
    events: broadcast::Sender<Event>,
    link: watch::Sender<IbLink>,
    closed: Arc<watch::Sender<Option<String>>>,
) {
    let reason = loop {
        let payload = match frame::read_frame(&mut reader).await {
            Ok(p) => p,
            Err(frame::FrameError::Closed) => {
                break "the Gateway closed the connection".to_string();
            }
            Err(e) => break format!("reading from the Gateway failed: {e}"),
        };
        let Some(conn) = connection.upgrade() else {
            return;
        };
        let event = match proto::decode_event(&payload, conn.server_version) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(endpoint = %conn.endpoint, error = %e, "unreadable message from IB Gateway; skipped");
                continue;
            }
        };
        match &event {
            Event::NextValidId { order_id } => conn.ids.observe(*order_id),
            Event::Error {
                code: 1100,
                message,
                ..
            } => {
                tracing::warn!(endpoint = %conn.endpoint, message, "IB Gateway lost its connection to IB (1100); sending paused");
                link.send_replace(IbLink::Lost);
            }
            Event::Error {
                code: code @ (1101 | 1102),
                message,
                ..
            } => {
                tracing::info!(endpoint = %conn.endpoint, code, message, "IB Gateway connection to IB restored");
                link.send_replace(IbLink::Up);
            }
            Event::Position { .. } | Event::PositionEnd | Event::ExecDetails { .. } => {
                conn.positions.observe(&event);
            }
            _ => {}
        }
        // Nobody listening is fine: the event was for no one.
        let _ = events.send(event);
    };
    closed.send_replace(Some(reason));
}
