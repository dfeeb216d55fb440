//! One non-default value of every `Request` and `Event` variant.

use super::dec;
use crate::*;

pub fn future() -> Contract {
    Contract {
        con_id: 495512563,
        symbol: "ES".into(),
        sec_type: "FUT".into(),
        last_trade_date_or_contract_month: "20261218".into(),
        strike: None,
        right: String::new(),
        multiplier: "50".into(),
        exchange: "CME".into(),
        primary_exchange: "CME".into(),
        currency: "USD".into(),
        local_symbol: "ESZ6".into(),
        trading_class: "ES".into(),
        include_expired: true,
    }
}

pub fn option() -> Contract {
    Contract {
        con_id: 7001,
        symbol: "AAPL".into(),
        sec_type: "OPT".into(),
        last_trade_date_or_contract_month: "20270115".into(),
        strike: Some(187.5),
        right: "C".into(),
        multiplier: "100".into(),
        exchange: "SMART".into(),
        primary_exchange: String::new(),
        currency: "USD".into(),
        local_symbol: "AAPL  270115C00187500".into(),
        trading_class: "AAPL".into(),
        include_expired: false,
    }
}

pub fn order(order_id: i32) -> Order {
    Order {
        order_id,
        client_id: 7,
        perm_id: 1376327563,
        action: "SELL".into(),
        total_quantity: dec("2.5"),
        order_type: "STP LMT".into(),
        limit_price: Some(4501.25),
        aux_price: Some(4500.0),
        tif: "GTC".into(),
        account: "DU1234567".into(),
        order_ref: "intent-42".into(),
        transmit: false,
        parent_id: 41,
        outside_rth: true,
        what_if: true,
    }
}

fn state() -> OrderState {
    OrderState {
        status: "Filled".into(),
        commission: Some(2.25),
        commission_currency: "USD".into(),
        warning_text: "careful".into(),
        completed_time: "20261201 15:00:01 America/New_York".into(),
        completed_status: "Filled Size: 2.5".into(),
        reject_reason: "none".into(),
    }
}

