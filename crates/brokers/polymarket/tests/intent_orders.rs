//! From an intent to the `POST /order` body: the same intent always gives the
//! same order hash (exactly-once without a client order id), the body has
//! the V2 field names and types, and the market's exchange changes the hash.

use atomik_polymarket::amounts::{MarketRules, TickSize, limit_amounts};
use atomik_polymarket::contracts::{AMOY, Exchange, OrderVersion, POLYGON};
use atomik_polymarket::identity::OrderIdentity;
use atomik_polymarket::order::{Funder, OrderSpec, OrderType, OrderV2, Side};
use atomik_polymarket::{Address, B256, Error, U256, Wallet};
use atomik_secrets::Secret;
use rust_decimal::Decimal;
use serde_json::json;

fn wallet() -> Wallet {
    Wallet::from_private_key(&Secret::new(
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".into(),
    ))
    .unwrap()
}

fn spec(coid: &str, funder: Funder) -> OrderSpec {
    let rules = MarketRules {
        tick: TickSize::Hundredth,
        min_size: Decimal::from(5),
    };
    OrderSpec {
        token_id: U256::from(7_u64),
        side: Side::Buy,
        amounts: limit_amounts(Side::Buy, Decimal::new(42, 2), Decimal::from(10), &rules).unwrap(),
        funder,
        identity: OrderIdentity::derive(coid, 1_764_000_000_123),
        builder: B256::ZERO,
        expiration: 0,
    }
}

#[test]
fn same_intent_same_order_hash() {
    let w = wallet();
    let ex = Exchange::v2(POLYGON, false).unwrap();
    let a = OrderV2::from_spec(w.address(), &spec("intent-42", Funder::Eoa));
    let b = OrderV2::from_spec(w.address(), &spec("intent-42", Funder::Eoa));
    let sa = a.sign(&w, &ex).unwrap();
    let sb = b.sign(&w, &ex).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(sa.order_id().len(), 66);
    let c = OrderV2::from_spec(w.address(), &spec("intent-43", Funder::Eoa));
    assert_ne!(c.hash(&ex).unwrap(), sa.hash);
    // Neg-risk markets sign against the other exchange: another order id.
    let neg = Exchange::v2(POLYGON, true).unwrap();
    assert_ne!(a.hash(&neg).unwrap(), sa.hash);
    // The chain is in the domain too.
    assert_ne!(
        a.hash(&Exchange::v2(AMOY, false).unwrap()).unwrap(),
        sa.hash
    );
}

#[test]
fn post_body_shape() {
    let w = wallet();
    let safe: Address = "0x1111111111111111111111111111111111111111"
        .parse()
        .unwrap();
    let order = OrderV2::from_spec(w.address(), &spec("intent-42", Funder::GnosisSafe(safe)));
    let signed = order
        .sign(&w, &Exchange::v2(POLYGON, false).unwrap())
        .unwrap();
    let body = signed.post_body(
        "00000000-0000-0000-0000-000000000000",
        OrderType::Gtc,
        true,
        false,
    );
    let v = serde_json::to_value(&body).unwrap();
    let o = &v["order"];
    assert_eq!(o["salt"], json!(order.salt));
    assert_eq!(o["maker"], "0x1111111111111111111111111111111111111111");
    assert_eq!(o["signer"], "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    assert_eq!(o["tokenId"], "7");
    assert_eq!(o["makerAmount"], "4200000");
    assert_eq!(o["takerAmount"], "10000000");
    assert_eq!(o["side"], "BUY");
    assert_eq!(o["expiration"], "0");
    assert_eq!(o["signatureType"], 2);
    assert_eq!(o["timestamp"], "1764000000123");
    assert_eq!(o["metadata"], json!(format!("{}", order.metadata)));
    assert_eq!(o["builder"], json!(format!("{}", B256::ZERO)));
    assert_eq!(o["signature"].as_str().unwrap().len(), 132);
    assert_eq!(v["orderType"], "GTC");
    assert_eq!(v["owner"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(v["postOnly"], true);
    assert_eq!(v["deferExec"], false);
    assert_eq!(o.as_object().unwrap().len(), 13);
    assert_eq!(v.as_object().unwrap().len(), 5);
    // Round-trips (a simulator parses what the adapter sends).
    let text = serde_json::to_string(&body).unwrap();
    assert_eq!(
        serde_json::from_str::<atomik_polymarket::order::PostOrderV2>(&text).unwrap(),
        body
    );
}

#[test]
fn refusals() {
    let w = wallet();
    let other: Address = "0x2222222222222222222222222222222222222222"
        .parse()
        .unwrap();
    let mut order = OrderV2::from_spec(w.address(), &spec("x", Funder::Eoa));
    let v1 = Exchange::custom(POLYGON, other, OrderVersion::V1);
    assert!(matches!(order.hash(&v1), Err(Error::InvalidOrder(_))));
    order.signer = other;
    let err = order
        .sign(&w, &Exchange::v2(POLYGON, false).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("is not the wallet"), "{err}");
    assert_eq!(
        Exchange::v2(1, false).unwrap_err().to_string(),
        "no Polymarket contracts known for chain id 1 (expected 137 Polygon or 80002 Amoy)"
    );
}

#[test]
fn a_simulator_can_parse_and_verify_the_body() {
    let w = wallet();
    let ex = Exchange::v2(POLYGON, true).unwrap();
    let signed = OrderV2::from_spec(w.address(), &spec("intent-9", Funder::Eoa))
        .sign(&w, &ex)
        .unwrap();
    let json = signed.order_json();
    let parsed = json.to_order().unwrap();
    assert_eq!(parsed, signed.order);
    let hash = parsed.hash(&ex).unwrap();
    assert_eq!(
        atomik_polymarket::wallet::recover_signer(&hash, &json.signature).unwrap(),
        w.address()
    );
    let mut broken = json.clone();
    broken.maker_amount = "12x".into();
    assert_eq!(
        broken.to_order().unwrap_err().to_string(),
        "invalid order: field makerAmount is malformed: \"12x\""
    );
    assert!(atomik_polymarket::wallet::recover_signer(&hash, "0x1234").is_err());
}
