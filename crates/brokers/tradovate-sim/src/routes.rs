//! The simulator's HTTP surface, with Tradovate's paths and field names.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Shared;
use super::TradovateFault;
use super::state::{self, AuthCall, AuthCallKind};
use super::wire::{self, format_time_ms, s256};

type S = State<Arc<Shared>>;

/// The router behind a layer that lower-cases paths before routing
/// (Tradovate's docs use `placeOrder` and `placeorder` alike).
pub fn service(shared: Arc<Shared>) -> Router {
    let routes = Router::new()
        .route("/oauth", get(authorize_page))
        .route("/oauth/authorize", post(authorize_submit))
        .route("/auth/oauthtoken", post(oauth_token))
        .route("/v1/auth/oauthtoken", post(oauth_token))
        .route("/v1/auth/renewaccesstoken", get(renew).post(renew))
        .route("/v1/auth/me", get(me))
        .route("/v1/account/list", get(account_list))
        .route(
            "/v1/cashbalance/getcashbalancesnapshot",
            post(cash_snapshot),
        )
        .route("/v1/position/list", get(position_list))
        .route("/v1/order/placeorder", post(place_order))
        .route("/v1/order/cancelorder", post(cancel_order))
        .route("/v1/order/list", get(order_list))
        .route("/v1/order/item", get(order_item))
        .route("/v1/command/list", get(command_list))
        .route("/v1/fill/deps", get(fill_deps))
        .route("/v1/contract/find", get(contract_find))
        .route("/v1/contract/item", get(contract_item))
        .route("/v1/contract/rollcontract", post(roll_contract))
        .route("/_sim/orders", get(sim_ledger))
        .merge(atomik_simkit::faults_router())
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(unknown_endpoint)
        .with_state(shared);
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(lowercase_path))
}

/// An endpoint the simulator does not implement: 404 in Tradovate's error
/// shape (`errorText`), never an empty body.
async fn unknown_endpoint(method: axum::http::Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"errorText": format!("{method} {} is not an endpoint of the Tradovate simulator", uri.path())})),
    )
        .into_response()
}

async fn lowercase_path(mut req: Request) -> Request {
    let path = req.uri().path().to_ascii_lowercase();
    let rebuilt = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(uri) = rebuilt.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    req
}

fn now(shared: &Shared) -> i64 {
    shared.config.clock.now_ms()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errorText": "Access is denied"})),
    )
        .into_response()
}

/// The user behind the request's bearer token, if it is live.
fn authed(shared: &Shared, headers: &HeaderMap) -> Option<i64> {
    let token = bearer(headers)?;
    let state = shared.state.lock().expect("sim state");
    state.user_of(&token, now(shared))
}

/// Tradovate's answers under a fault: the penalty ticket; 429 with an empty
/// body (as Tradovate sends it); a plain 500.
impl atomik_simkit::HasFaults<TradovateFault> for Shared {
    fn faults(&self) -> &crate::Faults {
        &self.faults
    }
}

impl atomik_simkit::Venue<TradovateFault> for Shared {
    fn venue_fault(&self, fault: &TradovateFault) -> Response {
        match *fault {
            TradovateFault::Penalty {
                p_time_secs,
                captcha,
            } => Json(json!({
                "p-ticket": format!("ticket-{}", uuid::Uuid::new_v4().simple()),
                "p-time": p_time_secs,
                "p-captcha": captcha,
            }))
            .into_response(),
        }
    }
}

/// Run `exec` under the next injected fault, if any.
async fn with_faults(shared: &Shared, exec: impl FnOnce() -> Response) -> Response {
    atomik_simkit::with_faults(&shared.faults, shared, exec).await
}

