//! Public (unauthenticated) endpoints: server info and the market
//! information clients read before signing.

use std::collections::HashMap;

use alloy_primitives::U256;
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::reply::{ApiError, Result};
use crate::routes::S;
use crate::{Side, SimConfig, SimMarket, SimToken};

pub const END_CURSOR: &str = "LTE=";

/// A token id in canonical decimal form, or None if it is not a U256.
pub fn canonical_token(s: &str) -> Option<String> {
    s.trim().parse::<U256>().ok().map(|u| u.to_string())
}

pub fn by_token<'a>(c: &'a SimConfig, token: &str) -> Option<(&'a SimMarket, &'a SimToken)> {
    let token = canonical_token(token)?;
    c.markets.iter().find_map(|m| {
        m.tokens
            .iter()
            .find(|t| t.token_id == token)
            .map(|t| (m, t))
    })
}

fn by_condition<'a>(c: &'a SimConfig, id: &str) -> Option<&'a SimMarket> {
    c.markets
        .iter()
        .find(|m| m.condition_id.eq_ignore_ascii_case(id))
}

fn token_param<'a>(s: &'a S, q: &HashMap<String, String>) -> Result<(&'a SimMarket, &'a SimToken)> {
    let token = q
        .get("token_id")
        .ok_or_else(|| ApiError::bad_request("Invalid payload: token_id is required"))?;
    by_token(&s.0.config, token).ok_or_else(|| ApiError::not_found("market not found"))
}

/// Decimals as JSON strings. The CLOB writes tick and size fields as
/// numbers, but strings parse in every client while numbers do not under
/// rust_decimal's `serde-str` (which this workspace enables).
pub fn num(d: rust_decimal::Decimal) -> Value {
    Value::String(d.normalize().to_string())
}

pub async fn version(s: S) -> Response {
    Json(json!({"version": s.0.config.version})).into_response()
}

pub async fn time(s: S) -> Response {
    Json(json!(s.0.now_ms() / 1000)).into_response()
}

pub async fn ok() -> Response {
    Json(json!("OK")).into_response()
}

pub async fn tick_size(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    let (m, _) = token_param(&s, &q)?;
    Ok(Json(json!({"minimum_tick_size": num(m.tick_size)})).into_response())
}

pub async fn neg_risk(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    let (m, _) = token_param(&s, &q)?;
    Ok(Json(json!({"neg_risk": m.neg_risk})).into_response())
}

pub async fn fee_rate(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    token_param(&s, &q)?;
    Ok(Json(json!({"base_fee": 0})).into_response())
}

pub async fn market_by_token(s: S, Path(token): Path<String>) -> Result<Response> {
    let (m, _) =
        by_token(&s.0.config, &token).ok_or_else(|| ApiError::not_found("market not found"))?;
    Ok(Json(json!({
        "condition_id": m.condition_id,
        "primary_token_id": m.tokens.first().map(|t| t.token_id.clone()).unwrap_or_default(),
        "secondary_token_id": m.tokens.get(1).map(|t| t.token_id.clone()).unwrap_or_default(),
    }))
    .into_response())
}

pub async fn clob_market(s: S, Path(id): Path<String>) -> Result<Response> {
    let m =
        by_condition(&s.0.config, &id).ok_or_else(|| ApiError::not_found("market not found"))?;
    Ok(Json(json!({
        "c": m.condition_id,
        "t": m.tokens.iter().map(|t| json!({"t": t.token_id, "o": t.outcome})).collect::<Vec<_>>(),
        "mts": num(m.tick_size),
        "mos": num(m.min_order_size),
        "nr": m.neg_risk,
        "fd": {"r": "0", "e": 0, "to": false},
        "mbf": "0",
        "tbf": "0",
        "rfqe": false,
    }))
    .into_response())
}

fn market_json(m: &SimMarket) -> Value {
    let zero32 = format!("0x{}", "0".repeat(64));
    json!({
        "enable_order_book": true,
        "active": m.active,
        "closed": false,
        "archived": false,
        "accepting_orders": m.active,
        "accepting_order_timestamp": null,
        "minimum_order_size": num(m.min_order_size),
        "minimum_tick_size": num(m.tick_size),
        "condition_id": m.condition_id,
        "question_id": zero32,
        "question": m.question,
        "description": m.question,
        "market_slug": m.slug,
        "end_date_iso": null,
        "game_start_time": null,
        "seconds_delay": 0,
        "fpmm": "",
        "maker_base_fee": "0",
        "taker_base_fee": "0",
        "notifications_enabled": false,
        "neg_risk": m.neg_risk,
        "neg_risk_market_id": if m.neg_risk { json!(zero32) } else { json!("") },
        "neg_risk_request_id": "",
        "icon": "",
        "image": "",
        "rewards": {"rates": null, "min_size": "0", "max_spread": "0"},
        "tokens": m.tokens.iter().map(|t| json!({
            "token_id": t.token_id, "outcome": t.outcome, "price": num(t.price), "winner": false,
        })).collect::<Vec<_>>(),
        "is_50_50_outcome": false,
        "tags": [],
    })
}

/// A cursor is the base64 of the offset; `LTE=` (base64 "-1") ends the list.
pub fn page(items: Vec<Value>, cursor: Option<&String>, limit: usize) -> Result<Value> {
    let offset = match cursor.map(String::as_str) {
        None | Some("") => 0,
        Some(END_CURSOR) => items.len(),
        Some(c) => B64
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| ApiError::bad_request("invalid next_cursor"))?,
    };
    let data: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    let next = offset + data.len();
    let next_cursor = if next >= items.len() {
        END_CURSOR.to_string()
    } else {
        B64.encode(next.to_string())
    };
    Ok(json!({"data": data, "next_cursor": next_cursor, "limit": limit, "count": data.len()}))
}

pub async fn markets(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    let all = s.0.config.markets.iter().map(market_json).collect();
    Ok(Json(page(all, q.get("next_cursor"), 500)?).into_response())
}

pub async fn market(s: S, Path(id): Path<String>) -> Result<Response> {
    let m =
        by_condition(&s.0.config, &id).ok_or_else(|| ApiError::not_found("market not found"))?;
    Ok(Json(market_json(m)).into_response())
}

pub async fn book(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    let (m, t) = token_param(&s, &q)
        .map_err(|_| ApiError::not_found("No orderbook exists for the requested token id"))?;
    let (bids, asks, last) = {
        let st = s.0.state();
        let last = st
            .trades
            .iter()
            .rev()
            .find(|x| x.token_id == t.token_id)
            .map(|x| x.price);
        (
            st.book.levels(&t.token_id, Side::Buy),
            st.book.levels(&t.token_id, Side::Sell),
            last,
        )
    };
    let lv = |l: &[(rust_decimal::Decimal, rust_decimal::Decimal)]| {
        l.iter()
            .map(|(p, z)| json!({"price": p.normalize().to_string(), "size": z.normalize().to_string()}))
            .collect::<Vec<_>>()
    };
    let (bids, asks) = (lv(&bids), lv(&asks));
    let hash = hex::encode(Sha256::digest(json!([bids, asks]).to_string()));
    Ok(Json(json!({
        "market": m.condition_id,
        "asset_id": t.token_id,
        "timestamp": s.0.now_ms().to_string(),
        "hash": hash,
        "bids": bids,
        "asks": asks,
        "min_order_size": m.min_order_size.normalize().to_string(),
        "neg_risk": m.neg_risk,
        "tick_size": m.tick_size.normalize().to_string(),
        "last_trade_price": last.unwrap_or(t.price).normalize().to_string(),
    }))
    .into_response())
}
