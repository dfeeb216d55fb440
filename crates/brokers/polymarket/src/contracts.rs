//! Chains and exchange contracts (BROKERS.md §4.1; same values as the
//! official V2 clients).

use alloy_primitives::{Address, address};

use crate::Error;

/// Polygon mainnet.
pub const POLYGON: u64 = 137;
/// Polygon Amoy testnet.
pub const AMOY: u64 = 80002;

/// V2 CTF exchange (same address on Polygon and Amoy).
pub const EXCHANGE_V2: Address = address!("0xE111180000d2663C0091e4f400237545B87B996B");
/// V2 neg-risk CTF exchange (same address on Polygon and Amoy).
pub const NEG_RISK_EXCHANGE_V2: Address = address!("0xe2222d279d744050d28e00520010520000310F59");

const EXCHANGE_V1_POLYGON: Address = address!("0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E");
const EXCHANGE_V1_AMOY: Address = address!("0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40");
const NEG_RISK_EXCHANGE_V1: Address = address!("0xC5d563A36AE78145C45a50134d48A1215220f80a");

/// Which order format (EIP-712 domain version) an exchange speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderVersion {
    V1,
    V2,
}

/// The EIP-712 verifying context of an order: chain, exchange contract and
/// order version. Build it with [`Exchange::v2`] (or [`Exchange::v1`]), or
/// [`Exchange::custom`] for a simulator with its own addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exchange {
    pub chain_id: u64,
    pub address: Address,
    pub version: OrderVersion,
}

impl Exchange {
    /// The V2 exchange for a market: the neg-risk exchange when the market is
    /// neg-risk (`GET /neg-risk?token_id=` or `nr` of `/clob-markets/{id}`).
    pub fn v2(chain_id: u64, neg_risk: bool) -> Result<Exchange, Error> {
        check_chain(chain_id)?;
        let address = if neg_risk {
            NEG_RISK_EXCHANGE_V2
        } else {
            EXCHANGE_V2
        };
        Ok(Exchange {
            chain_id,
            address,
            version: OrderVersion::V2,
        })
    }

    /// The legacy V1 exchange (rejected by the current CLOB; for tests and the
    /// simulator's version-mismatch path).
    pub fn v1(chain_id: u64, neg_risk: bool) -> Result<Exchange, Error> {
        check_chain(chain_id)?;
        let address = match (neg_risk, chain_id) {
            (true, _) => NEG_RISK_EXCHANGE_V1,
            (false, POLYGON) => EXCHANGE_V1_POLYGON,
            (false, _) => EXCHANGE_V1_AMOY,
        };
        Ok(Exchange {
            chain_id,
            address,
            version: OrderVersion::V1,
        })
    }

    /// Any chain and contract (a local simulator, a fork).
    pub fn custom(chain_id: u64, address: Address, version: OrderVersion) -> Exchange {
        Exchange {
            chain_id,
            address,
            version,
        }
    }
}

fn check_chain(chain_id: u64) -> Result<(), Error> {
    match chain_id {
        POLYGON | AMOY => Ok(()),
        other => Err(Error::UnsupportedChain(other)),
    }
}
