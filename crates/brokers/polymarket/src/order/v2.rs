//! V2 orders: domain `Polymarket CTF Exchange` / `2`, timestamp in ms,
//! `metadata` and `builder` bytes32; `expiration` travels unsigned in JSON.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolStruct as _;

use super::body::{OrderJsonV2, PostOrderV2};
use super::{Funder, OrderType, Side, SignatureType, poly1271, sig_hex};
use crate::amounts::Amounts;
use crate::contracts::{Exchange, OrderVersion};
use crate::eip712::{exchange_domain, v2};
use crate::identity::OrderIdentity;
use crate::{Error, Wallet};

/// A V2 order, field for field as signed (plus the unsigned `expiration`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderV2 {
    /// Uniqueness nonce; sent as a JSON number, keep it ≤ 2^53 − 1.
    pub salt: u64,
    /// Funds holder (EOA, proxy, safe or deposit wallet).
    pub maker: Address,
    /// Who signs: the EOA, or the deposit wallet for POLY_1271.
    pub signer: Address,
    /// CLOB token id (outcome token).
    pub token_id: U256,
    /// What the maker gives, 6-decimal units (USDC for BUY, shares for SELL).
    pub maker_amount: U256,
    /// What the maker receives, 6-decimal units.
    pub taker_amount: U256,
    pub side: Side,
    pub signature_type: SignatureType,
    /// Creation time in unix milliseconds (signed).
    pub timestamp_ms: u64,
    pub metadata: B256,
    /// Builder code for fee attribution; zero if none.
    pub builder: B256,
    /// GTD expiry in unix seconds, 0 for none. Not signed in V2.
    pub expiration: u64,
}

/// What an adapter knows about one intent, turned into an order by
/// [`OrderV2::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    pub token_id: U256,
    pub side: Side,
    pub amounts: Amounts,
    pub funder: Funder,
    pub identity: OrderIdentity,
    pub builder: B256,
    pub expiration: u64,
}

impl OrderV2 {
    /// The order an intent produces for the wallet `eoa`: roles from the
    /// funder, salt/metadata/timestamp from the identity.
    pub fn from_spec(eoa: Address, spec: &OrderSpec) -> OrderV2 {
        let (maker, signer, signature_type) = spec.funder.roles(eoa);
        OrderV2 {
            salt: spec.identity.salt,
            maker,
            signer,
            token_id: spec.token_id,
            maker_amount: U256::from(spec.amounts.maker_amount),
            taker_amount: U256::from(spec.amounts.taker_amount),
            side: spec.side,
            signature_type,
            timestamp_ms: spec.identity.timestamp_ms,
            metadata: spec.identity.metadata,
            builder: spec.builder,
            expiration: spec.expiration,
        }
    }

    pub(crate) fn to_sol(&self) -> v2::Order {
        v2::Order {
            salt: U256::from(self.salt),
            maker: self.maker,
            signer: self.signer,
            tokenId: self.token_id,
            makerAmount: self.maker_amount,
            takerAmount: self.taker_amount,
            side: self.side as u8,
            signatureType: self.signature_type as u8,
            timestamp: U256::from(self.timestamp_ms),
            metadata: self.metadata,
            builder: self.builder,
        }
    }

    /// The EIP-712 digest under the exchange's domain: Polymarket's order id
    /// (the same for every signature type).
    pub fn hash(&self, exchange: &Exchange) -> Result<B256, Error> {
        if exchange.version != OrderVersion::V2 {
            return Err(Error::InvalidOrder(
                "a V2 order must be hashed against a V2 exchange".into(),
            ));
        }
        Ok(self.to_sol().eip712_signing_hash(&domain(exchange)))
    }

    /// Sign with the EOA. For POLY_1271 the EOA must own the deposit wallet
    /// in `signer`; the signature is the ERC-7739 wrapped blob.
    pub fn sign(&self, wallet: &Wallet, exchange: &Exchange) -> Result<SignedOrderV2, Error> {
        let hash = self.hash(exchange)?;
        let signature = match self.signature_type {
            SignatureType::Poly1271 => poly1271::sign(wallet, &self.to_sol(), &domain(exchange))?,
            _ => {
                if self.signer != wallet.address() {
                    return Err(Error::InvalidOrder(format!(
                        "the order's signer {} is not the wallet {} that signs it",
                        self.signer,
                        wallet.address()
                    )));
                }
                sig_hex(&wallet.sign_digest(&hash)?)
            }
        };
        Ok(SignedOrderV2 {
            order: self.clone(),
            hash,
            signature,
        })
    }
}

fn domain(exchange: &Exchange) -> alloy_sol_types::Eip712Domain {
    exchange_domain(exchange.chain_id, "2", exchange.address)
}

/// A signed V2 order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOrderV2 {
    pub order: OrderV2,
    /// EIP-712 digest = the venue's order id.
    pub hash: B256,
    /// `0x` hex: 65 bytes, or the POLY_1271 wrapped blob.
    pub signature: String,
}

impl SignedOrderV2 {
    /// The order id as the CLOB reports it (`orderID`): `0x` + 64 hex.
    pub fn order_id(&self) -> String {
        sig_hex(self.hash.as_slice())
    }

    /// The `order` object of the `POST /order` body.
    pub fn order_json(&self) -> OrderJsonV2 {
        OrderJsonV2::new(&self.order, &self.signature)
    }

    /// The `POST /order` body; `owner` is the API key.
    pub fn post_body(
        &self,
        owner: &str,
        order_type: OrderType,
        post_only: bool,
        defer_exec: bool,
    ) -> PostOrderV2 {
        PostOrderV2 {
            order: self.order_json(),
            order_type,
            owner: owner.to_string(),
            post_only,
            defer_exec,
        }
    }
}
