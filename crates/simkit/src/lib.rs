//! The harness every broker simulator shares: a queue of injected faults
//! (and a random fault rate), and [`with_faults`], which runs a venue's
//! handler under the next fault and produces the HTTP-level outcome
//! (latency, 5xx before or after executing, a hang, a connection dropped
//! after executing). Venue-specific answers (Tradovate's penalty ticket,
//! Binance's 418 ban, each venue's 429 body) come from the venue.
//!
//! Faults apply to the calls that change something or authenticate; reads
//! are never disturbed, so a test can always look the truth up.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer after this extra delay (the call still executes normally).
    Latency(Duration),
    /// HTTP 500 before executing: nothing happened.
    ServerErrorBefore,
    /// Execute, then answer HTTP 500.
    ServerErrorAfter,
    /// Hang this long before executing (past the client's timeout).
    TimeoutBefore(Duration),
    /// Execute, then hang this long before answering.
    TimeoutAfter(Duration),
    /// Execute, then drop the connection mid-answer.
    DropAfter,
    /// Tradovate: HTTP 200 `{"p-ticket", "p-time", "p-captcha"}` without executing.
    Penalty { p_time_secs: u64, captcha: bool },
    /// HTTP 429 with this `Retry-After`, without executing.
    TooManyRequests { retry_after_secs: u64 },
    /// Binance: HTTP 418 (IP banned) with this `Retry-After`, without executing.
    Banned { retry_after_secs: u64 },
}

#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Fault>>,
    /// Fraction (0..1) of write calls that get a fault.
    random: Mutex<Option<(f64, Fault)>>,
}

impl Faults {
    /// The next `n` write/auth calls get `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut q = self.queue.lock().expect("faults");
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// A fraction of every later write/auth call gets `fault`.
    pub fn fail_randomly(&self, fraction: f64, fault: Fault) {
        *self.random.lock().expect("faults") = Some((fraction, fault));
    }

    pub fn clear(&self) {
        self.queue.lock().expect("faults").clear();
        *self.random.lock().expect("faults") = None;
    }

    pub fn next(&self) -> Option<Fault> {
        if let Some(f) = self.queue.lock().expect("faults").pop_front() {
            return Some(f);
        }
        let random = self.random.lock().expect("faults").clone();
        match random {
            Some((p, f)) if rand::random::<f64>() < p => Some(f),
            _ => None,
        }
    }
}

/// Run `exec` under the next injected fault, if any. Faults the harness
/// cannot express generically (penalty tickets, bans, 429 bodies) are
/// answered by `venue`, without executing.
pub async fn with_faults(
    faults: &Faults,
    exec: impl FnOnce() -> Response,
    venue: impl FnOnce(&Fault) -> Response,
) -> Response {
    match faults.next() {
        None => exec(),
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            exec()
        }
        Some(Fault::ServerErrorBefore) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(Fault::ServerErrorAfter) => {
            let _ = exec();
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
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
        Some(other) => venue(&other),
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
