//! Arbitrary bytes never panic the decoders.

use super::fixtures;
use crate::pb::{decode_event, decode_request};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn decode_both(bytes: &[u8]) {
    let _ = decode_request(bytes, 226);
    let _ = decode_event(bytes, 226);
}

#[test]
fn random_payloads_never_panic() {
    let mut rng = Rng(0x5eed_1bc0de);
    for _ in 0..5000 {
        // A protobuf id of a message the codec reads most of the time.
        let id = match rng.below(4) {
            0 => rng.next() as i32,
            _ => 200 + rng.below(110) as i32,
        };
        let mut bytes = id.to_be_bytes().to_vec();
        let len = rng.below(64) as usize;
        bytes.extend((0..len).map(|_| rng.next() as u8));
        decode_both(&bytes);
    }
}

#[test]
fn mutated_real_messages_never_panic() {
    let mut rng = Rng(42);
    let mut corpus: Vec<Vec<u8>> = fixtures::requests()
        .iter()
        .map(|r| crate::pb::encode_request(r, 226))
        .collect();
    corpus.extend(
        fixtures::events()
            .iter()
            .map(|e| crate::pb::encode_event(e, 226)),
    );
    for _ in 0..4000 {
        let mut bytes = corpus[rng.below(corpus.len() as u64) as usize].clone();
        for _ in 0..=rng.below(4) {
            let at = 4 + rng.below((bytes.len() - 4).max(1) as u64) as usize;
            match rng.below(3) {
                0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                1 => bytes.truncate(at),
                _ => bytes.insert(at.min(bytes.len()), rng.next() as u8),
            }
        }
        decode_both(&bytes);
    }
}

#[test]
fn hostile_decimal_strings_are_errors_or_values() {
    use super::Wire;
    for text in [
        "1e999999999999",
        "1E-99999999999",
        "-",
        "NaN",
        "inf",
        "1.7976931348623157E308",
        "99999999999999999999999999999999999",
        "0x10",
        " 1",
        "1.5.5",
    ] {
        let bytes = Wire::msg(61)
            .str(1, "DU1")
            .msg_field(2, Wire::body().str(2, "ES"))
            .str(3, text)
            .done();
        let _ = decode_event(&bytes, 226);
    }
}
