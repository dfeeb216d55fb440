//! L2 auth (BROKERS.md §4.3): HMAC-SHA256 with the API secret over
//! `timestamp + METHOD + requestPath + body`, url-safe base64 with padding.

use std::fmt;

use alloy_primitives::Address;
use atomik_secrets::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// An API key set (from `/auth/api-key` or `/auth/derive-api-key`). The
/// secret (decoded) and the passphrase are never printed.
pub struct ApiCredentials {
    api_key: String,
    secret: Secret<Vec<u8>>,
    passphrase: Secret<String>,
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("api_key", &self.api_key)
            .field("secret", &"[REDACTED]")
            .field("passphrase", &"[REDACTED]")
            .finish()
    }
}

impl ApiCredentials {
    /// `secret` as returned by the server: url-safe base64 (padding optional).
    pub fn new(
        api_key: impl Into<String>,
        secret: &Secret<String>,
        passphrase: Secret<String>,
    ) -> Result<ApiCredentials, Error> {
        let text = secret.expose().trim();
        let decoded = URL_SAFE
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| Error::InvalidApiSecret)?;
        if decoded.is_empty() {
            return Err(Error::InvalidApiSecret);
        }
        Ok(ApiCredentials {
            api_key: api_key.into(),
            secret: Secret::new(decoded),
            passphrase,
        })
    }

    /// The API key (a UUID; not secret, it is the `owner` of orders).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// `POLY_SIGNATURE` for one request. `method` is used as given (send
    /// upper case: `GET`, `POST`, `DELETE`); `path` is the request path
    /// without host and without query string (`/order`, `/data/orders`);
    /// `body` is the exact bytes sent (compact JSON), empty for none.
    pub fn signature(&self, timestamp: u64, method: &str, path: &str, body: &str) -> String {
        URL_SAFE.encode(self.mac(timestamp, method, path, body))
    }

    /// Check a `POLY_SIGNATURE` in constant time (for the simulator).
    pub fn verify(
        &self,
        timestamp: u64,
        method: &str,
        path: &str,
        body: &str,
        signature: &str,
    ) -> bool {
        let Ok(given) = URL_SAFE.decode(signature.trim()) else {
            return false;
        };
        let expected = self.mac(timestamp, method, path, body);
        given.len() == expected.len() && bool::from(given.ct_eq(&expected))
    }

    fn mac(&self, timestamp: u64, method: &str, path: &str, body: &str) -> Vec<u8> {
        // HMAC accepts keys of any length: new_from_slice cannot fail.
        let Ok(mut mac) = HmacSha256::new_from_slice(self.secret.expose()) else {
            return Vec::new();
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(method.as_bytes());
        mac.update(path.as_bytes());
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The five L2 headers for one request (see [`Self::signature`] for the
    /// arguments). `address` is the wallet's EOA (not the funder).
    pub fn headers(
        &self,
        address: Address,
        timestamp: u64,
        method: &str,
        path: &str,
        body: &str,
    ) -> L2Headers {
        L2Headers {
            poly_address: address.to_checksum(None),
            poly_signature: self.signature(timestamp, method, path, body),
            poly_timestamp: timestamp.to_string(),
            poly_api_key: self.api_key.clone(),
            poly_passphrase: Secret::new(self.passphrase.expose().clone()),
        }
    }
}

/// `POLY_ADDRESS`, `POLY_SIGNATURE`, `POLY_TIMESTAMP`, `POLY_API_KEY`,
/// `POLY_PASSPHRASE`. `Debug` redacts the passphrase.
#[derive(Debug)]
pub struct L2Headers {
    /// Checksummed `0x` address (what the official Rust client sends).
    pub poly_address: String,
    pub poly_signature: String,
    /// Unix seconds, decimal.
    pub poly_timestamp: String,
    pub poly_api_key: String,
    pub poly_passphrase: Secret<String>,
}

impl L2Headers {
    /// `(name, value)` pairs ready for an HTTP client. Exposes the passphrase:
    /// mark the header sensitive in the client and never log the pairs.
    pub fn expose_pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("POLY_ADDRESS", &self.poly_address),
            ("POLY_SIGNATURE", &self.poly_signature),
            ("POLY_TIMESTAMP", &self.poly_timestamp),
            ("POLY_API_KEY", &self.poly_api_key),
            ("POLY_PASSPHRASE", self.poly_passphrase.expose()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ApiCredentials {
        ApiCredentials::new(
            "00000000-0000-0000-0000-000000000000",
            &Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
            Secret::new("canary-passphrase".into()),
        )
        .unwrap()
    }

    #[test]
    fn debug_redacts_and_verify_roundtrips() {
        let c = creds();
        let h = c.headers(Address::ZERO, 1, "GET", "/", "");
        for text in [format!("{c:?}"), format!("{h:?}")] {
            assert!(!text.contains("canary"), "{text}");
        }
        assert_eq!(h.expose_pairs()[4].1, "canary-passphrase");
        assert!(c.verify(1, "GET", "/", "", &h.poly_signature));
        assert!(!c.verify(2, "GET", "/", "", &h.poly_signature));
        assert!(!c.verify(1, "GET", "/", "", "not base64!"));
    }

    #[test]
    fn bad_secret_is_refused_without_echo() {
        for bad in ["", "!!!not-base64!!!"] {
            let err = ApiCredentials::new("k", &Secret::new(bad.into()), Secret::new("p".into()))
                .unwrap_err();
            assert_eq!(err, Error::InvalidApiSecret);
            assert!(!err.to_string().contains("not-base64"));
        }
    }
}
