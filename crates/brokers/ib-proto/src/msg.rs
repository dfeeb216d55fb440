//! Every message atomik's adapter and simulator exchange, independent of the
//! encoding era. Fields follow the TWS API's names (and the protobuf field
//! names of BROKERS.md §2.4); only what either end uses is carried. A field
//! the wire leaves unset (IB's sentinels `i32::MAX`, `f64::MAX`, empty
//! strings) is `None` or empty here.

use rust_decimal::Decimal;

/// Message ids (BROKERS.md §2.4). In the protobuf era the id on the wire is
/// this + 200 for messages carried as protobuf.
pub mod ids {
    /// Client → server.
    pub mod out {
        pub const PLACE_ORDER: i32 = 3;
        pub const CANCEL_ORDER: i32 = 4;
        pub const REQ_OPEN_ORDERS: i32 = 5;
        pub const REQ_ACCOUNT_DATA: i32 = 6;
        pub const REQ_EXECUTIONS: i32 = 7;
        pub const REQ_IDS: i32 = 8;
        pub const REQ_CONTRACT_DATA: i32 = 9;
        pub const REQ_AUTO_OPEN_ORDERS: i32 = 15;
        pub const REQ_ALL_OPEN_ORDERS: i32 = 16;
        pub const REQ_MANAGED_ACCTS: i32 = 17;
        pub const REQ_CURRENT_TIME: i32 = 49;
        pub const REQ_GLOBAL_CANCEL: i32 = 58;
        pub const REQ_MARKET_DATA_TYPE: i32 = 59;
        pub const REQ_POSITIONS: i32 = 61;
        pub const REQ_ACCOUNT_SUMMARY: i32 = 62;
        pub const CANCEL_ACCOUNT_SUMMARY: i32 = 63;
        pub const CANCEL_POSITIONS: i32 = 64;
        pub const START_API: i32 = 71;
        pub const REQ_ACCOUNT_UPDATES_MULTI: i32 = 76;
        pub const CANCEL_ACCOUNT_UPDATES_MULTI: i32 = 77;
        pub const REQ_COMPLETED_ORDERS: i32 = 99;
    }
    /// Server → client.
    pub mod inc {
        pub const ORDER_STATUS: i32 = 3;
        pub const ERR_MSG: i32 = 4;
        pub const OPEN_ORDER: i32 = 5;
        pub const ACCT_VALUE: i32 = 6;
        pub const PORTFOLIO_VALUE: i32 = 7;
        pub const ACCT_UPDATE_TIME: i32 = 8;
        pub const NEXT_VALID_ID: i32 = 9;
        pub const CONTRACT_DATA: i32 = 10;
        pub const EXECUTION_DATA: i32 = 11;
        pub const MANAGED_ACCTS: i32 = 15;
        pub const CURRENT_TIME: i32 = 49;
        pub const CONTRACT_DATA_END: i32 = 52;
        pub const OPEN_ORDER_END: i32 = 53;
        pub const ACCT_DOWNLOAD_END: i32 = 54;
        pub const EXECUTION_DATA_END: i32 = 55;
        pub const COMMISSION_REPORT: i32 = 59;
        pub const POSITION_DATA: i32 = 61;
        pub const POSITION_END: i32 = 62;
        pub const ACCOUNT_SUMMARY: i32 = 63;
        pub const ACCOUNT_SUMMARY_END: i32 = 64;
        pub const ACCOUNT_UPDATE_MULTI: i32 = 73;
        pub const ACCOUNT_UPDATE_MULTI_END: i32 = 74;
        pub const COMPLETED_ORDER: i32 = 101;
        pub const COMPLETED_ORDERS_END: i32 = 102;
    }
}

/// A contract: as asked for (symbol, type, exchange…) or as the server
/// describes it (with `con_id`, local symbol, expiry).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contract {
    pub con_id: i32,
    pub symbol: String,
    /// `STK`, `FUT`, `OPT`, `CASH`, `CONTFUT`…
    pub sec_type: String,
    /// `YYYYMM` or `YYYYMMDD` (futures, options).
    pub last_trade_date_or_contract_month: String,
    pub strike: Option<f64>,
    /// `C` / `P` for options.
    pub right: String,
    /// `"5"`, `"100"`… as IB sends it (a string in text, a double in protobuf).
    pub multiplier: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub local_symbol: String,
    pub trading_class: String,
    pub include_expired: bool,
}

/// An order as placed, or as the server reports it back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    pub order_id: i32,
    pub client_id: i32,
    pub perm_id: i64,
    /// `BUY` / `SELL`.
    pub action: String,
    pub total_quantity: Decimal,
    /// `MKT`, `LMT`, `STP`, `STP LMT`…
    pub order_type: String,
    pub limit_price: Option<f64>,
    pub aux_price: Option<f64>,
    /// `DAY`, `GTC`, `IOC`…
    pub tif: String,
    pub account: String,
    /// Free text the client owns: atomik puts the intent's client order id here.
    pub order_ref: String,
    pub transmit: bool,
    pub parent_id: i32,
    pub outside_rth: bool,
    /// Ask for margin and commission without placing (also how atomik
    /// detects a read-only API: the server answers 321).
    pub what_if: bool,
}

