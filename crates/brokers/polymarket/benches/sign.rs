//! What signing costs on the signal's path: one V2 order (amounts, identity,
//! EIP-712 hash, secp256k1 signature, `POST /order` body) and one L2 HMAC
//! header set. `cargo bench -p atomik-polymarket`.

use std::hint::black_box;

use atomik_polymarket::amounts::{MarketRules, TickSize, limit_amounts};
use atomik_polymarket::contracts::{Exchange, POLYGON};
use atomik_polymarket::identity::OrderIdentity;
use atomik_polymarket::order::{Funder, OrderSpec, OrderType, OrderV2, Side};
use atomik_polymarket::sign::l2::ApiCredentials;
use atomik_polymarket::{B256, U256, Wallet};
use atomik_secrets::Secret;
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn order(c: &mut Criterion) {
    let wallet = Wallet::from_private_key(&Secret::new(KEY.into())).unwrap();
    let exchange = Exchange::v2(POLYGON, false).unwrap();
    let rules = MarketRules {
        tick: TickSize::Hundredth,
        min_size: Decimal::from(5),
    };
    let token = U256::from(123_456_789u64);
    let mut n = 0u64;
    c.bench_function("sign one V2 order and its POST body", |b| {
        b.iter(|| {
            n += 1;
            let amounts =
                limit_amounts(Side::Buy, Decimal::new(61, 2), Decimal::from(10), &rules).unwrap();
            let spec = OrderSpec {
                token_id: token,
                side: Side::Buy,
                amounts,
                funder: Funder::Eoa,
                identity: OrderIdentity::derive(&format!("intent-{n}"), 1_790_000_000_000),
                builder: B256::ZERO,
                expiration: 0,
            };
            let signed = OrderV2::from_spec(wallet.address(), &spec)
                .sign(&wallet, &exchange)
                .unwrap();
            let body = signed.post_body(
                "00000000-0000-4000-8000-000000000000",
                OrderType::Fok,
                false,
                false,
            );
            black_box(serde_json::to_string(&body).unwrap())
        })
    });
    let creds = ApiCredentials::new(
        "00000000-0000-4000-8000-000000000000",
        &Secret::new("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw==".into()),
        Secret::new("passphrase".into()),
    )
    .unwrap();
    let body = "x".repeat(900);
    c.bench_function("L2 headers over a 900-byte body", |b| {
        b.iter(|| {
            black_box(creds.headers(wallet.address(), 1_790_000_000, "POST", "/order", &body))
        })
    });
}

criterion_group!(benches, order);
criterion_main!(benches);
