//! Signature verification as Binance performs it (BROKERS.md §3.2): HMAC-SHA256
//! (hex, case-insensitive) keyed with the secret, or Ed25519 (base64) against
//! the registered public key, over the exact received payload.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A key the simulator cannot use, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

/// Verify an HMAC signature (hex, case-insensitive) in constant time.
pub fn verify_hmac(secret: &[u8], payload: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.to_ascii_lowercase()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(payload);
    mac.verify_slice(&given).is_ok()
}

/// An Ed25519 public key from PEM (`-----BEGIN PUBLIC KEY-----`) or base64 DER.
pub fn ed25519_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let t = text.trim();
    let parsed = if t.starts_with("-----BEGIN") {
        VerifyingKey::from_public_key_pem(t).ok()
    } else {
        B64.decode(t)
            .ok()
            .and_then(|der| VerifyingKey::from_public_key_der(&der).ok())
    };
    parsed.ok_or_else(|| KeyError("not an Ed25519 public key (PEM or base64 DER)".into()))
}

/// Verify an Ed25519 signature (base64, already percent-decoded).
pub fn verify_ed25519(key: &VerifyingKey, payload: &[u8], signature_b64: &str) -> bool {
    let Ok(bytes) = B64.decode(signature_b64) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(payload, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binance's published HMAC example (SIGNED endpoint docs).
    #[test]
    fn the_published_hmac_example_verifies() {
        let secret = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let payload = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        assert!(verify_hmac(secret, payload, sig));
        assert!(verify_hmac(secret, payload, &sig.to_uppercase()));
        assert!(!verify_hmac(secret, b"tampered", sig));
        assert!(!verify_hmac(secret, payload, "not hex"));
    }

    #[test]
    fn a_malformed_public_key_is_refused() {
        assert!(ed25519_public_key("nope").is_err());
    }
}