/// Count an auth call against the configured limit; `false` = over it.
fn admit_auth_call(shared: &Shared, kind: AuthCallKind) -> bool {
    let at = now(shared);
    let mut state = shared.state.lock().expect("sim state");
    let ok = match shared.config.auth_rate_limit {
        Some((max, window)) => {
            let since = at - window.as_millis() as i64;
            state.auth_calls.iter().filter(|c| c.at_ms > since).count() < max as usize
        }
        None => true,
    };
    state.auth_calls.push(AuthCall {
        at_ms: at,
        kind,
        ok,
    });
    ok
}

fn mark_last_auth_failed(shared: &Shared) {
    if let Some(last) = shared
        .state
        .lock()
        .expect("sim state")
        .auth_calls
        .last_mut()
    {
        last.ok = false;
    }
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} · Tradovate (simulator)</title>\
         <style>body{{font:15px system-ui;margin:3rem auto;max-width:420px}}input{{display:block;width:100%;margin:.3rem 0 .8rem;padding:.4rem}}\
         button{{padding:.5rem 1.2rem;background:#0b5;border:0;color:#fff;border-radius:4px}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Validate the client and its exact redirect URI.
fn check_client(shared: &Shared, client_id: &str, redirect_uri: &str) -> Result<(), String> {
    let client = shared
        .config
        .clients
        .iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| format!("unknown client_id {client_id:?}"))?;
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err("redirect_uri is not registered for this application".into());
    }
    Ok(())
}

async fn authorize_page(State(shared): S, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<p>response_type must be <code>code</code>.</p>",
        );
    }
    if let Err(e) = check_client(&shared, &get("client_id"), &get("redirect_uri")) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            &format!("<p>{}</p>", esc(&e)),
        );
    }
    if !q.contains_key("code_challenge") || get("code_challenge_method") != "S256" {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<p>PKCE with S256 is required.</p>",
        );
    }
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|k| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(&get(k))
        )
    })
    .collect();
    let user = shared
        .config
        .users
        .first()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let pass = shared
        .config
        .users
        .first()
        .map(|u| u.password.clone())
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Authorize atomik",
        &format!(
            "<p><strong>atomik</strong> asks to place and cancel orders and read positions and balances. \
             No withdrawals, no account settings.</p>\
             <form method=\"post\" action=\"/oauth/authorize\">{hidden}\
             <label>Username<input name=\"username\" value=\"{}\"></label>\
             <label>Password<input type=\"password\" name=\"password\" value=\"{}\"></label>\
             <button type=\"submit\" id=\"authorize\">Authorize</button></form>",
            esc(&user),
            esc(&pass)
        ),
    )
}

async fn authorize_submit(State(shared): S, body: Bytes) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
    if let Err(e) = check_client(&shared, &client_id, &redirect_uri) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            &format!("<p>{}</p>", esc(&e)),
        );
    }
    let user = shared
        .config
        .users
        .iter()
        .find(|u| u.username == get("username") && u.password == get("password"))
        .map(|u| u.user_id);
    let Some(user_id) = user else {
        return page(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            "<p>Wrong username or password.</p>",
        );
    };
    let code = uuid::Uuid::new_v4().simple().to_string();
    shared.state.lock().expect("sim state").codes.insert(
        code.clone(),
        state::Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            code_challenge: form.get("code_challenge").cloned(),
            user_id,
            expires_at: now(&shared) + 60_000,
        },
    );
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = serde_urlencoded::to_string([("state", get("state"))]).unwrap_or_default();
    Redirect::to(&format!("{redirect_uri}{sep}code={code}&{state}")).into_response()
}

fn oauth_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

