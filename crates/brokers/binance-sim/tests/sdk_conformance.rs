//! Binance's official Rust connector (`binance-sdk`, spot REST) trades
//! against the simulator with nothing changed but its base URL: it reads the
//! exchange rules and the account, places a resting LIMIT and a MARKET order,
//! looks the LIMIT up by orderId and by origClientOrderId, cancels it, and
//! the simulator's ledger agrees with every answer.

use std::net::SocketAddr;
use std::sync::Arc;

use atomik_binance_sim::{self as sim, SimConfig};
use atomik_broker::SystemClock;
use binance_sdk::config::ConfigurationRestApi;
use binance_sdk::errors::ConnectorError;
use binance_sdk::models::{Interval, RateLimitType};
use binance_sdk::spot::SpotRestApi;
use binance_sdk::spot::rest_api::{
    DeleteOrderParams, ExchangeInfoParams, GetAccountParams, GetOrderParams,
    MyFiltersResponseSymbolFiltersInner, NewOrderParams, NewOrderSideEnum, NewOrderTimeInForceEnum,
    NewOrderTypeEnum, RestApi,
};
use rust_decimal::Decimal;

const DEMO: &str = SimConfig::DEMO_API_KEY;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The SDK signs with the host clock, so the simulator runs on it too.
async fn sim() -> sim::SimHandle {
    let config = SimConfig::demo(Arc::new(SystemClock));
    sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn client(sim: &sim::SimHandle, secret: &str) -> RestApi {
    let config = ConfigurationRestApi::builder()
        .api_key(DEMO)
        .api_secret(secret)
        .base_path(sim.base_url())
        .build()
        .unwrap();
    SpotRestApi::from_config(config)
}

/// Binance's code in the connector's error.
fn binance_code(err: Option<&ConnectorError>) -> Option<i64> {
    match err? {
        ConnectorError::BadRequestError { code, .. }
        | ConnectorError::UnauthorizedError { code, .. } => *code,
        _ => None,
    }
}

#[tokio::test]
async fn the_official_connector_reads_places_queries_and_cancels() {
    let sim = sim().await;
    let api = client(&sim, SimConfig::DEMO_SECRET_KEY);

    let info = api
        .exchange_info(
            ExchangeInfoParams::builder()
                .symbols(vec!["BTCUSDT".into(), "ETHUSDT".into()])
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    let symbols = info.symbols.unwrap();
    assert_eq!(symbols.len(), 2);
    let btc = &symbols[0];
    assert_eq!(btc.status.as_deref(), Some("TRADING"));
    let lot = btc.filters.as_ref().unwrap().iter().find_map(|f| match f {
        MyFiltersResponseSymbolFiltersInner::LotSize(l) => Some(l.step_size.clone()),
        _ => None,
    });
    assert_eq!(lot.flatten().as_deref(), Some("0.00001000"));
    assert!(info.rate_limits.unwrap().len() >= 2);

    let account = api
        .get_account(GetAccountParams::builder().build().unwrap())
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    assert_eq!((account.can_trade, account.uid), (Some(true), Some(7001)));
    let usdt = account
        .balances
        .unwrap()
        .into_iter()
        .find(|b| b.asset.as_deref() == Some("USDT"))
        .unwrap();
    assert_eq!(usdt.free.as_deref(), Some("10000.00000000"));

    // A LIMIT far below the market rests.
    let placed = api
        .new_order(
            NewOrderParams::builder(
                "BTCUSDT".into(),
                NewOrderSideEnum::Buy,
                NewOrderTypeEnum::Limit,
            )
            .time_in_force(NewOrderTimeInForceEnum::Gtc)
            .quantity(d("0.001"))
            .price(d("30000"))
            .new_client_order_id("sdk-limit-1".to_string())
            .build()
            .unwrap(),
        )
        .await
        .unwrap();
    let counts = placed.rate_limits.clone().unwrap();
    assert!(
        counts
            .iter()
            .any(|l| l.rate_limit_type == RateLimitType::Orders
                && l.interval == Interval::Second
                && l.interval_num == 10
                && l.count == 1)
    );
    assert!(
        counts
            .iter()
            .any(|l| l.rate_limit_type == RateLimitType::RequestWeight
                && l.interval == Interval::Minute
                && l.count > 0)
    );
    let limit = placed.data().await.unwrap();
    assert_eq!(limit.status.as_deref(), Some("NEW"));
    assert_eq!(limit.client_order_id.as_deref(), Some("sdk-limit-1"));
    assert_eq!(limit.fills.as_ref().map(Vec::len), Some(0));
    let limit_id = limit.order_id.unwrap();

    // A MARKET fills at once.
    let market = api
        .new_order(
            NewOrderParams::builder(
                "BTCUSDT".into(),
                NewOrderSideEnum::Buy,
                NewOrderTypeEnum::Market,
            )
            .quantity(d("0.001"))
            .build()
            .unwrap(),
        )
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    assert_eq!(market.status.as_deref(), Some("FILLED"));
    assert_eq!(market.executed_qty.as_deref(), Some("0.00100000"));
    let fills = market.fills.unwrap();
    assert_eq!(fills[0].price.as_deref(), Some("60000.00000000"));

    // Queried by orderId and by origClientOrderId.
    let by_id = api
        .get_order(
            GetOrderParams::builder("BTCUSDT".into())
                .order_id(limit_id)
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    assert_eq!(by_id.status.as_deref(), Some("NEW"));
    assert_eq!(by_id.price.as_deref(), Some("30000.00000000"));
    assert_eq!(by_id.is_working, Some(true));
    let by_client = api
        .get_order(
            GetOrderParams::builder("BTCUSDT".into())
                .orig_client_order_id("sdk-limit-1".to_string())
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    assert_eq!(by_client.order_id, Some(limit_id));

    let cancelled = api
        .delete_order(
            DeleteOrderParams::builder("BTCUSDT".into())
                .order_id(limit_id)
                .build()
                .unwrap(),
        )
        .await
        .unwrap()
        .data()
        .await
        .unwrap();
    assert_eq!(cancelled.status.as_deref(), Some("CANCELED"));
    assert_eq!(
        cancelled.orig_client_order_id.as_deref(),
        Some("sdk-limit-1")
    );

    // Binance's error codes reach the connector's error type.
    let Err(gone) = api
        .get_order(
            GetOrderParams::builder("BTCUSDT".into())
                .order_id(limit_id + 1000)
                .build()
                .unwrap(),
        )
        .await
    else {
        panic!("refused by the simulator");
    };
    assert_eq!(binance_code(gone.downcast_ref()), Some(-2013), "{gone:#}");
    let Err(forged) = client(&sim, "not-the-secret")
        .get_account(GetAccountParams::builder().build().unwrap())
        .await
    else {
        panic!("refused by the simulator");
    };
    assert_eq!(
        binance_code(forged.downcast_ref()),
        Some(-1022),
        "{forged:#}"
    );

    let ledger = sim.orders();
    assert_eq!(ledger.len(), 2);
    let (l, m) = (&ledger[0], &ledger[1]);
    assert_eq!(
        (l.order_id, l.client_order_id.as_str(), l.status.as_str()),
        (limit_id, "sdk-limit-1", "CANCELED")
    );
    assert_eq!(
        (l.order_type.as_str(), l.price),
        ("LIMIT", Some(d("30000")))
    );
    assert_eq!(
        (m.order_id, m.order_type.as_str(), m.status.as_str()),
        (market.order_id.unwrap(), "MARKET", "FILLED")
    );
    assert_eq!(sim.spot_free(DEMO, "BTC"), d("0.501"));
    assert_eq!(sim.spot_free(DEMO, "USDT"), d("9940"));
    assert_eq!(sim.spot_locked(DEMO, "USDT"), Decimal::ZERO);
    sim.shutdown().await;
}
