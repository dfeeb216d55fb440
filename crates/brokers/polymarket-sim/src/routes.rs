//! The HTTP surface: routes, API-key endpoints, the L2 data/cancel/balance
//! endpoints, and JSON views of ledger entries.

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::Address;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::reply::{self, ApiError, Result};
use crate::state::ApiKey;
use crate::{Shared, SimOrder, SimTrade, TradingMode, auth, control, market, orders, sign};

pub type S = State<Arc<Shared>>;

pub fn service(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(market::ok))
        .route("/ok", get(market::ok))
        .route("/version", get(market::version))
        .route("/time", get(market::time))
        .route("/tick-size", get(market::tick_size))
        .route("/neg-risk", get(market::neg_risk))
        .route("/fee-rate", get(market::fee_rate))
        .route("/markets", get(market::markets))
        .route("/markets/{condition}", get(market::market))
        .route("/markets-by-token/{token}", get(market::market_by_token))
        .route("/clob-markets/{condition}", get(market::clob_market))
        .route("/book", get(market::book))
        .route("/gamma/markets", get(crate::gamma::markets))
        .route("/data-api/positions", get(crate::gamma::positions))
        .route("/auth/api-key", post(create_key).delete(delete_key))
        .route("/auth/derive-api-key", get(derive_key))
        .route("/auth/api-keys", get(list_keys))
        .route("/auth/ban-status/closed-only", get(closed_only))
        .route("/order", post(orders::post_order).delete(cancel_one))
        .route("/orders", post(orders::post_orders).delete(cancel_many))
        .route("/cancel-all", delete(cancel_all))
        .route("/cancel-market-orders", delete(cancel_market))
        .route("/data/orders", get(open_orders))
        .route("/data/order/{id}", get(one_order))
        .route("/data/trades", get(trades))
        .route("/balance-allowance", get(balance_allowance))
        .route("/balance-allowance/update", get(balance_allowance))
        .merge(control::router())
        .merge(atomik_simkit::faults_router::<Shared, crate::PolymarketFault>())
        .fallback(|| async { ApiError::not_found("not found") })
        .with_state(shared)
}

fn creds_json(k: &ApiKey) -> Value {
    json!({"apiKey": k.key, "secret": k.secret, "passphrase": k.passphrase})
}

fn derived(shared: &Shared, address: Address, nonce: u64) -> ApiKey {
    let (key, secret, passphrase) =
        sign::derive_credentials(&shared.config.credential_seed, address, nonce);
    ApiKey {
        key,
        secret,
        passphrase,
        address,
    }
}

async fn create_key(s: S, h: HeaderMap) -> Result<Response> {
    let (address, nonce) = auth::l1(&s.0, &h)?;
    let k = derived(&s.0, address, nonce);
    let mut st = s.0.state();
    if st.keys.iter().any(|x| x.key == k.key) {
        return Err(ApiError::bad_request("Could not create api key"));
    }
    st.keys.push(k.clone());
    Ok(Json(creds_json(&k)).into_response())
}

/// Derives only a key the wallet created (with this nonce) before, as the
/// CLOB does; a wallet without one must create it first.
async fn derive_key(s: S, h: HeaderMap) -> Result<Response> {
    let (address, nonce) = auth::l1(&s.0, &h)?;
    let k = derived(&s.0, address, nonce);
    if !s.0.state().keys.iter().any(|x| x.key == k.key) {
        return Err(ApiError::bad_request("Could not derive api key!"));
    }
    Ok(Json(creds_json(&k)).into_response())
}

async fn list_keys(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let keys: Vec<String> =
        s.0.state()
            .keys
            .iter()
            .filter(|k| k.address == key.address)
            .map(|k| k.key.clone())
            .collect();
    Ok(Json(json!({"apiKeys": keys})).into_response())
}

async fn delete_key(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    s.0.state().keys.retain(|k| k.key != key.key);
    Ok(Json(json!("OK")).into_response())
}

async fn closed_only(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    auth::l2(&s.0, &m, &u, &h, &b)?;
    Ok(Json(json!({"closed_only": false})).into_response())
}

