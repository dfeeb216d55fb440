//! Signature checks as the CLOB performs them (BROKERS.md §4.2–4.4): L2 HMAC,
//! L1 `ClobAuth` EIP-712 signer recovery, V1/V2 order EIP-712 hashes and
//! signer recovery, and the deterministic API credentials of `derive-api-key`.
//! Shares no code with the adapter.

use alloy_primitives::{Address, B256, Signature, U256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

mod v1 {
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

mod v2 {
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
    }
}

pub use v1::Order as OrderV1;
pub use v2::Order as OrderV2;

sol! {
    struct ClobAuth {
        address address;
        string timestamp;
        uint256 nonce;
        string message;
    }
}

/// The L2 signature: url-safe base64 (padded) HMAC-SHA256 keyed with the
/// decoded secret over `timestamp + method + path + body`.
pub fn l2_signature(
    secret_b64: &str,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<String> {
    let key = URL_SAFE.decode(secret_b64).ok()?;
    let mut mac = HmacSha256::new_from_slice(&key).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    Some(URL_SAFE.encode(mac.finalize().into_bytes()))
}

/// Constant-time check of an L2 signature.
pub fn verify_l2(
    secret_b64: &str,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
    given: &str,
) -> bool {
    let Ok(key) = URL_SAFE.decode(secret_b64) else {
        return false;
    };
    let Ok(given) = URL_SAFE.decode(given) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(&key) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Recover the signer of a 65-byte hex signature over `hash`.
pub fn recover(hash: B256, signature_hex: &str) -> Option<Address> {
    let raw = hex::decode(signature_hex.strip_prefix("0x").unwrap_or(signature_hex)).ok()?;
    if raw.len() != 65 {
        return None;
    }
    let sig = Signature::from_raw(&raw).ok()?;
    sig.recover_address_from_prehash(&hash).ok()
}

pub fn clob_auth_hash(chain_id: u64, address: Address, timestamp: &str, nonce: U256) -> B256 {
    let domain = eip712_domain! {
        name: "ClobAuthDomain",
        version: "1",
        chain_id: chain_id,
    };
    ClobAuth {
        address,
        timestamp: timestamp.to_string(),
        nonce,
        message: CLOB_AUTH_MESSAGE.to_string(),
    }
    .eip712_signing_hash(&domain)
}

fn exchange_domain(version: &'static str, chain_id: u64, exchange: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Polymarket CTF Exchange",
        version: version,
        chain_id: chain_id,
        verifying_contract: exchange,
    }
}

pub fn order_v1_hash(order: &OrderV1, chain_id: u64, exchange: Address) -> B256 {
    order.eip712_signing_hash(&exchange_domain("1", chain_id, exchange))
}

pub fn order_v2_hash(order: &OrderV2, chain_id: u64, exchange: Address) -> B256 {
    order.eip712_signing_hash(&exchange_domain("2", chain_id, exchange))
}

/// API credentials for (address, nonce), the same every time for a given seed:
/// a UUID key, a url-safe base64 secret of 32 bytes and a 64-hex passphrase.
pub fn derive_credentials(seed: &[u8], address: Address, nonce: u64) -> (String, String, String) {
    let part = |label: &str| {
        let mut mac = HmacSha256::new_from_slice(seed).expect("hmac takes any key");
        mac.update(label.as_bytes());
        mac.update(address.as_slice());
        mac.update(&nonce.to_be_bytes());
        mac.finalize().into_bytes()
    };
    let k = part("key");
    let mut b = [0u8; 16];
    b.copy_from_slice(&k[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    let key = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let secret = URL_SAFE.encode(part("secret"));
    let passphrase = hex::encode(part("passphrase"));
    (key, secret, passphrase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    const HARDHAT0: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    const ZERO_SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn the_published_l2_vectors_verify() {
        for (ts, method, path, body, sig) in [
            (
                "1000000",
                "test-sign",
                "/orders",
                "{\"hash\": \"0x123\"}",
                "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc=",
            ),
            (
                "1000000",
                "test-sign",
                "/orders",
                "{\"hash\":\"0x123\"}",
                "4gJVbox-R6XlDK4nlaicig0_ANVL1qdcahiL8CXfXLM=",
            ),
            (
                "1",
                "GET",
                "/",
                "",
                "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4=",
            ),
        ] {
            assert_eq!(
                l2_signature(ZERO_SECRET, ts, method, path, body.as_bytes()).unwrap(),
                sig
            );
            assert!(verify_l2(
                ZERO_SECRET,
                ts,
                method,
                path,
                body.as_bytes(),
                sig
            ));
            assert!(!verify_l2(
                ZERO_SECRET,
                ts,
                method,
                "/other",
                body.as_bytes(),
                sig
            ));
        }
        assert!(!verify_l2("not base64!", "1", "GET", "/", b"", "x"));
    }

    #[test]
    fn the_published_clob_auth_vectors_recover_hardhat0() {
        let sig = "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b";
        let h = clob_auth_hash(80002, HARDHAT0, "10000000", U256::from(23));
        assert_eq!(recover(h, sig), Some(HARDHAT0));
        let sig = "0xfdfb5abf512e439ea61c8595c18e527e718bf16010acf57cef51d09e15893098275d3c6f73038f36ec0cd0ce55436fca14dc64b11611f4dce896e354207508cc1b";
        let h = clob_auth_hash(137, HARDHAT0, "100000", U256::ZERO);
        assert_eq!(recover(h, sig), Some(HARDHAT0));
        let other = clob_auth_hash(137, HARDHAT0, "100001", U256::ZERO);
        assert_ne!(recover(other, sig), Some(HARDHAT0));
        assert_eq!(recover(h, "0x1234"), None);
    }

    #[test]
    fn the_published_v1_order_vector_matches() {
        let order = OrderV1 {
            salt: U256::from(479249096354u64),
            maker: HARDHAT0,
            signer: HARDHAT0,
            taker: Address::ZERO,
            tokenId: U256::from(1234),
            makerAmount: U256::from(100000000),
            takerAmount: U256::from(50000000),
            expiration: U256::ZERO,
            nonce: U256::ZERO,
            feeRateBps: U256::from(100),
            side: 0,
            signatureType: 0,
        };
        let h = order_v1_hash(
            &order,
            80002,
            address!("0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40"),
        );
        assert_eq!(
            h,
            b256!("0x02ca1d1aa31103804173ad1acd70066cb6c1258a4be6dada055111f9a7ea4e55")
        );
        let sig = "0x302cd9abd0b5fcaa202a344437ec0b6660da984e24ae9ad915a592a90facf5a51bb8a873cd8d270f070217fea1986531d5eec66f1162a81f66e026db653bf7ce1c";
        assert_eq!(recover(h, sig), Some(HARDHAT0));
    }

    #[test]
    fn the_v2_eoa_order_vector_matches() {
        let order = OrderV2 {
            salt: U256::from(479249096354u64),
            maker: HARDHAT0,
            signer: HARDHAT0,
            tokenId: U256::from(1234),
            makerAmount: U256::from(100000000),
            takerAmount: U256::from(50000000),
            side: 0,
            signatureType: 0,
            timestamp: U256::from(1710000000000u64),
            metadata: B256::ZERO,
            builder: B256::ZERO,
        };
        let h = order_v2_hash(
            &order,
            80002,
            address!("0xE111180000d2663C0091e4f400237545B87B996B"),
        );
        assert_eq!(
            h,
            b256!("0x962c97b18bea292cc94b9479272aa74fb59a905e84a621a40eb339131e9fb6ba")
        );
        let sig = "0x518472f1b081f6bd713d638bb11d1bf0720ed577e93c52eb00ec9f5f325f7d510c65cbfdfe9130de2602185f4a500863d777d8b838cb28abc75ecc1b5330315d1c";
        assert_eq!(recover(h, sig), Some(HARDHAT0));
    }

    #[test]
    fn derived_credentials_are_deterministic_per_address_and_nonce() {
        let a = derive_credentials(b"seed", HARDHAT0, 0);
        assert_eq!(a, derive_credentials(b"seed", HARDHAT0, 0));
        assert_ne!(a, derive_credentials(b"seed", HARDHAT0, 1));
        assert_eq!(a.0.len(), 36);
        assert_eq!(a.2.len(), 64);
        assert_eq!(URL_SAFE.decode(&a.1).unwrap().len(), 32);
    }
}
