//! Every request and event through the text codec and back at every
//! text-era server version (157, 178 and 200 among them); arbitrary bytes
//! never panic the decoders.

mod common;

use atomik_ib_proto::*;
use common::*;

#[test]
fn every_request_round_trips() {
    assert!(VERSIONS.iter().all(|v| ALL_VERSIONS.contains(v)));
    for v in ALL_VERSIONS {
        for req in requests(v) {
            let bytes = encode_request(&req, v).unwrap();
            assert_eq!(bytes.last(), Some(&0), "{req:?}");
            let back = decode_request(&bytes, v)
                .unwrap_or_else(|e| panic!("v{v} {req:?}: {e} in {:?}", show(&bytes)));
            assert_eq!(back, req, "v{v}: {:?}", show(&bytes));
        }
    }
}

#[test]
fn every_event_round_trips() {
    for v in ALL_VERSIONS {
        for event in events(v) {
            let bytes = encode_event(&event, v).unwrap();
            let back = decode_event(&bytes, v)
                .unwrap_or_else(|e| panic!("v{v} {event:?}: {e} in {:?}", show(&bytes)));
            assert_eq!(back, event, "v{v}: {:?}", show(&bytes));
        }
    }
}

#[test]
fn version_dependent_fields_change_the_payload() {
    let fields = |bytes: Vec<u8>| bytes.iter().filter(|&&b| b == 0).count();
    let place = &requests(178)[1];
    // 157 adds faProfile; 158 duration, 160 postToAts, 162 autoCancelParent,
    // 166 advancedErrorOverride, 169 manualOrderTime take 157 → 178 to +4;
    // 183, 184, 189, 192, 199 add one each.
    let n157 = fields(encode_request(place, 157).unwrap());
    let n178 = fields(encode_request(place, 178).unwrap());
    let n200 = fields(encode_request(place, 200).unwrap());
    assert_eq!((n178 - n157, n200 - n178), (4, 5));
    let n188 = fields(encode_request(place, 188).unwrap());
    assert_eq!(n188 - n178, 4, "RFQ placeholders at 187..190");

    let error = &events(200)[2];
    let at = |v| String::from_utf8(encode_event(error, v).unwrap()).unwrap();
    assert!(at(193).starts_with("4\u{0}2\u{0}12\u{0}201\u{0}"));
    assert!(at(194).starts_with("4\u{0}12\u{0}201\u{0}"));
    assert!(at(194).ends_with("\u{0}1764600000123\u{0}"));
}

#[test]
fn unknown_ids_are_other() {
    assert_eq!(
        decode_request(b"1\x002\x00\xff\xfe\x00", 178).unwrap(),
        Request::Other { id: 1 }
    );
    assert_eq!(
        decode_event(b"21\x00junk", 178).unwrap(),
        Event::Other { id: 21 }
    );
    assert_eq!(
        encode_request(&Request::Other { id: 2 }, 178).unwrap(),
        b"2\0"
    );
}

#[test]
fn malformed_payloads_are_errors() {
    assert!(decode_event(b"", 178).is_err());
    assert!(decode_event(b"x\x00", 178).is_err());
    assert!(decode_event(b"9\x001\x00", 178).is_err(), "truncated");
    assert!(decode_event(b"9\x001\x00abc\x00", 178).is_err(), "bad int");
    assert!(decode_event(b"9\x001\x0012", 178).is_err(), "no final NUL");
    assert!(
        decode_request(b"8\x001\x00\xff\x00", 178).is_err(),
        "not UTF-8"
    );
}

/// A small fixed-seed generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "",
    "0",
    "1",
    "2",
    "3",
    "7",
    "8",
    "-1",
    "abc",
    "2147483647",
    "1.7976931348623157E308",
    "99999999999999999999",
    "170141183460469231731687303715884105727",
    "1e400",
    "NaN",
    "Infinite",
    "BAG",
    "PEG BEST",
    "PEG MID",
    "PEG BENCH",
    "IBKRATS",
    "FUND",
    "LMT",
    "1.5",
    "-0",
    "100000000",
];

const IDS: &[i32] = &[
    3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 49, 52, 53, 54, 55, 58, 59, 61, 62, 63, 64, 71, 99,
    101, 102,
];

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x5eed_1b7e_4700);
    for round in 0..6000 {
        let mut payload = Vec::new();
        if round % 5 == 0 {
            for _ in 0..rng.below(64) {
                payload.push(rng.next() as u8);
            }
        } else {
            payload.extend(IDS[rng.below(IDS.len())].to_string().bytes());
            payload.push(0);
            for _ in 0..rng.below(200) {
                if rng.below(50) == 0 {
                    payload.push(rng.next() as u8);
                } else {
                    payload.extend(TOKENS[rng.below(TOKENS.len())].bytes());
                }
                payload.push(0);
            }
            if rng.below(8) == 0 {
                payload.pop();
            }
        }
        let v = 157 + (round % 44) as i32;
        for v in [v, VERSIONS[round % 3]] {
            let _ = decode_request(&payload, v);
            let _ = decode_event(&payload, v);
        }
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for v in VERSIONS {
        for event in events(v) {
            let bytes = encode_event(&event, v).unwrap();
            for end in 0..bytes.len() {
                let _ = decode_event(&bytes[..end], v);
            }
        }
        for req in requests(v) {
            let bytes = encode_request(&req, v).unwrap();
            for end in 0..bytes.len() {
                let _ = decode_request(&bytes[..end], v);
            }
        }
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "|")
}
