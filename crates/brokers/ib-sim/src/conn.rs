//! The TWS API socket: the accept loop and one task per connection (hello,
//! version choice, StartApi, then one request per frame). Every write goes
//! through the connection's single writer task, so answers and order events
//! from elsewhere interleave whole.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use atomik_ib_proto::frame::{self, read_client_hello, read_frame, server_hello};
use atomik_ib_proto::{Event, Request, decode_request, encode_event, version};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};

use crate::faults::kind;
use crate::orders::{self, After};
use crate::{ConnEntry, Out, Shared, To, queries};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                if shared.faults.refusing() {
                    drop(socket);
                    continue;
                }
                let _ = socket.set_nodelay(true);
                tokio::spawn(connection(socket, shared.clone()));
            }
        }
    }
}

/// The hello's answer time: `yyyymmdd hh:mm:ss UTC`.
fn connection_time(shared: &Shared) -> String {
    format!("{} UTC", crate::ledger::ib_time(shared.now_ms()))
}

async fn connection(socket: TcpStream, shared: Arc<Shared>) {
    let (mut rd, mut wr) = socket.into_split();
    let range = match tokio::time::timeout(HELLO_TIMEOUT, read_client_hello(&mut rd)).await {
        Ok(Ok(range)) => range,
        Ok(Err(e)) => {
            tracing::debug!("ib-sim: bad hello: {e}");
            return;
        }
        Err(_) => return,
    };
    let Some(v) = version::choose(range, shared.config.server_range) else {
        tracing::debug!(?range, "ib-sim: no common server version; closing");
        return;
    };
    if wr
        .write_all(&server_hello(v, &connection_time(&shared)))
        .await
        .is_err()
    {
        return;
    }
    let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
    let (tx, rx) = mpsc::unbounded_channel();
    let closed = Arc::new(Notify::new());
    shared.conns().insert(
        id,
        ConnEntry {
            client_id: None,
            tx,
            positions: false,
            account_updates: None,
            account_multi: Default::default(),
        },
    );
    let writer = tokio::spawn(write_loop(wr, rx, v, closed.clone()));
    let mut session = Session {
        shared: shared.clone(),
        id,
        client_id: None,
        recent: VecDeque::new(),
    };
    loop {
        tokio::select! {
            _ = closed.notified() => break,
            payload = read_frame(&mut rd) => {
                let Ok(payload) = payload else { break };
                if !session.on_frame(&payload, v) {
                    break;
                }
            }
        }
    }
    shared.conns().remove(&id);
    // Whatever was queued before the close is still written.
    let _ = writer.await;
}

async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    v: i32,
    closed: Arc<Notify>,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Out::Event(event) => match encode_event(&event, v) {
                Ok(payload) if !payload.is_empty() => {
                    if frame::write_frame(&mut wr, &payload).await.is_err() {
                        break;
                    }
                }
                Ok(_) => tracing::debug!(?event, "ib-sim: event has no encoding"),
                Err(e) => tracing::warn!(?event, "ib-sim: cannot encode: {e}"),
            },
            Out::Close => break,
        }
    }
    let _ = wr.shutdown().await;
    closed.notify_one();
}

struct Session {
    shared: Arc<Shared>,
    id: u64,
    client_id: Option<i32>,
    /// When each recent message arrived (pacing).
    recent: VecDeque<Instant>,
}

/// The id an error about this request names.
fn request_id(req: &Request) -> i32 {
    match req {
        Request::PlaceOrder { order_id, .. } | Request::CancelOrder { order_id } => *order_id,
        Request::ReqExecutions { req_id, .. }
        | Request::ReqContractData { req_id, .. }
        | Request::ReqAccountSummary { req_id, .. }
        | Request::CancelAccountSummary { req_id }
        | Request::ReqAccountUpdatesMulti { req_id, .. }
        | Request::CancelAccountUpdatesMulti { req_id } => *req_id,
        _ => -1,
    }
}

