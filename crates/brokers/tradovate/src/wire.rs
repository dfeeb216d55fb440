//! Tradovate's JSON shapes (field names as in Tradovate's OpenAPI file).

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Tradovate sends decimals as JSON numbers (`"netPrice": 21000.25`), while
/// the workspace's `rust_decimal` reads only strings (`serde-str`): read
/// both, from the number's text (never rounded through arithmetic).
mod number {
    use super::*;
    use serde::de::Error;

    fn parse(v: &Value) -> Option<Decimal> {
        let s = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => return None,
        };
        s.parse::<Decimal>()
            .ok()
            .or_else(|| Decimal::from_scientific(&s).ok())
    }

    pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let v = Value::deserialize(d)?;
        parse(&v).ok_or_else(|| D::Error::custom(format!("not a decimal: {v}")))
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse(&v)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not a decimal: {v}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[serde(default)]
    pub error_text: Option<String>,
    pub user_id: i64,
    pub name: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    #[serde(default)]
    pub account_type: Option<String>,
    pub active: bool,
    #[serde(default)]
    pub readonly: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CashBalanceSnapshot {
    #[serde(default)]
    pub error_text: Option<String>,
    #[serde(default, deserialize_with = "number::optional")]
    pub total_cash_value: Option<Decimal>,
    #[serde(default, deserialize_with = "number::optional")]
    pub net_liq: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: i64,
    pub net_pos: i64,
    #[serde(default, deserialize_with = "number::optional")]
    pub net_price: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub contract_maturity_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollContract {
    pub name: String,
    pub forward: bool,
    pub if_expired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollContractResult {
    #[serde(default)]
    pub contract: Option<Contract>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    pub account_spec: String,
    pub account_id: i64,
    pub cl_ord_id: String,
    pub action: String,
    pub symbol: String,
    pub order_qty: i64,
    pub order_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price: Option<Decimal>,
    pub is_automated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderResult {
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub failure_text: Option<String>,
    #[serde(default)]
    pub order_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrder {
    pub order_id: i64,
    pub is_automated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub failure_text: Option<String>,
    #[serde(default)]
    pub command_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    pub account_id: i64,
    pub contract_id: i64,
    pub timestamp: String,
    pub action: String,
    pub ord_status: String,
}

/// A command sent for an order (`/command/list`): where Tradovate keeps the
/// `clOrdId` we gave the order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub id: i64,
    pub order_id: i64,
    pub timestamp: String,
    #[serde(default)]
    pub cl_ord_id: Option<String>,
    pub command_type: String,
    pub command_status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fill {
    pub id: i64,
    pub order_id: i64,
    pub contract_id: i64,
    pub timestamp: String,
    pub action: String,
    pub qty: i64,
    #[serde(deserialize_with = "number::decimal")]
    pub price: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenResponse {
    #[serde(default)]
    pub error_text: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expiration_time: Option<String>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user_status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthTokenResponse {
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// RFC 3339 / ISO-8601 instant → Unix milliseconds.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `tradovate_responses` fuzz seeds: Tradovate's numbers
    /// (not strings) were refused, so positions, fills and balances from
    /// the real venue could not be read.
    #[test]
    fn decimals_are_read_as_numbers_and_as_strings() {
        let p: Position = serde_json::from_str(
            r#"{"id":1,"accountId":2,"contractId":3,"netPos":-2,"netPrice":21000.25}"#,
        )
        .unwrap();
        assert_eq!(p.net_price, Some("21000.25".parse().unwrap()));
        let f: Fill = serde_json::from_str(
            r#"{"id":1,"orderId":2,"contractId":3,"timestamp":"t","action":"Buy","qty":1,"price":"5900.5"}"#,
        )
        .unwrap();
        assert_eq!(f.price, "5900.5".parse::<Decimal>().unwrap());
        let c: CashBalanceSnapshot =
            serde_json::from_str(r#"{"totalCashValue":50000,"netLiq":null}"#).unwrap();
        assert_eq!(
            (c.total_cash_value, c.net_liq),
            (Some(Decimal::from(50000)), None)
        );
        assert!(serde_json::from_str::<CashBalanceSnapshot>(r#"{"netLiq":true}"#).is_err());
    }
}
