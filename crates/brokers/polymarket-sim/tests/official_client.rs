//! Conformance: Polymarket's official V2 Rust client, pointed at the
//! simulator's URL and nothing else changed, derives API credentials, reads
//! the book and tick size, posts a limit and a market (FOK) order, looks
//! them up and cancels the resting one; the ledger agrees.

use std::str::FromStr as _;
use std::sync::Arc;

use atomik_broker::SystemClock;
use atomik_polymarket_sim::{OrderStatus, SimConfig, start};
use polymarket_client_sdk_v2::POLYGON;
use polymarket_client_sdk_v2::auth::{LocalSigner, Signer as _};
use polymarket_client_sdk_v2::clob::types::request::{
    BalanceAllowanceRequest, OrderBookSummaryRequest, OrdersRequest, TradesRequest,
};
use polymarket_client_sdk_v2::clob::types::{Amount, AssetType, OrderStatusType, OrderType, Side};
use polymarket_client_sdk_v2::clob::{Client, Config};
use polymarket_client_sdk_v2::types::{Decimal, U256};
use rust_decimal::Decimal as D;

/// Hardhat/Anvil account #0 (the published vectors' key; public knowledge).
const HARDHAT0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[tokio::test]
async fn the_official_v2_client_trades_against_the_simulator() {
    let config = SimConfig::demo(Arc::new(SystemClock));
    let rain = config.market(SimConfig::RAIN).unwrap().clone();
    let election = config.market(SimConfig::ELECTION).unwrap().clone();
    let sim = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();

    let signer = LocalSigner::from_str(HARDHAT0)
        .unwrap()
        .with_chain_id(Some(POLYGON));
    let me = signer.address();
    sim.set_collateral(me, D::from(1000));

    let client = Client::new(&sim.base_url(), Config::default())
        .unwrap()
        .authentication_builder(&signer)
        .authenticate()
        .await
        .expect("create-or-derive API credentials");
    assert_eq!(client.version().await.unwrap(), 2);
    let keys = client.api_keys().await.expect("L2 HMAC accepted");
    assert!(format!("{keys:?}").contains(&client.credentials().key().to_string()));

    // A second login derives the same key (create is refused, derive answers).
    let again = Client::new(&sim.base_url(), Config::default())
        .unwrap()
        .authentication_builder(&signer)
        .authenticate()
        .await
        .unwrap();
    assert_eq!(again.credentials().key(), client.credentials().key());

    let yes = U256::from_str(&rain.tokens[0].token_id).unwrap();
    let book = client
        .order_book(&OrderBookSummaryRequest::builder().token_id(yes).build())
        .await
        .expect("book");
    assert_eq!(book.asks.last().unwrap().price, d("0.56"), "best ask last");
    assert_eq!(book.bids.last().unwrap().price, d("0.54"), "best bid last");
    let tick = client.tick_size(yes).await.unwrap();
    assert_eq!(tick.minimum_tick_size.as_decimal(), d("0.01"));

    // A limit BUY under the best ask rests.
    let limit = client
        .limit_order()
        .token_id(yes)
        .side(Side::Buy)
        .price(d("0.50"))
        .size(d("10"))
        .order_type(OrderType::GTC)
        .build_sign_and_post(&signer)
        .await
        .expect("limit order accepted");
    assert!(limit.success, "{limit:?}");
    assert_eq!(limit.status, OrderStatusType::Live);

    // A market BUY for 11.2 pUSD fills 20 shares at the 0.56 ask.
    let market = client
        .market_order()
        .token_id(yes)
        .side(Side::Buy)
        .amount(Amount::usdc(d("11.2")).unwrap())
        .order_type(OrderType::FOK)
        .build_sign_and_post(&signer)
        .await
        .expect("market order accepted");
    assert_eq!(market.status, OrderStatusType::Matched, "{market:?}");
    assert_eq!(market.making_amount, d("11.2"));
    assert_eq!(market.taking_amount, d("20"));

    // A neg-risk market signs against the neg-risk exchange.
    let neg = client
        .limit_order()
        .token_id(U256::from_str(&election.tokens[0].token_id).unwrap())
        .side(Side::Buy)
        .price(d("0.25"))
        .size(d("10"))
        .build_sign_and_post(&signer)
        .await
        .expect("neg-risk order accepted");
    assert_eq!(neg.status, OrderStatusType::Live);

    let looked = client.order(&limit.order_id).await.unwrap();
    assert_eq!(looked.status, OrderStatusType::Live);
    assert_eq!(looked.original_size, d("10"));
    assert_eq!(looked.price, d("0.5"));
    let looked = client.order(&market.order_id).await.unwrap();
    assert_eq!(looked.status, OrderStatusType::Matched);
    assert_eq!(looked.size_matched, d("20"));

    let open = client
        .orders(&OrdersRequest::default(), None)
        .await
        .unwrap();
    let open_ids: Vec<&str> = open.data.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        open_ids,
        vec![limit.order_id.as_str(), neg.order_id.as_str()]
    );

    let trades = client
        .trades(&TradesRequest::default(), None)
        .await
        .unwrap();
    assert_eq!(trades.data.len(), 1);
    assert_eq!(trades.data[0].taker_order_id, market.order_id);
    assert_eq!(trades.data[0].size, d("20"));

    let canceled = client.cancel_order(&limit.order_id).await.unwrap();
    assert_eq!(canceled.canceled, vec![limit.order_id.clone()]);
    let again = client.cancel_order(&limit.order_id).await.unwrap();
    assert!(again.not_canceled.contains_key(&limit.order_id));

    let bal = client
        .balance_allowance(
            BalanceAllowanceRequest::builder()
                .asset_type(AssetType::Collateral)
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(bal.balance, d("988800000"), "1000 - 11.2 pUSD, 10^6-scaled");

    // The ledger agrees.
    let ledger = sim.orders();
    assert_eq!(ledger.len(), 3);
    let by_id = |id: &str| ledger.iter().find(|o| o.id == id).unwrap().clone();
    assert_eq!(by_id(&limit.order_id).status, OrderStatus::Canceled);
    assert_eq!(by_id(&market.order_id).status, OrderStatus::Matched);
    assert_eq!(by_id(&market.order_id).order_type, "FOK");
    assert_eq!(by_id(&neg.order_id).status, OrderStatus::Live);
    assert!(
        ledger
            .iter()
            .all(|o| o.signer == me && o.maker == me && o.version == 2)
    );
    let trades = sim.trades();
    assert_eq!(trades.len(), 1);
    assert_eq!(
        (trades[0].price, trades[0].size),
        (D::from_str("0.56").unwrap(), D::from(20))
    );
    assert_eq!(sim.collateral(me), D::from_str("988.8").unwrap());
    assert_eq!(sim.position(me, &rain.tokens[0].token_id), D::from(20));
    sim.shutdown().await;
}
