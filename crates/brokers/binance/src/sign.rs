//! Binance request signing (BROKERS.md §3.2): HMAC-SHA256 with the secret key
//! (hex), or Ed25519 with a PKCS#8 private key (base64). The payload is the
//! exact query string followed, without a separator, by the form body — the
//! bytes as sent. Ed25519 signatures are percent-encoded by the caller like
//! any other parameter value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How an API key signs. Holds key material: never printed.
pub enum Signer {
    Hmac(Vec<u8>),
    Ed25519(Box<SigningKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signer::Hmac(_) => "Signer::Hmac(<redacted>)",
            Signer::Ed25519(_) => "Signer::Ed25519(<redacted>)",
        })
    }
}

/// A key that cannot sign or verify; the message says what to paste instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::error::Error for KeyError {}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Signer {
    /// The secret as the user pastes it: a PEM Ed25519 private key
    /// (`-----BEGIN PRIVATE KEY-----`), or else an HMAC secret key.
    pub fn from_secret(secret: &str) -> Result<Signer, KeyError> {
        let trimmed = secret.trim();
        if trimmed.is_empty() {
            return Err(KeyError(
                "the secret key is empty: paste the Secret Key (HMAC) or the Ed25519 private key (PEM)".into(),
            ));
        }
        if trimmed.starts_with("-----BEGIN") {
            let key = SigningKey::from_pkcs8_pem(trimmed).map_err(|_| {
                KeyError(
                    "the private key is not an Ed25519 PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----); \
                     Binance accepts Ed25519 keys generated with its key generator or openssl genpkey -algorithm ed25519"
                        .into(),
                )
            })?;
            return Ok(Signer::Ed25519(Box::new(key)));
        }
        Ok(Signer::Hmac(trimmed.as_bytes().to_vec()))
    }

    /// The `signature` parameter's value (before percent-encoding).
    pub fn sign(&self, payload: &[u8]) -> String {
        match self {
            Signer::Hmac(secret) => hmac_hex(secret, payload),
            Signer::Ed25519(key) => B64.encode(key.sign(payload).to_bytes()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Signer::Hmac(_) => "HMAC",
            Signer::Ed25519(_) => "Ed25519",
        }
    }
}

pub fn hmac_hex(secret: &[u8], payload: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// Verify an HMAC signature (hex, case-insensitive) in constant time.
pub fn verify_hmac(secret: &[u8], payload: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.to_ascii_lowercase()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
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

/// The public half of a PEM private key (what the user registers at Binance).
pub fn ed25519_public_of(private_pem: &str) -> Result<VerifyingKey, KeyError> {
    match Signer::from_secret(private_pem)? {
        Signer::Ed25519(key) => Ok(key.verifying_key()),
        Signer::Hmac(_) => Err(KeyError("not a PEM private key".into())),
    }
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
    use serde_json::Value;

    fn vectors() -> Value {
        // A copy of shared/vectors/binance.json (Binance's published examples).
        let text = include_str!("../tests/vectors/binance.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn published_hmac_examples_reproduce_byte_for_byte() {
        let v = vectors();
        let signer = Signer::from_secret(v["secret_key"].as_str().unwrap()).unwrap();
        let mut n = 0;
        for list in ["hmac_sha256", "websocket_api_hmac_sha256"] {
            for case in v[list].as_array().unwrap() {
                let payload = case["payload"].as_str().unwrap();
                let expected = case["signature_hex"].as_str().unwrap();
                assert_eq!(signer.sign(payload.as_bytes()), expected, "{payload}");
                assert!(verify_hmac(
                    v["secret_key"].as_str().unwrap().as_bytes(),
                    payload.as_bytes(),
                    &expected.to_uppercase()
                ));
                n += 1;
            }
        }
        assert_eq!(n, 5);
    }

    #[test]
    fn mixed_query_and_body_payload_is_their_concatenation() {
        let v = vectors();
        let case = &v["hmac_sha256"][2];
        let payload = format!(
            "{}{}",
            case["query"].as_str().unwrap(),
            case["body"].as_str().unwrap()
        );
        assert_eq!(payload, case["payload"].as_str().unwrap());
    }

    #[test]
    fn published_ed25519_example_reproduces() {
        let v = vectors();
        let case = &v["ed25519"][0];
        let signer = Signer::from_secret(case["private_key_pem"].as_str().unwrap()).unwrap();
        assert_eq!(signer.kind(), "Ed25519");
        let payload = case["payload"].as_str().unwrap();
        let sig = signer.sign(payload.as_bytes());
        assert_eq!(sig, case["signature_base64"].as_str().unwrap());
        let public = ed25519_public_key(case["public_key_der_base64"].as_str().unwrap()).unwrap();
        assert!(verify_ed25519(&public, payload.as_bytes(), &sig));
        assert!(!verify_ed25519(&public, b"tampered", &sig));
        assert!(format!("{signer:?}").contains("redacted"));
    }

    #[test]
    fn malformed_keys_say_what_is_wrong() {
        let err =
            Signer::from_secret("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
                .unwrap_err();
        assert!(err.0.contains("Ed25519"), "{err}");
        assert!(Signer::from_secret("  ").is_err());
    }
}
