use std::fmt;

/// Every way the signing core refuses. Messages say why in words and never
/// contain key material (a malformed key is described, not echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The wallet private key cannot be used.
    InvalidPrivateKey(&'static str),
    /// The API secret is not url-safe base64.
    InvalidApiSecret,
    /// Price, size or amount refused by the tick-size rules.
    Amount(String),
    /// The order cannot be signed or serialised as given.
    InvalidOrder(String),
    /// No contract address is known for this chain.
    UnsupportedChain(u64),
    /// The secp256k1 signer failed (should not happen with a valid key).
    Signing(String),
}

impl std::error::Error for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidPrivateKey(why) => write!(f, "invalid wallet private key: {why}"),
            Error::InvalidApiSecret => f.write_str(
                "invalid Polymarket API secret: expected url-safe base64 (as returned by \
                 /auth/api-key or /auth/derive-api-key)",
            ),
            Error::Amount(why) => f.write_str(why),
            Error::InvalidOrder(why) => write!(f, "invalid order: {why}"),
            Error::UnsupportedChain(id) => write!(
                f,
                "no Polymarket contracts known for chain id {id} (expected 137 Polygon or 80002 Amoy)"
            ),
            Error::Signing(why) => write!(f, "signing failed: {why}"),
        }
    }
}