pub fn order_json(o: &SimOrder) -> Value {
    json!({
        "id": o.id,
        "status": o.status.as_str(),
        "owner": o.owner,
        "maker_address": o.maker.to_checksum(None),
        "market": o.condition_id,
        "asset_id": o.token_id,
        "side": o.side.as_str(),
        "original_size": o.original_size.normalize().to_string(),
        "size_matched": o.size_matched.normalize().to_string(),
        "price": o.price.normalize().to_string(),
        "associate_trades": o.trade_ids,
        "outcome": o.outcome,
        "created_at": o.created_at_ms / 1000,
        "expiration": o.expiration.to_string(),
        "order_type": o.order_type,
    })
}

const HOUSE_OWNER: &str = "00000000-0000-0000-0000-000000000000";

/// A trade as `owner` sees it (taker or maker side).
pub fn trade_json(t: &SimTrade, owner: Option<&str>) -> Value {
    let as_maker = owner.is_some()
        && t.maker_owner.as_deref() == owner
        && t.taker_owner.as_str() != owner.unwrap_or("");
    let maker_owner = t.maker_owner.clone().unwrap_or_else(|| HOUSE_OWNER.into());
    let maker_address = t.maker_address.unwrap_or(Address::ZERO).to_checksum(None);
    let secs = (t.match_time_ms / 1000).to_string();
    let maker_side = match t.side {
        crate::Side::Buy => "SELL",
        crate::Side::Sell => "BUY",
    };
    json!({
        "id": t.id,
        "taker_order_id": t.taker_order_id,
        "market": t.condition_id,
        "asset_id": t.token_id,
        "side": t.side.as_str(),
        "size": t.size.normalize().to_string(),
        "fee_rate_bps": "0",
        "price": t.price.normalize().to_string(),
        "status": "MATCHED",
        "match_time": secs,
        "last_update": secs,
        "outcome": t.outcome,
        "bucket_index": 0,
        "owner": if as_maker { maker_owner.clone() } else { t.taker_owner.clone() },
        "maker_address": if as_maker { maker_address.clone() } else { t.taker_address.to_checksum(None) },
        "maker_orders": [{
            "order_id": t.maker_order_id,
            "owner": maker_owner,
            "maker_address": maker_address,
            "matched_amount": t.size.normalize().to_string(),
            "price": t.price.normalize().to_string(),
            "fee_rate_bps": "0",
            "asset_id": t.token_id,
            "outcome": t.outcome,
            "side": maker_side,
        }],
        "transaction_hash": t.transaction_hash,
        "trader_side": if as_maker { "MAKER" } else { "TAKER" },
        "error_msg": null,
    })
}

type Q = Query<HashMap<String, String>>;

async fn open_orders(
    s: S,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Query(q): Q,
    b: Bytes,
) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let now = s.0.now_ms();
    let mut st = s.0.state();
    st.sweep(now);
    let token = q.get("asset_id").and_then(|t| market::canonical_token(t));
    let ids = st.open_ids(
        &key.key,
        q.get("market").map(String::as_str),
        token.as_deref(),
    );
    let items: Vec<Value> = st
        .orders
        .iter()
        .filter(|o| ids.contains(&o.id))
        .filter(|o| q.get("id").is_none_or(|id| id.eq_ignore_ascii_case(&o.id)))
        .map(order_json)
        .collect();
    Ok(Json(market::page(items, q.get("next_cursor"), 500)?).into_response())
}

async fn one_order(
    s: S,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let now = s.0.now_ms();
    let mut st = s.0.state();
    st.sweep(now);
    let o = st
        .orders
        .iter()
        .find(|o| o.owner == key.key && o.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ApiError::not_found("order not found"))?;
    Ok(Json(order_json(o)).into_response())
}

