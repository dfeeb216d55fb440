//! RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps: what every authenticator app
//! speaks) and recovery codes. The algorithm is a few lines over `hmac`; it is
//! checked against the RFC's own test vectors below.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;
/// Codes from one step before or after are accepted (clock drift).
const SKEW_STEPS: i64 = 1;

/// A fresh 160-bit secret, base32 (as authenticator apps expect it).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The code for `unix_secs`.
pub fn code_at(secret_base32: &str, unix_secs: i64) -> Option<String> {
    let secret = BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    Some(hotp(&secret, (unix_secs / STEP_SECS) as u64, DIGITS))
}

/// If `code` is valid at `unix_secs` (± one step), the time step it belongs to.
/// The caller must accept each step at most once (replay protection).
pub fn verify(secret_base32: &str, code: &str, unix_secs: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secret = BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    let now_step = unix_secs / STEP_SECS;
    (now_step - SKEW_STEPS..=now_step + SKEW_STEPS).find(|&step| {
        bool::from(
            hotp(&secret, step as u64, DIGITS)
                .as_bytes()
                .ct_eq(code.as_bytes()),
        )
    })
}

/// The `otpauth://` URI an authenticator app imports.
pub fn provisioning_uri(secret_base32: &str, account: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/atomik:{}?secret={secret_base32}&issuer=atomik&algorithm=SHA1&digits=6&period=30",
        enc(account)
    )
}

/// Ten single-use recovery codes like `k7qd-m2xp-9rwa` (about 60 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let chars: Vec<char> = (0..12)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!(
                "{}-{}-{}",
                chars[0..4].iter().collect::<String>(),
                chars[4..8].iter().collect::<String>(),
                chars[8..12].iter().collect::<String>()
            )
        })
        .collect()
}

/// Recovery codes are compared case- and dash-insensitively.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B, SHA-1 seed "12345678901234567890", 8 digits.
    #[test]
    fn rfc6238_sha1_vectors() {
        let seed = b"12345678901234567890";
        for (t, expected) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(hotp(seed, t / 30, 8), expected, "t={t}");
        }
    }

    #[test]
    fn verify_accepts_adjacent_steps_only_and_rejects_garbage() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(verify(&secret, &code, now), Some(now / 30));
        assert_eq!(verify(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(verify(&secret, &code, now + 90), None);
        assert_eq!(verify(&secret, "12345", now), None);
        assert_eq!(verify(&secret, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalize() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(normalize_recovery_code(" K7QD-m2xp-9RWA "), "k7qdm2xp9rwa");
    }
}
