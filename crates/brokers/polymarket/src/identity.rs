//! Deterministic order identity. Polymarket has no client order id: the
//! order id is the EIP-712 hash, which covers `salt`, `timestamp` and
//! `metadata`. Deriving those from the intent's client order id and creation
//! time makes a retried submission produce the *same* order hash, so the
//! venue deduplicates it and the adapter can look it up after an ambiguous
//! outcome (`GET /data/order/{hash}`).

use alloy_primitives::{B256, keccak256};

/// Largest salt the official clients produce: the CLOB parses `salt` as a
/// JSON number, exact in JavaScript only up to 2^53 − 1.
pub const MAX_SALT: u64 = (1 << 53) - 1;

const SALT_TAG: &[u8] = b"atomik/polymarket/salt/v1\0";
const METADATA_TAG: &[u8] = b"atomik/polymarket/metadata/v1\0";

/// Salt, metadata and timestamp of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderIdentity {
    /// In `1..=MAX_SALT`.
    pub salt: u64,
    /// keccak256 of a tag and the client order id (reveals nothing readable
    /// on chain; recomputable from the client order id).
    pub metadata: B256,
    /// The intent's creation time, unix ms (the V2 signed `timestamp`).
    pub timestamp_ms: u64,
}

impl OrderIdentity {
    /// Same `client_order_id` and `created_at_ms` → same identity → same
    /// order hash (given the same order fields).
    pub fn derive(client_order_id: &str, created_at_ms: u64) -> OrderIdentity {
        OrderIdentity {
            salt: salt_for(client_order_id),
            metadata: metadata_for(client_order_id),
            timestamp_ms: created_at_ms,
        }
    }
}

/// The first 8 bytes of `keccak256(tag ‖ id)`, masked to 53 bits (never 0).
pub fn salt_for(client_order_id: &str) -> u64 {
    let h = tagged(SALT_TAG, client_order_id);
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    match u64::from_be_bytes(first) & MAX_SALT {
        0 => 1,
        s => s,
    }
}

/// `keccak256(tag ‖ id)`.
pub fn metadata_for(client_order_id: &str) -> B256 {
    tagged(METADATA_TAG, client_order_id)
}

fn tagged(tag: &[u8], id: &str) -> B256 {
    let mut buf = Vec::with_capacity(tag.len() + id.len());
    buf.extend_from_slice(tag);
    buf.extend_from_slice(id.as_bytes());
    keccak256(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_in_range_and_distinct() {
        let a = OrderIdentity::derive("intent-1", 1_710_000_000_000);
        assert_eq!(a, OrderIdentity::derive("intent-1", 1_710_000_000_000));
        let b = OrderIdentity::derive("intent-2", 1_710_000_000_000);
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.metadata, b.metadata);
        assert_ne!(a.metadata, B256::ZERO);
        for i in 0..1000 {
            let s = salt_for(&format!("coid-{i}"));
            assert!((1..=MAX_SALT).contains(&s));
        }
        // Salt and metadata use different tags: not the same bytes.
        assert_ne!(&metadata_for("x")[..8], &salt_for("x").to_be_bytes());
    }
}