/// Token exchange: form or JSON body, with or without `/v1`.
async fn oauth_token(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let form: HashMap<String, String> = if is_json {
        serde_json::from_slice::<HashMap<String, Value>>(&body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    if !admit_auth_call(&shared, AuthCallKind::Exchange) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let shared2 = shared.clone();
    with_faults(&shared, move || {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        if get("grant_type") != "authorization_code" {
            mark_last_auth_failed(&shared2);
            return oauth_error("grant_type must be authorization_code");
        }
        let at = now(&shared2);
        let mut state = shared2.state.lock().expect("sim state");
        let Some(code) = state.codes.remove(&get("code")) else {
            drop(state);
            mark_last_auth_failed(&shared2);
            return oauth_error("the code is unknown or was already used");
        };
        let client_ok =
            shared2.config.clients.iter().any(|c| {
                c.client_id == get("client_id") && c.client_secret == get("client_secret")
            });
        let failure = if code.expires_at <= at {
            Some("the code has expired")
        } else if !client_ok || code.client_id != get("client_id") {
            Some("client authentication failed")
        } else if code.redirect_uri != get("redirect_uri") {
            Some("redirect_uri does not match the authorization request")
        } else if let Some(challenge) = &code.code_challenge {
            match form.get("code_verifier") {
                None => Some("code_verifier is required (PKCE)"),
                Some(v) if s256(v) != *challenge => {
                    Some("code_verifier does not match the code_challenge")
                }
                Some(_) => None,
            }
        } else {
            None
        };
        if let Some(f) = failure {
            drop(state);
            mark_last_auth_failed(&shared2);
            return oauth_error(f);
        }
        let lifetime = shared2.config.token_lifetime.as_millis() as i64;
        let (token, _) = state.issue_token(code.user_id, at, lifetime);
        Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime / 1000}))
            .into_response()
    })
    .await
}

async fn renew(State(shared): S, headers: HeaderMap) -> Response {
    if !admit_auth_call(&shared, AuthCallKind::Renew) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let shared2 = shared.clone();
    with_faults(&shared, move || {
        let Some(user) = authed(&shared2, &headers) else {
            mark_last_auth_failed(&shared2);
            return unauthorized();
        };
        let at = now(&shared2);
        let lifetime = shared2.config.token_lifetime.as_millis() as i64;
        let mut state = shared2.state.lock().expect("sim state");
        let (token, expires) = state.issue_token(user, at, lifetime);
        let name = state.user(user).map(|u| u.name.clone()).unwrap_or_default();
        Json(json!({
            "accessToken": token, "expirationTime": format_time_ms(expires), "userId": user,
            "name": name, "userStatus": "Active", "passwordExpirationTime": format_time_ms(expires + 86_400_000 * 90),
        }))
        .into_response()
    })
    .await
}

async fn me(State(shared): S, headers: HeaderMap) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let state = shared.state.lock().expect("sim state");
    let u = state.user(user).expect("token user exists");
    Json(json!({"userId": u.user_id, "name": u.username, "fullName": u.name, "email": format!("{}@example.com", u.username), "emailVerified": true, "isTrial": false})).into_response()
}

async fn account_list(State(shared): S, headers: HeaderMap) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let state = shared.state.lock().expect("sim state");
    let accounts: Vec<Value> = state
        .user(user)
        .map(|u| {
            u.accounts
                .iter()
                .map(|a| json!({"id": a.id, "name": a.name, "userId": user, "accountType": "Customer", "active": true, "clearingHouseId": 1, "riskCategoryId": 1, "autoLiqProfileId": 1, "marginAccountType": "Speculator", "legalStatus": "Individual", "readonly": false}))
                .collect()
        })
        .unwrap_or_default();
    Json(accounts).into_response()
}

async fn cash_snapshot(State(shared): S, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let account_id = body.get("accountId").and_then(Value::as_i64).unwrap_or(0);
    let state = shared.state.lock().expect("sim state");
    let cash = state
        .user(user)
        .and_then(|u| u.accounts.iter().find(|a| a.id == account_id))
        .map(|a| a.cash);
    match cash {
        Some(cash) => Json(json!({"totalCashValue": cash, "totalPnL": 0, "initialMargin": 0, "maintenanceMargin": 0, "netLiq": cash, "openPnL": 0, "realizedPnL": 0, "weekRealizedPnL": 0})).into_response(),
        None => Json(json!({"errorText": "Access is denied"})).into_response(),
    }
}

