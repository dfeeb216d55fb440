//! atomik's HTTP server: the dashboard (server-rendered HTML), the REST API
//! under `/api/v1`, health and metrics.

pub mod api;
pub mod auth;
pub mod config;
pub mod connections;
pub mod error;
pub mod hooks;
pub mod ingress;
mod net;
pub mod ops;
mod state;
pub mod summary;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

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
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .with_state(state)
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
