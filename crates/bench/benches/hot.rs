//! Micro-benchmarks of the hot pure pieces of the webhook-to-order path:
//! payload parsing, position-aware sizing, request signing.
//! `cargo bench -p atomik-bench`

use std::hint::black_box;
use std::str::FromStr;

use atomik_binance::sign::Signer;
use atomik_domain::signal::{self, Action, Intent};
use atomik_domain::sizing::{self, QuantitySource, Sizing};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

fn parsing(c: &mut Criterion) {
    let small = br#"{"action":"buy","ticker":"MNQ1!","id":"b123456"}"#;
    let full = br#"{"action":"SELL","comment":"EXIT_50","quantity":"3","ticker":"NQ1!","price":"21000.25","id":"2026-01-01T10:00:00Z","secret":"0123456789abcdef0123456789abcdef","strategy":"breakout v2","interval":"5"}"#;
    c.bench_function("signal::parse small", |b| {
        b.iter(|| signal::parse(black_box(small)))
    });
    c.bench_function("signal::parse full", |b| {
        b.iter(|| signal::parse(black_box(full)))
    });
    c.bench_function("signal::parse_comment EXIT_50", |b| {
        b.iter(|| signal::parse_comment(black_box("EXIT_50")))
    });
}

fn sizing_decide(c: &mut Criterion) {
    let s = Sizing {
        action: Action::Sell,
        intent: Intent::ExitPercent(50),
        position: Decimal::from(7),
        quantity: Decimal::from(2),
        max_position: Some(Decimal::from(10)),
        can_short: true,
        step: Decimal::ONE,
    };
    c.bench_function("sizing::decide exit 50% of 7", |b| {
        b.iter(|| sizing::decide(black_box(&s)))
    });
    c.bench_function("sizing::order_quantity from alert", |b| {
        b.iter(|| {
            sizing::order_quantity(
                black_box(Decimal::from(2)),
                QuantitySource::FromAlert {
                    cap: Decimal::from(50),
                },
                black_box(Decimal::from_str("3").ok()),
            )
        })
    });
}

fn signing(c: &mut Criterion) {
    // A Binance order's query string, signed as the adapter signs it.
    let query = b"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=atk0190f1a2b3c4d5e6f708192a3b4c5d6e&recvWindow=5000&timestamp=1767225600000";
    let vectors: serde_json::Value = serde_json::from_str(include_str!(
        "../../brokers/binance/tests/vectors/binance.json"
    ))
    .expect("vectors");
    let hmac = Signer::from_secret(vectors["secret_key"].as_str().expect("secret")).expect("key");
    c.bench_function("Binance HMAC-SHA256 order signature", |b| {
        b.iter(|| hmac.sign(black_box(query)))
    });
    let ed25519 = Signer::from_secret(
        vectors["ed25519"][0]["private_key_pem"]
            .as_str()
            .expect("pem"),
    )
    .expect("key");
    c.bench_function("Binance Ed25519 order signature", |b| {
        b.iter(|| ed25519.sign(black_box(query)))
    });
}

criterion_group!(benches, parsing, sizing_decide, signing);
criterion_main!(benches);
