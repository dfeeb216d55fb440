//! Binance's error envelope (`{"code","msg"}`) and value formatting.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::json;

/// Marks an error answer so the metering layer can record it.
#[derive(Debug, Clone, Copy)]
pub struct Rejection {
    pub status: u16,
    pub code: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub msg: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            msg: msg.into(),
            retry_after_secs: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"code": self.code, "msg": self.msg})),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                secs.to_string().parse().expect("digits"),
            );
        }
        resp.extensions_mut().insert(Rejection {
            status: self.status.as_u16(),
            code: self.code,
        });
        resp
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;

/// HTTP 400 with a Binance code.
pub fn bad(code: i64, msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, msg)
}

/// `-2015`, HTTP 401: unknown key or missing permission.
pub fn rejected_key() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )
}

pub fn mandatory(param: &str) -> ApiError {
    bad(
        -1102,
        format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
    )
}

pub fn illegal(param: &str, legal: &str) -> ApiError {
    bad(
        -1100,
        format!("Illegal characters found in parameter '{param}'; legal range is '{legal}'."),
    )
}

pub fn not_required(param: &str) -> ApiError {
    bad(
        -1106,
        format!("Parameter '{param}' sent when not required."),
    )
}

pub fn invalid_symbol() -> ApiError {
    bad(-1121, "Invalid symbol.")
}

pub fn filter_failure(filter: &str) -> ApiError {
    bad(-1013, format!("Filter failure: {filter}"))
}

pub fn no_such_order() -> ApiError {
    bad(-2013, "Order does not exist.")
}

pub fn unknown_order() -> ApiError {
    bad(-2011, "Unknown order sent.")
}

/// The fields of a `json!({...})` object literal.
pub fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => map,
        other => panic!("not a JSON object: {other}"),
    }
}

/// `d` with exactly `dp` decimals (Binance sends decimals as strings).
pub fn fixed(d: Decimal, dp: u32) -> String {
    let mut x = d.round_dp(dp);
    x.rescale(dp);
    x.to_string()
}

/// Spot formats every amount with 8 decimals.
pub fn d8(d: Decimal) -> String {
    fixed(d, 8)
}

/// Decimals a step (tick or lot) allows: 0.01 → 2.
pub fn decimals_of(step: Decimal) -> u32 {
    step.normalize().scale()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_fixed_width_strings() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(d8(d("60000")), "60000.00000000");
        assert_eq!(fixed(d("0.5"), 3), "0.500");
        assert_eq!(decimals_of(d("0.0100")), 2);
        assert_eq!(decimals_of(d("1")), 0);
    }
}