async fn position_list(State(shared): S, headers: HeaderMap) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let at = now(&shared);
    let state = shared.state.lock().expect("sim state");
    let list: Vec<Value> = state
        .positions
        .iter()
        .filter(|p| state.owns_account(user, p.account_id))
        .enumerate()
        .map(|(i, p)| json!({"id": i as i64 + 1, "accountId": p.account_id, "contractId": p.contract_id, "timestamp": format_time_ms(at), "netPos": p.net_pos, "netPrice": state::price_of(&p.symbol), "bought": 0, "boughtValue": 0, "sold": 0, "soldValue": 0, "prevPos": 0}))
        .collect();
    Json(list).into_response()
}

fn failure(reason: &str, text: &str) -> Response {
    Json(json!({"failureReason": reason, "failureText": text})).into_response()
}

async fn place_order(State(shared): S, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let shared2 = shared.clone();
    with_faults(&shared, move || {
        let order: wire::PlaceOrder = match serde_json::from_value(body) {
            Ok(o) => o,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"errorText": e.to_string()})),
                )
                    .into_response();
            }
        };
        let at = now(&shared2);
        let mut state = shared2.state.lock().expect("sim state");
        if !state.owns_account(user, order.account_id) {
            return failure("Unauthorized", "Access is denied for this account");
        }
        if !order.is_automated {
            return failure(
                "Unsupported",
                "isAutomated must be true for orders placed by automated systems",
            );
        }
        if order.order_qty <= 0 {
            return failure("UnknownReason", "orderQty must be positive");
        }
        let Some((contract_id, symbol)) = state::contract_by_name(&order.symbol, at) else {
            return failure(
                "InvalidContract",
                &format!("Unknown contract symbol {}", order.symbol),
            );
        };
        let market = order.order_type == "Market";
        if !market && order.order_type != "Limit" {
            return failure(
                "Unsupported",
                &format!("orderType {} is not supported here", order.order_type),
            );
        }
        if order.action != "Buy" && order.action != "Sell" {
            return failure("UnknownReason", "action must be Buy or Sell");
        }
        let placement = state::Placement {
            account_id: order.account_id,
            cl_ord_id: &order.cl_ord_id,
            symbol: &symbol,
            contract_id,
            action: &order.action,
            qty: order.order_qty,
            market,
        };
        if let Err((required, available)) = state.check_margin(&placement) {
            return failure(
                "OtherExecutionRelated",
                &format!(
                    "Insufficient buying power: the order needs {} USD of initial margin, the account has {} USD available",
                    required.round_dp(2),
                    available.round_dp(2)
                ),
            );
        }
        let id = state.place(placement, at);
        Json(json!({"orderId": id})).into_response()
    })
    .await
}

async fn cancel_order(State(shared): S, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let shared2 = shared.clone();
    with_faults(&shared, move || {
        let order_id = body.get("orderId").and_then(Value::as_i64).unwrap_or(0);
        let mut state = shared2.state.lock().expect("sim state");
        let owned = state
            .orders
            .iter()
            .any(|o| o.id == order_id && state.owns_account(user, o.account_id));
        if !owned {
            return failure("UnknownReason", "Unknown order");
        }
        let order = state
            .orders
            .iter_mut()
            .find(|o| o.id == order_id)
            .expect("exists");
        if order.status != "Working" {
            return failure("TooLate", "The order is no longer working");
        }
        order.status = "Canceled".into();
        let command_id = state.next_id();
        Json(json!({"commandId": command_id})).into_response()
    })
    .await
}

fn order_json(o: &state::SimOrder) -> Value {
    json!({"id": o.id, "accountId": o.account_id, "contractId": o.contract_id, "timestamp": format_time_ms(o.received_at_ms), "action": o.action, "ordStatus": o.status, "admin": false})
}