pub fn requests() -> Vec<Request> {
    let all = vec![
        Request::StartApi {
            client_id: 123,
            optional_capabilities: "+PACEAPI".into(),
        },
        Request::PlaceOrder {
            order_id: 42,
            contract: future(),
            order: order(42),
        },
        Request::CancelOrder { order_id: 42 },
        Request::ReqOpenOrders,
        Request::ReqAllOpenOrders,
        Request::ReqAutoOpenOrders { auto_bind: true },
        Request::ReqCompletedOrders { api_only: true },
        Request::ReqExecutions {
            req_id: 9001,
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
        Request::ReqIds { num_ids: 3 },
        Request::ReqContractData {
            req_id: 9002,
            contract: option(),
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
            req_id: 9003,
            group: "All".into(),
            tags: "NetLiquidation,TotalCashValue".into(),
        },
        Request::CancelAccountSummary { req_id: 9003 },
        Request::ReqAccountUpdatesMulti {
            req_id: 9004,
            account: "DU1234567".into(),
            model_code: "Tech".into(),
            ledger_and_nlv: true,
        },
        Request::CancelAccountUpdatesMulti { req_id: 9004 },
        Request::Other { id: 1 },
    ];
    assert_eq!(
        covered_requests(&all),
        22,
        "a Request variant has no fixture"
    );
    all
}

/// How many distinct variants `all` holds; the match breaks the build when
/// a variant is added, so the fixtures follow.
fn covered_requests(all: &[Request]) -> usize {
    let mut seen: Vec<u8> = all
        .iter()
        .map(|r| match r {
            Request::StartApi { .. } => 0,
            Request::PlaceOrder { .. } => 1,
            Request::CancelOrder { .. } => 2,
            Request::ReqOpenOrders => 3,
            Request::ReqAllOpenOrders => 4,
            Request::ReqAutoOpenOrders { .. } => 5,
            Request::ReqCompletedOrders { .. } => 6,
            Request::ReqExecutions { .. } => 7,
            Request::ReqIds { .. } => 8,
            Request::ReqContractData { .. } => 9,
            Request::ReqManagedAccounts => 10,
            Request::ReqCurrentTime => 11,
            Request::ReqGlobalCancel => 12,
            Request::ReqMarketDataType { .. } => 13,
            Request::ReqPositions => 14,
            Request::CancelPositions => 15,
            Request::ReqAccountUpdates { .. } => 16,
            Request::ReqAccountSummary { .. } => 17,
            Request::CancelAccountSummary { .. } => 18,
            Request::ReqAccountUpdatesMulti { .. } => 19,
            Request::CancelAccountUpdatesMulti { .. } => 20,
            Request::Other { .. } => 21,
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

pub fn events() -> Vec<Event> {
    let all = vec![
        Event::NextValidId { order_id: 1001 },
        Event::ManagedAccounts {
            accounts: vec!["DU1234567".into(), "DU7654321".into()],
        },
        Event::Error {
            id: 42,
            time_ms: 1_764_601_200_123,
            code: 201,
            message: "Order rejected - reason: no margin".into(),
            advanced_order_reject_json: r#"{"rejectReason":"margin"}"#.into(),
        },
        Event::OrderStatus {
            order_id: 42,
            status: "PreSubmitted".into(),
            filled: dec("1.5"),
            remaining: dec("1"),
            avg_fill_price: 4500.75,
            perm_id: 1376327563,
            parent_id: 41,
            last_fill_price: 4500.5,
            client_id: 7,
            why_held: "locate".into(),
            mkt_cap_price: 4499.0,
        },
        Event::OpenOrder {
            order_id: 42,
            contract: future(),
            order: order(42),
            state: OrderState {
                status: "Submitted".into(),
                commission: None,
                ..state()
            },
        },
        Event::OpenOrderEnd,
        Event::CompletedOrder {
            contract: option(),
            order: Order {
                transmit: true,
                ..order(40)
            },
            state: state(),
        },
        Event::CompletedOrdersEnd,
        Event::ExecDetails {
            req_id: 9001,
            contract: future(),
            execution: Execution {
                order_id: 42,
                client_id: 7,
                exec_id: "00025b46.63f8f39c.01.01".into(),
                time: "20261201 15:00:01 America/New_York".into(),
                account: "DU1234567".into(),
                exchange: "CME".into(),
                side: "SLD".into(),
                shares: dec("1.5"),
                price: 4500.75,
                perm_id: 1376327563,
                liquidation: 1,
                cum_qty: dec("1.5"),
                avg_price: 4500.75,
                order_ref: "intent-42".into(),
            },
        },
        Event::ExecDetailsEnd { req_id: 9001 },
        Event::CommissionReport {
            exec_id: "00025b46.63f8f39c.01.01".into(),
            commission: 2.25,
            currency: "USD".into(),
            realized_pnl: Some(-12.5),
        },
        Event::Position {
            account: "DU1234567".into(),
            contract: future(),
            position: dec("-3"),
            avg_cost: 225037.5,
        },
        Event::PositionEnd,
        Event::ContractData {
            req_id: 9002,
            details: ContractDetails {
                contract: future(),
                market_name: "ES".into(),
                min_tick: 0.25,
                order_types: "ACTIVETIM,LMT,MKT,STP".into(),
                valid_exchanges: "CME,QBALGO".into(),
                long_name: "E-mini S&P 500".into(),
                contract_month: "202612".into(),
                time_zone_id: "US/Central".into(),
                trading_hours: "20261130:1700-20261201:1600;20261201:CLOSED".into(),
                liquid_hours: "20261201:0830-20261201:1600".into(),
                under_con_id: 11004968,
                min_size: Some(dec("1")),
                size_increment: Some(dec("0.0001")),
            },
        },
        Event::ContractDataEnd { req_id: 9002 },
        Event::AccountValue {
            key: "NetLiquidation".into(),
            value: "1000000.00".into(),
            currency: "USD".into(),
            account: "DU1234567".into(),
        },
        Event::PortfolioValue {
            contract: option(),
            position: dec("10"),
            market_price: 3.15,
            market_value: 3150.0,
            average_cost: 290.0,
            unrealized_pnl: 250.0,
            realized_pnl: -10.0,
            account: "DU1234567".into(),
        },
        Event::AccountUpdateTime {
            time: "15:04".into(),
        },
        Event::AccountDownloadEnd {
            account: "DU1234567".into(),
        },
        Event::AccountSummary {
            req_id: 9003,
            account: "DU1234567".into(),
            tag: "NetLiquidation".into(),
            value: "1000000.00".into(),
            currency: "USD".into(),
        },
        Event::AccountSummaryEnd { req_id: 9003 },
        Event::CurrentTime {
            time: 1_764_601_200,
        },
        Event::AccountUpdateMulti {
            req_id: 9004,
            account: "DU1234567".into(),
            model_code: "Tech".into(),
            key: "NetLiquidation".into(),
            value: "1000000.00".into(),
            currency: "USD".into(),
        },
        Event::AccountUpdateMultiEnd { req_id: 9004 },
        Event::Other { id: 1 },
    ];
    assert_eq!(covered_events(&all), 25, "an Event variant has no fixture");
    all
}

fn covered_events(all: &[Event]) -> usize {
    let mut seen: Vec<u8> = all
        .iter()
        .map(|e| match e {
            Event::NextValidId { .. } => 0,
            Event::ManagedAccounts { .. } => 1,
            Event::Error { .. } => 2,
            Event::OrderStatus { .. } => 3,
            Event::OpenOrder { .. } => 4,
            Event::OpenOrderEnd => 5,
            Event::CompletedOrder { .. } => 6,
            Event::CompletedOrdersEnd => 7,
            Event::ExecDetails { .. } => 8,
            Event::ExecDetailsEnd { .. } => 9,
            Event::CommissionReport { .. } => 10,
            Event::Position { .. } => 11,
            Event::PositionEnd => 12,
            Event::ContractData { .. } => 13,
            Event::ContractDataEnd { .. } => 14,
            Event::AccountValue { .. } => 15,
            Event::PortfolioValue { .. } => 16,
            Event::AccountUpdateTime { .. } => 17,
            Event::AccountDownloadEnd { .. } => 18,
            Event::AccountSummary { .. } => 19,
            Event::AccountSummaryEnd { .. } => 20,
            Event::CurrentTime { .. } => 21,
            Event::AccountUpdateMulti { .. } => 22,
            Event::AccountUpdateMultiEnd { .. } => 23,
            Event::Other { .. } => 24,
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}
