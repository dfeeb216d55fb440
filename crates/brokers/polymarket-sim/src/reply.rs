//! The CLOB's error envelope: `{"error": "<message>"}` with its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const INVALID_API_KEY: &str = "Unauthorized/Invalid api key";
pub const INVALID_L1: &str = "Invalid L1 Request headers";
pub const TRADING_DISABLED: &str =
    "Trading is currently disabled. Check polymarket.com for updates";
pub const CANCEL_ONLY: &str =
    "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed.";
pub const TOO_MANY: &str = "Too Many Requests";
pub const INVALID_PAYLOAD: &str = "Invalid order payload";
pub const VERSION_MISMATCH: &str = "order_version_mismatch";

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unavailable(message: &str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;