async fn order_list(State(shared): S, headers: HeaderMap) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let state = shared.state.lock().expect("sim state");
    let list: Vec<Value> = state
        .orders
        .iter()
        .filter(|o| state.owns_account(user, o.account_id))
        .map(order_json)
        .collect();
    Json(list).into_response()
}

async fn order_item(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, i64>>,
) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let id = q.get("id").copied().unwrap_or(0);
    let state = shared.state.lock().expect("sim state");
    match state
        .orders
        .iter()
        .find(|o| o.id == id && state.owns_account(user, o.account_id))
    {
        Some(o) => Json(order_json(o)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errorText": "Not found"})),
        )
            .into_response(),
    }
}

async fn command_list(State(shared): S, headers: HeaderMap) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let state = shared.state.lock().expect("sim state");
    let list: Vec<Value> = state
        .commands
        .iter()
        .filter(|c| state.orders.iter().any(|o| o.id == c.order_id && state.owns_account(user, o.account_id)))
        .map(|c| json!({"id": c.id, "orderId": c.order_id, "timestamp": format_time_ms(c.at_ms), "clOrdId": c.cl_ord_id, "commandType": c.kind, "commandStatus": "ExecutionReportSent", "isAutomated": true}))
        .collect();
    Json(list).into_response()
}

async fn fill_deps(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, i64>>,
) -> Response {
    let Some(user) = authed(&shared, &headers) else {
        return unauthorized();
    };
    let master = q.get("masterid").copied().unwrap_or(0);
    let state = shared.state.lock().expect("sim state");
    let list: Vec<Value> = state
        .orders
        .iter()
        .filter(|o| o.id == master && state.owns_account(user, o.account_id))
        .filter_map(|o| o.fill_price.map(|p| json!({"id": o.id + 500_000, "orderId": o.id, "contractId": o.contract_id, "timestamp": format_time_ms(o.received_at_ms), "action": o.action, "qty": o.qty, "price": p})))
        .collect();
    Json(list).into_response()
}

async fn contract_find(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if authed(&shared, &headers).is_none() {
        return unauthorized();
    }
    let name = q.get("name").cloned().unwrap_or_default();
    match state::contract_by_name(&name, now(&shared)) {
        Some((id, name)) => {
            Json(json!({"id": id, "name": name, "contractMaturityId": id})).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errorText": format!("Contract {name} not found")})),
        )
            .into_response(),
    }
}

async fn contract_item(
    State(shared): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, i64>>,
) -> Response {
    if authed(&shared, &headers).is_none() {
        return unauthorized();
    }
    let id = q.get("id").copied().unwrap_or(0);
    match state::contract_name(id, now(&shared)) {
        Some(name) => {
            Json(json!({"id": id, "name": name, "contractMaturityId": id})).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errorText": "Not found"})),
        )
            .into_response(),
    }
}

async fn roll_contract(
    State(shared): S,
    headers: HeaderMap,
    Json(body): Json<wire::RollContract>,
) -> Response {
    if authed(&shared, &headers).is_none() {
        return unauthorized();
    }
    let root = body.name.to_uppercase();
    match state::front_month(&root, now(&shared)) {
        Some((id, name)) => {
            Json(json!({"contract": {"id": id, "name": name, "contractMaturityId": id}}))
                .into_response()
        }
        None => Json(json!({})).into_response(),
    }
}

/// Simulator-only inspection: the authoritative order ledger (for tests that
/// run the simulator in another process, such as the crash soak).
async fn sim_ledger(State(shared): S) -> Response {
    let state = shared.state.lock().expect("sim state");
    let orders: Vec<Value> = state
        .orders
        .iter()
        .map(|o| json!({"id": o.id, "accountId": o.account_id, "clOrdId": o.cl_ord_id, "symbol": o.symbol, "action": o.action, "qty": o.qty, "ordStatus": o.status}))
        .collect();
    Json(orders).into_response()
}
