//! Spot endpoints (`/api/v3/…`, `/sapi/v1/account/apiRestrictions`) with
//! Binance's parameters and JSON shapes.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::auth::{self, Need, Params, Signed};
use crate::filters::{self, MAX_PRICE, SPOT_MAX_NOTIONAL};
use crate::reply::{
    Result, bad, d8, illegal, invalid_symbol, mandatory, no_such_order, not_required, obj,
    unknown_order,
};
use crate::routes::{self, S};
use crate::state::{Order, Placement, State as SimState};
use crate::{Market, Shared, SimSymbol};

const CLIENT_ID_RANGE: &str = "^[a-zA-Z0-9-_]{1,36}$";

/// How much of the order the answer shows (`newOrderRespType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespType {
    Ack,
    Result,
    Full,
}

fn symbol_json(s: &SimSymbol) -> Value {
    json!({
        "symbol": s.symbol, "status": "TRADING",
        "baseAsset": s.base, "baseAssetPrecision": 8,
        "quoteAsset": s.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": false, "ocoAllowed": false, "otoAllowed": false,
        "quoteOrderQtyMarketAllowed": true, "allowTrailingStop": false,
        "cancelReplaceAllowed": false, "amendAllowed": false,
        "isSpotTradingAllowed": true, "isMarginTradingAllowed": false,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": d8(filters::min_price(s)),
             "maxPrice": d8(Decimal::from(MAX_PRICE)), "tickSize": d8(s.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": d8(s.min_qty), "maxQty": d8(s.max_qty),
             "stepSize": d8(s.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": d8(s.min_qty), "maxQty": d8(s.max_qty),
             "stepSize": d8(s.market_step_size)},
            {"filterType": "NOTIONAL", "minNotional": d8(s.min_notional), "applyMinToMarket": true,
             "maxNotional": d8(Decimal::from(SPOT_MAX_NOTIONAL)), "applyMaxToMarket": false,
             "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    })
}

/// The spot symbols a request names (`symbol` or a JSON `symbols` array),
/// or all of them; an unknown one is `-1121`.
fn requested_symbols(state: &SimState, params: &Params) -> Result<Vec<SimSymbol>> {
    let names: Vec<String> = match (params.get("symbol"), params.get("symbols")) {
        (Some(one), _) => vec![one.to_string()],
        (None, Some(list)) => {
            serde_json::from_str(list).map_err(|_| illegal("symbols", "[\"SYMBOL\",...]"))?
        }
        (None, None) => {
            return Ok(state.symbols.iter().filter(|s| s.spot).cloned().collect());
        }
    };
    names
        .iter()
        .map(|n| {
            state
                .listed(n, Market::Spot)
                .cloned()
                .ok_or_else(invalid_symbol)
        })
        .collect()
}

pub async fn exchange_info(State(shared): S, uri: Uri) -> Result<Response> {
    let symbols = requested_symbols(&shared.state(), &Params::from_uri(&uri))?;
    Ok(Json(json!({
        "timezone": "UTC",
        "serverTime": shared.now(),
        "rateLimits": routes::rate_limits(&shared, Market::Spot),
        "exchangeFilters": [],
        "symbols": symbols.iter().map(symbol_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn ticker_price(State(shared): S, uri: Uri) -> Result<Response> {
    let params = Params::from_uri(&uri);
    let symbols = requested_symbols(&shared.state(), &params)?;
    let prices: Vec<Value> = symbols
        .iter()
        .map(|s| json!({"symbol": s.symbol, "price": d8(s.price)}))
        .collect();
    Ok(match params.get("symbol") {
        Some(_) => Json(prices[0].clone()),
        None => Json(Value::Array(prices)),
    }
    .into_response())
}

/// A spot DECIMAL parameter within the asset precision.
fn spot_decimal(p: &Params, name: &str) -> Result<Option<Decimal>> {
    let value = filters::decimal(p, name)?;
    if let Some(v) = value {
        filters::spot_precision(name, v)?;
    }
    Ok(value)
}

pub fn side(p: &Params) -> Result<bool> {
    match p.required("side")? {
        "BUY" => Ok(true),
        "SELL" => Ok(false),
        _ => Err(bad(-1117, "Invalid side.")),
    }
}

/// A new random client order id, as Binance generates one.
pub fn generated_id() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(22)
        .map(char::from)
        .collect()
}

pub fn client_id(p: &Params) -> Result<String> {
    match p.get("newClientOrderId") {
        None => Ok(generated_id()),
        Some(id)
            if id.len() <= 36
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(id.to_string())
        }
        Some(_) => Err(illegal("newClientOrderId", CLIENT_ID_RANGE)),
    }
}

pub fn resp_type(p: &Params) -> Result<RespType> {
    match p.get("newOrderRespType") {
        None | Some("FULL") => Ok(RespType::Full),
        Some("RESULT") => Ok(RespType::Result),
        Some("ACK") => Ok(RespType::Ack),
        Some(_) => Err(illegal("newOrderRespType", "ACK, RESULT, FULL")),
    }
}

/// Price, time in force, quantity and quote quantity of a LIMIT or MARKET order.
pub fn order_terms(
    p: &Params,
    sym: &SimSymbol,
) -> Result<(Option<Decimal>, String, Decimal, Decimal)> {
    match p.required("type")? {
        "LIMIT" => {
            let tif = p.required("timeInForce")?;
            if !["GTC", "IOC", "FOK"].contains(&tif) {
                return Err(bad(-1115, "Invalid timeInForce."));
            }
            let qty = spot_decimal(p, "quantity")?.ok_or_else(|| mandatory("quantity"))?;
            let price = spot_decimal(p, "price")?.ok_or_else(|| mandatory("price"))?;
            Ok((Some(price), tif.to_string(), qty, Decimal::ZERO))
        }
        "MARKET" => {
            if let Some(extra) = ["price", "timeInForce"]
                .into_iter()
                .find(|k| p.get(k).is_some())
            {
                return Err(not_required(extra));
            }
            let gtc = "GTC".to_string();
            match (
                spot_decimal(p, "quantity")?,
                spot_decimal(p, "quoteOrderQty")?,
            ) {
                (Some(qty), None) => Ok((None, gtc, qty, Decimal::ZERO)),
                (None, Some(quote)) => {
                    Ok((None, gtc, filters::spot_qty_for_quote(sym, quote), quote))
                }
                (Some(_), Some(_)) => Err(not_required("quoteOrderQty")),
                (None, None) => Err(bad(
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )),
            }
        }
        _ => Err(bad(-1116, "Invalid orderType.")),
    }
}

/// Verify and validate a new order (everything but balances and duplicates).
fn prepare(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Signed, Placement, RespType)> {
    let signed = auth::verify(shared, Market::Spot, Need::Trade, uri, headers, body)?;
    let p = &signed.params;
    let symbol = p.required("symbol")?;
    let sym = shared
        .state()
        .listed(symbol, Market::Spot)
        .cloned()
        .ok_or_else(invalid_symbol)?;
    let buy = side(p)?;
    let (limit_price, time_in_force, qty, orig_quote_qty) = order_terms(p, &sym)?;
    filters::spot(&sym, qty, limit_price)?;
    let placement = Placement {
        market: Market::Spot,
        api_key: signed.api_key.clone(),
        symbol: sym.symbol,
        buy,
        limit_price,
        time_in_force,
        qty,
        orig_quote_qty,
        client_order_id: client_id(p)?,
        reduce_only: false,
    };
    let resp = resp_type(p)?;
    Ok((signed, placement, resp))
}

pub async fn new_order(State(shared): S, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, placement, resp) = match prepare(&shared, &uri, &headers, &body) {
        Ok(prepared) => prepared,
        Err(e) => return e.into_response(),
    };
    let exec_shared = Arc::clone(&shared);
    routes::faulted(&shared, move || {
        execute(&exec_shared, &signed, placement, resp)
    })
    .await
}

fn execute(shared: &Shared, signed: &Signed, placement: Placement, resp: RespType) -> Response {
    let now = shared.now();
    let placed = signed.recheck_timing(now).and_then(|()| {
        let mut state = shared.state();
        let limits = routes::order_limits(shared, Market::Spot);
        let (idx, counts) = state.place(placement, now, &limits)?;
        Ok((new_order_json(&state, &state.orders[idx], resp), counts))
    });
    match placed {
        Ok((body, counts)) => routes::with_order_counts(Json(body).into_response(), &counts),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v3/order/test`: every check a new order gets before the
/// matching engine, then `{}`.
pub async fn test_order(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    prepare(&shared, &uri, &headers, &body)?;
    Ok(Json(json!({})).into_response())
}

/// Fields every order answer shares.
fn order_core(o: &Order) -> Map<String, Value> {
    let r = &o.rec;
    let fields = json!({
        "symbol": r.symbol, "orderId": r.order_id, "orderListId": -1,
        "clientOrderId": r.client_order_id,
        "price": d8(r.price.unwrap_or_default()), "origQty": d8(r.quantity),
        "executedQty": d8(r.executed_qty), "origQuoteOrderQty": d8(o.orig_quote_qty),
        "cummulativeQuoteQty": d8(o.cum_quote), "status": r.status,
        "timeInForce": o.time_in_force, "type": r.order_type, "side": r.side,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    });
    obj(fields)
}

fn new_order_json(state: &SimState, o: &Order, resp: RespType) -> Value {
    let r = &o.rec;
    if resp == RespType::Ack {
        return json!({
            "symbol": r.symbol, "orderId": r.order_id, "orderListId": -1,
            "clientOrderId": r.client_order_id, "transactTime": r.received_at_ms,
        });
    }
    let mut map = order_core(o);
    map.insert("transactTime".into(), json!(r.received_at_ms));
    map.insert("workingTime".into(), json!(r.received_at_ms));
    if resp == RespType::Full {
        map.insert("fills".into(), fills(state, o));
    }
    Value::Object(map)
}

fn fills(state: &SimState, o: &Order) -> Value {
    let (Some(price), Some(trade_id)) = (o.fill_price, o.trade_id) else {
        return json!([]);
    };
    let sym = state.listed(&o.rec.symbol, Market::Spot).expect("listed");
    let commission_asset = if o.is_buy() { &sym.base } else { &sym.quote };
    json!([{
        "price": d8(price), "qty": d8(o.rec.executed_qty), "commission": d8(Decimal::ZERO),
        "commissionAsset": commission_asset, "tradeId": trade_id,
    }])
}

pub fn query_json(o: &Order) -> Value {
    let mut map = order_core(o);
    for (k, v) in [
        ("stopPrice", json!(d8(Decimal::ZERO))),
        ("icebergQty", json!(d8(Decimal::ZERO))),
        ("time", json!(o.rec.received_at_ms)),
        ("updateTime", json!(o.update_ms)),
        ("isWorking", json!(true)),
        ("workingTime", json!(o.rec.received_at_ms)),
    ] {
        map.insert(k.into(), v);
    }
    Value::Object(map)
}

pub async fn query_order(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let idx = routes::locate(&state, Market::Spot, &signed, no_such_order)?;
    Ok(Json(query_json(&state.orders[idx])).into_response())
}

pub async fn cancel_order(State(shared): S, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let signed = match auth::verify(&shared, Market::Spot, Need::Trade, &uri, &headers, &body) {
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
    let idx = routes::locate(&state, Market::Spot, signed, unknown_order)?;
    state.cancel(idx, now)?;
    let o = &state.orders[idx];
    let mut map = order_core(o);
    let cancel_id = signed
        .params
        .get("newClientOrderId")
        .map_or_else(generated_id, str::to_string);
    map.insert("origClientOrderId".into(), json!(o.rec.client_order_id));
    map.insert("clientOrderId".into(), json!(cancel_id));
    map.insert("transactTime".into(), json!(now));
    Ok(Value::Object(map))
}

pub async fn open_orders(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let symbol = signed.params.get("symbol");
    if symbol.is_some_and(|s| state.listed(s, Market::Spot).is_none()) {
        return Err(invalid_symbol());
    }
    let list: Vec<Value> = state
        .open_orders(Market::Spot, &signed.api_key, symbol)
        .into_iter()
        .map(query_json)
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}

pub async fn account(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    let omit_zero = signed.params.get("omitZeroBalances") == Some("true");
    let state = shared.state();
    let a = state.account(&signed.api_key).expect("verified key");
    let balances: Vec<Value> = a
        .spot
        .iter()
        .filter(|(_, b)| !omit_zero || !(b.free + b.locked).is_zero())
        .map(|(asset, b)| json!({"asset": asset, "free": d8(b.free), "locked": d8(b.locked)}))
        .collect();
    Ok(Json(json!({
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000",
                            "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": a.key.can_trade, "canWithdraw": false, "canDeposit": true,
        "brokered": false, "requireSelfTradePrevention": false, "preventSor": false,
        "updateTime": a.updated_ms, "accountType": "SPOT", "balances": balances,
        "permissions": ["SPOT"], "uid": a.key.uid,
    }))
    .into_response())
}

pub async fn api_restrictions(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let a = state.account(&signed.api_key).expect("verified key");
    Ok(Json(json!({
        "ipRestrict": a.key.ip_restricted, "createTime": a.created_ms,
        "enableReading": true, "enableWithdrawals": false, "enableInternalTransfer": false,
        "enableMargin": false, "enableFutures": a.key.enable_futures,
        "permitsUniversalTransfer": false, "enableVanillaOptions": false,
        "enableFixApiTrade": false, "enableFixReadOnly": false,
        "enableSpotAndMarginTrading": a.key.can_trade, "enablePortfolioMarginTrading": false,
    }))
    .into_response())
}

/// `GET /api/v3/ticker/24hr`: the price has not moved (the simulator keeps
/// no candles); volume is what the ledger filled in the last 24 hours; the
/// book is the price itself.
pub async fn ticker_24hr(State(shared): S, uri: Uri) -> Result<Response> {
    let params = Params::from_uri(&uri);
    let now = shared.now();
    let state = shared.state();
    let symbols = requested_symbols(&state, &params)?;
    let rows: Vec<Value> = symbols
        .iter()
        .map(|s| {
            let p = d8(s.price);
            let (volume, quote, count) = state.volume_24h(Market::Spot, &s.symbol, now);
            let first = if count == 0 { -1 } else { 0 };
            json!({
                "symbol": s.symbol, "priceChange": d8(Decimal::ZERO),
                "priceChangePercent": "0.000", "weightedAvgPrice": p, "prevClosePrice": p,
                "lastPrice": p, "lastQty": d8(Decimal::ZERO), "bidPrice": p,
                "bidQty": d8(Decimal::ZERO), "askPrice": p, "askQty": d8(Decimal::ZERO),
                "openPrice": p, "highPrice": p, "lowPrice": p, "volume": d8(volume),
                "quoteVolume": d8(quote), "openTime": now - 86_400_000, "closeTime": now,
                "firstId": first, "lastId": if count == 0 { -1 } else { count - 1 },
                "count": count,
            })
        })
        .collect();
    Ok(match params.get("symbol") {
        Some(_) => Json(rows[0].clone()),
        None => Json(Value::Array(rows)),
    }
    .into_response())
}
