//! The HTTP surface: routes, the metering layer (request weight, weight
//! headers, rejection log) and the fault wrapper for order calls.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::BinanceFault;
use crate::auth::{Params, Signed};
use crate::limits::{self, OrderLimit};
use crate::reply::{ApiError, Rejection, Result, bad, invalid_symbol, mandatory};
use crate::state::{OrderRef, State as SimState};
use crate::{Market, Shared, futures, spot};

pub type S = State<Arc<Shared>>;

pub fn service(shared: Arc<Shared>) -> Router {
    use crate::futures_account::{self as fa, Version};
    use crate::history;
    Router::new()
        .route("/api/v3/ping", get(ping))
        .route("/api/v3/time", get(time))
        .route("/api/v3/exchangeInfo", get(spot::exchange_info))
        .route("/api/v3/ticker/price", get(spot::ticker_price))
        .route("/api/v3/ticker/24hr", get(spot::ticker_24hr))
        .route(
            "/api/v3/order",
            post(spot::new_order)
                .get(spot::query_order)
                .delete(spot::cancel_order),
        )
        .route("/api/v3/order/test", post(spot::test_order))
        .route("/api/v3/openOrders", get(spot::open_orders))
        .route(
            "/api/v3/allOrders",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| {
                history::all_orders(Market::Spot, st, u, h, b)
            }),
        )
        .route(
            "/api/v3/myTrades",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| history::trades(Market::Spot, st, u, h, b)),
        )
        .route("/api/v3/account", get(spot::account))
        .route(
            "/sapi/v1/account/apiRestrictions",
            get(spot::api_restrictions),
        )
        .route(
            "/sapi/v1/capital/config/getall",
            get(history::capital_config),
        )
        .route(
            "/sapi/v1/margin/allPairs",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| history::margin_pairs(false, st, u, h, b)),
        )
        .route(
            "/sapi/v1/margin/isolated/allPairs",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| history::margin_pairs(true, st, u, h, b)),
        )
        .route("/fapi/v1/ping", get(ping))
        .route("/fapi/v1/time", get(time))
        .route("/fapi/v1/exchangeInfo", get(futures::exchange_info))
        .route("/fapi/v1/ticker/price", get(futures::ticker_price))
        .route("/fapi/v2/ticker/price", get(futures::ticker_price))
        .route("/fapi/v1/ticker/24hr", get(fa::ticker_24hr))
        .route("/fapi/v1/premiumIndex", get(fa::premium_index))
        .route(
            "/fapi/v1/order",
            post(futures::new_order)
                .get(futures::query_order)
                .delete(futures::cancel_order),
        )
        .route("/fapi/v1/openOrders", get(futures::open_orders))
        .route(
            "/fapi/v1/allOrders",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| {
                history::all_orders(Market::Futures, st, u, h, b)
            }),
        )
        .route(
            "/fapi/v1/userTrades",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| {
                history::trades(Market::Futures, st, u, h, b)
            }),
        )
        .route(
            "/fapi/v2/positionRisk",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| {
                fa::position_risk(Version::V2, st, u, h, b)
            }),
        )
        .route(
            "/fapi/v3/positionRisk",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| {
                fa::position_risk(Version::V3, st, u, h, b)
            }),
        )
        .route("/fapi/v2/balance", get(fa::balance))
        .route("/fapi/v3/balance", get(fa::balance))
        .route(
            "/fapi/v2/account",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| fa::account(Version::V2, st, u, h, b)),
        )
        .route(
            "/fapi/v3/account",
            get(|st: S, u: Uri, h: HeaderMap, b: Bytes| fa::account(Version::V3, st, u, h, b)),
        )
        .route("/fapi/v1/leverageBracket", get(fa::leverage_bracket))
        .route("/fapi/v1/positionSide/dual", get(futures::position_mode))
        .route("/dapi/v1/exchangeInfo", get(coin_margined_exchange_info))
        .route("/_sim/orders", get(sim_ledger))
        .merge(atomik_simkit::faults_router())
        .fallback(unsupported)
        .method_not_allowed_fallback(unsupported)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), meter))
        .with_state(shared)
}

/// An endpoint the simulator does not implement: Binance's error shape,
/// HTTP 404, never an empty body.
async fn unsupported(method: Method, uri: Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        -1020,
        format!(
            "This operation is not supported. (The simulator does not implement {method} {}.)",
            uri.path()
        ),
    )
    .into_response()
}

