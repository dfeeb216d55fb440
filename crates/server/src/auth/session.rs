//! Server-side sessions in a cookie (opaque 256-bit id, HttpOnly, SameSite=Lax,
//! Secure + `__Host-` when served over TLS), CSRF protection for every
//! state-changing request, and the extractors handlers use to learn who calls.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;

use atomik_storage::sessions::{self, SessionRow};
use atomik_storage::users::{self, User};

use crate::AppState;
use crate::auth::tokens::digest;
use crate::error::ApiError;

/// The session found for this request, if any (put in request extensions by
/// [`session_layer`]).
#[derive(Clone)]
pub struct SessionCtx {
    pub id_hash: String,
    pub row: SessionRow,
}

/// Webhook ingress (`POST /api/v1/webhooks/{token}`) is authenticated by the
/// webhook's own secret, not by ambient cookies, so it needs no CSRF token.
/// Only that exact method and shape are exempt: `DELETE` on the same path
/// (deleting a webhook) and the management paths below it are not.
fn csrf_exempt(method: &Method, path: &str) -> bool {
    crate::ingress::is_ingress(method, path)
}

/// How a request authenticates: exactly one mechanism. An API request that
/// carries `Authorization: Bearer …` is judged by that token alone (its
/// cookies are ignored, so it needs no CSRF token: a browser never attaches
/// a bearer header on its own); every other request by its session cookie.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mechanism {
    Bearer,
    Cookie,
}

fn uses_bearer(path: &str, headers: &axum::http::HeaderMap) -> bool {
    path.starts_with("/api/") && has_bearer(headers)
}

pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config().secure_cookies {
        "__Host-atomik_session"
    } else {
        "atomik_session"
    }
}

/// The double-submit CSRF cookie used by forms shown before log-in.
pub fn pre_session_cookie_name(state: &AppState) -> &'static str {
    if state.config().secure_cookies {
        "__Host-atomik_csrf"
    } else {
        "atomik_csrf"
    }
}

pub fn build_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(state.config().secure_cookies);
    c.set_max_age(time::Duration::seconds(max_age_secs));
    c
}

pub fn removal_cookie(state: &AppState, name: &'static str) -> Cookie<'static> {
    build_cookie(state, name, String::new(), 0)
}

fn has_bearer(parts: &axum::http::HeaderMap) -> bool {
    parts
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A refusal in the caller's language: JSON under `/api`, a small page elsewhere.
pub fn refuse(path: &str, status: StatusCode, code: &'static str, message: &str) -> Response {
    if path.starts_with("/api/") {
        ApiError::new(status, code, message).into_response()
    } else {
        crate::web::message_page(status, "Request refused", message)
    }
}

/// Resolves the session cookie once per request and enforces CSRF on
/// state-changing requests that rely on cookies.
pub async fn session_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let now = state.now_ms();
    let path = req.uri().path().to_string();
    let bearer = uses_bearer(&path, req.headers());
    let mut session = None;
    if !bearer && let Some(cookie) = jar.get(session_cookie_name(&state)) {
        let id_hash = digest(cookie.value());
        match sessions::find(state.db(), &id_hash, now).await {
            Ok(Some(row)) => session = Some(SessionCtx { id_hash, row }),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(error = %err, "session lookup failed");
                return ApiError::internal().into_response();
            }
        }
    }
    let mut req = req;
    if is_state_changing(req.method()) && !csrf_exempt(req.method(), &path) && !bearer {
        let expected = match &session {
            Some(s) => Some(s.row.csrf_token.clone()),
            None => jar
                .get(pre_session_cookie_name(&state))
                .map(|c| c.value().to_string()),
        };
        match check_csrf(req, expected.as_deref()).await {
            Ok(rebuilt) => req = rebuilt,
            Err(message) => {
                tracing::warn!(path = %path, reason = message, "CSRF check refused a request");
                return refuse(&path, StatusCode::FORBIDDEN, "csrf_failed", message);
            }
        }
    }
    req.extensions_mut().insert(session);
    req.extensions_mut().insert(if bearer {
        Mechanism::Bearer
    } else {
        Mechanism::Cookie
    });
    next.run(req).await
}

