//! Order events byte for byte as ibapi 5.5's test fixtures
//! (`testdata/builders/orders.rs`) build them, and as its decoders
//! (`orders/common/decoders.rs`) require.

use super::*;
use crate::pb::{decode_event, encode_event};
use crate::*;

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
fn completed_order_as_the_ibapi_fixture() {
    // CompletedOrderResponse::default(), with filled_quantity (115) and
    // shareholder (118), which atomik does not model.
    let contract = Wire::body()
        .int(1, 265598)
        .str(2, "AAPL")
        .str(3, "STK")
        .f64(5, 0.0)
        .str(8, "SMART")
        .str(10, "USD")
        .str(11, "AAPL")
        .str(12, "NMS");
    let order = Wire::body()
        .int(1, 0)
        .int(2, 0)
        .int(3, 1377295418)
        .str(5, "BUY")
        .str(6, "0")
        .str(8, "MKT")
        .f64(9, 0.0)
        .f64(10, 0.0)
        .str(11, "DAY")
        .str(12, "DU1234567")
        .str(115, "100")
        .str(118, "Not an insider or substantial shareholder");
    let state = Wire::body()
        .str(1, "Filled")
        .str(29, "20231122 10:30:00 America/Los_Angeles")
        .str(30, "Filled");
    let bytes = Wire::msg(101)
        .msg_field(1, contract)
        .msg_field(2, order)
        .msg_field(3, state)
        .done();
    let Event::CompletedOrder {
        contract,
        order,
        state,
    } = event(&bytes)
    else {
        panic!("not CompletedOrder");
    };
    assert_eq!(
        (contract.con_id, contract.symbol.as_str()),
        (265598, "AAPL")
    );
    assert_eq!((order.perm_id, order.action.as_str()), (1377295418, "BUY"));
    assert!(order.transmit);
    assert_eq!(
        state,
        OrderState {
            status: "Filled".into(),
            completed_time: "20231122 10:30:00 America/Los_Angeles".into(),
            completed_status: "Filled".into(),
            ..OrderState::default()
        }
    );
    same_event(&302i32.to_be_bytes(), Event::CompletedOrdersEnd);
    same_event(&253i32.to_be_bytes(), Event::OpenOrderEnd);
}

#[test]
fn every_modelled_field_sits_at_ibapis_tag() {
    // Field numbers from ibapi's protobuf.rs, written without prost.
    let contract = Wire::body()
        .int(1, 7001)
        .str(2, "AAPL")
        .str(3, "OPT")
        .str(4, "20270115")
        .f64(5, 187.5)
        .str(6, "C")
        .f64(7, 100.0)
        .str(8, "SMART")
        .str(9, "NASDAQ")
        .str(10, "USD")
        .str(11, "AAPL  270115C00187500")
        .str(12, "AAPL")
        .int(18, 1);
    let order = Wire::body()
        .int(1, 7)
        .int(2, 42)
        .int(3, 99)
        .int(4, 41)
        .str(5, "SELL")
        .str(6, "2.5")
        .str(8, "STP LMT")
        .f64(9, 3.5)
        .f64(10, 3.25)
        .str(11, "GTC")
        .str(12, "DU1")
        .int(19, 1)
        .str(28, "intent-42")
        .int(65, 1)
        .int(66, 0);
    let state = Wire::body()
        .str(1, "Cancelled")
        .f64(11, 1.25)
        .str(14, "USD")
        .str(26, "no margin")
        .str(28, "careful");
    let bytes = Wire::msg(5)
        .int(1, 42)
        .msg_field(2, contract)
        .msg_field(3, order)
        .msg_field(4, state)
        .done();
    let want = Event::OpenOrder {
        order_id: 42,
        contract: Contract {
            con_id: 7001,
            symbol: "AAPL".into(),
            sec_type: "OPT".into(),
            last_trade_date_or_contract_month: "20270115".into(),
            strike: Some(187.5),
            right: "C".into(),
            multiplier: "100".into(),
            exchange: "SMART".into(),
            primary_exchange: "NASDAQ".into(),
            currency: "USD".into(),
            local_symbol: "AAPL  270115C00187500".into(),
            trading_class: "AAPL".into(),
            include_expired: true,
        },
        order: Order {
            order_id: 42,
            client_id: 7,
            perm_id: 99,
            action: "SELL".into(),
            total_quantity: dec("2.5"),
            order_type: "STP LMT".into(),
            limit_price: Some(3.5),
            aux_price: Some(3.25),
            tif: "GTC".into(),
            account: "DU1".into(),
            order_ref: "intent-42".into(),
            transmit: false,
            parent_id: 41,
            outside_rth: true,
            what_if: true,
        },
        state: OrderState {
            status: "Cancelled".into(),
            commission: Some(1.25),
            commission_currency: "USD".into(),
            warning_text: "careful".into(),
            reject_reason: "no margin".into(),
            ..OrderState::default()
        },
    };
    same_event(&bytes, want);
    // Execution.order_ref (14) and is_liquidation (11).
    let execution = Wire::body()
        .int(1, 1)
        .str(6, "SLD")
        .int(11, 1)
        .str(14, "intent-42");
    let bytes = Wire::msg(11)
        .int(1, 3)
        .msg_field(2, aapl_wire())
        .msg_field(3, execution)
        .done();
    let Event::ExecDetails { execution, .. } = event(&bytes) else {
        panic!("not ExecDetails");
    };
    assert_eq!(
        (execution.liquidation, execution.order_ref.as_str()),
        (1, "intent-42")
    );
}
