//! The accept loop: every connection is bounded in time and in number.
//!
//! - **Header-read timeout**: a request's head must arrive within
//!   `header_read_timeout` (slow-header clients are cut off).
//! - **Idle timeout**: a connection with no request in flight and no bytes
//!   moving for `idle_timeout` is closed (idle and keep-alive alike).
//! - **Caps**: at most `max_connections` open at once, and `max_per_ip`
//!   from one address (trusted proxies exempt: they carry everyone). Past a
//!   cap a connection gets a one-line `503` and is closed at once, so a
//!   flood from one address cannot starve the others of file descriptors.
//!
//! HTTP/1.1 only: TradingView and browsers speak it to a server without TLS
//! (a TLS proxy in front may speak HTTP/2 to clients).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Bounds on connections (see the module docs).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// `None`: derived from the process's file-descriptor limit.
    pub max_connections: Option<usize>,
    pub max_per_ip: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            max_per_ip: 256,
        }
    }
}

/// Raise the soft file-descriptor limit to the hard limit (where allowed);
/// returns the limit in force.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or_else(|_| {
        rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
    })
}

/// Connections allowed at once for a file-descriptor limit: a quarter (at
/// least 256) is kept for the database, broker sockets and files.
pub fn connections_for_fd_limit(fd_limit: u64) -> usize {
    let reserve = (fd_limit / 4).max(256);
    fd_limit.saturating_sub(reserve).clamp(16, 50_000) as usize
}

/// What the accept loop has done (for metrics and tests).
#[derive(Default)]
pub struct ConnectionStats {
    pub open: AtomicUsize,
    pub refused_global: AtomicU64,
    pub refused_per_ip: AtomicU64,
    pub closed_idle: AtomicU64,
}

struct Table {
    stats: Arc<ConnectionStats>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_total: usize,
    max_per_ip: usize,
    exempt: Vec<IpAddr>,
}

/// One admitted connection; dropping it frees its slots.
struct Slot {
    table: Arc<Table>,
    ip: IpAddr,
}

impl Table {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        if self.stats.open.load(Ordering::Relaxed) >= self.max_total {
            self.stats.refused_global.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("atomik_connections_refused_total", "cap" => "global").increment(1);
            return None;
        }
        let mut per_ip = self.per_ip.lock().expect("connection table");
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip && !self.exempt.contains(&ip) {
            self.stats.refused_per_ip.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("atomik_connections_refused_total", "cap" => "per_ip").increment(1);
            return None;
        }
        *n += 1;
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.table.per_ip.lock().expect("connection table");
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.table.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Activity on one connection: the last time bytes moved, and requests in
/// flight.
#[derive(Default)]
struct Activity {
    last_ms: AtomicI64,
    in_flight: AtomicUsize,
    epoch: std::sync::OnceLock<Instant>,
}

impl Activity {
    fn touch(&self) {
        let epoch = *self.epoch.get_or_init(Instant::now);
        self.last_ms
            .store(epoch.elapsed().as_millis() as i64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let epoch = *self.epoch.get_or_init(Instant::now);
        let now = epoch.elapsed().as_millis() as i64;
        Duration::from_millis((now - self.last_ms.load(Ordering::Relaxed)).max(0) as u64)
    }
}

/// A socket that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct InFlight(Arc<Activity>);

impl InFlight {
    fn enter(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Serve `router` on `listener` under `limits` until `shutdown` resolves,
/// then let in-flight requests finish. `stats` counts what happened.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    exempt: Vec<IpAddr>,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_total = limits
        .max_connections
        .unwrap_or_else(|| connections_for_fd_limit(raise_fd_limit()));
    let table = Arc::new(Table {
        stats,
        per_ip: Mutex::default(),
        max_total,
        max_per_ip: limits.max_per_ip,
        exempt,
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Every connection task holds a sender; all dropped = all finished.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept error");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = table.admit(peer.ip()) else {
            let _ = stream.try_write(REFUSAL);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            limits.clone(),
            slot,
            stop_rx.clone(),
            done_tx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    slot: Slot,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _done: tokio::sync::mpsc::Sender<()>,
) {
    let activity = Arc::new(Activity::default());
    activity.touch();
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let guard = InFlight::enter(&activity);
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await;
                drop(guard);
                response
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let check_every = (limits.idle_timeout / 4).max(Duration::from_millis(20));
    let mut ticker = tokio::time::interval(check_every);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = ticker.tick(), if !closing => {
                let idle = activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.idle_for() >= limits.idle_timeout;
                if idle {
                    slot.table.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_caps_follow_the_descriptor_limit() {
        assert_eq!(connections_for_fd_limit(1024), 768);
        assert_eq!(connections_for_fd_limit(65_536), 49_152);
        assert_eq!(connections_for_fd_limit(1 << 20), 50_000);
        assert_eq!(connections_for_fd_limit(100), 16);
    }
}
