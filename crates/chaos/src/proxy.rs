//! A fault-injecting HTTP proxy in front of one simulator. Everything is
//! forwarded untouched except order placements, which (by the checker's
//! seeded dice) get a proxy fault — a delay, a reset before forwarding, a
//! 502 without forwarding, or forwarding and then dropping the answer
//! ("dropped after execution") — or a simulator fault queued through
//! `/_sim/faults` for exactly this request, or nothing. The proxy also
//! records when each client order id was forwarded (for the signal→order
//! delay) and serves a kill armed by the checker: the next order request
//! is held (before or after forwarding) until the server has been killed.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::oneshot;

/// Which venue a proxy fronts: how its order requests look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    Tradovate,
    Binance,
}

impl Venue {
    fn is_order(self, method: &Method, path: &str) -> bool {
        method == Method::POST
            && match self {
                Venue::Tradovate => path.eq_ignore_ascii_case("/v1/order/placeorder"),
                Venue::Binance => path == "/fapi/v1/order" || path == "/api/v3/order",
            }
    }

    /// The client order id an order request carries.
    fn client_order_id(self, uri: &Uri, body: &[u8]) -> Option<String> {
        match self {
            Venue::Tradovate => serde_json::from_slice::<serde_json::Value>(body)
                .ok()?
                .get("clOrdId")?
                .as_str()
                .map(String::from),
            Venue::Binance => {
                let query = uri.query().unwrap_or("").as_bytes();
                [query, body].into_iter().find_map(|part| {
                    let pairs: Vec<(String, String)> =
                        serde_urlencoded_pairs(std::str::from_utf8(part).ok()?);
                    pairs
                        .into_iter()
                        .find(|(k, _)| k == "newClientOrderId")
                        .map(|(_, v)| v)
                })
            }
        }
    }
}

/// `a=b&c=d` pairs (client order ids are plain `[A-Za-z0-9]`: no decoding needed).
fn serde_urlencoded_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where an armed kill holds the order request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Before forwarding: the order never reaches the broker before the kill.
    BeforeForward,
    /// After the broker executed it, before the answer reaches the server.
    AfterExecution,
}

/// A kill waiting for the next order request on any proxy.
#[derive(Default)]
pub struct KillArm {
    armed: Mutex<Option<(Hold, oneshot::Sender<()>)>>,
}

impl KillArm {
    /// Arm: the returned receiver fires when an order request is held.
    pub fn arm(&self, hold: Hold) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.armed.lock().expect("arm") = Some((hold, tx));
        rx
    }

    pub fn disarm(&self) {
        self.armed.lock().expect("arm").take();
    }

    fn take(&self) -> Option<(Hold, oneshot::Sender<()>)> {
        self.armed.lock().expect("arm").take()
    }
}

/// Fault shares of an order request (each a fraction of all order requests).
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub proxy: f64,
    pub sim: f64,
}

struct Shared {
    venue: Venue,
    upstream: String,
    http: reqwest::Client,
    rates: Rates,
    calm: AtomicBool,
    rng: Mutex<StdRng>,
    arm: Arc<KillArm>,
    fired: Mutex<BTreeMap<&'static str, u64>>,
    /// Client order id → when it was last forwarded (Unix ms).
    forwarded: Mutex<HashMap<String, i64>>,
}

pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

enum Plan {
    Forward,
    Delay(u64),
    ResetBefore,
    BadGateway,
    DropAfter,
    Sim(serde_json::Value),
}

impl Proxy {
    pub async fn start(
        venue: Venue,
        upstream: String,
        rates: Rates,
        seed: u64,
        arm: Arc<KillArm>,
    ) -> anyhow::Result<Proxy> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            venue,
            upstream,
            // A proxy passes redirects on, it does not follow them.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()?,
            rates,
            calm: AtomicBool::new(false),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            arm,
            fired: Mutex::default(),
            forwarded: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Proxy { url, shared, task })
    }

    /// Faults this proxy injected (its own and those it queued at the simulator).
    pub fn fired(&self) -> BTreeMap<&'static str, u64> {
        self.shared.fired.lock().expect("fired").clone()
    }

    pub fn forwarded(&self) -> HashMap<String, i64> {
        self.shared.forwarded.lock().expect("forwarded").clone()
    }

    /// Stop injecting faults from now on (for the settle phase).
    pub fn calm(&self) {
        self.shared.calm.store(true, Ordering::SeqCst);
    }
}

