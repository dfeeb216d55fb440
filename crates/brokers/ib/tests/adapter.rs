//! The IB adapter against the simulated Gateway, in both protocol eras:
//! Test Connection, instruments, orders found by `orderRef`, positions.

mod common;

use atomik_broker::{Broker, BrokerError, OrderRequest, OrderState, OrderType, Side};
use common::*;
use rust_decimal::Decimal;

fn order(coid: &str, instrument: &atomik_broker::Instrument, side: Side, qty: i64) -> OrderRequest {
    OrderRequest {
        created_at_ms: 0,
        alert_price: None,
        quantity_unit: atomik_broker::QuantityUnit::Units,
        prepared: None,
        client_order_id: coid.into(),
        instrument: instrument.clone(),
        side,
        quantity: Decimal::from(qty),
        order_type: OrderType::Market,
        reduce_only: false,
    }
}

#[tokio::test]
async fn test_connection_reports_version_accounts_and_balances_in_both_eras() {
    for range in ERAS {
        let gw = gateway(range).await;
        let report = gw.ib.test_connection(&gw.session(7)).await.unwrap();
        let ids: Vec<_> = report
            .accounts
            .iter()
            .map(|a| (a.id.as_str(), a.active))
            .collect();
        assert_eq!(
            ids,
            [("DU1234567", true), ("DU7654321", false)],
            "{range:?}"
        );
        assert!(report.can_trade, "{range:?}: {:?}", report.notes);
        assert_eq!(report.balances[0].currency, "USD");
        assert_eq!(report.balances[0].amount, Decimal::from(1_000_000));
        let version = format!("server version {}", range.1);
        assert!(
            report.notes[0].contains(&version),
            "{range:?}: {:?}",
            report.notes
        );
        let era = if range.1 >= 213 { "protobuf" } else { "text" };
        assert!(report.notes[0].contains(era), "{:?}", report.notes);
        // The read-only check placed a what-if order: nothing executed.
        assert!(gw.sim.executions().is_empty());
    }
}

