//! `/_sim/...`: the ledger and balances over HTTP, and knobs for tests and
//! people with curl (balances, funders, house liquidity, trading mode, the
//! venue's own faults, releasing delayed orders). `/_sim/faults` (simkit) is
//! merged beside these.

use std::sync::Arc;

use alloy_primitives::Address;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::reply::{ApiError, Result};
use crate::routes::{S, order_json};
use crate::{Fault, PolymarketFault, Shared, Side, SimLevel, TradingMode, market};

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/orders", get(orders))
        .route("/_sim/trades", get(trades))
        .route("/_sim/balances", get(balances).post(set_balances))
        .route("/_sim/funders", post(set_funder))
        .route("/_sim/book", post(add_liquidity))
        .route("/_sim/release-delayed", post(release))
        .route("/_sim/trading-mode", get(mode).post(set_mode))
        .route("/_sim/venue-faults", post(venue_faults))
}

fn bad(why: impl Into<String>) -> ApiError {
    ApiError::bad_request(why)
}

fn body(b: &[u8]) -> Result<Value> {
    serde_json::from_slice(b).map_err(|e| bad(format!("the body is not JSON: {e}")))
}

fn address(v: &Value, field: &str) -> Result<Address> {
    v.get(field)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("\"{field}\" must be an address")))
}

fn decimal(v: &Value, field: &str) -> Result<Decimal> {
    match v.get(field) {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.to_string().parse().ok(),
        _ => None,
    }
    .filter(|d: &Decimal| !d.is_sign_negative() && *d <= Decimal::from(1_000_000_000_000_000i64))
    .ok_or_else(|| bad(format!("\"{field}\" must be a decimal from 0 to 10^15")))
}

async fn orders(s: S) -> Response {
    let st = s.0.state();
    let all: Vec<Value> = st
        .orders
        .iter()
        .map(|o| {
            let mut v = order_json(o);
            v["signer"] = json!(o.signer.to_checksum(None));
            v["signature_type"] = json!(o.signature_type);
            v["version"] = json!(o.version);
            v
        })
        .collect();
    Json(all).into_response()
}

async fn trades(s: S) -> Response {
    let st = s.0.state();
    let all: Vec<Value> = st
        .trades
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "taker_order_id": t.taker_order_id, "maker_order_id": t.maker_order_id,
                "asset_id": t.token_id, "market": t.condition_id, "outcome": t.outcome,
                "side": t.side.as_str(), "price": t.price.normalize().to_string(),
                "size": t.size.normalize().to_string(), "taker_owner": t.taker_owner,
                "taker_address": t.taker_address.to_checksum(None), "maker_owner": t.maker_owner,
                "maker_address": t.maker_address.map(|a| a.to_checksum(None)),
                "match_time_ms": t.match_time_ms, "transaction_hash": t.transaction_hash,
            })
        })
        .collect();
    Json(all).into_response()
}

async fn balances(s: S) -> Response {
    let st = s.0.state();
    let collateral: serde_json::Map<String, Value> = st
        .collateral
        .iter()
        .map(|(a, d)| (a.to_checksum(None), json!(d.normalize().to_string())))
        .collect();
    let positions: Vec<Value> = st
        .positions
        .iter()
        .map(|((a, t), d)| json!({"address": a.to_checksum(None), "token_id": t, "shares": d.normalize().to_string()}))
        .collect();
    let funders: serde_json::Map<String, Value> = st
        .funders
        .iter()
        .map(|(s, f)| (s.to_checksum(None), json!(f.to_checksum(None))))
        .collect();
    Json(json!({"collateral": collateral, "positions": positions, "funders": funders}))
        .into_response()
}

