//! POLY_1271 (deposit wallet) signatures: the order is signed as the
//! `contents` of an ERC-7739 `TypedDataSign` for the deposit wallet's domain
//! (`DepositWallet` / `1` / chain / wallet address / zero salt), under the
//! exchange's domain. The wallet contract re-derives the digest from what is
//! appended to the ECDSA signature:
//! `sig(65) ‖ exchange domain separator ‖ contents hash ‖ contents type ‖ u16 len`.

use alloy_primitives::B256;
use alloy_sol_types::{Eip712Domain, SolStruct as _};

use super::sig_hex;
use crate::eip712::v2;
use crate::{Error, Wallet};

const WALLET_NAME: &str = "DepositWallet";
const WALLET_VERSION: &str = "1";

pub(crate) fn sign(
    wallet: &Wallet,
    order: &v2::Order,
    exchange_domain: &Eip712Domain,
) -> Result<String, Error> {
    let chain_id = exchange_domain
        .chain_id
        .ok_or_else(|| Error::InvalidOrder("the exchange domain has no chain id".into()))?;
    let wrapper = v2::TypedDataSign {
        contents: order.clone(),
        name: WALLET_NAME.into(),
        version: WALLET_VERSION.into(),
        chainId: chain_id,
        verifyingContract: order.signer,
        salt: B256::ZERO,
    };
    let digest = wrapper.eip712_signing_hash(exchange_domain);
    let ecdsa = wallet.sign_digest(&digest)?;

    let contents_type = v2::Order::eip712_encode_type();
    let type_len = u16::try_from(contents_type.len())
        .map_err(|_| Error::InvalidOrder("contents type string too long".into()))?;
    let mut blob = Vec::with_capacity(65 + 64 + contents_type.len() + 2);
    blob.extend_from_slice(&ecdsa);
    blob.extend_from_slice(exchange_domain.separator().as_slice());
    blob.extend_from_slice(order.eip712_hash_struct().as_slice());
    blob.extend_from_slice(contents_type.as_bytes());
    blob.extend_from_slice(&type_len.to_be_bytes());
    Ok(sig_hex(&blob))
}
