//! Which wallet holds the funds, checked against the signer before any order
//! is signed. Polymarket's proxy wallets (email / Magic logins) and Gnosis
//! safes (browser-wallet logins) are deployed by factories with CREATE2, so
//! the address a signer's wallet has is known from the signer alone: a funder
//! that is not it would make every order fail as "invalid signature". This
//! module says so in words instead. Factory addresses and init-code hashes
//! are Polymarket's published deployments (the same the official clients
//! derive with; checked against `polymarket_client_sdk_v2` in the tests).

use alloy_primitives::{Address, B256, address, b256, keccak256};

use crate::contracts::{AMOY, POLYGON};
use crate::order::{Funder, SignatureType};

const PROXY_FACTORY_POLYGON: Address = address!("0xaB45c5A4B0c941a2F231C04C3f49182e1A254052");
const SAFE_FACTORY: Address = address!("0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b");
const PROXY_INIT_CODE_HASH: B256 =
    b256!("0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b");
const SAFE_INIT_CODE_HASH: B256 =
    b256!("0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf");

/// The proxy wallet Polymarket deploys for `eoa` (salt: keccak of the
/// packed address). `None` where no proxy factory exists (Amoy).
pub fn proxy_wallet(eoa: Address, chain_id: u64) -> Option<Address> {
    (chain_id == POLYGON)
        .then(|| PROXY_FACTORY_POLYGON.create2(keccak256(eoa), PROXY_INIT_CODE_HASH))
}

/// The 1-of-1 Gnosis safe Polymarket deploys for `eoa` (salt: keccak of the
/// ABI-encoded address).
pub fn safe_wallet(eoa: Address, chain_id: u64) -> Option<Address> {
    if chain_id != POLYGON && chain_id != AMOY {
        return None;
    }
    let mut padded = [0u8; 32];
    padded[12..].copy_from_slice(eoa.as_slice());
    Some(SAFE_FACTORY.create2(keccak256(padded), SAFE_INIT_CODE_HASH))
}

/// One line per signature type, for the connect form.
pub const SIGNATURE_TYPE_HELP: [(u8, &str, &str); 4] = [
    (
        0,
        "EOA",
        "a wallet you hold the key of trades its own funds (funder = the signer)",
    ),
    (
        1,
        "Polymarket proxy wallet",
        "you log in to Polymarket with email or Magic: the funder is the wallet address on your profile",
    ),
    (
        2,
        "Gnosis safe",
        "you log in to Polymarket with a browser wallet (MetaMask…): the funder is the safe on your profile",
    ),
    (
        3,
        "Deposit wallet",
        "an EIP-1271 deposit wallet: the funder is the deposit wallet, which also signs",
    ),
];

pub fn signature_type_name(t: u8) -> &'static str {
    SIGNATURE_TYPE_HELP
        .iter()
        .find(|(n, _, _)| *n == t)
        .map_or("unknown", |(_, name, _)| name)
}

/// The funder the account trades from, from the form's signature type and
/// funder address, checked against the signer. Errors say what to change.
pub fn resolve(
    signer: Address,
    signature_type: u8,
    funder: &str,
    chain_id: u64,
) -> Result<Funder, String> {
    let kind = SignatureType::from_u8(signature_type).ok_or_else(|| {
        format!("signature type {signature_type} is not one Polymarket has: choose EOA (0), Polymarket proxy wallet (1), Gnosis safe (2) or deposit wallet (3)")
    })?;
    let given = funder.trim();
    let parsed = if given.is_empty() {
        None
    } else {
        Some(given.parse::<Address>().map_err(|_| {
            format!("the funder address {given:?} is not an address: it is 0x followed by 40 hex digits, as Polymarket shows it on your profile")
        })?)
    };
    let expected = match kind {
        SignatureType::Eoa => Some(signer),
        SignatureType::PolyProxy => proxy_wallet(signer, chain_id),
        SignatureType::PolyGnosisSafe => safe_wallet(signer, chain_id),
        SignatureType::Poly1271 => None,
    };
    let address = match (parsed, expected) {
        (None, Some(e)) => e,
        (None, None) => {
            return Err(format!(
                "a {} needs its funder address: enter the address Polymarket shows as your profile's wallet",
                signature_type_name(signature_type)
            ));
        }
        (Some(p), Some(e)) if p != e => return Err(mismatch(signer, kind, p, e, chain_id)),
        (Some(p), _) => p,
    };
    Ok(match kind {
        SignatureType::Eoa => Funder::Eoa,
        SignatureType::PolyProxy => Funder::Proxy(address),
        SignatureType::PolyGnosisSafe => Funder::GnosisSafe(address),
        SignatureType::Poly1271 => Funder::DepositWallet(address),
    })
}

/// Why this funder cannot go with this signer and signature type, and which
/// combination would.
fn mismatch(
    signer: Address,
    kind: SignatureType,
    given: Address,
    expected: Address,
    chain_id: u64,
) -> String {
    let proxy = proxy_wallet(signer, chain_id);
    let safe = safe_wallet(signer, chain_id);
    let hint = if given == signer {
        "that is the signer itself: choose signature type EOA, or enter the proxy/safe address from your Polymarket profile".to_string()
    } else if Some(given) == proxy {
        "it is this signer's Polymarket proxy wallet: choose signature type Polymarket proxy wallet"
            .into()
    } else if Some(given) == safe {
        "it is this signer's Gnosis safe: choose signature type Gnosis safe".into()
    } else {
        "it belongs to neither: check that the private key is the one of this Polymarket account (Polymarket › Settings › Export private key)".into()
    };
    format!(
        "the funder {} does not go with signer {} as a {}: that signer's {} is {}; {hint}",
        given.to_checksum(None),
        signer.to_checksum(None),
        signature_type_name(kind as u8),
        match kind {
            SignatureType::Eoa => "own wallet",
            SignatureType::PolyProxy => "proxy wallet",
            _ => "safe",
        },
        expected.to_checksum(None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNER: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    #[test]
    fn each_signature_type_takes_the_funder_it_should() {
        assert_eq!(resolve(SIGNER, 0, "", POLYGON), Ok(Funder::Eoa));
        let proxy = proxy_wallet(SIGNER, POLYGON).unwrap();
        assert_eq!(resolve(SIGNER, 1, "", POLYGON), Ok(Funder::Proxy(proxy)));
        let safe = safe_wallet(SIGNER, POLYGON).unwrap();
        assert_eq!(
            resolve(SIGNER, 2, &safe.to_string(), POLYGON),
            Ok(Funder::GnosisSafe(safe))
        );
        // The proxy's address under "Gnosis safe" is explained, not refused as a bad signature.
        let wrong = resolve(SIGNER, 2, &proxy.to_string(), POLYGON).unwrap_err();
        assert!(
            wrong.contains("choose signature type Polymarket proxy wallet"),
            "{wrong}"
        );
        let own = resolve(SIGNER, 1, &SIGNER.to_string(), POLYGON).unwrap_err();
        assert!(own.contains("choose signature type EOA"), "{own}");
        assert!(
            resolve(SIGNER, 3, "", POLYGON)
                .unwrap_err()
                .contains("needs its funder")
        );
        assert!(resolve(SIGNER, 7, "", POLYGON).is_err());
        assert!(
            resolve(SIGNER, 0, "0x12", POLYGON)
                .unwrap_err()
                .contains("not an address")
        );
    }
}