/// COIN-M futures (`/dapi`): the simulator lists no contract there.
async fn coin_margined_exchange_info(State(shared): S) -> Json<Value> {
    Json(json!({
        "timezone": "UTC", "serverTime": shared.now(), "rateLimits": [],
        "exchangeFilters": [], "symbols": [],
    }))
}

pub fn market_of(path: &str) -> Option<Market> {
    if path.starts_with("/api/") || path.starts_with("/sapi/") {
        Some(Market::Spot)
    } else if path.starts_with("/fapi/") {
        Some(Market::Futures)
    } else {
        None
    }
}

/// Binance's documented request weights (approximated where they vary; a
/// futures order costs 1 here, where Binance documents 0 IP weight).
pub fn weight(market: Market, method: &Method, path: &str, params: &Params) -> u32 {
    let one_symbol = params.get("symbol").is_some();
    let pick = |with, without| if one_symbol { with } else { without };
    match (market, path.rsplit_once('/').map_or(path, |(_, last)| last)) {
        (Market::Spot, "exchangeInfo" | "account") => 20,
        (Market::Spot, "price") => pick(2, 4),
        (Market::Spot, "openOrders") => pick(6, 80),
        (Market::Spot, "order") if method == Method::GET => 4,
        (Market::Spot, "allOrders" | "myTrades") => 20,
        (Market::Spot, "24hr") => pick(2, 80),
        (Market::Spot, "getall") => 10,
        (Market::Futures, "allOrders" | "userTrades") => 5,
        (Market::Futures, "24hr") => pick(1, 40),
        (Market::Futures, "price") => pick(1, 2),
        (Market::Futures, "openOrders") => pick(1, 40),
        (Market::Futures, "positionRisk" | "balance" | "account") => 5,
        (Market::Futures, "dual") => 30,
        _ => 1,
    }
}

fn weight_limit(shared: &Shared, market: Market) -> u32 {
    match market {
        Market::Spot => shared.config.spot_weight_limit,
        Market::Futures => shared.config.futures_weight_limit,
    }
}

/// Charge weight per client IP, refuse over the limit, stamp
/// `X-MBX-USED-WEIGHT-…` on every answer and log every error answer (code 0
/// when it has no Binance body, e.g. a harness timeout's 504).
async fn meter(
    State(shared): S,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let Some(market) = market_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let w = weight(
        market,
        req.method(),
        req.uri().path(),
        &Params::from_uri(req.uri()),
    );
    let (ip, window) = (peer.ip(), shared.window_ms());
    let admitted = {
        let limit = weight_limit(&shared, market);
        let now = shared.now();
        shared
            .state()
            .limits
            .admit(market, ip, w, limit, window, now)
    };
    let mut resp = match admitted {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let now = shared.now();
    let mut state = shared.state();
    let used = state.limits.used(market, ip, now, window);
    let (num, letter, _) = limits::interval(window);
    set_header(&mut resp, &format!("x-mbx-used-weight-{num}{letter}"), used);
    match resp.extensions().get::<Rejection>() {
        Some(r) => state.rejections.push((r.status, r.code)),
        None if resp.status().as_u16() >= 400 => state.rejections.push((resp.status().as_u16(), 0)),
        None => {}
    }
    resp
}

fn set_header(resp: &mut Response, name: &str, value: impl ToString) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::try_from(name),
        HeaderValue::try_from(value.to_string()),
    ) {
        resp.headers_mut().insert(n, v);
    }
}

/// `X-MBX-ORDER-COUNT-…` headers on a successful order answer.
pub fn with_order_counts(mut resp: Response, counts: &[(&str, u32)]) -> Response {
    for (label, count) in counts {
        set_header(&mut resp, &format!("x-mbx-order-count-{label}"), count);
    }
    resp
}

/// ORDERS limits per account: 10 s from the config, plus Binance's spot
/// 160,000 per day and futures 1,200 per minute.
pub fn order_limits(shared: &Shared, market: Market) -> [OrderLimit; 2] {
    let ten = OrderLimit {
        interval_ms: 10_000,
        limit: shared.config.order_limit_10s,
        label: "10s",
        num: 10,
        unit: "SECOND",
    };
    let long = match market {
        Market::Spot => OrderLimit {
            interval_ms: 86_400_000,
            limit: 160_000,
            label: "1d",
            num: 1,
            unit: "DAY",
        },
        Market::Futures => OrderLimit {
            interval_ms: 60_000,
            limit: 1200,
            label: "1m",
            num: 1,
            unit: "MINUTE",
        },
    };
    [ten, long]
}

