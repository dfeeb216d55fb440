//! The protobuf messages atomik exchanges, with IB's field numbers and
//! types (proto2 `optional`). Only the fields atomik reads or writes are
//! declared; prost skips the others when decoding.

use prost::Message;

// --- Shared sub-messages ---

#[derive(Clone, PartialEq, Message)]
pub struct Contract {
    #[prost(int32, optional, tag = "1")]
    pub con_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub symbol: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub last_trade_date_or_contract_month: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub strike: Option<f64>,
    #[prost(string, optional, tag = "6")]
    pub right: Option<String>,
    #[prost(double, optional, tag = "7")]
    pub multiplier: Option<f64>,
    #[prost(string, optional, tag = "8")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "9")]
    pub primary_exch: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub currency: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub local_symbol: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub trading_class: Option<String>,
    #[prost(bool, optional, tag = "18")]
    pub include_expired: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Order {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub order_id: Option<i32>,
    #[prost(int64, optional, tag = "3")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "4")]
    pub parent_id: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub action: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub total_quantity: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub order_type: Option<String>,
    #[prost(double, optional, tag = "9")]
    pub lmt_price: Option<f64>,
    #[prost(double, optional, tag = "10")]
    pub aux_price: Option<f64>,
    #[prost(string, optional, tag = "11")]
    pub tif: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub account: Option<String>,
    #[prost(bool, optional, tag = "19")]
    pub outside_rth: Option<bool>,
    #[prost(string, optional, tag = "28")]
    pub order_ref: Option<String>,
    #[prost(bool, optional, tag = "65")]
    pub what_if: Option<bool>,
    #[prost(bool, optional, tag = "66")]
    pub transmit: Option<bool>,
    #[prost(int32, optional, tag = "72")]
    pub exempt_code: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OrderState {
    #[prost(string, optional, tag = "1")]
    pub status: Option<String>,
    #[prost(double, optional, tag = "11")]
    pub commission_and_fees: Option<f64>,
    #[prost(string, optional, tag = "14")]
    pub commission_and_fees_currency: Option<String>,
    #[prost(string, optional, tag = "26")]
    pub reject_reason: Option<String>,
    #[prost(string, optional, tag = "28")]
    pub warning_text: Option<String>,
    #[prost(string, optional, tag = "29")]
    pub completed_time: Option<String>,
    #[prost(string, optional, tag = "30")]
    pub completed_status: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OrderCancel {
    #[prost(string, optional, tag = "1")]
    pub manual_order_cancel_time: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExecutionFilter {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub acct_code: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub symbol: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub side: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Execution {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exec_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub acct_number: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub side: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub shares: Option<String>,
    #[prost(double, optional, tag = "8")]
    pub price: Option<f64>,
    #[prost(int64, optional, tag = "9")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "10")]
    pub client_id: Option<i32>,
    #[prost(bool, optional, tag = "11")]
    pub is_liquidation: Option<bool>,
    #[prost(string, optional, tag = "12")]
    pub cum_qty: Option<String>,
    #[prost(double, optional, tag = "13")]
    pub avg_price: Option<f64>,
    #[prost(string, optional, tag = "14")]
    pub order_ref: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractDetails {
    #[prost(string, optional, tag = "1")]
    pub market_name: Option<String>,
    /// A decimal string on the wire.
    #[prost(string, optional, tag = "2")]
    pub min_tick: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub order_types: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub valid_exchanges: Option<String>,
    #[prost(int32, optional, tag = "6")]
    pub under_con_id: Option<i32>,
    #[prost(string, optional, tag = "7")]
    pub long_name: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub contract_month: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub time_zone_id: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub trading_hours: Option<String>,
    #[prost(string, optional, tag = "14")]
    pub liquid_hours: Option<String>,
    #[prost(string, optional, tag = "24")]
    pub min_size: Option<String>,
    #[prost(string, optional, tag = "25")]
    pub size_increment: Option<String>,
}

// --- Requests (client → server) ---

#[derive(Clone, PartialEq, Message)]
pub struct StartApiRequest {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub optional_capabilities: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PlaceOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CancelOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub order_cancel: Option<OrderCancel>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GlobalCancelRequest {
    #[prost(message, optional, tag = "1")]
    pub order_cancel: Option<OrderCancel>,
}

/// Requests and end markers with no fields atomik uses.
#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Message)]
pub struct AutoOpenOrdersRequest {
    #[prost(bool, optional, tag = "1")]
    pub auto_bind: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CompletedOrdersRequest {
    #[prost(bool, optional, tag = "1")]
    pub api_only: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExecutionRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub execution_filter: Option<ExecutionFilter>,
}

#[derive(Clone, PartialEq, Message)]
pub struct IdsRequest {
    #[prost(int32, optional, tag = "1")]
    pub num_ids: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MarketDataTypeRequest {
    #[prost(int32, optional, tag = "1")]
    pub market_data_type: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountDataRequest {
    #[prost(bool, optional, tag = "1")]
    pub subscribe: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub acct_code: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountSummaryRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub group: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub tags: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountUpdatesMultiRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub model_code: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub ledger_and_nlv: Option<bool>,
}

/// `CancelAccountSummary`, `CancelAccountUpdatesMulti`, and the end markers
/// that carry only a request id (`ContractDataEnd`, `ExecutionDetailsEnd`,
/// `AccountSummaryEnd`, `AccountUpdateMultiEnd`).
#[derive(Clone, PartialEq, Message)]
pub struct ReqId {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

// --- Events (server → client) ---

#[derive(Clone, PartialEq, Message)]
pub struct NextValidId {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ManagedAccounts {
    #[prost(string, optional, tag = "1")]
    pub accounts_list: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ErrorMessage {
    #[prost(int32, optional, tag = "1")]
    pub id: Option<i32>,
    #[prost(int64, optional, tag = "2")]
    pub error_time: Option<i64>,
    #[prost(int32, optional, tag = "3")]
    pub error_code: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub error_msg: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub advanced_order_reject_json: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OrderStatus {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub filled: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub remaining: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub avg_fill_price: Option<f64>,
    #[prost(int64, optional, tag = "6")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "7")]
    pub parent_id: Option<i32>,
    #[prost(double, optional, tag = "8")]
    pub last_fill_price: Option<f64>,
    #[prost(int32, optional, tag = "9")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "10")]
    pub why_held: Option<String>,
    #[prost(double, optional, tag = "11")]
    pub mkt_cap_price: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OpenOrder {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "4")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CompletedOrder {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "2")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "3")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExecutionDetails {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub execution: Option<Execution>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CommissionAndFeesReport {
    #[prost(string, optional, tag = "1")]
    pub exec_id: Option<String>,
    #[prost(double, optional, tag = "2")]
    pub commission_and_fees: Option<f64>,
    #[prost(string, optional, tag = "3")]
    pub currency: Option<String>,
    #[prost(double, optional, tag = "4")]
    pub realized_pnl: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Position {
    #[prost(string, optional, tag = "1")]
    pub account: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "4")]
    pub avg_cost: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub contract_details: Option<ContractDetails>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountValue {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub currency: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub account_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PortfolioValue {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "2")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "3")]
    pub market_price: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub market_value: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub average_cost: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub unrealized_pnl: Option<f64>,
    #[prost(double, optional, tag = "7")]
    pub realized_pnl: Option<f64>,
    #[prost(string, optional, tag = "8")]
    pub account_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountUpdateTime {
    #[prost(string, optional, tag = "1")]
    pub time_stamp: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountDataEnd {
    #[prost(string, optional, tag = "1")]
    pub account_name: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountSummary {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub tag: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub currency: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct AccountUpdateMulti {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub account: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub model_code: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub value: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub currency: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CurrentTime {
    #[prost(int64, optional, tag = "1")]
    pub current_time: Option<i64>,
}
