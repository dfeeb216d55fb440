//! Account, position, contract and handshake events byte for byte as
//! ibapi 5.5's fixtures build them and its decoders
//! (`accounts/common/decoders.rs`, `contracts/common/decoders.rs`) read them.

use super::*;
use crate::*;

#[test]
fn handshake_events_as_ibapi_reads_them() {
    same_event(
        &[0x00, 0x00, 0x00, 0xD1, 0x08, 0xE9, 0x07],
        Event::NextValidId { order_id: 1001 },
    );
    same_event(
        &Wire::msg(15).str(1, "DU1234567,DU7654321").done(),
        Event::ManagedAccounts {
            accounts: vec!["DU1234567".into(), "DU7654321".into()],
        },
    );
    // A trailing comma, as TWS may send.
    assert_eq!(
        event(&Wire::msg(15).str(1, "DU1234567,").done()),
        Event::ManagedAccounts {
            accounts: vec!["DU1234567".into()]
        }
    );
    same_event(
        &Wire::msg(4)
            .int(1, -1)
            .int(2, 1_764_601_200_123)
            .int(3, 2104)
            .str(4, "Market data farm connection is OK:usfarm")
            .done(),
        Event::Error {
            id: -1,
            time_ms: 1_764_601_200_123,
            code: 2104,
            message: "Market data farm connection is OK:usfarm".into(),
            advanced_order_reject_json: String::new(),
        },
    );
    // Missing id and code: ibapi reads -1 and 0.
    assert!(matches!(
        event(&Wire::msg(4).str(4, "Warning: approaching max rate").done()),
        Event::Error {
            id: -1,
            code: 0,
            ..
        }
    ));
    same_event(
        &Wire::msg(49).int(1, 1_764_601_200).done(),
        Event::CurrentTime {
            time: 1_764_601_200,
        },
    );
}

#[test]
fn positions_and_account_updates() {
    same_event(
        &Wire::msg(61)
            .str(1, "DU1234567")
            .msg_field(2, aapl_wire())
            .str(3, "-0.5")
            .f64(4, 150.25)
            .done(),
        Event::Position {
            account: "DU1234567".into(),
            contract: aapl(),
            position: dec("-0.5"),
            avg_cost: 150.25,
        },
    );
    same_event(&262i32.to_be_bytes(), Event::PositionEnd);
    same_event(
        &Wire::msg(6)
            .str(1, "NetLiquidation")
            .str(2, "1000.5")
            .str(3, "USD")
            .str(4, "DU1234567")
            .done(),
        Event::AccountValue {
            key: "NetLiquidation".into(),
            value: "1000.5".into(),
            currency: "USD".into(),
            account: "DU1234567".into(),
        },
    );
    same_event(
        &Wire::msg(8).str(1, "15:04").done(),
        Event::AccountUpdateTime {
            time: "15:04".into(),
        },
    );
    same_event(
        &Wire::msg(54).str(1, "DU1234567").done(),
        Event::AccountDownloadEnd {
            account: "DU1234567".into(),
        },
    );
    same_event(
        &Wire::msg(64).int(1, 9003).done(),
        Event::AccountSummaryEnd { req_id: 9003 },
    );
    // ibapi's `account_update_multi()` test builder: every field present,
    // the model code as an empty string (atomik leaves an empty one out).
    let multi = Event::AccountUpdateMulti {
        req_id: 100,
        account: "DU1234567".into(),
        model_code: String::new(),
        key: "CashBalance".into(),
        value: "94629.71".into(),
        currency: "USD".into(),
    };
    let ibapi = Wire::msg(73)
        .int(1, 100)
        .str(2, "DU1234567")
        .str(3, "")
        .str(4, "CashBalance")
        .str(5, "94629.71")
        .str(6, "USD")
        .done();
    assert_eq!(event(&ibapi), multi);
    same_event(
        &Wire::msg(73)
            .int(1, 100)
            .str(2, "DU1234567")
            .str(4, "CashBalance")
            .str(5, "94629.71")
            .str(6, "USD")
            .done(),
        multi,
    );
    same_event(
        &Wire::msg(73)
            .int(1, 7)
            .str(2, "DU1234567")
            .str(3, "Tech")
            .str(4, "NetLiquidation")
            .str(5, "100000")
            .str(6, "USD")
            .done(),
        Event::AccountUpdateMulti {
            req_id: 7,
            account: "DU1234567".into(),
            model_code: "Tech".into(),
            key: "NetLiquidation".into(),
            value: "100000".into(),
            currency: "USD".into(),
        },
    );
    same_event(
        &Wire::msg(74).int(1, 100).done(),
        Event::AccountUpdateMultiEnd { req_id: 100 },
    );
    // Sentinel decimals are no value.
    let Event::OrderStatus {
        filled, remaining, ..
    } = event(
        &Wire::msg(3)
            .str(2, "Submitted")
            .str(3, "9223372036854775807")
            .str(4, "1.7976931348623157E308")
            .done(),
    )
    else {
        panic!("not OrderStatus");
    };
    assert_eq!((filled, remaining), (dec("0"), dec("0")));
}

