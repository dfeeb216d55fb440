//! Sample messages: every variant, with every field the text era carries
//! for it at server version `v` set to something other than its default.

#![allow(dead_code)]

use atomik_ib_proto::*;
use rust_decimal::Decimal;

/// The lowest, ib_async's and the highest text-era server version.
pub const VERSIONS: [i32; 3] = [157, 178, 200];
/// Every text-era server version atomik speaks.
pub const ALL_VERSIONS: std::ops::RangeInclusive<i32> = 157..=200;

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn future() -> Contract {
    Contract {
        con_id: 495512563,
        symbol: "ES".into(),
        sec_type: "FUT".into(),
        last_trade_date_or_contract_month: "20261218".into(),
        multiplier: "50".into(),
        exchange: "CME".into(),
        currency: "USD".into(),
        local_symbol: "ESZ6".into(),
        trading_class: "ES".into(),
        ..Contract::default()
    }
}

pub fn option() -> Contract {
    Contract {
        con_id: 712345678,
        symbol: "AAPL".into(),
        sec_type: "OPT".into(),
        last_trade_date_or_contract_month: "20270115".into(),
        strike: Some(187.5),
        right: "C".into(),
        multiplier: "100".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        local_symbol: "AAPL  270115C00187500".into(),
        trading_class: "AAPL".into(),
        ..Contract::default()
    }
}

pub fn placed_order(order_id: i32) -> Order {
    Order {
        order_id,
        action: "SELL".into(),
        total_quantity: dec("2.5"),
        order_type: "STP LMT".into(),
        limit_price: Some(187.25),
        aux_price: Some(188.0),
        tif: "GTC".into(),
        account: "DU1234567".into(),
        order_ref: "atomik-7f3a".into(),
        transmit: true,
        parent_id: 4,
        outside_rth: true,
        what_if: true,
        ..Order::default()
    }
}

pub fn requests(v: i32) -> Vec<Request> {
    let _ = v;
    let mut primary = option();
    primary.primary_exchange = "NASDAQ".into();
    let mut expired = future();
    expired.primary_exchange = "CME".into();
    expired.include_expired = true;
    vec![
        Request::StartApi {
            client_id: 7,
            optional_capabilities: "+PACEAPI".into(),
        },
        Request::PlaceOrder {
            order_id: 12,
            contract: primary,
            order: placed_order(12),
        },
        Request::PlaceOrder {
            order_id: 13,
            contract: future(),
            order: Order {
                order_id: 13,
                action: "BUY".into(),
                total_quantity: dec("1"),
                order_type: "MKT".into(),
                tif: "DAY".into(),
                ..Order::default()
            },
        },
        Request::CancelOrder { order_id: 12 },
        Request::ReqOpenOrders,
        Request::ReqAllOpenOrders,
        Request::ReqAutoOpenOrders { auto_bind: true },
        Request::ReqCompletedOrders { api_only: true },
        Request::ReqExecutions {
            req_id: 5,
            filter: ExecutionFilter {
                client_id: Some(7),
                account: "DU1234567".into(),
                time: "20261201 09:30:00".into(),
                symbol: "ES".into(),
                sec_type: "FUT".into(),
                exchange: "CME".into(),
                side: "BUY".into(),
            },
        },
        Request::ReqExecutions {
            req_id: 6,
            filter: ExecutionFilter::default(),
        },
        Request::ReqIds { num_ids: 1 },
        Request::ReqContractData {
            req_id: 8,
            contract: expired,
        },
        Request::ReqManagedAccounts,
        Request::ReqCurrentTime,
        Request::ReqGlobalCancel,
        Request::ReqMarketDataType {
            market_data_type: 3,
        },
        Request::ReqPositions,
        Request::CancelPositions,
        Request::ReqAccountUpdates {
            subscribe: true,
            account: "DU1234567".into(),
        },
        Request::ReqAccountSummary {
            req_id: 9,
            group: "All".into(),
            tags: "NetLiquidation,BuyingPower".into(),
        },
        Request::CancelAccountSummary { req_id: 9 },
        Request::ReqAccountUpdatesMulti {
            req_id: 10,
            account: "DU1234567".into(),
            model_code: String::new(),
            ledger_and_nlv: false,
        },
        Request::ReqAccountUpdatesMulti {
            req_id: 11,
            account: String::new(),
            model_code: "Tech".into(),
            ledger_and_nlv: true,
        },
        Request::CancelAccountUpdatesMulti { req_id: 10 },
    ]
}

