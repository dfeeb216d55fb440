//! Differential test against Polymarket's official V2 Rust client
//! (`polymarket_client_sdk_v2` 0.9.0): on seeded random V2 orders our
//! signature, order hash and `POST /order` body equal the SDK's.
//!
//! No network: the SDK client is authenticated with given credentials (no
//! key derivation call) and its neg-risk cache is primed with
//! `set_neg_risk`, so `Client::sign` runs its real domain selection,
//! ECDSA and POLY_1271 wrapping offline. Its order *builder* is not used: it
//! reads tick size and `/version` from the network and stamps the current
//! time, so the SDK's `OrderV2` is built from the same fields directly.

use std::str::FromStr as _;

use alloy_sol_types::{Eip712Domain, SolStruct as _};
use atomik_polymarket::contracts::{AMOY, Exchange, POLYGON};
use atomik_polymarket::order::{OrderType, OrderV2, Side, SignatureType};
use atomik_polymarket::{Address, B256, U256, Wallet};
use atomik_secrets::Secret;
use polymarket_client_sdk_v2::auth::{Credentials, LocalSigner, Signer as _, Uuid};
use polymarket_client_sdk_v2::clob::types::{
    OrderPayload, OrderType as SdkOrderType, OrderV2 as SdkOrder, SignableOrder,
};
use polymarket_client_sdk_v2::clob::{Client, Config};
use polymarket_client_sdk_v2::contract_config;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ORDERS_PER_CHAIN: usize = 200;

fn random_order(rng: &mut StdRng, eoa: Address) -> OrderV2 {
    let signature_type = match rng.random_range(0..4) {
        0 => SignatureType::Eoa,
        1 => SignatureType::PolyProxy,
        2 => SignatureType::PolyGnosisSafe,
        _ => SignatureType::Poly1271,
    };
    let wallet = Address::from(rng.random::<[u8; 20]>());
    let (maker, signer) = match signature_type {
        SignatureType::Eoa => (eoa, eoa),
        SignatureType::Poly1271 => (wallet, wallet),
        _ => (wallet, eoa),
    };
    let token_id = match rng.random_range(0..3) {
        0 => U256::from(rng.random::<u64>()),
        _ => U256::from_be_bytes(rng.random::<[u8; 32]>()),
    };
    let bytes32 = |rng: &mut StdRng| {
        if rng.random_bool(0.5) {
            B256::ZERO
        } else {
            B256::from(rng.random::<[u8; 32]>())
        }
    };
    OrderV2 {
        salt: rng.random_range(0..(1u64 << 53)),
        maker,
        signer,
        token_id,
        maker_amount: U256::from(rng.random_range(1..10_000_000_000u64)),
        taker_amount: U256::from(rng.random_range(1..10_000_000_000u64)),
        side: if rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        },
        signature_type,
        timestamp_ms: rng.random_range(1_600_000_000_000..1_900_000_000_000u64),
        metadata: bytes32(rng),
        builder: bytes32(rng),
        expiration: if rng.random_bool(0.3) {
            rng.random_range(1_700_000_000..1_900_000_000u64)
        } else {
            0
        },
    }
}

fn to_sdk(o: &OrderV2) -> SdkOrder {
    SdkOrder::from((
        U256::from(o.salt),
        o.maker,
        o.signer,
        o.token_id,
        o.maker_amount,
        o.taker_amount,
        o.side as u8,
        o.signature_type as u8,
        U256::from(o.timestamp_ms),
        o.metadata,
        o.builder,
    ))
}

fn sdk_order_type(t: OrderType) -> SdkOrderType {
    match t {
        OrderType::Gtc => SdkOrderType::GTC,
        OrderType::Gtd => SdkOrderType::GTD,
        OrderType::Fok => SdkOrderType::FOK,
        OrderType::Fak => SdkOrderType::FAK,
    }
}