async fn trades(s: S, m: Method, u: Uri, h: HeaderMap, Query(q): Q, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let (before, after) = (num("before"), num("after"));
    let token = q.get("asset_id").and_then(|t| market::canonical_token(t));
    let items: Vec<Value> = s
        .0
        .state()
        .trades
        .iter()
        .filter(|t| t.taker_owner == key.key || t.maker_owner.as_deref() == Some(key.key.as_str()))
        .filter(|t| q.get("id").is_none_or(|id| *id == t.id))
        .filter(|t| {
            q.get("market")
                .is_none_or(|c| c.eq_ignore_ascii_case(&t.condition_id))
        })
        .filter(|t| token.as_ref().is_none_or(|tk| *tk == t.token_id))
        .filter(|t| before.is_none_or(|x| t.match_time_ms / 1000 < x))
        .filter(|t| after.is_none_or(|x| t.match_time_ms / 1000 > x))
        .map(|t| trade_json(t, Some(&key.key)))
        .collect();
    Ok(Json(market::page(items, q.get("next_cursor"), 500)?).into_response())
}

fn cancel_ids(s: &Shared, key: &ApiKey, ids: Vec<String>) -> Result<Response> {
    if s.mode() == TradingMode::Disabled {
        return Err(ApiError::unavailable(reply::TRADING_DISABLED));
    }
    let now = s.now_ms();
    let mut st = s.state();
    let (mut canceled, mut not) = (Vec::new(), serde_json::Map::new());
    for id in ids {
        match st.cancel(&key.key, &id, now) {
            Ok(()) => canceled.push(id),
            Err(why) => {
                not.insert(id, json!(why));
            }
        }
    }
    Ok(Json(json!({"canceled": canceled, "not_canceled": not})).into_response())
}

fn body_json(b: &[u8]) -> Result<Value> {
    serde_json::from_slice(b).map_err(|_| ApiError::bad_request("Invalid payload"))
}

async fn cancel_one(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let v = body_json(&b)?;
    let id = v
        .get("orderID")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("Invalid payload"))?;
    cancel_ids(&s.0, &key, vec![id.to_string()])
}

async fn cancel_many(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let ids: Vec<String> =
        serde_json::from_slice(&b).map_err(|_| ApiError::bad_request("Invalid payload"))?;
    cancel_ids(&s.0, &key, ids)
}

async fn cancel_all(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let ids = s.0.state().open_ids(&key.key, None, None);
    cancel_ids(&s.0, &key, ids)
}

async fn cancel_market(s: S, m: Method, u: Uri, h: HeaderMap, b: Bytes) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let v = body_json(&b)?;
    let market = v.get("market").and_then(Value::as_str);
    let token = v
        .get("asset_id")
        .and_then(Value::as_str)
        .and_then(market::canonical_token);
    let ids = s.0.state().open_ids(&key.key, market, token.as_deref());
    cancel_ids(&s.0, &key, ids)
}

/// Balances are 10^6-scaled integers, as the CLOB writes them.
pub fn scaled(d: rust_decimal::Decimal) -> String {
    d.checked_mul(rust_decimal::Decimal::from(1_000_000))
        .map(|x| x.trunc().to_string())
        .unwrap_or_else(|| "0".into())
}

async fn balance_allowance(
    s: S,
    m: Method,
    u: Uri,
    h: HeaderMap,
    Query(q): Q,
    b: Bytes,
) -> Result<Response> {
    let key = auth::l2(&s.0, &m, &u, &h, &b)?;
    let st = s.0.state();
    let who = match q.get("signature_type").map(String::as_str) {
        Some("1") | Some("2") => st.funders.get(&key.address).copied().unwrap_or(key.address),
        _ => key.address,
    };
    let ex = s.0.config.exchanges;
    let balance = match q
        .get("asset_type")
        .map(|a| a.to_ascii_uppercase())
        .as_deref()
    {
        None | Some("COLLATERAL") => st.collateral(who),
        Some("CONDITIONAL") => {
            let token = q
                .get("token_id")
                .and_then(|t| market::canonical_token(t))
                .ok_or_else(|| ApiError::bad_request("Invalid payload: token_id is required"))?;
            st.position(who, &token)
        }
        Some(_) => return Err(ApiError::bad_request("Invalid payload: asset_type")),
    };
    let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let allowances: serde_json::Map<String, Value> = [ex.v2, ex.v2_neg_risk, ex.v1, ex.v1_neg_risk]
        .iter()
        .map(|a| (a.to_checksum(None), json!(max)))
        .collect();
    Ok(Json(json!({"balance": scaled(balance), "allowances": allowances})).into_response())
}
