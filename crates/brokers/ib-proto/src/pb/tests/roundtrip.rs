//! Every variant through encode and decode, at both ends of the band, via
//! the crate's era dispatch.

use super::fixtures;
use crate::{Event, Request, decode_event, decode_request, encode_event, encode_request};

const VERSIONS: [i32; 3] = [213, 220, 226];

#[test]
fn every_request_round_trips() {
    for v in VERSIONS {
        for req in fixtures::requests() {
            let bytes = encode_request(&req, v).unwrap();
            assert!(
                i32::from_be_bytes(bytes[..4].try_into().unwrap()) > 200,
                "{req:?} is not sent as protobuf"
            );
            assert_eq!(decode_request(&bytes, v).unwrap(), req, "at {v}");
        }
    }
}

#[test]
fn every_event_round_trips() {
    for v in VERSIONS {
        for event in fixtures::events() {
            let bytes = encode_event(&event, v).unwrap();
            assert!(
                i32::from_be_bytes(bytes[..4].try_into().unwrap()) > 200,
                "{event:?} is not sent as protobuf"
            );
            assert_eq!(decode_event(&bytes, v).unwrap(), event, "at {v}");
        }
    }
}

#[test]
fn defaults_round_trip_too() {
    use crate::*;
    let requests = [
        Request::PlaceOrder {
            order_id: 0,
            contract: Contract::default(),
            order: Order::default(),
        },
        Request::ReqAutoOpenOrders { auto_bind: false },
        Request::ReqCompletedOrders { api_only: false },
        Request::ReqAccountUpdates {
            subscribe: false,
            account: String::new(),
        },
        Request::ReqExecutions {
            req_id: 0,
            filter: ExecutionFilter::default(),
        },
        Request::ReqIds { num_ids: 0 },
        Request::ReqAccountUpdatesMulti {
            req_id: 0,
            account: String::new(),
            model_code: String::new(),
            ledger_and_nlv: false,
        },
    ];
    for req in requests {
        let bytes = encode_request(&req, 226).unwrap();
        assert_eq!(decode_request(&bytes, 226).unwrap(), req);
    }
    let events = [
        Event::OpenOrder {
            order_id: 0,
            contract: Contract::default(),
            order: Order::default(),
            state: OrderState::default(),
        },
        Event::CommissionReport {
            exec_id: String::new(),
            commission: 0.0,
            currency: String::new(),
            realized_pnl: None,
        },
        Event::ManagedAccounts { accounts: vec![] },
        Event::AccountUpdateMulti {
            req_id: 0,
            account: String::new(),
            model_code: String::new(),
            key: String::new(),
            value: String::new(),
            currency: String::new(),
        },
        Event::Error {
            id: -1,
            time_ms: 0,
            code: 2104,
            message: "Market data farm connection is OK:usfarm".into(),
            advanced_order_reject_json: String::new(),
        },
    ];
    for event in events {
        let bytes = encode_event(&event, 226).unwrap();
        assert_eq!(decode_event(&bytes, 226).unwrap(), event);
    }
}

#[test]
fn unknown_ids_are_other_in_both_forms() {
    // Protobuf RequestMarketData (1 + 200), text-form CancelMarketData (2).
    let mut pb = 201i32.to_be_bytes().to_vec();
    pb.extend_from_slice(&[0x08, 0x01]);
    assert_eq!(decode_request(&pb, 226).unwrap(), Request::Other { id: 1 });
    let mut text = 2i32.to_be_bytes().to_vec();
    text.extend_from_slice(b"2\x001\x00");
    assert_eq!(
        decode_request(&text, 226).unwrap(),
        Request::Other { id: 2 }
    );
    // TickPrice as protobuf, a far-off id.
    for id in [201i32, 999_999] {
        let bytes = id.to_be_bytes();
        assert_eq!(
            decode_event(&bytes, 226).unwrap(),
            Event::Other { id: id - 200 }
        );
    }
}

#[test]
fn ids_below_one_are_no_message() {
    // Found by the ib_events fuzz target (fuzz/regressions/ib_events/):
    // `Other { id: -5 }` was written back under -5 + 200 = 195 and read as
    // `Other { id: 195 }`. No IB message has an id below 1.
    for id in [0i32, -5, i32::MIN, -1_424_812_795] {
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"1\x00");
        assert!(decode_event(&bytes, 226).is_err(), "{id}");
        assert!(decode_request(&bytes, 226).is_err(), "{id}");
    }
    for other in [Event::Other { id: 1 }, Event::Other { id: i32::MAX - 200 }] {
        let bytes = encode_event(&other, 226).unwrap();
        assert_eq!(decode_event(&bytes, 226).unwrap(), other);
    }
}

#[test]
fn short_payloads_are_errors() {
    for bytes in [&b""[..], &[0], &[0, 0, 1]] {
        assert!(decode_request(bytes, 226).is_err());
        assert!(decode_event(bytes, 226).is_err());
    }
}

#[test]
fn text_form_under_a_binary_id_goes_to_the_text_codec() {
    // ReqCurrentTime (49) and NextValidId (9) as text fields after a binary id.
    let mut payload = 49i32.to_be_bytes().to_vec();
    payload.extend_from_slice(b"1\0");
    assert_eq!(
        crate::pb::decode_request(&payload, 226),
        crate::text::decode_request(b"49\x001\x00", crate::version::TEXT_MAX)
    );
    let mut payload = 9i32.to_be_bytes().to_vec();
    payload.extend_from_slice(b"1\x001001\x00");
    assert_eq!(
        crate::pb::decode_event(&payload, 213),
        crate::text::decode_event(b"9\x001\x001001\x00", crate::version::TEXT_MAX)
    );
}
