//! `POST /order` bodies (BROKERS.md §4.5), shaped like the official clients':
//! salt and signatureType as JSON numbers, uint256 values as decimal strings,
//! side as `"BUY"`/`"SELL"`, addresses and bytes32 as lower-case `0x` hex.
//! Serialise with `serde_json::to_string` (compact) and sign those bytes.

use serde::{Deserialize, Serialize};

use super::{OrderType, Side, SignatureType, v1::OrderV1, v2::OrderV2};
use crate::Error;
use crate::wallet::hex0x;

/// The `order` object of a V2 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderJsonV2 {
    pub salt: u64,
    pub maker: String,
    pub signer: String,
    pub token_id: String,
    pub maker_amount: String,
    pub taker_amount: String,
    pub side: Side,
    pub expiration: String,
    pub signature_type: u8,
    pub timestamp: String,
    pub metadata: String,
    pub builder: String,
    pub signature: String,
}

impl OrderJsonV2 {
    pub(crate) fn new(o: &OrderV2, signature: &str) -> OrderJsonV2 {
        OrderJsonV2 {
            salt: o.salt,
            maker: hex0x(o.maker.as_slice()),
            signer: hex0x(o.signer.as_slice()),
            token_id: o.token_id.to_string(),
            maker_amount: o.maker_amount.to_string(),
            taker_amount: o.taker_amount.to_string(),
            side: o.side,
            expiration: o.expiration.to_string(),
            signature_type: o.signature_type as u8,
            timestamp: o.timestamp_ms.to_string(),
            metadata: hex0x(o.metadata.as_slice()),
            builder: hex0x(o.builder.as_slice()),
            signature: signature.to_string(),
        }
    }
}

impl OrderJsonV2 {
    /// Parse back into the signed fields (for a simulator checking what an
    /// adapter sent); says which field is malformed.
    pub fn to_order(&self) -> Result<OrderV2, Error> {
        Ok(OrderV2 {
            salt: self.salt,
            maker: field(&self.maker, "maker")?,
            signer: field(&self.signer, "signer")?,
            token_id: field(&self.token_id, "tokenId")?,
            maker_amount: field(&self.maker_amount, "makerAmount")?,
            taker_amount: field(&self.taker_amount, "takerAmount")?,
            side: self.side,
            signature_type: SignatureType::from_u8(self.signature_type).ok_or_else(|| {
                Error::InvalidOrder(format!("unknown signatureType {}", self.signature_type))
            })?,
            timestamp_ms: field(&self.timestamp, "timestamp")?,
            metadata: field(&self.metadata, "metadata")?,
            builder: field(&self.builder, "builder")?,
            expiration: field(&self.expiration, "expiration")?,
        })
    }
}

fn field<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, Error> {
    text.parse()
        .map_err(|_| Error::InvalidOrder(format!("field {name} is malformed: {text:?}")))
}

/// The V2 `POST /order` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostOrderV2 {
    pub order: OrderJsonV2,
    pub order_type: OrderType,
    /// The API key the order belongs to.
    pub owner: String,
    pub post_only: bool,
    pub defer_exec: bool,
}

/// The `order` object of a V1 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderJsonV1 {
    pub salt: u64,
    pub maker: String,
    pub signer: String,
    pub taker: String,
    pub token_id: String,
    pub maker_amount: String,
    pub taker_amount: String,
    pub side: Side,
    pub expiration: String,
    pub nonce: String,
    pub fee_rate_bps: String,
    pub signature_type: u8,
    pub signature: String,
}

impl OrderJsonV1 {
    pub(crate) fn new(o: &OrderV1, signature: &str) -> OrderJsonV1 {
        OrderJsonV1 {
            salt: o.salt,
            maker: hex0x(o.maker.as_slice()),
            signer: hex0x(o.signer.as_slice()),
            taker: hex0x(o.taker.as_slice()),
            token_id: o.token_id.to_string(),
            maker_amount: o.maker_amount.to_string(),
            taker_amount: o.taker_amount.to_string(),
            side: o.side,
            expiration: o.expiration.to_string(),
            nonce: o.nonce.to_string(),
            fee_rate_bps: o.fee_rate_bps.to_string(),
            signature_type: o.signature_type as u8,
            signature: signature.to_string(),
        }
    }
}

/// The V1 `POST /order` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostOrderV1 {
    pub order: OrderJsonV1,
    pub order_type: OrderType,
    pub owner: String,
    pub post_only: bool,
}
