//! The request body limit, answered in the caller's language.
//!
//! Bodies over [`MAX_BODY_BYTES`] are refused with the JSON error body
//! under `/api` (a page elsewhere) — never the plain-text "length limit
//! exceeded" of the layers underneath. Webhook ingress enforces the limit
//! itself, so the refusal reaches the webhook's Logs tab.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::session::refuse;
use crate::ingress::{MAX_BODY_BYTES, is_ingress};

fn too_large(path: &str) -> Response {
    refuse(
        path,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("The request body is over {} KiB.", MAX_BODY_BYTES / 1024),
    )
}

pub async fn limit(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_ingress(req.method(), &path) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large(&path);
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)));
    let response = next.run(req).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return too_large(&path);
    }
    response
}
