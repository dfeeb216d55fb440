//! The HTTP side, for tests and people with curl:
//!
//! - `GET /_sim/orders`: the ledger, every order in arrival order
//! - `GET /_sim/positions`: every position with its mark and value
//! - `POST /_sim/prices`: `{"con_id"|"local_symbol"|"symbol": …, "price": p}`
//!   or an array of those; resting LMT orders the new mark crosses fill
//! - `GET /_sim/faults` (settings and counts), `POST /_sim/faults` (see
//!   [`crate::faults::parse_change`]), `DELETE /_sim/faults` (settings off)

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::Shared;
use crate::ledger::f;

pub(crate) fn service(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/orders", get(orders))
        .route("/_sim/positions", get(positions))
        .route("/_sim/prices", post(prices))
        .route(
            "/_sim/faults",
            get(faults_show).post(faults_change).delete(faults_clear),
        )
        .with_state(shared)
}

fn bad(why: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": why}))).into_response()
}

async fn orders(State(s): State<Arc<Shared>>) -> Response {
    let state = s.state();
    let list: Vec<Value> = state
        .orders
        .iter()
        .map(|o| {
            json!({
                "account": o.account,
                "client_id": o.client_id,
                "order_id": o.order_id,
                "perm_id": o.perm_id,
                "order_ref": o.order_ref,
                "con_id": o.contract.con_id,
                "symbol": o.contract.symbol,
                "local_symbol": o.contract.local_symbol,
                "sec_type": o.contract.sec_type,
                "action": o.action,
                "quantity": f(o.quantity),
                "order_type": o.order_type,
                "limit_price": o.limit_price,
                "tif": o.tif,
                "status": o.status,
                "filled": f(o.filled),
                "avg_price": o.avg_price,
                "commission": o.commission,
            })
        })
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn positions(State(s): State<Arc<Shared>>) -> Response {
    let state = s.state();
    let list: Vec<Value> = state
        .positions
        .iter()
        .map(|p| crate::queries::position_json(&state, p))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

/// The con ids one price entry names.
fn targets(s: &Shared, v: &Value) -> Result<(Vec<i32>, f64), String> {
    let price = v
        .get("price")
        .and_then(Value::as_f64)
        .filter(|p| p.is_finite() && *p > 0.0)
        .ok_or_else(|| format!("each entry needs a positive \"price\", got {v}"))?;
    let state = s.state();
    let ids: Vec<i32> = if let Some(id) = v.get("con_id") {
        let id = id
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| format!("\"con_id\" must be an integer, got {id}"))?;
        state
            .catalogue
            .by_con_id(id)
            .map(|_| id)
            .into_iter()
            .collect()
    } else if let Some(ls) = v.get("local_symbol").and_then(Value::as_str) {
        state
            .catalogue
            .entries
            .iter()
            .filter(|e| e.contract().local_symbol == ls)
            .map(|e| e.contract().con_id)
            .collect()
    } else if let Some(sym) = v.get("symbol").and_then(Value::as_str) {
        state
            .catalogue
            .entries
            .iter()
            .filter(|e| e.contract().symbol == sym && e.contract().sec_type != "OPT")
            .map(|e| e.contract().con_id)
            .collect()
    } else {
        return Err(format!(
            "each entry names a contract by \"con_id\", \"local_symbol\" or \"symbol\", got {v}"
        ));
    };
    if ids.is_empty() {
        return Err(format!("no listed contract matches {v}"));
    }
    Ok((ids, price))
}

async fn prices(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the body is not JSON: {e}")),
    };
    let entries = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut changes = Vec::new();
    for e in &entries {
        match targets(&s, e) {
            Ok(t) => changes.push(t),
            Err(why) => return bad(why),
        }
    }
    let mut set = Vec::new();
    for (ids, price) in changes {
        for id in ids {
            crate::orders::set_mark(&s, id, price);
            set.push(json!({"con_id": id, "price": price}));
        }
    }
    axum::Json(json!({"set": set})).into_response()
}

async fn faults_show(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(s.faults.to_json()).into_response()
}

async fn faults_change(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let c = match crate::faults::parse_change(&body) {
        Ok(c) => c,
        Err(why) => return bad(why),
    };
    let faults = &s.faults;
    if let Some(n) = c.drop_next {
        faults.drop_after_accept_next(n);
    }
    if let Some((rate, seed)) = c.drop_random {
        faults.drop_after_accept_randomly(rate, seed);
    }
    if let Some(ms) = c.status_delay_ms {
        faults.set_status_delay(Duration::from_millis(ms));
    }
    if let Some(on) = c.refuse_connections {
        faults.set_refuse_connections(on);
    }
    if let Some(on) = c.read_only {
        faults.set_read_only(on);
    }
    if let Some(ms) = c.restart_ms {
        s.restart(Duration::from_millis(ms));
    }
    if let Some(ms) = c.connectivity_lost_ms {
        s.lose_connectivity(Duration::from_millis(ms));
    }
    axum::Json(faults.to_json()).into_response()
}

async fn faults_clear(State(s): State<Arc<Shared>>) -> Response {
    s.faults.clear();
    axum::Json(s.faults.to_json()).into_response()
}