/// exchangeInfo `rateLimits`: the weight window and the order limits.
pub fn rate_limits(shared: &Shared, market: Market) -> Value {
    let (num, _, unit) = limits::interval(shared.window_ms());
    let mut list = vec![json!({
        "rateLimitType": "REQUEST_WEIGHT", "interval": unit, "intervalNum": num,
        "limit": weight_limit(shared, market),
    })];
    list.extend(order_limits(shared, market).iter().map(|l| {
        json!({"rateLimitType": "ORDERS", "interval": l.unit, "intervalNum": l.num, "limit": l.limit})
    }));
    Value::Array(list)
}

/// The order a request names: `symbol` with `orderId` (preferred) or
/// `origClientOrderId` (the newest order with that id); else `missing()`.
pub fn locate(
    state: &SimState,
    market: Market,
    signed: &Signed,
    missing: fn() -> ApiError,
) -> Result<usize> {
    let p = &signed.params;
    let symbol = p.required("symbol")?;
    state.listed(symbol, market).ok_or_else(invalid_symbol)?;
    let by = match (p.get("orderId"), p.get("origClientOrderId")) {
        (Some(id), _) => OrderRef::Id(id.parse().map_err(|_| mandatory("orderId"))?),
        (None, Some(cid)) => OrderRef::Client(cid),
        (None, None) => {
            return Err(bad(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            ));
        }
    };
    state
        .find(market, &signed.api_key, symbol, by)
        .ok_or_else(missing)
}

/// Run an order call under the next injected fault.
pub async fn faulted(shared: &Shared, exec: impl FnOnce() -> Response + Send) -> Response {
    atomik_simkit::with_faults(&shared.faults, shared, exec).await
}

/// Binance's own answers under a fault: 429/418 with `-1003`; a 5xx after
/// executing is Binance's unknown outcome, 503 `-1007`; before, 500 `-1001`.
impl atomik_simkit::HasFaults<BinanceFault> for Shared {
    fn faults(&self) -> &crate::Faults {
        &self.faults
    }
}

impl atomik_simkit::Venue<BinanceFault> for Shared {
    fn venue_fault(&self, fault: &BinanceFault) -> Response {
        match *fault {
            BinanceFault::Banned { retry_after_secs } => {
                let until = self.now() + retry_after_secs as i64 * 1000;
                ApiError::new(
                    StatusCode::IM_A_TEAPOT,
                    -1003,
                    format!(
                        "Way too many requests; IP banned until {until}. \
                         Please use the websocket for live updates to avoid bans."
                    ),
                )
                .retry_after(retry_after_secs)
                .into_response()
            }
        }
    }

    fn server_error(&self, executed: bool) -> Response {
        if executed {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                -1007,
                "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
            )
        } else {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                -1001,
                "Internal error; unable to process your request. Please try again.",
            )
        }
        .into_response()
    }

    fn rate_limited(&self, retry_after_secs: u64) -> Response {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            -1003,
            "Too many requests; please use the websocket for live updates.",
        )
        .retry_after(retry_after_secs)
        .into_response()
    }
}

async fn ping() -> Json<Value> {
    Json(json!({}))
}

async fn time(State(shared): S) -> Json<Value> {
    Json(json!({"serverTime": shared.now()}))
}

/// Simulator-only inspection: the authoritative order ledger.
async fn sim_ledger(State(shared): S) -> Json<Value> {
    let state = shared.state();
    let orders: Vec<Value> = state
        .orders
        .iter()
        .map(|o| {
            let r = &o.rec;
            json!({
                "market": format!("{:?}", r.market), "apiKey": r.api_key, "symbol": r.symbol,
                "orderId": r.order_id, "clientOrderId": r.client_order_id, "side": r.side,
                "type": r.order_type, "quantity": r.quantity.to_string(),
                "price": r.price.map(|p| p.to_string()), "status": r.status,
                "executedQty": r.executed_qty.to_string(), "reduceOnly": r.reduce_only,
                "receivedAtMs": r.received_at_ms,
            })
        })
        .collect();
    Json(Value::Array(orders))
}