/// Checks Fetch Metadata / Origin, then the synchronizer token from the
/// `X-CSRF-Token` header or the `csrf` form field. Returns the request (its
/// body re-assembled if it was read).
async fn check_csrf(req: Request, expected: Option<&str>) -> Result<Request, &'static str> {
    let headers = req.headers();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err("Cross-site request refused.");
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if origin != "null" && origin_host != host {
            return Err("Cross-origin request refused.");
        }
    }
    let Some(expected) = expected.filter(|e| !e.is_empty()) else {
        return Err("Missing CSRF token: reload the page and try again.");
    };
    if let Some(supplied) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if bool::from(supplied.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(req)
        } else {
            Err("Invalid CSRF token: reload the page and try again.")
        };
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(
            "Missing CSRF token: send the X-CSRF-Token header (API clients: use a bearer token instead).",
        );
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| "Request body too large or unreadable.")?;
    let supplied = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v)
        });
    match supplied {
        Some(s) if bool::from(s.as_bytes().ct_eq(expected.as_bytes())) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        Some(_) => Err("Invalid CSRF token: reload the page and try again."),
        None => Err("Missing CSRF token: reload the page and try again."),
    }
}

/// An authenticated caller.
#[derive(Clone)]
pub struct Authed {
    pub user: User,
    pub via: AuthVia,
}

#[derive(Clone)]
pub enum AuthVia {
    /// Dashboard session; the CSRF token is rendered into its forms.
    Session { csrf_token: String, id_hash: String },
    /// Personal API token.
    Token,
}

impl Authed {
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            AuthVia::Session { csrf_token, .. } => csrf_token,
            AuthVia::Token => "",
        }
    }
}

fn session_of(parts: &Parts) -> Option<SessionCtx> {
    parts
        .extensions
        .get::<Option<SessionCtx>>()
        .cloned()
        .flatten()
}

async fn user_of_session(
    state: &AppState,
    session: SessionCtx,
) -> Result<Option<Authed>, ApiError> {
    if session.row.mfa_pending {
        return Ok(None);
    }
    Ok(users::find(state.db(), &session.row.user_id)
        .await?
        .map(|user| Authed {
            user,
            via: AuthVia::Session {
                csrf_token: session.row.csrf_token,
                id_hash: session.id_hash,
            },
        }))
}

/// API callers: a bearer token, or a complete dashboard session.
impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Decided once by `session_layer`, on the full path (nested routers
        // see a shortened one).
        if parts.extensions.get::<Mechanism>() == Some(&Mechanism::Bearer) {
            let value = parts.headers[header::AUTHORIZATION].to_str().unwrap_or("");
            let token = value[7..].trim();
            let user_id = atomik_storage::tokens::authenticate(state.db(), &digest(token), state.now_ms())
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "The API token is unknown or revoked: create a new one under Settings > API tokens.",
                    )
                })?;
            let user = users::find(state.db(), &user_id)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            return Ok(Authed {
                user,
                via: AuthVia::Token,
            });
        }
        match session_of(parts) {
            Some(session) => user_of_session(state, session)
                .await?
                .ok_or_else(ApiError::unauthorized),
            None => Err(ApiError::unauthorized()),
        }
    }
}

/// Dashboard pages: a complete session, or a redirect to the log-in page.
pub struct WebUser(pub Authed);

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = match session_of(parts) {
            Some(session) => user_of_session(state, session)
                .await
                .map_err(IntoResponse::into_response)?,
            None => None,
        };
        found
            .map(WebUser)
            .ok_or_else(|| Redirect::to("/login").into_response())
    }
}

/// A session that has passed the password step but still owes a second factor.
pub struct PendingMfa(pub SessionCtx);

impl FromRequestParts<AppState> for PendingMfa {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_of(parts) {
            Some(s) if s.row.mfa_pending => Ok(PendingMfa(s)),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The client's IP address (proxy headers believed only from trusted proxies).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(crate::net::client_ip(
            peer,
            &parts.headers,
            &state.config().trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::csrf_exempt;
    use axum::http::Method;

    #[test]
    fn only_webhook_ingress_is_exempt_from_csrf() {
        let post = |p| csrf_exempt(&Method::POST, p);
        assert!(post("/api/v1/webhooks/abc123"));
        assert!(!csrf_exempt(&Method::DELETE, "/api/v1/webhooks/abc123"));
        assert!(!csrf_exempt(&Method::PUT, "/api/v1/webhooks/abc123"));
        assert!(!post("/api/v1/webhooks/abc123/rotate"));
        assert!(!post("/api/v1/webhooks/"));
        assert!(!post("/api/v1/webhooks"));
        assert!(!post("/api/v1/tokens"));
    }
}
