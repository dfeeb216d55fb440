//! The market-data (Gamma) API's market lookup by slug, and the Data API's
//! positions, served under `/gamma` and `/data-api` (the real services live
//! on their own hosts: `gamma-api.polymarket.com`, `data-api.polymarket.com`).
//! Gamma writes `outcomes` and `clobTokenIds` as JSON arrays encoded in
//! strings, and numbers as JSON numbers.

use std::collections::HashMap;

use alloy_primitives::Address;
use axum::Json;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::SimMarket;
use crate::reply::{ApiError, Result};
use crate::routes::S;

fn gamma_market(m: &SimMarket) -> Value {
    let outcomes: Vec<&str> = m.tokens.iter().map(|t| t.outcome.as_str()).collect();
    let ids: Vec<&str> = m.tokens.iter().map(|t| t.token_id.as_str()).collect();
    let prices: Vec<String> = m
        .tokens
        .iter()
        .map(|t| t.price.normalize().to_string())
        .collect();
    json!({
        "id": m.condition_id[2..10].to_string(),
        "question": m.question,
        "conditionId": m.condition_id,
        "slug": m.slug,
        "outcomes": serde_json::to_string(&outcomes).expect("strings"),
        "outcomePrices": serde_json::to_string(&prices).expect("strings"),
        "clobTokenIds": serde_json::to_string(&ids).expect("strings"),
        "active": m.active,
        "closed": false,
        "acceptingOrders": m.active,
        "enableOrderBook": true,
        "negRisk": m.neg_risk,
        "orderPriceMinTickSize": m.tick_size.normalize().to_string().parse::<f64>().unwrap_or(0.01),
        "orderMinSize": m.min_order_size.normalize().to_string().parse::<f64>().unwrap_or(5.0),
    })
}

/// `GET /gamma/markets?slug=…` (several `slug`s allowed, as Gamma takes).
pub async fn markets(s: S, Query(q): Query<Vec<(String, String)>>) -> Response {
    let slugs: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "slug")
        .map(|(_, v)| v.as_str())
        .collect();
    let list: Vec<Value> =
        s.0.config
            .markets
            .iter()
            .filter(|m| slugs.is_empty() || slugs.contains(&m.slug.as_str()))
            .map(gamma_market)
            .collect();
    Json(list).into_response()
}

/// `GET /data-api/positions?user=0x…`: the user's outcome-token balances.
pub async fn positions(s: S, Query(q): Query<HashMap<String, String>>) -> Result<Response> {
    let user: Address = q
        .get("user")
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| ApiError::bad_request("user must be an address"))?;
    let st = s.0.state();
    let rows: Vec<Value> = st
        .positions
        .iter()
        .filter(|((who, _), size)| *who == user && !size.is_zero())
        .filter_map(|((_, token), size)| {
            let (m, t) = crate::market::by_token(&s.0.config, token)?;
            Some(json!({
                "proxyWallet": user.to_checksum(None),
                "asset": token,
                "conditionId": m.condition_id,
                "size": size.normalize().to_string().parse::<f64>().unwrap_or(0.0),
                "avgPrice": 0,
                "curPrice": t.price.normalize().to_string().parse::<f64>().unwrap_or(0.0),
                "title": m.question,
                "slug": m.slug,
                "outcome": t.outcome,
                "negativeRisk": m.neg_risk,
            }))
        })
        .collect();
    Ok(Json(rows).into_response())
}