pub fn events(v: i32) -> Vec<Event> {
    let reported = Order {
        order_id: 12,
        client_id: 7,
        perm_id: 1_234_567_890_123,
        action: "SELL".into(),
        total_quantity: dec("2.5"),
        order_type: "LMT".into(),
        limit_price: Some(187.25),
        aux_price: None,
        tif: "GTC".into(),
        account: "DU1234567".into(),
        order_ref: "atomik-7f3a".into(),
        parent_id: 4,
        outside_rth: true,
        what_if: true,
        ..Order::default()
    };
    let completed = Order {
        perm_id: 987_654_321,
        action: "BUY".into(),
        total_quantity: dec("1"),
        order_type: "MKT".into(),
        tif: "DAY".into(),
        account: "DU1234567".into(),
        order_ref: "atomik-0001".into(),
        ..Order::default()
    };
    let mut portfolio = option();
    portfolio.exchange.clear();
    portfolio.primary_exchange = "NASDAQ".into();
    let mut described = future();
    described.primary_exchange = "CME".into();
    vec![
        Event::NextValidId { order_id: 101 },
        Event::ManagedAccounts {
            accounts: vec!["DU1234567".into(), "DU7654321".into()],
        },
        Event::Error {
            id: 12,
            time_ms: if v >= 194 { 1_764_600_000_123 } else { 0 },
            code: 201,
            message: "Order rejected - reason: no margin".into(),
            advanced_order_reject_json: if v >= 166 {
                "{\"rejectCode\":1}".into()
            } else {
                String::new()
            },
        },
        Event::OrderStatus {
            order_id: 12,
            status: "Filled".into(),
            filled: dec("2.5"),
            remaining: dec("0"),
            avg_fill_price: 187.3,
            perm_id: 1_234_567_890_123,
            parent_id: 4,
            last_fill_price: 187.4,
            client_id: 7,
            why_held: "locate".into(),
            mkt_cap_price: 187.0,
        },
        Event::OpenOrder {
            order_id: 12,
            contract: option(),
            order: reported,
            state: OrderState {
                status: "Submitted".into(),
                commission: Some(1.25),
                commission_currency: "USD".into(),
                warning_text: "outside regular hours".into(),
                reject_reason: if v >= 195 {
                    "margin".into()
                } else {
                    String::new()
                },
                ..OrderState::default()
            },
        },
        Event::OpenOrderEnd,
        Event::CompletedOrder {
            contract: future(),
            order: completed,
            state: OrderState {
                status: "Cancelled".into(),
                completed_time: "20261201 15:59:59 America/New_York".into(),
                completed_status: "Cancelled by Trader".into(),
                ..OrderState::default()
            },
        },
        Event::CompletedOrdersEnd,
        Event::ExecDetails {
            req_id: 5,
            contract: future(),
            execution: Execution {
                order_id: 12,
                client_id: 7,
                exec_id: "0000e0d5.6570a1b2.01.01".into(),
                time: "20261201 09:31:02".into(),
                account: "DU1234567".into(),
                exchange: "CME".into(),
                side: "SLD".into(),
                shares: dec("2"),
                price: 5012.25,
                perm_id: 1_234_567_890_123,
                liquidation: 1,
                cum_qty: dec("2"),
                avg_price: 5012.25,
                order_ref: "atomik-7f3a".into(),
            },
        },
        Event::ExecDetailsEnd { req_id: 5 },
        Event::CommissionReport {
            exec_id: "0000e0d5.6570a1b2.01.01".into(),
            commission: 4.5,
            currency: "USD".into(),
            realized_pnl: Some(-120.5),
        },
        Event::CommissionReport {
            exec_id: "0000e0d5.6570a1b2.01.02".into(),
            commission: 2.25,
            currency: "USD".into(),
            realized_pnl: None,
        },
        Event::Position {
            account: "DU1234567".into(),
            contract: future(),
            position: dec("-3"),
            avg_cost: 250612.5,
        },
        Event::PositionEnd,
        Event::ContractData {
            req_id: 8,
            details: ContractDetails {
                contract: described,
                market_name: "ES".into(),
                min_tick: 0.25,
                order_types: "LMT,MKT,STP".into(),
                valid_exchanges: "CME,QBALGO".into(),
                long_name: "E-mini S&P 500 – Dec 2026".into(),
                contract_month: "202612".into(),
                time_zone_id: "US/Central".into(),
                trading_hours: "20261130:1700-20261201:1600".into(),
                liquid_hours: "20261201:0830-20261201:1600".into(),
                under_con_id: 11004968,
                min_size: (v >= 164).then(|| dec("1")),
                size_increment: (v >= 164).then(|| dec("1")),
            },
        },
        Event::ContractDataEnd { req_id: 8 },
        Event::AccountValue {
            key: "NetLiquidation".into(),
            value: "1000123.45".into(),
            currency: "USD".into(),
            account: "DU1234567".into(),
        },
        Event::PortfolioValue {
            contract: portfolio,
            position: dec("10"),
            market_price: 3.5,
            market_value: 3500.0,
            average_cost: 310.25,
            unrealized_pnl: 397.5,
            realized_pnl: -12.0,
            account: "DU1234567".into(),
        },
        Event::AccountUpdateTime {
            time: "15:42".into(),
        },
        Event::AccountDownloadEnd {
            account: "DU1234567".into(),
        },
        Event::AccountSummary {
            req_id: 9,
            account: "DU1234567".into(),
            tag: "BuyingPower".into(),
            value: "4000493.80".into(),
            currency: "USD".into(),
        },
        Event::AccountSummaryEnd { req_id: 9 },
        Event::CurrentTime {
            time: 1_764_600_000,
        },
        Event::AccountUpdateMulti {
            req_id: 10,
            account: "DU1234567".into(),
            model_code: String::new(),
            key: "NetLiquidation".into(),
            value: "1000123.45".into(),
            currency: "USD".into(),
        },
        Event::AccountUpdateMultiEnd { req_id: 10 },
    ]
}
