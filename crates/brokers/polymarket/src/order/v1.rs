//! V1 orders (legacy; the current CLOB rejects them with
//! `order_version_mismatch`): domain version `1`, `taker`, `expiration`,
//! `nonce` and `feeRateBps` signed.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolStruct as _;

use super::body::{OrderJsonV1, PostOrderV1};
use super::{OrderType, Side, SignatureType, sig_hex};
use crate::contracts::{Exchange, OrderVersion};
use crate::eip712::{exchange_domain, v1};
use crate::{Error, Wallet};

/// A V1 order, field for field as signed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderV1 {
    pub salt: u64,
    pub maker: Address,
    pub signer: Address,
    /// Zero address for a public order.
    pub taker: Address,
    pub token_id: U256,
    pub maker_amount: U256,
    pub taker_amount: U256,
    /// Unix seconds, 0 for none (signed in V1).
    pub expiration: u64,
    pub nonce: U256,
    pub fee_rate_bps: U256,
    pub side: Side,
    pub signature_type: SignatureType,
}

impl OrderV1 {
    fn to_sol(&self) -> v1::Order {
        v1::Order {
            salt: U256::from(self.salt),
            maker: self.maker,
            signer: self.signer,
            taker: self.taker,
            tokenId: self.token_id,
            makerAmount: self.maker_amount,
            takerAmount: self.taker_amount,
            expiration: U256::from(self.expiration),
            nonce: self.nonce,
            feeRateBps: self.fee_rate_bps,
            side: self.side as u8,
            signatureType: self.signature_type as u8,
        }
    }

    /// The EIP-712 digest (order id) under a V1 exchange's domain.
    pub fn hash(&self, exchange: &Exchange) -> Result<B256, Error> {
        if exchange.version != OrderVersion::V1 {
            return Err(Error::InvalidOrder(
                "a V1 order must be hashed against a V1 exchange".into(),
            ));
        }
        if self.signature_type == SignatureType::Poly1271 {
            return Err(Error::InvalidOrder(
                "signature type POLY_1271 (deposit wallet) exists only for V2 orders".into(),
            ));
        }
        let domain = exchange_domain(exchange.chain_id, "1", exchange.address);
        Ok(self.to_sol().eip712_signing_hash(&domain))
    }

    /// Sign with the EOA (the signature check on `signer` is left to the
    /// venue: V1 vectors sign orders whose signer is not the wallet).
    pub fn sign(&self, wallet: &Wallet, exchange: &Exchange) -> Result<SignedOrderV1, Error> {
        let hash = self.hash(exchange)?;
        let signature = sig_hex(&wallet.sign_digest(&hash)?);
        Ok(SignedOrderV1 {
            order: self.clone(),
            hash,
            signature,
        })
    }
}

/// A signed V1 order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOrderV1 {
    pub order: OrderV1,
    pub hash: B256,
    pub signature: String,
}

impl SignedOrderV1 {
    pub fn order_id(&self) -> String {
        sig_hex(self.hash.as_slice())
    }

    /// The V1 `POST /order` body (no `deferExec`).
    pub fn post_body(&self, owner: &str, order_type: OrderType, post_only: bool) -> PostOrderV1 {
        PostOrderV1 {
            order: OrderJsonV1::new(&self.order, &self.signature),
            order_type,
            owner: owner.to_string(),
            post_only,
        }
    }
}
