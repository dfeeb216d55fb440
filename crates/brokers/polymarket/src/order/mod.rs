//! Orders: V2 (the current CLOB format) and V1 (legacy), their EIP-712 hash
//! (= Polymarket's order id), signature and `POST /order` body.
//!
//! Typical adapter flow for one intent:
//! 1. [`crate::amounts::limit_amounts`] → maker/taker amounts;
//! 2. [`crate::identity::OrderIdentity::derive`] → salt, metadata, timestamp
//!    from the client order id and the intent's creation time;
//! 3. [`OrderV2::from_spec`] then [`OrderV2::sign`] with the market's
//!    [`crate::contracts::Exchange::v2`] (neg-risk or not);
//! 4. [`SignedOrderV2::post_body`] → JSON for `POST /order`, signed with L2
//!    headers over exactly those bytes; [`SignedOrderV2::order_id`] is the id
//!    the venue reports, known before sending (look it up after a timeout).

mod body;
mod poly1271;
mod v1;
mod v2;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

pub use body::{OrderJsonV1, OrderJsonV2, PostOrderV1, PostOrderV2};
pub use v1::{OrderV1, SignedOrderV1};
pub use v2::{OrderSpec, OrderV2, SignedOrderV2};

/// BUY = 0, SELL = 1 in the signed struct; `"BUY"`/`"SELL"` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

impl Side {
    pub fn from_u8(v: u8) -> Option<Side> {
        match v {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }
}

/// Who holds the funds and how the exchange checks the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// The EOA trades its own funds (maker = signer = EOA).
    Eoa = 0,
    /// Polymarket proxy wallet (email/Magic accounts): maker = proxy, signer = EOA.
    PolyProxy = 1,
    /// Gnosis Safe (browser-wallet accounts): maker = safe, signer = EOA.
    PolyGnosisSafe = 2,
    /// Deposit wallet checked through EIP-1271 (V2 only): maker = signer =
    /// deposit wallet; the EOA signs an ERC-7739 `TypedDataSign` wrapper.
    Poly1271 = 3,
}

impl SignatureType {
    pub fn from_u8(v: u8) -> Option<SignatureType> {
        match v {
            0 => Some(SignatureType::Eoa),
            1 => Some(SignatureType::PolyProxy),
            2 => Some(SignatureType::PolyGnosisSafe),
            3 => Some(SignatureType::Poly1271),
            _ => None,
        }
    }
}

/// The account's funding wallet, as configured for the Polymarket account
/// (the "funder" / profile address shown by Polymarket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Funder {
    Eoa,
    Proxy(Address),
    GnosisSafe(Address),
    DepositWallet(Address),
}

impl Funder {
    /// `(maker, signer, signatureType)` for an order signed by `eoa`.
    pub fn roles(&self, eoa: Address) -> (Address, Address, SignatureType) {
        match *self {
            Funder::Eoa => (eoa, eoa, SignatureType::Eoa),
            Funder::Proxy(w) => (w, eoa, SignatureType::PolyProxy),
            Funder::GnosisSafe(w) => (w, eoa, SignatureType::PolyGnosisSafe),
            Funder::DepositWallet(w) => (w, w, SignatureType::Poly1271),
        }
    }
}

/// Time in force of `POST /order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    /// Good till cancelled.
    #[serde(rename = "GTC")]
    Gtc,
    /// Good till date (`expiration`, unix seconds).
    #[serde(rename = "GTD")]
    Gtd,
    /// Fill or kill.
    #[serde(rename = "FOK")]
    Fok,
    /// Fill and kill (immediate or cancel).
    #[serde(rename = "FAK")]
    Fak,
}

/// An ECDSA signature as `0x` hex; for POLY_1271 the whole wrapped blob.
pub(crate) fn sig_hex(bytes: &[u8]) -> String {
    crate::wallet::hex0x(bytes)
}
