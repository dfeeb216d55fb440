//! The EOA that signs L1 auth and orders.

use std::fmt;

use alloy_primitives::{Address, B256};
use alloy_signer::SignerSync as _;
use alloy_signer_local::PrivateKeySigner;
use atomik_secrets::Secret;
use zeroize::Zeroizing;

use crate::Error;

/// A secp256k1 signer built from a hex private key. `Debug` shows the address
/// only; the key is never printed, logged or put in an error.
pub struct Wallet {
    signer: PrivateKeySigner,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("address", &self.address())
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

impl Wallet {
    /// From 64 hex digits, optionally `0x`-prefixed and surrounded by
    /// whitespace (how wallets export it).
    pub fn from_private_key(key: &Secret<String>) -> Result<Wallet, Error> {
        let text = key.expose().trim();
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if digits.is_empty() {
            return Err(Error::InvalidPrivateKey("it is empty"));
        }
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidPrivateKey(
                "it must contain only hexadecimal digits (0-9, a-f), optionally prefixed with 0x",
            ));
        }
        if digits.len() != 64 {
            return Err(Error::InvalidPrivateKey(
                "it must be 64 hexadecimal digits (32 bytes), optionally prefixed with 0x",
            ));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(digits, bytes.as_mut_slice())
            .map_err(|_| Error::InvalidPrivateKey("it is not valid hexadecimal"))?;
        let signer = PrivateKeySigner::from_bytes(&B256::from(*bytes)).map_err(|_| {
            Error::InvalidPrivateKey(
                "it is not a valid secp256k1 key (zero or not below the curve order)",
            )
        })?;
        Ok(Wallet { signer })
    }

    /// The EOA address (checksummed by `Display`).
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// A 65-byte recoverable signature of a 32-byte digest: `r ‖ s ‖ v`,
    /// v = 27/28, as Polymarket expects.
    pub fn sign_digest(&self, digest: &B256) -> Result<[u8; 65], Error> {
        let sig = self
            .signer
            .sign_hash_sync(digest)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(sig.as_bytes())
    }
}

/// The address whose key made a 65-byte `0x`-hex signature of `digest`
/// (EOA, proxy and safe orders, L1 auth). POLY_1271 blobs are checked by
/// the deposit wallet contract, not by recovery.
pub fn recover_signer(digest: &B256, signature_hex: &str) -> Result<Address, Error> {
    let bad = || Error::InvalidOrder("the signature is not a 65-byte 0x-hex signature".into());
    let bytes = hex::decode(signature_hex.trim().trim_start_matches("0x")).map_err(|_| bad())?;
    let sig = alloy_primitives::Signature::try_from(bytes.as_slice()).map_err(|_| bad())?;
    sig.recover_address_from_prehash(digest)
        .map_err(|_| Error::InvalidOrder("the signature does not recover to any address".into()))
}

/// `0x` + lower-case hex.
pub(crate) fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn wallet(s: &str) -> Result<Wallet, Error> {
        Wallet::from_private_key(&Secret::new(s.to_string()))
    }

    #[test]
    fn address_and_redacted_debug() {
        let w = wallet(KEY).unwrap();
        assert_eq!(
            w.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let dbg = format!("{w:?}");
        assert!(dbg.contains("REDACTED"));
        assert!(!dbg.contains("ac0974"), "{dbg}");
        // Without prefix, with whitespace.
        assert_eq!(
            wallet(&format!("  {}\n", &KEY[2..])).unwrap().address(),
            w.address()
        );
    }

    #[test]
    fn malformed_keys_are_refused_without_echo() {
        let secretish = "zz0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        for bad in [
            "",
            "0x",
            secretish,
            &KEY[..40],
            &format!("{KEY}00"),
            "0x0000000000000000000000000000000000000000000000000000000000000000",
            "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ] {
            let err = wallet(bad).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("invalid wallet private key"), "{text}");
            assert!(!text.contains("0974bec39a"), "key echoed: {text}");
        }
    }
}
