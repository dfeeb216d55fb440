//! The CLOB's and the Data API's JSON answers, as far as atomik reads them.

use std::collections::HashMap;

use atomik_broker::{BrokerError, OrderState};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::markets::decimal;

#[derive(Deserialize)]
pub(super) struct CreatedKey {
    #[serde(rename = "apiKey")]
    pub(super) api_key: String,
    pub(super) secret: String,
    pub(super) passphrase: String,
}

#[derive(Deserialize)]
pub(super) struct BalanceAllowance {
    pub(super) balance: Value,
    #[serde(default)]
    pub(super) allowances: HashMap<String, Value>,
}

#[derive(Deserialize)]
pub(super) struct BookLevel {
    pub(super) price: Value,
    pub(super) size: Value,
}

#[derive(Deserialize)]
pub(super) struct Book {
    #[serde(default)]
    pub(super) bids: Vec<BookLevel>,
    #[serde(default)]
    pub(super) asks: Vec<BookLevel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostAnswer {
    #[serde(default)]
    pub(super) success: bool,
    #[serde(default, alias = "error_msg")]
    pub(super) error_msg: Option<String>,
    #[serde(default, rename = "orderID")]
    pub(super) order_id: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) making_amount: Option<Value>,
    #[serde(default)]
    pub(super) taking_amount: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct OpenOrder {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) size_matched: Option<Value>,
    #[serde(default)]
    pub(super) price: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(super) data: Vec<T>,
    #[serde(default)]
    pub(super) next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Trade {
    #[serde(default)]
    pub(super) taker_order_id: String,
    #[serde(default)]
    pub(super) size: Option<Value>,
    #[serde(default)]
    pub(super) price: Option<Value>,
    #[serde(default)]
    pub(super) maker_orders: Vec<MakerOrder>,
}

#[derive(Deserialize)]
pub(super) struct MakerOrder {
    pub(super) order_id: String,
    #[serde(default)]
    pub(super) matched_amount: Option<Value>,
    #[serde(default)]
    pub(super) price: Option<Value>,
}

/// `/data-api/positions` rows (the Data API's `GET /positions?user=`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DataPosition {
    pub(super) asset: String,
    pub(super) size: Value,
    #[serde(default)]
    pub(super) avg_price: Option<Value>,
    #[serde(default)]
    pub(super) slug: Option<String>,
    #[serde(default)]
    pub(super) outcome: Option<String>,
}

/// 10^6-scaled integer units (balances) as a decimal.
pub(super) fn units(v: &Value) -> Option<Decimal> {
    decimal(v)?.checked_div(Decimal::from(1_000_000))
}

/// An allowance: a decimal integer above zero (often 2^256 − 1, beyond
/// any decimal type).
pub(super) fn is_positive_integer(v: &Value) -> bool {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return false,
    };
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.bytes().any(|b| b != b'0')
}

pub(super) fn rejected(reason: String) -> BrokerError {
    BrokerError::Rejected { code: None, reason }
}

/// The CLOB's order status in the trait's terms.
pub(super) fn order_state(status: &str) -> OrderState {
    match status.to_ascii_uppercase().as_str() {
        "MATCHED" => OrderState::Filled,
        "LIVE" => OrderState::Working,
        "CANCELED" | "CANCELED_MARKET_RESOLVED" | "UNMATCHED" => OrderState::Canceled,
        _ => OrderState::Pending,
    }
}
