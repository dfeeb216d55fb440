//! Order and trade history (`allOrders`, spot `myTrades`, futures
//! `userTrades`) and the wallet's coin list (`capital/config/getall`), with
//! Binance's parameters and JSON shapes. Every fill is one trade (the
//! simulator never fills partially) at the order's fill price, without
//! commission, as the taker.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::{self, Need, Params, Signed};
use crate::futures::{self, price_dp, qty_dp};
use crate::reply::{Result, bad, d8, fixed, invalid_symbol, mandatory};
use crate::routes::S;
use crate::state::{Order, State as SimState};
use crate::{Market, spot};

/// `limit`: default 500, at most 1000.
fn limit(p: &Params) -> Result<usize> {
    match p.get("limit") {
        None => Ok(500),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(bad(-1130, "Invalid data sent for a parameter.")),
        },
    }
}

fn number(p: &Params, name: &str) -> Result<Option<i64>> {
    p.get(name)
        .map(|v| v.parse::<i64>().map_err(|_| mandatory(name)))
        .transpose()
}

/// The account's orders on the request's `symbol`, filtered by `orderId`
/// (from), `startTime` and `endTime`, at most `limit` of the newest.
fn selected<'a>(
    state: &'a SimState,
    market: Market,
    signed: &'a Signed,
    time_of: fn(&Order) -> i64,
    id_param: &str,
    id_of: fn(&Order) -> Option<i64>,
    keep: fn(&Order) -> bool,
) -> Result<Vec<&'a Order>> {
    let p = &signed.params;
    let symbol = p.required("symbol")?;
    state.listed(symbol, market).ok_or_else(invalid_symbol)?;
    let (from, start, end) = (
        number(p, id_param)?,
        number(p, "startTime")?,
        number(p, "endTime")?,
    );
    let limit = limit(p)?;
    let all: Vec<&Order> = state
        .orders_of(market, &signed.api_key, symbol)
        .filter(|o| keep(o))
        .filter(|o| from.is_none_or(|f| id_of(o).is_some_and(|id| id >= f)))
        .filter(|o| start.is_none_or(|s| time_of(o) >= s))
        .filter(|o| end.is_none_or(|e| time_of(o) <= e))
        .collect();
    // With a lower bound, the oldest `limit` from it; else the newest `limit`.
    let skip = if from.is_some() || start.is_some() {
        0
    } else {
        all.len().saturating_sub(limit)
    };
    Ok(all.into_iter().skip(skip).take(limit).collect())
}

fn placed_at(o: &Order) -> i64 {
    o.rec.received_at_ms
}

fn traded_at(o: &Order) -> i64 {
    o.update_ms
}

fn order_id(o: &Order) -> Option<i64> {
    Some(o.rec.order_id)
}

fn any(_: &Order) -> bool {
    true
}

fn filled(o: &Order) -> bool {
    o.trade_id.is_some()
}

/// `GET /api/v3/allOrders` and `/fapi/v1/allOrders`.
pub async fn all_orders(
    market: Market,
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, market, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let orders = selected(&state, market, &signed, placed_at, "orderId", order_id, any)?;
    let list = orders
        .into_iter()
        .map(|o| match market {
            Market::Spot => Ok(spot::query_json(o)),
            Market::Futures => Ok(futures::query_json(
                o,
                &futures::listed(&state, &o.rec.symbol)?,
            )),
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(Json(Value::Array(list)).into_response())
}

/// `GET /api/v3/myTrades` (spot) and `/fapi/v1/userTrades` (futures).
pub async fn trades(
    market: Market,
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, market, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let by_order = number(&signed.params, "orderId")?;
    let fills = selected(
        &state,
        market,
        &signed,
        traded_at,
        "fromId",
        |o| o.trade_id,
        filled,
    )?;
    let list = fills
        .into_iter()
        .filter(|o| by_order.is_none_or(|id| o.rec.order_id == id))
        .filter_map(|o| trade_json(&state, market, o))
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}

fn trade_json(state: &SimState, market: Market, o: &Order) -> Option<Value> {
    let (price, id) = (o.fill_price?, o.trade_id?);
    let r = &o.rec;
    let sym = state.listed(&r.symbol, market)?;
    let quote = r.executed_qty * price;
    Some(match market {
        Market::Spot => json!({
            "symbol": r.symbol, "id": id, "orderId": r.order_id, "orderListId": -1,
            "price": d8(price), "qty": d8(r.executed_qty), "quoteQty": d8(quote),
            "commission": d8(Decimal::ZERO),
            "commissionAsset": if o.is_buy() { &sym.base } else { &sym.quote },
            "time": o.update_ms, "isBuyer": o.is_buy(), "isMaker": false, "isBestMatch": true,
        }),
        Market::Futures => json!({
            "buyer": o.is_buy(), "commission": "0", "commissionAsset": sym.quote,
            "id": id, "maker": false, "orderId": r.order_id,
            "price": fixed(price, price_dp(sym)), "qty": fixed(r.executed_qty, qty_dp(sym)),
            "quoteQty": fixed(quote, price_dp(sym) + qty_dp(sym)),
            "realizedPnl": fixed(o.realized_pnl, 8), "side": r.side, "positionSide": "BOTH",
            "symbol": r.symbol, "time": o.update_ms,
        }),
    })
}

/// `GET /sapi/v1/capital/config/getall` (USER_DATA): every asset the
/// simulator lists, with the account's balances and one network each.
/// Deposits and withdrawals do not exist in the simulator: both disabled.
pub async fn capital_config(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let account = state.account(&signed.api_key).expect("verified key");
    let coins: Vec<Value> = account
        .spot
        .iter()
        .map(|(asset, b)| {
            json!({
                "coin": asset, "name": asset, "depositAllEnable": false, "withdrawAllEnable": false,
                "free": d8(b.free), "locked": d8(b.locked), "freeze": "0", "withdrawing": "0",
                "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": false,
                "trading": true,
                "networkList": [{
                    "network": asset, "coin": asset, "name": asset, "isDefault": true,
                    "depositEnable": false, "withdrawEnable": false, "depositDesc": "",
                    "withdrawDesc": "", "specialTips": "", "resetAddressStatus": false,
                    "addressRegex": "", "memoRegex": "", "withdrawFee": "0",
                    "withdrawMin": "0", "withdrawMax": "0", "withdrawIntegerMultiple": "0.00000001",
                    "minConfirm": 1, "unLockConfirm": 0, "sameAddress": false,
                    "estimatedArrivalTime": 0, "busy": false, "contractAddressUrl": "",
                    "contractAddress": "",
                }],
            })
        })
        .collect();
    Ok(Json(Value::Array(coins)).into_response())
}

/// `GET /sapi/v1/margin/allPairs` (cross) and `/sapi/v1/margin/isolated/allPairs`
/// (USER_DATA): the simulator has no margin trading (exchangeInfo says
/// `isMarginTradingAllowed: false`), so both lists are empty.
pub async fn margin_pairs(
    isolated: bool,
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    if isolated {
        auth::verify(&shared, Market::Spot, Need::Read, &uri, &headers, &body)?;
    }
    Ok(Json(json!([])).into_response())
}
