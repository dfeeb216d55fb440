//! The harness every broker simulator shares, venue-neutral: a queue of
//! injected faults (and a random fault rate), [`with_faults`], which runs a
//! venue's handler under the next fault and produces the HTTP-level outcome
//! (latency, 5xx before or after executing, a hang, a connection dropped
//! after executing, a 429 with `Retry-After`), and a count of every fault
//! that fired, per kind, so a test can assert its faults happened.
//!
//! What only one venue has (Tradovate's penalty ticket, Binance's 418 ban)
//! is the venue's own fault type `V` ([`Fault::Venue`]), answered by the
//! venue; so are the bodies of the venue's 5xx and 429 answers ([`Venue`]).
//!
//! Faults apply to the calls that change something or authenticate; reads
//! are never disturbed, so a test can always look the truth up.

mod http;

pub use http::{HasFaults, faults_router, parse_fault};

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A venue's own faults: each has a kind name under which it is counted.
pub trait VenueFault: Clone + std::fmt::Debug + Send + Sync + 'static {
    fn kind(&self) -> &'static str;
}

/// A venue without faults of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoVenueFault {}

impl VenueFault for NoVenueFault {
    fn kind(&self) -> &'static str {
        match *self {}
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault<V = NoVenueFault> {
    /// Answer after this extra delay (the call still executes normally).
    Latency(Duration),
    /// HTTP 5xx before executing: nothing happened.
    ServerErrorBefore,
    /// Execute, then answer HTTP 5xx.
    ServerErrorAfter,
    /// Hang this long before executing (past the client's timeout).
    TimeoutBefore(Duration),
    /// Execute, then hang this long before answering.
    TimeoutAfter(Duration),
    /// Execute, then drop the connection mid-answer.
    DropAfter,
    /// HTTP 429 with this `Retry-After`, without executing (body from the venue).
    TooManyRequests { retry_after_secs: u64 },
    /// A fault only this venue has, answered by the venue without executing.
    Venue(V),
}

impl<V: VenueFault> Fault<V> {
    /// The name the fault is counted under (parameters aside).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Latency(_) => "latency",
            Fault::ServerErrorBefore => "server_error_before",
            Fault::ServerErrorAfter => "server_error_after",
            Fault::TimeoutBefore(_) => "timeout_before",
            Fault::TimeoutAfter(_) => "timeout_after",
            Fault::DropAfter => "drop_after",
            Fault::TooManyRequests { .. } => "too_many_requests",
            Fault::Venue(v) => v.kind(),
        }
    }
}

pub struct Faults<V = NoVenueFault> {
    queue: Mutex<VecDeque<Fault<V>>>,
    /// Fraction (0..1) of write calls that get a fault, one of these.
    random: Mutex<Option<(f64, Vec<Fault<V>>)>>,
    /// Faults that fired, per kind.
    fired: Mutex<BTreeMap<&'static str, u64>>,
}

impl<V> Default for Faults<V> {
    fn default() -> Self {
        Faults {
            queue: Mutex::default(),
            random: Mutex::default(),
            fired: Mutex::default(),
        }
    }
}

impl<V: VenueFault> Faults<V> {
    /// The next `n` write/auth calls get `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault<V>) {
        let mut q = self.queue.lock().expect("faults");
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// A fraction of every later write/auth call gets `fault`.
    pub fn fail_randomly(&self, fraction: f64, fault: Fault<V>) {
        self.fail_randomly_among(fraction, vec![fault]);
    }

    /// A fraction of every later write/auth call gets one of `faults`
    /// (picked at random); a fraction of 0 or no faults turns it off.
    pub fn fail_randomly_among(&self, fraction: f64, faults: Vec<Fault<V>>) {
        *self.random.lock().expect("faults") =
            (fraction > 0.0 && !faults.is_empty()).then_some((fraction, faults));
    }

    /// The queued faults, in the order they will fire.
    pub fn queued(&self) -> Vec<Fault<V>> {
        self.queue.lock().expect("faults").iter().cloned().collect()
    }

    /// The random rate and the faults it picks from, if set.
    pub fn random(&self) -> Option<(f64, Vec<Fault<V>>)> {
        self.random.lock().expect("faults").clone()
    }

    /// Drop the queued faults and the random rate (the counts stay).
    pub fn clear(&self) {
        self.queue.lock().expect("faults").clear();
        *self.random.lock().expect("faults") = None;
    }

    /// Queued faults that have not fired yet.
    pub fn pending(&self) -> usize {
        self.queue.lock().expect("faults").len()
    }

    /// How many faults of `fault`'s kind fired (its parameters aside).
    pub fn fired(&self, fault: &Fault<V>) -> u64 {
        self.fired_kind(fault.kind())
    }

    /// How many faults of this kind (see [`Fault::kind`]) fired.
    pub fn fired_kind(&self, kind: &str) -> u64 {
        self.fired
            .lock()
            .expect("faults")
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    /// Every fault that fired, of any kind.
    pub fn fired_total(&self) -> u64 {
        self.fired.lock().expect("faults").values().sum()
    }

    /// Fired faults per kind.
    pub fn fired_by_kind(&self) -> BTreeMap<&'static str, u64> {
        self.fired.lock().expect("faults").clone()
    }

