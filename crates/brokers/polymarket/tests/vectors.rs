//! Every published Polymarket vector (`shared/vectors/polymarket.json`,
//! BROKERS.md §1.2) reproduced byte for byte, plus P9 (published as r/s in
//! BROKERS.md, not in the JSON file).

use std::path::PathBuf;
use std::str::FromStr as _;

use atomik_polymarket::contracts::{Exchange, OrderVersion};
use atomik_polymarket::order::{OrderV1, OrderV2, Side, SignatureType};
use atomik_polymarket::sign::{l1, l2::ApiCredentials};
use atomik_polymarket::{Address, B256, U256, Wallet};
use atomik_secrets::Secret;
use serde_json::Value;

fn vectors() -> Value {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = std::env::var_os("POLYMARKET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../../shared/vectors/polymarket.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the Polymarket vectors at {} ({e}); they live in shared/vectors/ beside \
             the repository (set POLYMARKET_VECTORS to another path)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("polymarket.json is valid JSON")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("field {k} missing in {v}"))
}

fn wallet(v: &Value) -> Wallet {
    let w = Wallet::from_private_key(&Secret::new(s(v, "private_key").to_string())).unwrap();
    assert_eq!(w.address(), Address::from_str(s(v, "address")).unwrap());
    w
}

fn u256(v: &Value, k: &str) -> U256 {
    U256::from_str(s(v, k)).unwrap()
}

fn u64f(v: &Value, k: &str) -> u64 {
    s(v, k).parse().unwrap()
}

fn addr(v: &Value, k: &str) -> Address {
    Address::from_str(s(v, k)).unwrap()
}

fn side(v: &Value) -> Side {
    Side::from_u8(v["side"].as_u64().unwrap() as u8).unwrap()
}

fn sig_type(v: &Value) -> SignatureType {
    SignatureType::from_u8(v["signatureType"].as_u64().unwrap() as u8).unwrap()
}

#[test]
fn l2_hmac_cases() {
    let v = vectors();
    let l2 = &v["l2_hmac"];
    let creds = ApiCredentials::new(
        s(l2, "api_key"),
        &Secret::new(s(l2, "secret").into()),
        Secret::new(s(l2, "passphrase").into()),
    )
    .unwrap();
    let cases = l2["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let ts = u64f(c, "timestamp");
        let got = creds.signature(ts, s(c, "method"), s(c, "path"), s(c, "body"));
        assert_eq!(got, s(c, "signature"), "{c}");
        assert!(creds.verify(ts, s(c, "method"), s(c, "path"), s(c, "body"), &got));
    }
    // P3 as headers (GET /, timestamp 1, no body).
    let w = wallet(&v);
    let h = creds.headers(w.address(), 1, "GET", "/", "");
    let pairs = h.expose_pairs();
    assert_eq!(
        pairs[0],
        ("POLY_ADDRESS", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );
    assert_eq!(
        pairs[1],
        (
            "POLY_SIGNATURE",
            "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4="
        )
    );
    assert_eq!(pairs[2], ("POLY_TIMESTAMP", "1"));
    assert_eq!(
        pairs[3],
        ("POLY_API_KEY", "00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(pairs[4], ("POLY_PASSPHRASE", s(l2, "passphrase")));
}

#[test]
fn l1_clob_auth_cases() {
    let v = vectors();
    let w = wallet(&v);
    let cases = v["l1_clob_auth"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let ts = u64f(c, "timestamp");
        let nonce = c["nonce"].as_u64().unwrap();
        let chain = c["chain_id"].as_u64().unwrap();
        let h = l1::headers(&w, chain, ts, nonce).unwrap();
        assert_eq!(h.poly_signature, s(c, "signature"), "{c}");
        assert_eq!(h.poly_address, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        assert_eq!(h.poly_timestamp, ts.to_string());
        assert_eq!(h.poly_nonce, nonce.to_string());
    }
}

fn order_v1(o: &Value) -> OrderV1 {
    OrderV1 {
        salt: u64f(o, "salt"),
        maker: addr(o, "maker"),
        signer: addr(o, "signer"),
        taker: addr(o, "taker"),
        token_id: u256(o, "tokenId"),
        maker_amount: u256(o, "makerAmount"),
        taker_amount: u256(o, "takerAmount"),
        expiration: u64f(o, "expiration"),
        nonce: u256(o, "nonce"),
        fee_rate_bps: u256(o, "feeRateBps"),
        side: side(o),
        signature_type: sig_type(o),
    }
}

fn exchange(c: &Value, version: OrderVersion) -> Exchange {
    Exchange::custom(
        c["chain_id"].as_u64().unwrap(),
        addr(c, "exchange"),
        version,
    )
}

#[test]
fn v1_orders() {
    let v = vectors();
    let w = wallet(&v);
    let cases = v["orders_v1"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let order = order_v1(&c["order"]);
        let ex = exchange(c, OrderVersion::V1);
        let signed = order.sign(&w, &ex).unwrap();
        if let Some(d) = c["digest"].as_str() {
            assert_eq!(signed.order_id(), d, "{c}");
        }
        assert_eq!(signed.signature, s(c, "signature"), "{c}");
    }
    // P8's digest as computed in BROKERS.md.
    let p8 = order_v1(&cases[2]["order"]).hash(&exchange(&cases[2], OrderVersion::V1));
    assert_eq!(
        p8.unwrap(),
        B256::from_str("0x54c067fcb57613f2da09446f3380fce1537502897d11121c41e6ed19f40df286")
            .unwrap()
    );
}

/// P9 (rs-clob-client `tests/clob.rs` `sign_order_should_succeed`): a proxy
/// wallet V1 order on Polygon; published as r, s and v = 27.
#[test]
fn v1_proxy_order_p9() {
    let v = vectors();
    let w = wallet(&v);
    let order = OrderV1 {
        salt: 1,
        maker: Address::from_str("0x995c9b1f779c04e65AF8ea3360F96c43b5e62316").unwrap(),
        signer: w.address(),
        taker: Address::from_str("0xf7fB45986800e2D259BAa25B56466bd02dA37a44").unwrap(),
        token_id: U256::from(123),
        maker_amount: U256::from(51_200_000),
        taker_amount: U256::from(100_000_000),
        expiration: 0,
        nonce: U256::from(2),
        fee_rate_bps: U256::ZERO,
        side: Side::Buy,
        signature_type: SignatureType::PolyProxy,
    };
    let signed = order.sign(&w, &Exchange::v1(137, false).unwrap()).unwrap();
    assert_eq!(
        signed.order_id(),
        "0xacd220bde76823464bfea5a777f89797390d99711e52e12729d15b112c07524c"
    );
    let r = U256::from_str(
        "83481775348298569941382281649378839838022156673358335472613408323829135581822",
    )
    .unwrap();
    let s_ = U256::from_str(
        "14700784935255652319392527293337942251542995764256618215552578034044377798980",
    )
    .unwrap();
    let expected = format!(
        "0x{}{}1b",
        hex::encode(r.to_be_bytes::<32>()),
        hex::encode(s_.to_be_bytes::<32>())
    );
    assert_eq!(signed.signature, expected);
}

fn order_v2(o: &Value) -> OrderV2 {
    OrderV2 {
        salt: u64f(o, "salt"),
        maker: addr(o, "maker"),
        signer: addr(o, "signer"),
        token_id: u256(o, "tokenId"),
        maker_amount: u256(o, "makerAmount"),
        taker_amount: u256(o, "takerAmount"),
        side: side(o),
        signature_type: sig_type(o),
        timestamp_ms: u64f(o, "timestamp"),
        metadata: B256::from_str(s(o, "metadata")).unwrap(),
        builder: B256::from_str(s(o, "builder")).unwrap(),
        expiration: 0,
    }
}

#[test]
fn v2_orders_incl_deposit_wallet_p10_and_regression_p11() {
    let v = vectors();
    let w = wallet(&v);
    let cases = v["orders_v2"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let order = order_v2(&c["order"]);
        let ex = exchange(c, OrderVersion::V2);
        assert_eq!(ex, Exchange::v2(80002, false).unwrap());
        let signed = order.sign(&w, &ex).unwrap();
        if let Some(d) = c["digest"].as_str() {
            assert_eq!(signed.order_id(), d, "{c}");
        }
        assert_eq!(signed.signature, s(c, "signature"), "{c}");
    }
    assert_eq!(cases[0]["order"]["signatureType"], 3);
}