async fn run_chain(chain_id: u64, seed: u64) {
    let ours = Wallet::from_private_key(&Secret::new(KEY.to_string())).unwrap();
    let sdk_signer = LocalSigner::from_str(KEY)
        .unwrap()
        .with_chain_id(Some(chain_id));
    let owner = Uuid::from_str("5b6c2a6e-8f1b-4b7e-9d3a-1c2b3d4e5f60").unwrap();
    let client = Client::new("http://127.0.0.1:9", Config::default())
        .unwrap()
        .authentication_builder(&sdk_signer)
        .credentials(Credentials::new(
            owner,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            "pass".into(),
        ))
        .authenticate()
        .await
        .expect("offline authentication with given credentials");

    let mut rng = StdRng::seed_from_u64(seed);
    let mut by_type = [0usize; 4];
    let mut neg_risk_count = 0;
    for i in 0..ORDERS_PER_CHAIN {
        let order = random_order(&mut rng, ours.address());
        let neg_risk = rng.random_bool(0.5);
        neg_risk_count += usize::from(neg_risk);
        by_type[order.signature_type as usize] += 1;
        let order_type = [
            OrderType::Gtc,
            OrderType::Gtd,
            OrderType::Fok,
            OrderType::Fak,
        ][rng.random_range(0..4)];
        let post_only = rng.random_bool(0.5);
        let defer_exec = rng.random_bool(0.5);

        // Ours.
        let exchange = Exchange::v2(chain_id, neg_risk).unwrap();
        let signed = order.sign(&ours, &exchange).unwrap();
        let body = signed.post_body(&owner.to_string(), order_type, post_only, defer_exec);

        // The SDK's.
        let sdk_order = to_sdk(&order);
        client.set_neg_risk(order.token_id, neg_risk);
        let signable = SignableOrder::builder()
            .payload(OrderPayload::new(
                sdk_order.clone(),
                U256::from(order.expiration),
            ))
            .order_type(sdk_order_type(order_type))
            .post_only(post_only)
            .defer_exec(defer_exec)
            .build();
        let sdk_signed = client.sign(&sdk_signer, signable).await.unwrap();

        let ctx = format!("order #{i} on chain {chain_id}, neg_risk {neg_risk}: {order:?}");
        assert_eq!(signed.signature, sdk_signed.signature.to_string(), "{ctx}");

        // Order hash with the SDK's struct and the SDK's contract table.
        let sdk_exchange = contract_config(chain_id, neg_risk)
            .and_then(|c| c.exchange_v2)
            .unwrap();
        assert_eq!(exchange.address, sdk_exchange, "{ctx}");
        let domain = Eip712Domain::new(
            Some("Polymarket CTF Exchange".into()),
            Some("2".into()),
            Some(U256::from(chain_id)),
            Some(sdk_exchange),
            None,
        );
        assert_eq!(signed.hash, sdk_order.eip712_signing_hash(&domain), "{ctx}");

        // The POST /order body: same JSON, same bytes.
        let ours_json = serde_json::to_string(&body).unwrap();
        let sdk_json = serde_json::to_string(&sdk_signed).unwrap();
        assert_eq!(ours_json, sdk_json, "{ctx}");
    }
    assert!(by_type.iter().all(|&n| n > 20), "{by_type:?}");
    assert!(neg_risk_count > 50 && neg_risk_count < ORDERS_PER_CHAIN - 50);
}

#[tokio::test]
async fn random_v2_orders_match_the_official_client_on_amoy() {
    run_chain(AMOY, 0x5eed_a40e).await;
}

#[tokio::test]
async fn random_v2_orders_match_the_official_client_on_polygon() {
    run_chain(POLYGON, 0x5eed_0137).await;
}

/// P11 was computed by hand for BROKERS.md ("confirm against the official V2
/// client"): the SDK signs the same order to the same bytes.
#[tokio::test]
async fn p11_regression_vector_is_what_the_official_client_signs() {
    let signer = LocalSigner::from_str(KEY)
        .unwrap()
        .with_chain_id(Some(AMOY));
    let client = Client::new("http://127.0.0.1:9", Config::default())
        .unwrap()
        .authentication_builder(&signer)
        .credentials(Credentials::new(Uuid::nil(), "AAAA".into(), "p".into()))
        .authenticate()
        .await
        .unwrap();
    let eoa = signer.address();
    let order = OrderV2 {
        salt: 479_249_096_354,
        maker: eoa,
        signer: eoa,
        token_id: U256::from(1234),
        maker_amount: U256::from(100_000_000),
        taker_amount: U256::from(50_000_000),
        side: Side::Buy,
        signature_type: SignatureType::Eoa,
        timestamp_ms: 1_710_000_000_000,
        metadata: B256::ZERO,
        builder: B256::ZERO,
        expiration: 0,
    };
    client.set_neg_risk(order.token_id, false);
    let signable = SignableOrder::builder()
        .payload(OrderPayload::new(to_sdk(&order), U256::ZERO))
        .order_type(SdkOrderType::GTC)
        .build();
    let sdk = client.sign(&signer, signable).await.unwrap();
    assert_eq!(
        sdk.signature.to_string(),
        "0x518472f1b081f6bd713d638bb11d1bf0720ed577e93c52eb00ec9f5f325f7d510c65cbfdfe9130de2602185f4a500863d777d8b838cb28abc75ecc1b5330315d1c"
    );
}