#[test]
fn contract_details_carry_min_tick_as_a_string() {
    let details = Wire::body()
        .str(1, "ES")
        .str(2, "0.25")
        .str(3, "LMT,MKT")
        .str(4, "CME")
        .int(6, 11004968)
        .str(7, "E-mini S&P 500")
        .str(8, "202612")
        .str(12, "US/Central")
        .str(13, "20261201:1700-20261202:1600")
        .str(14, "20261202:0830-20261202:1600")
        .str(24, "1")
        .str(25, "1");
    let contract = Wire::body()
        .int(1, 495512563)
        .str(2, "ES")
        .str(3, "FUT")
        .f64(7, 50.0);
    let bytes = Wire::msg(10)
        .int(1, 9002)
        .msg_field(2, contract)
        .msg_field(3, details)
        .done();
    let Event::ContractData { req_id, details } = event(&bytes) else {
        panic!("not ContractData");
    };
    assert_eq!(req_id, 9002);
    assert_eq!(details.min_tick, 0.25);
    assert_eq!(details.contract.multiplier, "50");
    assert_eq!(details.under_con_id, 11004968);
    assert_eq!(details.min_size, Some(dec("1")));
    assert_eq!(details.order_types, "LMT,MKT");
    assert_eq!(details.valid_exchanges, "CME");
    assert_eq!(details.market_name, "ES");
    assert_eq!(details.long_name, "E-mini S&P 500");
    assert_eq!(details.contract_month, "202612");
    assert_eq!(details.time_zone_id, "US/Central");
    assert_eq!(details.trading_hours, "20261201:1700-20261202:1600");
    assert_eq!(details.liquid_hours, "20261202:0830-20261202:1600");
    assert_eq!(details.size_increment, Some(dec("1")));
    same_event(
        &Wire::msg(52).int(1, 9002).done(),
        Event::ContractDataEnd { req_id: 9002 },
    );
}

#[test]
fn portfolio_value_and_account_summary() {
    same_event(
        &Wire::msg(7)
            .msg_field(1, aapl_wire())
            .str(2, "10")
            .f64(3, 190.5)
            .f64(4, 1905.0)
            .f64(5, 180.25)
            .f64(6, 102.5)
            .f64(7, -3.0)
            .str(8, "DU1234567")
            .done(),
        Event::PortfolioValue {
            contract: aapl(),
            position: dec("10"),
            market_price: 190.5,
            market_value: 1905.0,
            average_cost: 180.25,
            unrealized_pnl: 102.5,
            realized_pnl: -3.0,
            account: "DU1234567".into(),
        },
    );
    same_event(
        &Wire::msg(63)
            .int(1, 9003)
            .str(2, "DU1234567")
            .str(3, "NetLiquidation")
            .str(4, "1000.5")
            .str(5, "USD")
            .done(),
        Event::AccountSummary {
            req_id: 9003,
            account: "DU1234567".into(),
            tag: "NetLiquidation".into(),
            value: "1000.5".into(),
            currency: "USD".into(),
        },
    );
}

#[test]
fn reject_json_and_why_held_at_their_tags() {
    same_event(
        &Wire::msg(4)
            .int(1, 42)
            .int(3, 201)
            .str(4, "Order rejected")
            .str(5, "{}")
            .done(),
        Event::Error {
            id: 42,
            time_ms: 0,
            code: 201,
            message: "Order rejected".into(),
            advanced_order_reject_json: "{}".into(),
        },
    );
    let Event::OrderStatus { why_held, .. } =
        event(&Wire::msg(3).str(2, "PreSubmitted").str(10, "locate").done())
    else {
        panic!("not OrderStatus");
    };
    assert_eq!(why_held, "locate");
}
