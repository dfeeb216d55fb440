//! Requests byte for byte as ibapi 5.5's encoders write them
//! (`orders/common/encoders.rs`, `accounts/common/encoders.rs`,
//! `proto/encoders.rs`, `connection/common.rs`).

use super::*;
use crate::pb::encode_request;
use crate::*;

#[test]
fn start_api_for_client_123() {
    // BROKERS.md §1.3, ibapi `connection/common_tests.rs`: 71 + 200 = 271.
    let want = [0x00, 0x00, 0x01, 0x0F, 0x08, 0x7B];
    let start = Request::StartApi {
        client_id: 123,
        optional_capabilities: String::new(),
    };
    same_request(&want, start.clone());
    let framed = crate::frame::frame(&crate::encode_request(&start, 226).unwrap());
    assert_eq!(framed, [0, 0, 0, 6, 0x00, 0x00, 0x01, 0x0F, 0x08, 0x7B]);
}

#[test]
fn requests_without_fields_are_bare_ids() {
    for (id, want) in [
        (205, Request::ReqOpenOrders),
        (216, Request::ReqAllOpenOrders),
        (217, Request::ReqManagedAccounts),
        (249, Request::ReqCurrentTime),
        (261, Request::ReqPositions),
        (264, Request::CancelPositions),
    ] {
        same_request(&i32::to_be_bytes(id), want);
    }
}

#[test]
fn order_requests_as_ibapi_writes_them() {
    // encode_cancel_order(13, ""): the OrderCancel is present and empty.
    same_request(
        &Wire::msg(4).int(1, 13).bytes(2, &[]).done(),
        Request::CancelOrder { order_id: 13 },
    );
    // encode_global_cancel().
    same_request(
        &Wire::msg(58).bytes(1, &[]).done(),
        Request::ReqGlobalCancel,
    );
    // encode_next_valid_order_id(): num_ids is sent as 0.
    same_request(
        &[0x00, 0x00, 0x00, 0xD0, 0x08, 0x00],
        Request::ReqIds { num_ids: 0 },
    );
    same_request(
        &Wire::msg(15).int(1, 1).done(),
        Request::ReqAutoOpenOrders { auto_bind: true },
    );
    // some_bool(false) leaves the field out.
    same_request(
        &Wire::msg(15).done(),
        Request::ReqAutoOpenOrders { auto_bind: false },
    );
    same_request(
        &Wire::msg(99).int(1, 1).done(),
        Request::ReqCompletedOrders { api_only: true },
    );
}

#[test]
fn account_requests_as_ibapi_writes_them() {
    same_request(
        &Wire::msg(62)
            .int(1, 9000)
            .str(2, "All")
            .str(3, "NetLiquidation,TotalCashValue")
            .done(),
        Request::ReqAccountSummary {
            req_id: 9000,
            group: "All".into(),
            tags: "NetLiquidation,TotalCashValue".into(),
        },
    );
    same_request(
        &[0x00, 0x00, 0x01, 0x07, 0x08, 0xA8, 0x46],
        Request::CancelAccountSummary { req_id: 9000 },
    );
    same_request(
        &Wire::msg(6).int(1, 1).str(2, "DU1234567").done(),
        Request::ReqAccountUpdates {
            subscribe: true,
            account: "DU1234567".into(),
        },
    );
    // encode_cancel_account_updates(): subscribe false, no account.
    same_request(
        &Wire::msg(6).int(1, 0).done(),
        Request::ReqAccountUpdates {
            subscribe: false,
            account: String::new(),
        },
    );
    same_request(
        &Wire::msg(59).int(1, 3).done(),
        Request::ReqMarketDataType {
            market_data_type: 3,
        },
    );
}

fn limit_buy() -> Order {
    Order {
        order_id: 13,
        action: "BUY".into(),
        total_quantity: dec("100"),
        order_type: "LMT".into(),
        limit_price: Some(150.0),
        tif: "DAY".into(),
        transmit: true,
        ..Order::default()
    }
}

#[test]
fn ibapi_place_order_is_read() {
    // PlaceOrderRequestBuilder with ibapi's `encode_order_basic` order over
    // Order::default(), whose defaults ibapi sends too (display size 0,
    // exempt code -1, pegged/reference change 0, ref futures con id 0).
    let order = Wire::body()
        .str(5, "BUY")
        .str(6, "100")
        .int(7, 0)
        .str(8, "LMT")
        .f64(9, 150.0)
        .str(11, "DAY")
        .int(66, 1)
        .int(72, -1)
        .f64(89, 0.0)
        .f64(91, 0.0)
        .int(116, 0);
    let bytes = Wire::msg(3)
        .int(1, 13)
        .msg_field(2, aapl_wire())
        .msg_field(3, order)
        .done();
    assert_eq!(
        req(&bytes),
        Request::PlaceOrder {
            order_id: 13,
            contract: aapl(),
            order: limit_buy(),
        }
    );
}

