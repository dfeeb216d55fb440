//! Polymarket CLOB adapter: [`Polymarket`] implements the broker trait over
//! the CLOB's REST API ([`adapter`], [`http`], [`markets`], [`funder`]) on
//! a pure signing core (no I/O):
//!
//! * [`wallet`]: the EOA that signs (hex private key, never printed).
//! * [`sign::l1`]: L1 auth, the EIP-712 `ClobAuth` headers used to create or
//!   derive API keys.
//! * [`sign::l2`]: L2 auth, the HMAC headers on every authenticated request.
//! * [`order`]: V2 orders (the current format) and V1 orders (legacy, kept for
//!   the published vectors and the simulator's `order_version_mismatch`),
//!   their EIP-712 hash (Polymarket's order id), signature (incl. the
//!   deposit-wallet POLY_1271 wrapping) and the `POST /order` JSON body.
//! * [`amounts`]: price/size → maker/taker amounts with the tick-size rules.
//! * [`identity`]: salt and metadata derived from a client order id, so that
//!   the same intent always yields the same order hash (exactly-once without a
//!   client order id on the venue).
//!
//! **Why alloy.** EIP-712 is struct hashing (`encodeType`, nested structs,
//! domain separators) plus secp256k1 recovery-id signatures. `alloy-sol-types`
//! derives the type strings and struct hashes from `sol!` declarations that
//! read like the Solidity structs the exchange contracts hash, so a field-order
//! or type typo changes a test vector instead of hiding in hand-written ABI
//! encoding. `alloy-signer-local` is the maintained secp256k1 signer of the
//! same family (RFC 6979 deterministic nonces, low-s, v = 27/28). It is also
//! what Polymarket's official Rust client uses, which keeps our differential
//! test against it cheap. The cost is compile time, isolated in this crate.

pub mod adapter;
pub mod amounts;
mod config;
pub mod contracts;
mod eip712;
mod error;
pub mod funder;
pub mod http;
pub mod identity;
pub mod markets;
pub mod order;
pub mod sign;
pub mod wallet;

pub use adapter::Polymarket;
pub use config::PolymarketConfig;

pub use alloy_primitives::{Address, B256, U256};
pub use error::Error;
pub use wallet::Wallet;