/// `{"address", "collateral"?, "positions"?: [{"token_id", "shares"}]}`.
async fn set_balances(s: S, b: Bytes) -> Result<Response> {
    let v = body(&b)?;
    let who = address(&v, "address")?;
    let coll = match v.get("collateral") {
        None => None,
        Some(_) => Some(decimal(&v, "collateral")?),
    };
    let mut positions = Vec::new();
    if let Some(ps) = v.get("positions") {
        for p in ps
            .as_array()
            .ok_or_else(|| bad("\"positions\" must be an array"))?
        {
            let token = p
                .get("token_id")
                .and_then(Value::as_str)
                .and_then(|t| market::by_token(&s.0.config, t))
                .map(|(_, t)| t.token_id.clone())
                .ok_or_else(|| bad("positions[].token_id must be a listed token id"))?;
            positions.push((token, decimal(p, "shares")?));
        }
    }
    {
        let mut st = s.0.state();
        if let Some(c) = coll {
            st.collateral.insert(who, c);
        }
        for (t, n) in positions {
            st.positions.insert((who, t), n);
        }
    }
    Ok(balances(s).await)
}

/// `{"signer", "funder"}`: the proxy/Safe wallet orders of `signer` may name as maker.
async fn set_funder(s: S, b: Bytes) -> Result<Response> {
    let v = body(&b)?;
    let (signer, funder) = (address(&v, "signer")?, address(&v, "funder")?);
    s.0.state().funders.insert(signer, funder);
    Ok(balances(s).await)
}

/// `{"token_id", "side": "BUY"|"SELL", "price", "size"}`: house liquidity.
async fn add_liquidity(s: S, b: Bytes) -> Result<Response> {
    let v = body(&b)?;
    let token = v
        .get("token_id")
        .and_then(Value::as_str)
        .and_then(|t| market::by_token(&s.0.config, t))
        .map(|(_, t)| t.token_id.clone())
        .ok_or_else(|| bad("\"token_id\" must be a listed token id"))?;
    let side = match v.get("side").and_then(Value::as_str) {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        _ => return Err(bad("\"side\" must be BUY or SELL")),
    };
    let (price, size) = (decimal(&v, "price")?, decimal(&v, "size")?);
    if price <= Decimal::ZERO || price >= Decimal::ONE || size.is_zero() {
        return Err(bad("\"price\" must be in (0, 1) and \"size\" positive"));
    }
    s.0.state().add_house(&SimLevel {
        token_id: token,
        side,
        price,
        size,
    });
    Ok(Json(json!({"ok": true})).into_response())
}

async fn release(s: S) -> Response {
    let now = s.0.now_ms();
    let n = s.0.state().release_delayed(now);
    Json(json!({"released": n})).into_response()
}

fn mode_name(m: TradingMode) -> &'static str {
    match m {
        TradingMode::Open => "open",
        TradingMode::CancelOnly => "cancel_only",
        TradingMode::Disabled => "disabled",
    }
}

async fn mode(s: S) -> Response {
    Json(json!({"mode": mode_name(s.0.mode())})).into_response()
}

/// `{"mode": "open"|"cancel_only"|"disabled"}`.
async fn set_mode(s: S, b: Bytes) -> Result<Response> {
    let v = body(&b)?;
    let m = match v.get("mode").and_then(Value::as_str) {
        Some("open") => TradingMode::Open,
        Some("cancel_only") => TradingMode::CancelOnly,
        Some("disabled") => TradingMode::Disabled,
        _ => return Err(bad("\"mode\" must be open, cancel_only or disabled")),
    };
    *s.0.mode.lock().expect("mode") = m;
    Ok(mode(s).await)
}

/// `{"kind": "trading_disabled"|"cancel_only"|"delayed", "count"?: n}`: queue
/// the venue's own one-call faults on `POST /order`.
async fn venue_faults(s: S, b: Bytes) -> Result<Response> {
    let v = body(&b)?;
    let f = match v.get("kind").and_then(Value::as_str) {
        Some("trading_disabled") => PolymarketFault::TradingDisabled,
        Some("cancel_only") => PolymarketFault::CancelOnly,
        Some("delayed") => PolymarketFault::Delayed,
        _ => {
            return Err(bad(
                "\"kind\" must be trading_disabled, cancel_only or delayed",
            ));
        }
    };
    let n = match v.get("count") {
        None => 1,
        Some(c) => c
            .as_u64()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| bad("\"count\" must be 0..=10000"))? as usize,
    };
    s.0.faults.fail_next(n, Fault::Venue(f));
    Ok(Json(json!({"pending": s.0.faults.pending()})).into_response())
}
