//! atomik's HTTP server: the dashboard (server-rendered HTML), the REST API
//! under `/api/v1`, health and metrics.

pub mod api;
pub mod auth;
mod body_limit;
pub mod config;
pub mod connections;
pub mod error;
mod halt_hint;
pub mod hooks;
pub mod ingress;
pub mod listener;
mod net;
pub mod ops;
pub mod ratelimit;
pub mod redact;
pub mod refusals;
pub mod security_headers;
mod state;
pub mod summary;
pub mod web;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use config::{ServerConfig, ThrottleConfig};
pub use state::{AppState, Services};

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(web::routes())
        .nest("/api/v1", api::routes())
        .merge(ops::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::session::session_layer,
        ))
        .layer(axum::middleware::from_fn(ops::track_http))
        .layer(axum::middleware::from_fn(body_limit::limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers::add,
        ))
        .with_state(state)
}

/// Serve until `shutdown` resolves, then finish in-flight requests; every
/// connection bounded as [`listener`] describes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().connections.clone();
    let exempt = state.config().trusted_proxies.clone();
    let stats = state.connection_stats().clone();
    listener::serve(listener, router(state), limits, exempt, stats, shutdown).await
}
