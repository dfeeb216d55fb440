//! Events byte for byte as ibapi 5.5's test fixtures
//! (`testdata/builders/*.rs`) build them, and as its decoders
//! (`orders/common/decoders.rs`, `accounts/common/decoders.rs`) require.

use super::*;
use crate::pb::{decode_event, encode_event};
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
fn order_status_as_the_ibapi_fixture() {
    // OrderStatusResponse::default(): every number explicit, filled "0".
    same_event(
        &Wire::msg(3)
            .int(1, 13)
            .str(2, "Submitted")
            .str(3, "0")
            .str(4, "100")
            .f64(5, 0.0)
            .int(6, 1376327563)
            .int(7, 0)
            .f64(8, 0.0)
            .int(9, 100)
            .f64(11, 0.0)
            .done(),
        Event::OrderStatus {
            order_id: 13,
            status: "Submitted".into(),
            filled: dec("0"),
            remaining: dec("100"),
            avg_fill_price: 0.0,
            perm_id: 1376327563,
            parent_id: 0,
            last_fill_price: 0.0,
            client_id: 100,
            why_held: String::new(),
            mkt_cap_price: 0.0,
        },
    );
}

fn tsla_wire() -> Wire {
    Wire::body()
        .int(1, 76792991)
        .str(2, "TSLA")
        .str(3, "STK")
        .f64(5, 0.0)
        .str(8, "SMART")
        .str(10, "USD")
        .str(11, "TSLA")
        .str(12, "NMS")
}

fn tsla() -> Contract {
    Contract {
        con_id: 76792991,
        symbol: "TSLA".into(),
        sec_type: "STK".into(),
        strike: Some(0.0),
        exchange: "SMART".into(),
        currency: "USD".into(),
        local_symbol: "TSLA".into(),
        trading_class: "NMS".into(),
        ..Contract::default()
    }
}

#[test]
fn open_order_as_the_ibapi_fixture() {
    // OpenOrderResponse::default(): TSLA STK BUY 100 MKT, Submitted.
    let order = Wire::body()
        .int(1, 100)
        .int(2, 13)
        .int(3, 1376327563)
        .str(5, "BUY")
        .str(6, "100")
        .str(8, "MKT")
        .f64(9, 0.0)
        .f64(10, 0.0)
        .str(11, "DAY")
        .str(12, "DU1234567");
    let bytes = Wire::msg(5)
        .int(1, 13)
        .msg_field(2, tsla_wire())
        .msg_field(3, order)
        .msg_field(4, Wire::body().str(1, "Submitted"))
        .done();
    let want = Event::OpenOrder {
        order_id: 13,
        contract: tsla(),
        order: Order {
            order_id: 13,
            client_id: 100,
            perm_id: 1376327563,
            action: "BUY".into(),
            total_quantity: dec("100"),
            order_type: "MKT".into(),
            limit_price: Some(0.0),
            aux_price: Some(0.0),
            tif: "DAY".into(),
            account: "DU1234567".into(),
            transmit: true,
            ..Order::default()
        },
        state: OrderState {
            status: "Submitted".into(),
            ..OrderState::default()
        },
    };
    assert_eq!(event(&bytes), want);
    // What we write carries what ibapi requires: contract, order with an
    // action, state with a status, and an explicit transmit.
    let ours = encode_event(&want, 226);
    let order = Wire::body()
        .int(1, 100)
        .int(2, 13)
        .int(3, 1376327563)
        .int(4, 0)
        .str(5, "BUY")
        .str(6, "100")
        .str(8, "MKT")
        .f64(9, 0.0)
        .f64(10, 0.0)
        .str(11, "DAY")
        .str(12, "DU1234567")
        .int(66, 1);
    let expected = Wire::msg(5)
        .int(1, 13)
        .msg_field(2, tsla_wire())
        .msg_field(3, order)
        .msg_field(4, Wire::body().str(1, "Submitted"))
        .done();
    assert_eq!(ours, expected);
}

#[test]
fn a_reported_order_always_names_its_client() {
    // ibapi takes an order without a client id for its own connection's;
    // client 0 (TWS's manual orders) must be on the wire.
    let bytes = encode_event(
        &Event::OpenOrder {
            order_id: 5,
            contract: aapl(),
            order: Order {
                order_id: 5,
                action: "BUY".into(),
                ..Order::default()
            },
            state: OrderState {
                status: "Submitted".into(),
                ..OrderState::default()
            },
        },
        226,
    );
    let order = Wire::body()
        .int(1, 0)
        .int(2, 5)
        .int(3, 0)
        .int(4, 0)
        .str(5, "BUY")
        .str(6, "0")
        .int(66, 0);
    let want = Wire::msg(5)
        .int(1, 5)
        .msg_field(2, aapl_wire())
        .msg_field(3, order)
        .msg_field(4, Wire::body().str(1, "Submitted"))
        .done();
    assert_eq!(bytes, want);
}

#[test]
fn ibapi_refuses_frames_without_their_sub_messages_and_so_do_we() {
    let no_state = Wire::msg(5)
        .int(1, 13)
        .msg_field(2, tsla_wire())
        .msg_field(3, Wire::body().str(5, "BUY"))
        .done();
    assert!(decode_event(&no_state, 226).is_err());
    let no_contract = Wire::msg(61).str(1, "DU1").str(3, "1").done();
    assert!(decode_event(&no_contract, 226).is_err());
}

#[test]
fn execution_and_commission_as_the_ibapi_fixtures() {
    let execution = Wire::body()
        .int(1, 13)
        .str(2, "00025b46.63f8f39c.01.01")
        .str(3, "20230224  12:04:56")
        .str(4, "DU1234567")
        .str(5, "ISLAND")
        .str(6, "BOT")
        .str(7, "100")
        .f64(8, 196.52)
        .int(9, 1376327563)
        .int(10, 100)
        .int(11, 0)
        .str(12, "100")
        .f64(13, 196.52)
        .int(18, 2);
    let bytes = Wire::msg(11)
        .int(1, -1)
        .msg_field(2, Wire::body().int(1, 76792991).str(2, "TSLA"))
        .msg_field(3, execution)
        .done();
    let Event::ExecDetails {
        req_id,
        contract,
        execution,
    } = event(&bytes)
    else {
        panic!("not ExecDetails");
    };
    assert_eq!((req_id, contract.con_id), (-1, 76792991));
    assert_eq!(
        execution,
        Execution {
            order_id: 13,
            client_id: 100,
            exec_id: "00025b46.63f8f39c.01.01".into(),
            time: "20230224  12:04:56".into(),
            account: "DU1234567".into(),
            exchange: "ISLAND".into(),
            side: "BOT".into(),
            shares: dec("100"),
            price: 196.52,
            perm_id: 1376327563,
            liquidation: 0,
            cum_qty: dec("100"),
            avg_price: 196.52,
            order_ref: String::new(),
        }
    );
    // IB's "no realized P&L" is f64::MAX.
    same_event(
        &Wire::msg(59)
            .str(1, "00025b46.63f8f39c.01.01")
            .f64(2, 1.0)
            .str(3, "USD")
            .f64(4, f64::MAX)
            .done(),
        Event::CommissionReport {
            exec_id: "00025b46.63f8f39c.01.01".into(),
            commission: 1.0,
            currency: "USD".into(),
            realized_pnl: None,
        },
    );
    same_event(
        &Wire::msg(55).int(1, 9001).done(),
        Event::ExecDetailsEnd { req_id: 9001 },
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
    same_event(
        &Wire::msg(52).int(1, 9002).done(),
        Event::ContractDataEnd { req_id: 9002 },
    );
}
