//! `ib_events` / `ib_requests`: one frame's payload from the TWS API socket
//! through `atomik-ib-proto`'s decoders, as the adapter reads the Gateway's
//! events and the simulator reads a client's requests. Input: byte 0 picks
//! the negotiated server version (text era 157–200 or protobuf era
//! 213–226); the rest is the payload (length frame stripped).
//!
//! Whatever decodes must encode at the same version and decode back to the
//! same value: the codecs describe each message once for both directions,
//! so a value read off the wire is one they can write. Values are equal by
//! `==` (decimals by value: `2.50` is `2.5`), or by their `Debug` form when
//! a NaN read off the wire makes `==` false. A message in the text form
//! under a binary id (protobuf era, id ≤ 200) is read as text at the last
//! text version, and is checked written back in that form: the protobuf
//! form cannot carry everything text can (a multiplier is a double there).

use atomik_ib_proto::{decode_event, decode_request, encode_event, encode_request, text, version};

/// Whether a protobuf-era payload carries the text form (binary id ≤ 200).
fn text_form(v: i32, payload: &[u8]) -> bool {
    v >= version::MIN_PROTOBUF
        && payload
            .first_chunk::<4>()
            .is_some_and(|id| i32::from_be_bytes(*id) <= 200)
}

/// The versions byte 0 picks from: both ends of each era and the text
/// versions where a message atomik uses changes shape.
const VERSIONS: &[i32] = &[157, 163, 164, 166, 178, 187, 192, 194, 200, 213, 226];

fn version(data: &[u8]) -> (i32, &[u8]) {
    let (b, rest) = crate::input::byte(data);
    (VERSIONS[b as usize % VERSIONS.len()], rest)
}

fn same<T: PartialEq + std::fmt::Debug>(a: &T, b: &T) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

pub fn ib_events(data: &[u8]) {
    let (v, payload) = version(data);
    let Ok(event) = decode_event(payload, v) else {
        return;
    };
    let (bytes, back) = if text_form(v, payload) {
        let bytes = text::encode_event(&event, version::TEXT_MAX);
        let back = text::decode_event(&bytes, version::TEXT_MAX);
        (bytes, back)
    } else {
        let bytes = encode_event(&event, v).expect("a version atomik speaks encodes");
        let back = decode_event(&bytes, v);
        (bytes, back)
    };
    match back {
        Ok(back) => assert!(
            same(&back, &event),
            "v{v}: {event:?} re-encoded as {bytes:?} reads back as {back:?}"
        ),
        Err(e) => panic!("v{v}: {event:?} encodes to {bytes:?}, which does not decode: {e}"),
    }
}

pub fn ib_requests(data: &[u8]) {
    let (v, payload) = version(data);
    let Ok(req) = decode_request(payload, v) else {
        return;
    };
    let (bytes, back) = if text_form(v, payload) {
        let bytes = text::encode_request(&req, version::TEXT_MAX);
        let back = text::decode_request(&bytes, version::TEXT_MAX);
        (bytes, back)
    } else {
        let bytes = encode_request(&req, v).expect("a version atomik speaks encodes");
        let back = decode_request(&bytes, v);
        (bytes, back)
    };
    match back {
        Ok(back) => assert!(
            same(&back, &req),
            "v{v}: {req:?} re-encoded as {bytes:?} reads back as {back:?}"
        ),
        Err(e) => panic!("v{v}: {req:?} encodes to {bytes:?}, which does not decode: {e}"),
    }
}
