//! Security headers on every answer: a strict Content-Security-Policy (the
//! dashboard has no script and no inline style, so nothing needs an
//! exception), no framing (Disconnect, Delete and the kill switch cannot be
//! clickjacked), no MIME sniffing, no referrer (webhook URLs carry their
//! token), and `Cache-Control: no-store` on everything but the static
//! assets, so a page that showed a new secret or token is never cached.
//! HSTS when atomik is served over HTTPS (`secure_cookies`).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// `form-action` is left out on purpose: connecting a broker posts a form
/// that redirects to the broker's OAuth page, which `form-action 'self'`
/// would block.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'";

pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub async fn add(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if state.config().secure_cookies {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
