//! The proxy and safe addresses atomik expects for a signer are the ones
//! Polymarket's official V2 client derives (CREATE2 from Polymarket's
//! factories), on random signers and both chains.

use atomik_polymarket::contracts::{AMOY, POLYGON};
use atomik_polymarket::funder::{proxy_wallet, safe_wallet};
use polymarket_client_sdk_v2::{derive_proxy_wallet, derive_safe_wallet};
use rand::{Rng, SeedableRng};

#[test]
fn proxy_and_safe_addresses_match_the_official_client() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5afe);
    for _ in 0..200 {
        let mut bytes = [0u8; 20];
        rng.fill(&mut bytes);
        let eoa = atomik_polymarket::Address::from(bytes);
        let sdk_eoa = polymarket_client_sdk_v2::types::Address::from(bytes);
        for chain in [POLYGON, AMOY] {
            assert_eq!(
                proxy_wallet(eoa, chain).map(|a| a.0.0),
                derive_proxy_wallet(sdk_eoa, chain).map(|a| a.0.0),
                "proxy of {eoa} on {chain}"
            );
            assert_eq!(
                safe_wallet(eoa, chain).map(|a| a.0.0),
                derive_safe_wallet(sdk_eoa, chain).map(|a| a.0.0),
                "safe of {eoa} on {chain}"
            );
        }
    }
}