impl Session {
    fn send(&self, events: Vec<Event>) {
        self.shared
            .deliver(events.into_iter().map(|e| (To::Conn(self.id), e)).collect());
    }

    fn error(&self, id: i32, code: i32, msg: &str) {
        self.send(vec![self.shared.error(id, code, msg)]);
    }

    /// False when the connection must end.
    fn on_frame(&mut self, payload: &[u8], v: i32) -> bool {
        let req = match decode_request(payload, v) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("ib-sim: undecodable request: {e}");
                return true;
            }
        };
        // Pacing: a sliding one-second window of accepted messages.
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        let max = self.shared.config.max_messages_per_sec;
        if self.recent.len() >= max {
            self.shared.faults.count(kind::PACING);
            let msg = format!(
                "Max rate of messages per second has been exceeded:max={max} rec={} (1)",
                self.recent.len() + 1
            );
            self.error(request_id(&req), 100, &msg);
            return true;
        }
        self.recent.push_back(now);
        self.handle(req)
    }

    fn handle(&mut self, req: Request) -> bool {
        let shared = self.shared.clone();
        if let Request::StartApi { client_id, .. } = req {
            return self.start_api(client_id);
        }
        let Some(client_id) = self.client_id else {
            tracing::debug!(?req, "ib-sim: request before StartApi ignored");
            return true;
        };
        let today = crate::catalogue::date_of_ms(shared.now_ms());
        match req {
            Request::StartApi { .. } => {}
            Request::PlaceOrder {
                order_id,
                contract,
                order,
            } => {
                if orders::place(&shared, self.id, client_id, order_id, &contract, &order)
                    == After::Drop
                {
                    shared.close(self.id);
                }
            }
            Request::CancelOrder { order_id } => {
                orders::cancel(&shared, self.id, client_id, order_id)
            }
            Request::ReqGlobalCancel => orders::global_cancel(&shared, self.id),
            Request::ReqOpenOrders => {
                let events = queries::open_orders(&shared.state(), Some(client_id));
                self.send(events);
            }
            Request::ReqAllOpenOrders => {
                let events = queries::open_orders(&shared.state(), None);
                self.send(events);
            }
            Request::ReqAutoOpenOrders { .. } | Request::ReqMarketDataType { .. } => {}
            Request::ReqCompletedOrders { .. } => {
                let events = queries::completed_orders(&shared.state());
                self.send(events);
            }
            Request::ReqExecutions { req_id, filter } => {
                let events = queries::executions(&shared.state(), req_id, &filter);
                self.send(events);
            }
            Request::ReqIds { .. } => {
                let next = shared.state().next_order_id(client_id);
                self.send(vec![Event::NextValidId { order_id: next }]);
            }
            Request::ReqContractData { req_id, contract } => {
                let answer = queries::contract_details(&shared.state(), req_id, &contract, today);
                match answer {
                    Ok(events) => self.send(events),
                    Err((code, msg)) => self.error(req_id, code, &msg),
                }
            }
            Request::ReqManagedAccounts => {
                let accounts = shared.state().account_ids();
                self.send(vec![Event::ManagedAccounts { accounts }]);
            }
            Request::ReqCurrentTime => self.send(vec![Event::CurrentTime {
                time: shared.now_ms().div_euclid(1000),
            }]),
            Request::ReqPositions => {
                // Subscribe before the snapshot so no change falls between.
                if let Some(c) = shared.conns().get_mut(&self.id) {
                    c.positions = true;
                }
                let events = queries::positions(&shared.state());
                self.send(events);
            }
            Request::CancelPositions => {
                if let Some(c) = shared.conns().get_mut(&self.id) {
                    c.positions = false;
                }
            }
            Request::ReqAccountUpdates { subscribe, account } => {
                self.account_updates(subscribe, account)
            }
            Request::ReqAccountSummary { req_id, tags, .. } => {
                let events = queries::account_summary(&shared.state(), req_id, &tags);
                self.send(events);
            }
            Request::CancelAccountSummary { .. } => {}
            Request::ReqAccountUpdatesMulti {
                req_id,
                account,
                model_code,
                ledger_and_nlv,
            } => self.account_updates_multi(req_id, account, model_code, ledger_and_nlv),
            Request::CancelAccountUpdatesMulti { req_id } => {
                if let Some(c) = shared.conns().get_mut(&self.id) {
                    c.account_multi.remove(&req_id);
                }
            }
            Request::Other { id } => tracing::debug!(id, "ib-sim: request not simulated"),
        }
        true
    }

    fn account_updates(&mut self, subscribe: bool, account: String) {
        let shared = self.shared.clone();
        let accounts = shared.state().account_ids();
        let account = if account.is_empty() {
            accounts.first().cloned().unwrap_or_default()
        } else {
            account
        };
        if !subscribe {
            if let Some(c) = shared.conns().get_mut(&self.id) {
                c.account_updates = None;
            }
            return;
        }
        if !accounts.contains(&account) {
            self.error(-1, 321, &format!("Error validating request.-'bB' : cause - The account code {account} is not one of the managed accounts."));
            return;
        }
        if let Some(c) = shared.conns().get_mut(&self.id) {
            c.account_updates = Some(account.clone());
        }
        let events = queries::account_updates(&shared.state(), &account, shared.now_ms());
        self.send(events);
    }

    /// reqAccountUpdatesMulti: the values of the account (every managed
    /// account for an empty one or `All`), then the end; later changes
    /// stream under the same request id until it is cancelled. The
    /// simulator has no advisor models: a model code yields only the end.
    fn account_updates_multi(
        &mut self,
        req_id: i32,
        account: String,
        model_code: String,
        ledger_and_nlv: bool,
    ) {
        let shared = self.shared.clone();
        let accounts = shared.state().account_ids();
        let all = account.is_empty() || account.eq_ignore_ascii_case("All");
        if !all && !accounts.contains(&account) {
            self.error(req_id, 321, &format!("Error validating request.-'bB' : cause - The account code {account} is not one of the managed accounts."));
            return;
        }
        let sub = crate::MultiSub {
            account: (!all).then_some(account),
            ledger_and_nlv,
        };
        let events = if model_code.is_empty() {
            // Subscribe before the snapshot so no change falls between.
            if let Some(c) = shared.conns().get_mut(&self.id) {
                c.account_multi.insert(req_id, sub.clone());
            }
            queries::account_updates_multi(&shared.state(), req_id, &sub)
        } else {
            vec![Event::AccountUpdateMultiEnd { req_id }]
        };
        self.send(events);
    }

    fn start_api(&mut self, client_id: i32) -> bool {
        if self.client_id.is_some() {
            return true;
        }
        let shared = self.shared.clone();
        {
            let mut conns = shared.conns();
            if conns.values().any(|c| c.client_id == Some(client_id)) {
                drop(conns);
                self.error(
                    -1,
                    326,
                    "Unable to connect as the client id is already in use. Retry with a unique client id.",
                );
                shared.close(self.id);
                return true;
            }
            if let Some(c) = conns.get_mut(&self.id) {
                c.client_id = Some(client_id);
            }
        }
        self.client_id = Some(client_id);
        let (accounts, next) = {
            let s = shared.state();
            (s.account_ids(), s.next_order_id(client_id))
        };
        let mut events = vec![
            Event::ManagedAccounts { accounts },
            Event::NextValidId { order_id: next },
        ];
        for (code, msg) in [
            (2104, "Market data farm connection is OK:usfarm"),
            (2106, "HMDS data farm connection is OK:ushmds"),
            (2158, "Sec-def data farm connection is OK:secdefnj"),
        ] {
            events.push(shared.error(-1, code, msg));
        }
        self.send(events);
        true
    }
}
