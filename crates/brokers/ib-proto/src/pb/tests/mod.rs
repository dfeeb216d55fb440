//! The protobuf codec's tests. `Wire` writes protobuf by hand, independent
//! of the prost structs, so the field numbers and wire types are checked
//! against values read off ibapi 5.5's encoders and test fixtures.

mod fixtures;
mod garbage;
mod golden_events;
mod golden_orders;
mod golden_requests;
mod roundtrip;

/// A hand-rolled protobuf writer: one call per field.
pub struct Wire(Vec<u8>);

impl Wire {
    /// A payload under protobuf id `base + 200`.
    pub fn msg(base: i32) -> Wire {
        Wire((base + 200).to_be_bytes().to_vec())
    }

    pub fn body() -> Wire {
        Wire(Vec::new())
    }

    fn key(mut self, field: u32, wire_type: u32) -> Wire {
        self = self.raw_varint(u64::from(field << 3 | wire_type));
        self
    }

    fn raw_varint(mut self, mut v: u64) -> Wire {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }

    /// int32 / int64 / bool: negative values sign-extend to 10 bytes.
    pub fn int(self, field: u32, v: i64) -> Wire {
        self.key(field, 0).raw_varint(v as u64)
    }

    pub fn str(self, field: u32, v: &str) -> Wire {
        self.bytes(field, v.as_bytes())
    }

    pub fn bytes(mut self, field: u32, v: &[u8]) -> Wire {
        self = self.key(field, 2).raw_varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn msg_field(self, field: u32, inner: Wire) -> Wire {
        let inner = inner.0;
        self.bytes(field, &inner)
    }

    pub fn f64(mut self, field: u32, v: f64) -> Wire {
        self = self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

use crate::pb::{decode_event, decode_request, encode_event, encode_request};
use crate::{Contract, Event, Request};

pub fn req(bytes: &[u8]) -> Request {
    decode_request(bytes, 226).unwrap()
}

pub fn event(bytes: &[u8]) -> Event {
    decode_event(bytes, 226).unwrap()
}

/// Both directions: ibapi's bytes decode to `want`, and `want` encodes to
/// the same bytes.
pub fn same_request(bytes: &[u8], want: Request) {
    assert_eq!(req(bytes), want);
    assert_eq!(encode_request(&want, 226), bytes, "{want:?}");
    assert_eq!(encode_request(&want, 213), bytes, "{want:?} at 213");
}

pub fn same_event(bytes: &[u8], want: Event) {
    assert_eq!(event(bytes), want);
    assert_eq!(encode_event(&want, 226), bytes, "{want:?}");
    assert_eq!(encode_event(&want, 213), bytes, "{want:?} at 213");
}

pub fn aapl() -> Contract {
    Contract {
        symbol: "AAPL".into(),
        sec_type: "STK".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        ..Contract::default()
    }
}

pub fn aapl_wire() -> Wire {
    Wire::body()
        .str(2, "AAPL")
        .str(3, "STK")
        .str(8, "SMART")
        .str(10, "USD")
}

pub fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}
