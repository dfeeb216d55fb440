//! The EIP-712 structs, declared as Solidity so `sol!` derives their type
//! strings and struct hashes. Each `Order` lives in its own module: the
//! Solidity name `Order` is part of the type hash.

use alloy_primitives::Address;
use alloy_sol_types::{Eip712Domain, eip712_domain};

pub(crate) mod auth {
    alloy_sol_types::sol! {
        struct ClobAuth {
            address address;
            string timestamp;
            uint256 nonce;
            string message;
        }
    }
}

pub(crate) mod v1 {
    alloy_sol_types::sol! {
        struct Order {
            uint256 salt;
            address maker;
            address signer;
            address taker;
            uint256 tokenId;
            uint256 makerAmount;
            uint256 takerAmount;
            uint256 expiration;
            uint256 nonce;
            uint256 feeRateBps;
            uint8 side;
            uint8 signatureType;
        }
    }
}

pub(crate) mod v2 {
    alloy_sol_types::sol! {
        struct Order {
            uint256 salt;
            address maker;
            address signer;
            uint256 tokenId;
            uint256 makerAmount;
            uint256 takerAmount;
            uint8 side;
            uint8 signatureType;
            uint256 timestamp;
            bytes32 metadata;
            bytes32 builder;
        }

        /// ERC-7739 nested typed data: the order as `contents`, signed for
        /// the deposit wallet's own domain (POLY_1271).
        struct TypedDataSign {
            Order contents;
            string name;
            string version;
            uint256 chainId;
            address verifyingContract;
            bytes32 salt;
        }
    }
}

pub(crate) const EXCHANGE_NAME: &str = "Polymarket CTF Exchange";

pub(crate) fn exchange_domain(
    chain_id: u64,
    version: &'static str,
    exchange: Address,
) -> Eip712Domain {
    Eip712Domain::new(
        Some(EXCHANGE_NAME.into()),
        Some(version.into()),
        Some(alloy_primitives::U256::from(chain_id)),
        Some(exchange),
        None,
    )
}

pub(crate) fn clob_auth_domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "ClobAuthDomain",
        version: "1",
        chain_id: chain_id,
    }
}
