//! USDⓈ-M futures endpoints (`/fapi/…`), one-way position mode.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::{self, Need, Params, Signed};
use crate::filters::{self, MAX_PRICE};
use crate::reply::{
    Result, bad, decimals_of, fixed, illegal, invalid_symbol, mandatory, no_such_order,
    not_required, obj, unknown_order,
};
use crate::routes::{self, S};
use crate::spot::{generated_id, side};
use crate::state::{Order, Placement, State as SimState};
use crate::{Market, Shared, SimSymbol};

/// Maintenance margin rate shown in positions and account totals.
pub const MAINT_RATE: Decimal = Decimal::from_parts(4, 0, 0, false, 3);

pub fn qty_dp(s: &SimSymbol) -> u32 {
    decimals_of(s.step_size)
}

pub fn price_dp(s: &SimSymbol) -> u32 {
    decimals_of(s.tick_size)
}

/// Money amounts (USDT) in account and position answers.
pub fn usdt(d: Decimal) -> String {
    fixed(d, 8)
}

fn symbol_json(s: &SimSymbol) -> Value {
    let (p, q) = (|d| fixed(d, price_dp(s)), |d| fixed(d, qty_dp(s)));
    json!({
        "symbol": s.symbol, "pair": s.symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4_133_404_800_000_i64, "onboardDate": 1_569_398_400_000_i64,
        "status": "TRADING", "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": s.base, "quoteAsset": s.quote, "marginAsset": s.quote,
        "pricePrecision": price_dp(s), "quantityPrecision": qty_dp(s),
        "baseAssetPrecision": 8, "quotePrecision": 8,
        "underlyingType": "COIN", "underlyingSubType": [], "triggerProtect": "0.0500",
        "liquidationFee": "0.012500", "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": p(filters::min_price(s)),
             "maxPrice": p(Decimal::from(MAX_PRICE)), "tickSize": p(s.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": q(s.min_qty), "maxQty": q(s.max_qty),
             "stepSize": q(s.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": q(s.min_qty), "maxQty": q(s.max_qty),
             "stepSize": q(filters::futures_market_step(s))},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": s.min_notional.normalize().to_string()},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    })
}

pub fn listed(state: &SimState, symbol: &str) -> Result<SimSymbol> {
    state
        .listed(symbol, Market::Futures)
        .cloned()
        .ok_or_else(invalid_symbol)
}

pub fn all_symbols(state: &SimState) -> Vec<SimSymbol> {
    state
        .symbols
        .iter()
        .filter(|s| s.futures)
        .cloned()
        .collect()
}

pub async fn exchange_info(State(shared): S) -> Json<Value> {
    let symbols = all_symbols(&shared.state());
    Json(json!({
        "timezone": "UTC",
        "serverTime": shared.now(),
        "futuresType": "U_MARGINED",
        "rateLimits": routes::rate_limits(&shared, Market::Futures),
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
        "symbols": symbols.iter().map(symbol_json).collect::<Vec<_>>(),
    }))
}

pub async fn ticker_price(State(shared): S, uri: Uri) -> Result<Response> {
    let params = Params::from_uri(&uri);
    let now = shared.now();
    let state = shared.state();
    let price = |s: &SimSymbol| json!({"symbol": s.symbol, "price": fixed(s.price, price_dp(s)), "time": now});
    Ok(match params.get("symbol") {
        Some(name) => Json(price(&listed(&state, name)?)),
        None => Json(Value::Array(
            all_symbols(&state).iter().map(price).collect(),
        )),
    }
    .into_response())
}

/// Futures client order ids: `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
pub fn client_id(p: &Params) -> Result<String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b".:/_-".contains(&b);
    match p.get("newClientOrderId") {
        None => Ok(generated_id()),
        Some(id) if id.len() <= 36 && id.bytes().all(allowed) => Ok(id.to_string()),
        Some(_) => Err(bad(-4015, "Client order id is not valid.")),
    }
}

pub fn flag(p: &Params, name: &str) -> Result<bool> {
    match p.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(illegal(name, "true, false")),
    }
}

/// `newOrderRespType`: ACK (the default) shows the order as accepted.
pub fn ack(p: &Params) -> Result<bool> {
    match p.get("newOrderRespType") {
        None | Some("ACK") => Ok(true),
        Some("RESULT") => Ok(false),
        Some(_) => Err(illegal("newOrderRespType", "ACK, RESULT")),
    }
}

pub fn position_side(p: &Params) -> Result<()> {
    match p.get("positionSide") {
        None | Some("BOTH") => Ok(()),
        Some("LONG" | "SHORT") => Err(bad(
            -4061,
            "Order's position side does not match user's setting.",
        )),
        Some(_) => Err(illegal("positionSide", "BOTH, LONG, SHORT")),
    }
}

/// Limit price and time in force of a LIMIT or MARKET order.
pub fn order_terms(p: &Params) -> Result<(Option<Decimal>, String)> {
    match p.required("type")? {
        "LIMIT" => {
            let tif = p.required("timeInForce")?;
            if !["GTC", "IOC", "FOK", "GTX"].contains(&tif) {
                return Err(bad(-1115, "Invalid timeInForce."));
            }
            let price = filters::decimal(p, "price")?.ok_or_else(|| mandatory("price"))?;
            Ok((Some(price), tif.to_string()))
        }
        "MARKET" if p.get("price").is_some() => Err(not_required("price")),
        "MARKET" => Ok((None, "GTC".to_string())),
        _ => Err(bad(-1116, "Invalid orderType.")),
    }
}

fn prepare(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Signed, Placement, bool)> {
    let signed = auth::verify(shared, Market::Futures, Need::Trade, uri, headers, body)?;
    let p = &signed.params;
    let sym = listed(&shared.state(), p.required("symbol")?)?;
    let buy = side(p)?;
    position_side(p)?;
    let (limit_price, time_in_force) = order_terms(p)?;
    let qty = filters::decimal(p, "quantity")?.ok_or_else(|| mandatory("quantity"))?;
    let reduce_only = flag(p, "reduceOnly")?;
    filters::futures(&sym, qty, limit_price, reduce_only)?;
    let placement = Placement {
        market: Market::Futures,
        api_key: signed.api_key.clone(),
        symbol: sym.symbol,
        buy,
        limit_price,
        time_in_force,
        qty,
        orig_quote_qty: Decimal::ZERO,
        client_order_id: client_id(p)?,
        reduce_only,
    };
    let ack = ack(p)?;
    Ok((signed, placement, ack))
}

pub async fn new_order(State(shared): S, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, placement, ack) = match prepare(&shared, &uri, &headers, &body) {
        Ok(prepared) => prepared,
        Err(e) => return e.into_response(),
    };
    let exec_shared = Arc::clone(&shared);
    routes::faulted(&shared, move || {
        execute(&exec_shared, &signed, placement, ack)
    })
    .await
}

