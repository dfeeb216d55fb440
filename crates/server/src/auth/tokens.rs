//! Random opaque tokens and their at-rest digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `prefix` followed by 256 random bits, URL-safe base64.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256: how session ids, API tokens and recovery codes are stored.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Personal API tokens look like `atk_…` so they are recognisable in a leak scan.
pub const API_TOKEN_PREFIX: &str = "atk_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_digest_is_stable() {
        let a = random_token(API_TOKEN_PREFIX);
        let b = random_token(API_TOKEN_PREFIX);
        assert!(a.starts_with("atk_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