#[tokio::test]
async fn what_cannot_work_is_explained_at_test_connection() {
    let gw = gateway(PROTOBUF).await;
    // An account the Gateway does not manage.
    let err = gw
        .ib
        .test_connection(&gw.session_for(7, "U999"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("U999") && text.contains("DU1234567, DU7654321"),
        "{text}"
    );

    // A client id already in use by another program.
    let other = atomik_ib::InteractiveBrokers::new(
        fast_config(),
        std::sync::Arc::new(atomik_broker::SystemClock),
    );
    other.test_connection(&gw.session(9)).await.unwrap();
    let err = gw.ib.test_connection(&gw.session(9)).await.unwrap_err();
    assert!(matches!(err, BrokerError::Misconfigured(_)), "{err:?}");
    assert!(
        err.to_string().contains("326") && err.to_string().contains("client id 9"),
        "{err}"
    );

    // Read-only API: tested fine, but no trading.
    gw.sim.faults().set_read_only(true);
    let report = gw.ib.test_connection(&gw.session(7)).await.unwrap();
    assert!(!report.can_trade);
    assert!(
        report.notes.iter().any(|n| n.contains("Read-Only API")),
        "{:?}",
        report.notes
    );
    assert!(gw.sim.faults().fired(atomik_ib_sim::fault_kind::READ_ONLY) >= 1);
    gw.sim.faults().set_read_only(false);

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let session = atomik_broker::Session::Socket {
        host: "127.0.0.1".into(),
        port,
        client_id: 7,
        account: ACCOUNT.into(),
    };
    let err = gw.ib.test_connection(&session).await.unwrap_err();
    assert!(matches!(err, BrokerError::NotSent(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("Enable ActiveX and Socket Clients"),
        "{err}"
    );
}

#[tokio::test]
async fn instruments_resolve_as_traders_name_them() {
    let gw = gateway_with(PROTOBUF, |c| c.front_expires_in_days = Some(2)).await;
    let s = gw.session(7);
    let aapl = gw.ib.resolve_instrument(&s, "AAPL").await.unwrap();
    assert_eq!(aapl.symbol, "AAPL");
    let con_id = gw.sim.con_id("AAPL").expect("AAPL in the catalogue");
    assert_eq!(
        aapl.broker_id.as_deref(),
        Some(format!("{con_id}@SMART").as_str())
    );

    // The front month is the one expiring in two days; the second is next.
    let front = gw.ib.resolve_instrument(&s, "MNQ1!").await.unwrap();
    let same = gw
        .ib
        .resolve_instrument(&s, "CME_MINI:MNQ1!")
        .await
        .unwrap();
    let root = gw.ib.resolve_instrument(&s, "MNQ").await.unwrap();
    let next = gw.ib.resolve_instrument(&s, "MNQ2!").await.unwrap();
    assert_eq!(front, same);
    assert_eq!(front, root);
    assert!(
        front.symbol.starts_with("MNQ") && front.symbol != next.symbol,
        "{front:?} {next:?}"
    );
    let expiries: Vec<_> = gw
        .sim
        .catalogue()
        .into_iter()
        .filter(|e| e.contract().symbol == "MNQ")
        .map(|e| {
            (
                e.contract().last_trade_date_or_contract_month.clone(),
                e.contract().local_symbol.clone(),
            )
        })
        .collect();
    let mut sorted = expiries.clone();
    sorted.sort();
    assert_eq!(front.symbol, sorted[0].1, "front month of {sorted:?}");
    assert_eq!(next.symbol, sorted[1].1);

    let eur = gw.ib.resolve_instrument(&s, "EURUSD").await.unwrap();
    assert_eq!(eur.symbol, "EUR.USD");
    let option = gw
        .ib
        .resolve_instrument(&s, "AAPL  261218C00200000")
        .await
        .unwrap();
    assert_eq!(option.symbol, "AAPL  261218C00200000");

    let err = gw.ib.resolve_instrument(&s, "ZZZZ").await.unwrap_err();
    assert!(
        err.to_string().contains("no contract for \"ZZZZ\""),
        "{err}"
    );
}

#[tokio::test]
async fn orders_carry_the_account_and_order_ref_and_are_found_again_in_both_eras() {
    for range in ERAS {
        let gw = gateway(range).await;
        let s = gw.session(7);
        let mnq = gw.ib.resolve_instrument(&s, "MNQ1!").await.unwrap();
        let ack = gw
            .ib
            .place_order(&s, &account(), &order("coid-buy-1", &mnq, Side::Buy, 2))
            .await
            .unwrap();
        let placed = gw.sim.orders();
        assert_eq!(placed.len(), 1, "{range:?}");
        assert_eq!(placed[0].order_ref, "coid-buy-1");
        assert_eq!(placed[0].account, ACCOUNT);
        assert_eq!(placed[0].order_id.to_string(), ack.broker_order_id);
        eventually("the fill", || gw.sim.orders()[0].status == "Filled").await;

        // The position reflects the fill (never the position before it).
        let held = gw.ib.position(&s, &account(), &mnq).await.unwrap();
        assert_eq!(held, Decimal::from(2), "{range:?}");

        let found = gw
            .ib
            .order_by_client_id(&s, &account(), &mnq.symbol, "coid-buy-1")
            .await
            .unwrap()
            .expect("the filled order is found");
        assert_eq!(found.state, OrderState::Filled, "{range:?}");
        assert_eq!(found.filled_quantity, Decimal::from(2));
        assert_eq!(found.broker_order_id, ack.broker_order_id);

        // A resting limit order is found among open orders, then cancelled.
        let aapl = gw.ib.resolve_instrument(&s, "AAPL").await.unwrap();
        let mut resting = order("coid-lmt-1", &aapl, Side::Buy, 5);
        resting.order_type = OrderType::Limit {
            price: Decimal::from(100),
        };
        let ack = gw.ib.place_order(&s, &account(), &resting).await.unwrap();
        let open = gw
            .ib
            .order_by_client_id(&s, &account(), "AAPL", "coid-lmt-1")
            .await
            .unwrap()
            .expect("the resting order is found");
        assert_eq!(open.state, OrderState::Working, "{range:?}");
        gw.ib
            .cancel_order(&s, &account(), "AAPL", &ack.broker_order_id)
            .await
            .unwrap();
        let cancelled = gw
            .ib
            .order_by_client_id(&s, &account(), "AAPL", "coid-lmt-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cancelled.state, OrderState::Canceled, "{range:?}");

        // Never placed: not found.
        let none = gw
            .ib
            .order_by_client_id(&s, &account(), "AAPL", "never-sent")
            .await
            .unwrap();
        assert!(none.is_none());

        let positions = gw.ib.positions(&s, &account()).await.unwrap();
        assert_eq!(positions.len(), 1, "{positions:?}");
        assert_eq!(positions[0].symbol, mnq.symbol);
    }
}

#[tokio::test]
async fn refusals_keep_ibs_words() {
    let gw = gateway(PROTOBUF).await;
    let s = gw.session(7);
    let aapl = gw.ib.resolve_instrument(&s, "AAPL").await.unwrap();
    let mut off_tick = order("coid-tick", &aapl, Side::Buy, 1);
    off_tick.order_type = OrderType::Limit {
        price: Decimal::new(100_005, 3),
    };
    let err = gw
        .ib
        .place_order(&s, &account(), &off_tick)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BrokerError::Rejected { code: Some(c), .. } if c == "110"),
        "{err:?}"
    );
    assert!(err.to_string().contains("minimum price variation"), "{err}");

    gw.sim.faults().set_read_only(true);
    let err = gw
        .ib
        .place_order(&s, &account(), &order("coid-ro", &aapl, Side::Buy, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::NeedsAttention(_)), "{err:?}");
    assert!(err.to_string().contains("Read-Only"), "{err}");
}