/// The state block of OpenOrder / CompletedOrder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderState {
    pub status: String,
    pub commission: Option<f64>,
    pub commission_currency: String,
    pub warning_text: String,
    /// CompletedOrder only: when and how it completed.
    pub completed_time: String,
    pub completed_status: String,
    pub reject_reason: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub client_id: Option<i32>,
    pub account: String,
    /// `yyyymmdd hh:mm:ss`, executions after it.
    pub time: String,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub side: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Execution {
    pub order_id: i32,
    pub client_id: i32,
    pub exec_id: String,
    /// `yyyymmdd hh:mm:ss`.
    pub time: String,
    pub account: String,
    pub exchange: String,
    /// `BOT` / `SLD`.
    pub side: String,
    pub shares: Decimal,
    pub price: f64,
    pub perm_id: i64,
    pub liquidation: i32,
    pub cum_qty: Decimal,
    pub avg_price: f64,
    pub order_ref: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractDetails {
    pub contract: Contract,
    pub market_name: String,
    pub min_tick: f64,
    pub order_types: String,
    pub valid_exchanges: String,
    pub long_name: String,
    /// `YYYYMM` for futures.
    pub contract_month: String,
    pub time_zone_id: String,
    pub trading_hours: String,
    pub liquid_hours: String,
    pub under_con_id: i32,
    pub min_size: Option<Decimal>,
    pub size_increment: Option<Decimal>,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    StartApi {
        client_id: i32,
        optional_capabilities: String,
    },
    PlaceOrder {
        order_id: i32,
        contract: Contract,
        order: Order,
    },
    CancelOrder {
        order_id: i32,
    },
    /// Open orders placed by this client id.
    ReqOpenOrders,
    /// Open orders of every client id.
    ReqAllOpenOrders,
    ReqAutoOpenOrders {
        auto_bind: bool,
    },
    ReqCompletedOrders {
        api_only: bool,
    },
    ReqExecutions {
        req_id: i32,
        filter: ExecutionFilter,
    },
    ReqIds {
        num_ids: i32,
    },
    ReqContractData {
        req_id: i32,
        contract: Contract,
    },
    ReqManagedAccounts,
    ReqCurrentTime,
    ReqGlobalCancel,
    ReqMarketDataType {
        market_data_type: i32,
    },
    ReqPositions,
    CancelPositions,
    /// Subscribe to (or stop) one account's values, portfolio and download end.
    ReqAccountUpdates {
        subscribe: bool,
        account: String,
    },
    ReqAccountSummary {
        req_id: i32,
        group: String,
        tags: String,
    },
    CancelAccountSummary {
        req_id: i32,
    },
    /// Subscribe to the values of one account (or of every account when
    /// `account` is empty or `All`) and/or one model: answered with
    /// [`Event::AccountUpdateMulti`]s then [`Event::AccountUpdateMultiEnd`].
    ReqAccountUpdatesMulti {
        req_id: i32,
        account: String,
        model_code: String,
        /// Only the ledger and net liquidation values.
        ledger_and_nlv: bool,
    },
    CancelAccountUpdatesMulti {
        req_id: i32,
    },
    /// A message id the codec does not read (market data, news…): the
    /// server may answer with an error; nothing else is decoded.
    Other {
        id: i32,
    },
}

/// Server → client.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    NextValidId {
        order_id: i32,
    },
    ManagedAccounts {
        accounts: Vec<String>,
    },
    /// An error or notice. `id` is the request or order id it concerns, or -1.
    Error {
        id: i32,
        /// Milliseconds since the epoch (protobuf era, text ≥ 194); 0 when not sent.
        time_ms: i64,
        code: i32,
        message: String,
        advanced_order_reject_json: String,
    },
    OrderStatus {
        order_id: i32,
        status: String,
        filled: Decimal,
        remaining: Decimal,
        avg_fill_price: f64,
        perm_id: i64,
        parent_id: i32,
        last_fill_price: f64,
        client_id: i32,
        why_held: String,
        mkt_cap_price: f64,
    },
    OpenOrder {
        order_id: i32,
        contract: Contract,
        order: Order,
        state: OrderState,
    },
    OpenOrderEnd,
    CompletedOrder {
        contract: Contract,
        order: Order,
        state: OrderState,
    },
    CompletedOrdersEnd,
    ExecDetails {
        req_id: i32,
        contract: Contract,
        execution: Execution,
    },
    ExecDetailsEnd {
        req_id: i32,
    },
    CommissionReport {
        exec_id: String,
        commission: f64,
        currency: String,
        realized_pnl: Option<f64>,
    },
    Position {
        account: String,
        contract: Contract,
        position: Decimal,
        avg_cost: f64,
    },
    PositionEnd,
    ContractData {
        req_id: i32,
        details: ContractDetails,
    },
    ContractDataEnd {
        req_id: i32,
    },
    AccountValue {
        key: String,
        value: String,
        currency: String,
        account: String,
    },
    PortfolioValue {
        contract: Contract,
        position: Decimal,
        market_price: f64,
        market_value: f64,
        average_cost: f64,
        unrealized_pnl: f64,
        realized_pnl: f64,
        account: String,
    },
    AccountUpdateTime {
        /// `HH:MM`.
        time: String,
    },
    AccountDownloadEnd {
        account: String,
    },
    AccountSummary {
        req_id: i32,
        account: String,
        tag: String,
        value: String,
        currency: String,
    },
    AccountSummaryEnd {
        req_id: i32,
    },
    /// One value of a [`Request::ReqAccountUpdatesMulti`] subscription.
    AccountUpdateMulti {
        req_id: i32,
        account: String,
        model_code: String,
        key: String,
        value: String,
        currency: String,
    },
    /// The first full set of values of a subscription has been sent.
    AccountUpdateMultiEnd {
        req_id: i32,
    },
    /// Seconds since the epoch.
    CurrentTime {
        time: i64,
    },
    /// A message id the codec does not read; skipped by the client.
    Other {
        id: i32,
    },
}