#[test]
fn place_order_is_written_as_ibapi_writes_it() {
    let bytes = encode_request(
        &Request::PlaceOrder {
            order_id: 13,
            contract: aapl(),
            order: limit_buy(),
        },
        226,
    );
    let order = Wire::body()
        .str(5, "BUY")
        .str(6, "100")
        .str(8, "LMT")
        .f64(9, 150.0)
        .str(11, "DAY")
        .int(66, 1)
        .int(72, -1);
    let want = Wire::msg(3)
        .int(1, 13)
        .msg_field(2, aapl_wire())
        .msg_field(3, order)
        .done();
    assert_eq!(bytes, want);
}

#[test]
fn transmit_false_is_absent_from_ibapi_and_explicit_from_us() {
    // ibapi and IB's own clients set `transmit` only when true.
    let order = Wire::body().str(5, "SELL").str(8, "MKT").str(6, "1");
    let bytes = Wire::msg(3)
        .int(1, 5)
        .msg_field(2, aapl_wire())
        .msg_field(3, order)
        .done();
    let Request::PlaceOrder { order, .. } = req(&bytes) else {
        panic!("not a PlaceOrder");
    };
    assert!(!order.transmit);
    assert_eq!(order.order_id, 5);
    // An OpenOrder without it is transmitted (ibapi: unwrap_or(true)).
    let bytes = Wire::msg(5)
        .int(1, 5)
        .msg_field(2, aapl_wire())
        .msg_field(3, Wire::body().str(5, "SELL"))
        .msg_field(4, Wire::body().str(1, "Submitted"))
        .done();
    let Event::OpenOrder { order, .. } = event(&bytes) else {
        panic!("not an OpenOrder");
    };
    assert!(order.transmit);
}

#[test]
fn ibapi_execution_request_is_read() {
    // encode_execution_filter with last_n_days and specific_dates, which
    // atomik does not model: skipped.
    let filter = Wire::body()
        .int(1, 7)
        .str(2, "DU1234567")
        .str(3, "20261201 09:30:00")
        .str(4, "TSLA")
        .str(5, "STK")
        .str(6, "ISLAND")
        .str(7, "BUY")
        .int(8, 2)
        .int(9, 20261130);
    let bytes = Wire::msg(7).int(1, 9001).msg_field(2, filter).done();
    assert_eq!(
        req(&bytes),
        Request::ReqExecutions {
            req_id: 9001,
            filter: ExecutionFilter {
                client_id: Some(7),
                account: "DU1234567".into(),
                time: "20261201 09:30:00".into(),
                symbol: "TSLA".into(),
                sec_type: "STK".into(),
                exchange: "ISLAND".into(),
                side: "BUY".into(),
            },
        }
    );
}

#[test]
fn ibapi_contract_data_request_is_read() {
    // encode_contract: multiplier as a double, strike only when non-zero.
    let contract = Wire::body()
        .str(2, "ES")
        .str(3, "FUT")
        .str(4, "202612")
        .f64(7, 50.0)
        .str(8, "CME")
        .str(10, "USD")
        .int(18, 1);
    let bytes = Wire::msg(9).int(1, 9002).msg_field(2, contract).done();
    assert_eq!(
        req(&bytes),
        Request::ReqContractData {
            req_id: 9002,
            contract: Contract {
                symbol: "ES".into(),
                sec_type: "FUT".into(),
                last_trade_date_or_contract_month: "202612".into(),
                multiplier: "50".into(),
                exchange: "CME".into(),
                currency: "USD".into(),
                include_expired: true,
                ..Contract::default()
            },
        }
    );
}

#[test]
fn start_api_capabilities_at_tag_2() {
    same_request(
        &Wire::msg(71).int(1, 0).str(2, "+PACEAPI").done(),
        Request::StartApi {
            client_id: 0,
            optional_capabilities: "+PACEAPI".into(),
        },
    );
}

#[test]
fn account_updates_multi_as_ibapi_writes_them() {
    // encode_request_account_updates_multi(9000, Some(account), Some(model)):
    // ledger_and_nlv is always sent, as true.
    same_request(
        &Wire::msg(76)
            .int(1, 9000)
            .str(2, "DU1234567")
            .str(3, "MODEL_X")
            .int(4, 1)
            .done(),
        Request::ReqAccountUpdatesMulti {
            req_id: 9000,
            account: "DU1234567".into(),
            model_code: "MODEL_X".into(),
            ledger_and_nlv: true,
        },
    );
    // No account and no model: both fields left out.
    same_request(
        &Wire::msg(76).int(1, 9000).int(4, 1).done(),
        Request::ReqAccountUpdatesMulti {
            req_id: 9000,
            account: String::new(),
            model_code: String::new(),
            ledger_and_nlv: true,
        },
    );
    // encode_cancel_account_updates_multi(9000): 77 + 200 = 277.
    same_request(
        &[0x00, 0x00, 0x01, 0x15, 0x08, 0xA8, 0x46],
        Request::CancelAccountUpdatesMulti { req_id: 9000 },
    );
}
