//! Operations endpoints (`/healthz`, `/readyz`, `/metrics`) and HTTP metrics.
//!
//! `/metrics` lists per-route traffic, so it is not public: on the main
//! listener it answers only a bearer token equal to `metrics_token`
//! (compared in constant time); without a token configured it is not served
//! there at all. [`metrics_routes`] is the unauthenticated router for a
//! separate, private listen address (`metrics_listen`).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(protected_metrics))
}

/// `/metrics` without authentication, for a listener on a private address.
pub fn metrics_routes() -> Router {
    Router::new().route("/metrics", get(metrics_text))
}

/// The process-wide Prometheus recorder (installed once, on first use).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests embedding several
        // apps in one process); then this handle still renders our series.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db().ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ready", "database": "ok"})).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}

async fn metrics_text() -> String {
    prometheus().render()
}

async fn protected_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    use subtle::ConstantTimeEq;
    let Some(expected) = state.config().metrics_token.as_ref() else {
        return crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_not_exposed",
            "Metrics are not served here: set metrics_token (then scrape with that bearer token) or metrics_listen (a private address).",
        )
        .into_response();
    };
    let supplied = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(supplied.as_bytes().ct_eq(expected.expose().as_bytes())) {
        metrics_text().await.into_response()
    } else {
        let mut e = crate::error::ApiError::new(
            StatusCode::UNAUTHORIZED,
            "metrics_token_required",
            "Send the configured metrics token as `Authorization: Bearer …`.",
        )
        .into_response();
        e.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        e
    }
}

/// Counts requests and their latency per route template (never per raw path,
/// which would leak tokens into labels and explode cardinality).
pub async fn track_http(req: Request, next: Next) -> Response {
    prometheus();
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("atomik_http_requests_total", &labels).increment(1);
    metrics::histogram!("atomik_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