fn count(shared: &Shared, kind: &'static str) {
    *shared.fired.lock().expect("fired").entry(kind).or_default() += 1;
}

/// Seeded dice for one order request.
fn plan(shared: &Shared) -> Plan {
    if shared.calm.load(Ordering::SeqCst) {
        return Plan::Forward;
    }
    let mut rng = shared.rng.lock().expect("rng");
    let r: f64 = rng.random();
    if r < shared.rates.proxy {
        return match rng.random_range(0..4) {
            0 => Plan::Delay(rng.random_range(100..1500)),
            1 => Plan::ResetBefore,
            2 => Plan::BadGateway,
            _ => Plan::DropAfter,
        };
    }
    if r < shared.rates.proxy + shared.rates.sim {
        let fault = match rng.random_range(0..5) {
            0 => json!({"kind": "server_error_before"}),
            1 => json!({"kind": "server_error_after"}),
            2 => json!({"kind": "drop_after"}),
            3 => json!({"kind": "latency", "ms": rng.random_range(50..500)}),
            _ => json!({"kind": "too_many_requests", "retry_after_secs": 1}),
        };
        return Plan::Sim(fault);
    }
    Plan::Forward
}

async fn forward(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = shared
        .http
        .request(method, format!("{}{path}", shared.upstream));
    for (name, value) in headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            req = req.header(name, value);
        }
    }
    let res = match req.body(body).send().await {
        Ok(res) => res,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = res.status();
    let mut out = HeaderMap::new();
    for (name, value) in res.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.append(name, value.clone());
        }
    }
    match res.bytes().await {
        Ok(bytes) => (status, out, bytes).into_response(),
        Err(_) => atomik_simkit::dropped_connection(),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.venue.is_order(&method, uri.path()) {
        return forward(&shared, method, &uri, &headers, body).await;
    }
    let client_id = shared.venue.client_order_id(&uri, &body);
    let record = |shared: &Shared| {
        if let Some(id) = &client_id {
            shared
                .forwarded
                .lock()
                .expect("forwarded")
                .insert(id.clone(), now_ms());
        }
    };
    if let Some((hold, seen)) = shared.arm.take() {
        count(&shared, "kill_hold");
        let answer = match hold {
            Hold::BeforeForward => None,
            Hold::AfterExecution => {
                record(&shared);
                Some(forward(&shared, method, &uri, &headers, body).await)
            }
        };
        let _ = seen.send(());
        // The server is being killed now; whatever we answer goes nowhere.
        tokio::time::sleep(Duration::from_secs(2)).await;
        return answer.unwrap_or_else(|| StatusCode::BAD_GATEWAY.into_response());
    }
    match plan(&shared) {
        Plan::Forward => {
            record(&shared);
            forward(&shared, method, &uri, &headers, body).await
        }
        Plan::Delay(ms) => {
            count(&shared, "delay");
            tokio::time::sleep(Duration::from_millis(ms)).await;
            record(&shared);
            forward(&shared, method, &uri, &headers, body).await
        }
        Plan::ResetBefore => {
            count(&shared, "reset_before");
            atomik_simkit::dropped_connection()
        }
        Plan::BadGateway => {
            count(&shared, "bad_gateway");
            (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response()
        }
        Plan::DropAfter => {
            count(&shared, "drop_after_execution");
            record(&shared);
            let _ = forward(&shared, method, &uri, &headers, body).await;
            atomik_simkit::dropped_connection()
        }
        Plan::Sim(fault) => {
            count(&shared, "sim_queued");
            let queued = shared
                .http
                .post(format!("{}/_sim/faults", shared.upstream))
                .json(&json!({"queue": [fault]}))
                .send()
                .await;
            if !queued.is_ok_and(|r| r.status().is_success()) {
                count(&shared, "sim_queue_failed");
            }
            record(&shared);
            forward(&shared, method, &uri, &headers, body).await
        }
    }
}