fn execute(shared: &Shared, signed: &Signed, p: Placement, ack: bool) -> Response {
    let now = shared.now();
    let placed = signed.recheck_timing(now).and_then(|()| {
        let mut state = shared.state();
        let limits = routes::order_limits(shared, Market::Futures);
        let (idx, counts) = state.place(p, now, &limits)?;
        let sym = listed(&state, &state.orders[idx].rec.symbol)?;
        Ok((order_json(&state.orders[idx], &sym, ack), counts))
    });
    match placed {
        Ok((body, counts)) => routes::with_order_counts(Json(body).into_response(), &counts),
        Err(e) => e.into_response(),
    }
}

/// An order as Binance shows it; `as_accepted` shows it before execution
/// (what an ACK answer carries).
fn order_json(o: &Order, sym: &SimSymbol, as_accepted: bool) -> Value {
    let r = &o.rec;
    let (p, q) = (|d| fixed(d, price_dp(sym)), |d| fixed(d, qty_dp(sym)));
    let (status, executed, cum_quote, avg) = if as_accepted {
        ("NEW", Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)
    } else {
        let avg = o.fill_price.unwrap_or_default();
        (r.status.as_str(), r.executed_qty, o.cum_quote, avg)
    };
    json!({
        "orderId": r.order_id, "symbol": r.symbol, "status": status,
        "clientOrderId": r.client_order_id, "price": p(r.price.unwrap_or_default()),
        "avgPrice": p(avg), "origQty": q(r.quantity), "executedQty": q(executed),
        "cumQty": q(executed), "cumQuote": fixed(cum_quote, price_dp(sym) + qty_dp(sym)),
        "timeInForce": o.time_in_force, "type": r.order_type, "reduceOnly": r.reduce_only,
        "closePosition": false, "side": r.side, "positionSide": "BOTH", "stopPrice": "0",
        "workingType": "CONTRACT_PRICE", "priceProtect": false, "origType": r.order_type,
        "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
        "updateTime": if as_accepted { r.received_at_ms } else { o.update_ms },
    })
}

pub fn query_json(o: &Order, sym: &SimSymbol) -> Value {
    let mut map = obj(order_json(o, sym, false));
    map.insert("time".into(), json!(o.rec.received_at_ms));
    Value::Object(map)
}

pub async fn query_order(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let idx = routes::locate(&state, Market::Futures, &signed, no_such_order)?;
    let o = &state.orders[idx];
    Ok(Json(query_json(o, &listed(&state, &o.rec.symbol)?)).into_response())
}

pub async fn cancel_order(State(shared): S, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let signed = match auth::verify(&shared, Market::Futures, Need::Trade, &uri, &headers, &body) {
        Ok(signed) => signed,
        Err(e) => return e.into_response(),
    };
    let exec_shared = Arc::clone(&shared);
    routes::faulted(&shared, move || match cancel(&exec_shared, &signed) {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    })
    .await
}

fn cancel(shared: &Shared, signed: &Signed) -> Result<Value> {
    let now = shared.now();
    signed.recheck_timing(now)?;
    let mut state = shared.state();
    let idx = routes::locate(&state, Market::Futures, signed, unknown_order)?;
    state.cancel(idx, now)?;
    let o = &state.orders[idx];
    Ok(order_json(o, &listed(&state, &o.rec.symbol)?, false))
}

pub async fn open_orders(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let symbol = signed.params.get("symbol");
    if let Some(s) = symbol {
        listed(&state, s)?;
    }
    let list = state
        .open_orders(Market::Futures, &signed.api_key, symbol)
        .into_iter()
        .map(|o| Ok(query_json(o, &listed(&state, &o.rec.symbol)?)))
        .collect::<Result<Vec<Value>>>()?;
    Ok(Json(Value::Array(list)).into_response())
}

/// One-way mode only.
pub async fn position_mode(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    Ok(Json(json!({"dualSidePosition": false})).into_response())
}