    /// Take the fault the next call gets, counting it as fired.
    fn take(&self) -> Option<Fault<V>> {
        let queued = self.queue.lock().expect("faults").pop_front();
        let fault = queued.or_else(|| {
            let random = self.random.lock().expect("faults").clone();
            match random {
                Some((p, fs)) if rand::random::<f64>() < p => {
                    Some(fs[rand::random_range(0..fs.len())].clone())
                }
                _ => None,
            }
        })?;
        *self
            .fired
            .lock()
            .expect("faults")
            .entry(fault.kind())
            .or_default() += 1;
        Some(fault)
    }
}

/// What a venue answers under a fault: its own faults, and the bodies of its
/// 5xx and 429 answers.
pub trait Venue<V> {
    /// A venue fault's answer (nothing was executed).
    fn venue_fault(&self, fault: &V) -> Response;

    /// The 5xx answer; `executed` tells whether the call ran first.
    fn server_error(&self, executed: bool) -> Response {
        let _ = executed;
        (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
    }

    /// The 429 body; the harness sets the status and `Retry-After`.
    fn rate_limited(&self, retry_after_secs: u64) -> Response {
        let _ = retry_after_secs;
        StatusCode::TOO_MANY_REQUESTS.into_response()
    }
}

/// Run `exec` under the next injected fault, if any; `venue` supplies the
/// venue's own answers.
pub async fn with_faults<V: VenueFault>(
    faults: &Faults<V>,
    venue: &impl Venue<V>,
    exec: impl FnOnce() -> Response,
) -> Response {
    match faults.take() {
        None => exec(),
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            exec()
        }
        Some(Fault::ServerErrorBefore) => venue.server_error(false),
        Some(Fault::ServerErrorAfter) => {
            let _ = exec();
            venue.server_error(true)
        }
        Some(Fault::TimeoutBefore(d)) => {
            tokio::time::sleep(d).await;
            (StatusCode::GATEWAY_TIMEOUT, "timeout").into_response()
        }
        Some(Fault::TimeoutAfter(d)) => {
            let r = exec();
            tokio::time::sleep(d).await;
            r
        }
        Some(Fault::DropAfter) => {
            let _ = exec();
            dropped_connection()
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut resp = venue.rate_limited(retry_after_secs);
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            resp
        }
        Some(Fault::Venue(v)) => venue.venue_fault(&v),
    }
}

/// A 200 whose body breaks off: the client sees the connection reset.
pub fn dropped_connection() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "dropped",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(broken),
    )
        .into_response()
}

/// A simulator's HTTP server, serving until shut down. Handlers can read the
/// client's address (`ConnectInfo<SocketAddr>`), e.g. for per-IP limits.
pub struct Served {
    addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub async fn start(bind: SocketAddr, app: axum::Router) -> std::io::Result<Served> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Served {
            addr,
            shutdown,
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    enum Own {
        Special,
    }

    impl VenueFault for Own {
        fn kind(&self) -> &'static str {
            "special"
        }
    }

    struct Plain;

    impl Venue<Own> for Plain {
        fn venue_fault(&self, _: &Own) -> Response {
            StatusCode::IM_A_TEAPOT.into_response()
        }
    }

    fn ok() -> Response {
        StatusCode::OK.into_response()
    }

    #[tokio::test]
    async fn every_fault_is_counted_by_kind_when_it_fires() {
        let faults = Faults::<Own>::default();
        faults.fail_next(2, Fault::DropAfter);
        faults.fail_next(1, Fault::Venue(Own::Special));
        faults.fail_next(
            1,
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        );
        assert_eq!(faults.fired_total(), 0, "queued is not fired");
        assert_eq!(faults.pending(), 4);

        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(with_faults(&faults, &Plain, ok).await);
        }
        assert_eq!(statuses[2].status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(statuses[3].status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(statuses[3].headers()[header::RETRY_AFTER], "7");
        assert_eq!(statuses[4].status(), StatusCode::OK);
        assert_eq!(faults.fired(&Fault::DropAfter), 2);
        assert_eq!(faults.fired(&Fault::Venue(Own::Special)), 1);
        assert_eq!(faults.fired_kind("too_many_requests"), 1);
        assert_eq!(faults.fired(&Fault::ServerErrorAfter), 0);
        assert_eq!(faults.fired_total(), 4);
        assert_eq!(faults.pending(), 0);
    }

    #[tokio::test]
    async fn server_error_after_executes_and_before_does_not() {
        let faults = Faults::<NoVenueFault>::default();
        struct Neutral;
        impl Venue<NoVenueFault> for Neutral {
            fn venue_fault(&self, f: &NoVenueFault) -> Response {
                match *f {}
            }
        }
        let ran = std::cell::Cell::new(0);
        faults.fail_next(1, Fault::ServerErrorAfter);
        faults.fail_next(1, Fault::ServerErrorBefore);
        for _ in 0..2 {
            let r = with_faults(&faults, &Neutral, || {
                ran.set(ran.get() + 1);
                ok()
            })
            .await;
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        assert_eq!(ran.get(), 1);
        assert_eq!(faults.fired_total(), 2);
    }

    #[test]
    fn a_random_rate_counts_what_fired() {
        let faults = Faults::<NoVenueFault>::default();
        faults.fail_randomly(1.0, Fault::DropAfter);
        for _ in 0..3 {
            assert!(faults.take().is_some());
        }
        faults.clear();
        assert!(faults.take().is_none());
        assert_eq!(faults.fired(&Fault::DropAfter), 3);
    }
}
