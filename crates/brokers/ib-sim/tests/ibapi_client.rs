//! A maintained third-party client, the `ibapi` crate (5.5.0, pinned in
//! Cargo.toml; protobuf era, server version 226), drives the simulator with
//! nothing changed but its address: the handshake, managed accounts,
//! contract details, positions, a market order that fills (order update
//! stream), a resting limit order, open / all open / completed orders,
//! executions, account summary, updates and updates multi, a cancel, a future by con id
//! (fill, and 110 off the tick), and a second client id in use (326). Everything ibapi parsed must agree with the simulator's
//! ledger.

mod common;

use common::{WAIT, start_demo};
use futures::{Stream, StreamExt};
use ibapi::orders::{CancelOrder, Executions, OrderStatusKind};
use ibapi::prelude::{
    AccountGroup, AccountId, AccountSummaryResult, AccountUpdate, AccountUpdateMulti, Action,
    Client, Contract, ExecutionFilter, OrderUpdate, Orders, PlaceOrder, PositionUpdate,
    SubscriptionItem, SubscriptionItemStreamExt, order_builder,
};

const ACCOUNT: &str = "DU1234567";

/// Every data item of a subscription up to its end.
async fn collect<T, S>(mut stream: S) -> Vec<T>
where
    S: Stream<Item = Result<T, ibapi::Error>> + Unpin,
{
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(item))) => out.push(item),
            Ok(Some(Err(ibapi::Error::EndOfStream))) | Ok(None) => return out,
            Ok(Some(Err(e))) => panic!("subscription failed: {e:?}"),
            Err(_) => panic!("the subscription did not end within {WAIT:?}"),
        }
    }
}

/// Positions up to PositionEnd (the subscription stays open for changes).
async fn positions(client: &Client) -> Vec<(String, i32, f64, f64)> {
    let mut stream = client.positions().await.unwrap().filter_data();
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(PositionUpdate::Position(p)))) => out.push((
                p.account.clone(),
                p.contract.contract_id,
                p.position,
                p.average_cost,
            )),
            Ok(Some(Ok(PositionUpdate::PositionEnd))) => return out,
            other => panic!("positions: {other:?}"),
        }
    }
}

/// The next item a stream yields that `pick` accepts.
async fn wait_for<T, R, S>(stream: &mut S, what: &str, pick: impl Fn(&T) -> Option<R>) -> R
where
    S: Stream<Item = Result<T, ibapi::Error>> + Unpin,
    T: std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        match next {
            Ok(Some(Ok(item))) => {
                if let Some(r) = pick(&item) {
                    return r;
                }
            }
            Ok(other) => panic!("{what}: stream ended: {other:?}"),
            Err(_) => panic!("{what}: not seen within {WAIT:?}"),
        }
    }
}

#[tokio::test]
async fn ibapi_connects_reads_trades_and_cancels() {
    let sim = start_demo().await;
    let addr = sim.socket_addr().to_string();
    let client = tokio::time::timeout(WAIT, Client::connect(&addr, 100))
        .await
        .expect("connects in time")
        .expect("ibapi connects to the simulator");
    assert_eq!(client.server_version(), 226);
    assert_eq!(
        client.handshake_managed_accounts(),
        ["DU1234567", "DU7654321"]
    );
    assert_eq!(
        client.managed_accounts().await.unwrap(),
        ["DU1234567", "DU7654321"]
    );
    assert!(
        client.connection_time().is_some(),
        "the hello's time parses"
    );

    // Contract details: one stock, every listed MNQ expiry.
    let aapl = client
        .contract_details(&Contract::stock("AAPL").build())
        .await
        .unwrap();
    assert_eq!(aapl.len(), 1);
    assert_eq!(aapl[0].contract.contract_id, 265598);
    assert_eq!(aapl[0].contract.primary_exchange.as_str(), "NASDAQ");
    assert_eq!(aapl[0].min_tick, 0.01);
    let mnq = client
        .contract_details(&Contract::futures("MNQ").any_month().build())
        .await
        .unwrap();
    let catalogue = sim.catalogue();
    let listed: Vec<&str> = catalogue
        .iter()
        .filter(|e| e.contract().symbol == "MNQ")
        .map(|e| e.contract().local_symbol.as_str())
        .collect();
    let seen: Vec<&str> = mnq
        .iter()
        .map(|d| d.contract.local_symbol.as_str())
        .collect();
    assert_eq!(seen, listed);
    assert!(
        mnq.iter()
            .all(|d| d.min_tick == 0.25 && d.contract.multiplier == "2")
    );

    // No positions yet.
    assert_eq!(positions(&client).await, []);

    // A market order with account and order ref fills (order update stream).
    let mut updates = client.order_update_stream().await.unwrap().filter_data();
    let stock = Contract::stock("AAPL").build();
    let mut mkt = order_builder::market_order(Action::Buy, 10.0);
    mkt.account = ACCOUNT.into();
    mkt.order_ref = "ibapi-mkt".into();
    let mkt_id = client.next_order_id();
    client.submit_order(mkt_id, &stock, &mkt).await.unwrap();
    let exec = wait_for(&mut updates, "the fill", |u| match u {
        OrderUpdate::ExecutionData(e) if e.execution.order_id == mkt_id => Some(e.clone()),
        _ => None,
    })
    .await;
    assert_eq!(exec.execution.order_reference, "ibapi-mkt");
    assert_eq!((exec.execution.shares, exec.execution.price), (10.0, 230.0));
    assert_eq!(exec.execution.account_number, ACCOUNT);
    let filled = wait_for(&mut updates, "Filled", |u| match u {
        OrderUpdate::OrderStatus(s)
            if s.order_id == mkt_id && s.status == OrderStatusKind::Filled =>
        {
            Some(s.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!((filled.filled, filled.remaining), (10.0, 0.0));
    assert_eq!(filled.average_fill_price, Some(230.0));
    let commission = wait_for(&mut updates, "the commission", |u| match u {
        OrderUpdate::CommissionReport(c) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert_eq!(commission.execution_id, exec.execution.execution_id);
    assert_eq!(commission.commission, 1.0);

    // A resting limit order (place_order's own subscription).
    let mut lmt = order_builder::limit_order(Action::Buy, 5.0, 200.0);
    lmt.account = ACCOUNT.into();
    lmt.order_ref = "ibapi-lmt".into();
    let lmt_id = client.next_order_id();
    assert!(lmt_id > mkt_id);
    let mut placed = client
        .place_order(lmt_id, &stock, &lmt)
        .await
        .unwrap()
        .filter_data();
    wait_for(&mut placed, "Submitted", |p| match p {
        PlaceOrder::OrderStatus(s) if s.status == OrderStatusKind::Submitted => Some(()),
        _ => None,
    })
    .await;
    drop(placed);

    let ledger = sim.orders();
    assert_eq!(ledger.len(), 2);
    let (m, l) = (&ledger[0], &ledger[1]);
    assert_eq!(
        (
            m.order_id,
            m.client_id,
            m.account.as_str(),
            m.order_ref.as_str(),
            m.status.as_str()
        ),
        (mkt_id, 100, ACCOUNT, "ibapi-mkt", "Filled")
    );
    assert_eq!(m.perm_id, exec.execution.perm_id);
    assert_eq!(
        (l.order_id, l.status.as_str(), l.limit_price),
        (lmt_id, "Submitted", Some(200.0))
    );

    // Open orders, this client's and everyone's: the limit order only.
    for all in [false, true] {
        let sub = if all {
            client.all_open_orders().await
        } else {
            client.open_orders().await
        };
        let open = collect(sub.unwrap().filter_data()).await;
        let refs: Vec<(i32, String)> = open
            .iter()
            .filter_map(|o| match o {
                Orders::OrderData(d) => Some((d.order_id, d.order.order_ref.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(refs, [(lmt_id, "ibapi-lmt".to_string())], "all={all}");
    }

    // The filled order among completed orders and executions.
    let completed = collect(client.completed_orders(false).await.unwrap().filter_data()).await;
    let done: Vec<_> = completed
        .iter()
        .filter_map(|o| match o {
            Orders::OrderData(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 1, "{completed:?}");
    assert_eq!(done[0].order.order_ref, "ibapi-mkt");
    assert_eq!(done[0].order_state.status, OrderStatusKind::Filled);
    assert!(!done[0].order_state.completed_time.is_empty());
    let executions = collect(
        client
            .executions(ExecutionFilter {
                symbol: "AAPL".into(),
                ..ExecutionFilter::default()
            })
            .await
            .unwrap()
            .filter_data(),
    )
    .await;
    let found: Vec<_> = executions
        .iter()
        .filter_map(|e| match e {
            Executions::ExecutionData(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].execution.order_reference, "ibapi-mkt");
    assert_eq!(
        found[0].execution.execution_id,
        sim.executions()[0].execution.exec_id
    );

    // Positions now hold the shares.
    let held = positions(&client).await;
    assert_eq!(held, [(ACCOUNT.to_string(), 265598, 10.0, 230.0)]);

    // Account summary and account updates agree with the ledger.
    let mut summary = client
        .account_summary(
            &AccountGroup("All".into()),
            &["NetLiquidation", "TotalCashValue"],
        )
        .await
        .unwrap()
        .filter_data();
    let mut rows = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, summary.next()).await {
            Ok(Some(Ok(AccountSummaryResult::Summary(r)))) => {
                rows.push((r.account, r.tag, r.value, r.currency))
            }
            Ok(Some(Ok(AccountSummaryResult::End))) => break,
            other => panic!("account summary: {other:?}"),
        }
    }
    let cash = format!("{:.2}", sim.cash(ACCOUNT));
    let nlv = format!("{:.2}", sim.net_liquidation(ACCOUNT));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.contains(&(
        ACCOUNT.into(),
        "TotalCashValue".into(),
        cash.clone(),
        "USD".into()
    )));
    assert!(rows.contains(&(ACCOUNT.into(), "NetLiquidation".into(), nlv, "USD".into())));
    drop(summary);
    let mut updates_sub = client
        .account_updates(&AccountId(ACCOUNT.into()))
        .await
        .unwrap()
        .filter_data();
    let (mut values, mut portfolio) = (Vec::new(), Vec::new());
    loop {
        match tokio::time::timeout(WAIT, updates_sub.next()).await {
            Ok(Some(Ok(AccountUpdate::AccountValue(v)))) => {
                values.push((v.key, v.value, v.currency))
            }
            Ok(Some(Ok(AccountUpdate::PortfolioValue(p)))) => {
                portfolio.push((p.contract.contract_id, p.position, p.market_price))
            }
            Ok(Some(Ok(AccountUpdate::UpdateTime(_)))) => {}
            Ok(Some(Ok(AccountUpdate::End))) => break,
            other => panic!("account updates: {other:?}"),
        }
    }
    assert!(
        values.contains(&("TotalCashValue".into(), cash, "USD".into())),
        "{values:?}"
    );
    assert_eq!(portfolio, [(265598, 10.0, 230.0)]);
    drop(updates_sub);

    // Account updates multi for every account (no account, no model);
    // ibapi always asks for the ledger and net liquidation only.
    let mut multi_sub = client
        .account_updates_multi(None, None)
        .await
        .unwrap()
        .filter_data();
    let mut multi = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, multi_sub.next()).await {
            Ok(Some(Ok(AccountUpdateMulti::AccountMultiValue(v)))) => {
                multi.push((v.account, v.model_code, v.key, v.value, v.currency))
            }
            Ok(Some(Ok(AccountUpdateMulti::End))) => break,
            other => panic!("account updates multi: {other:?}"),
        }
    }
    let nlv = format!("{:.2}", sim.net_liquidation(ACCOUNT));
    let row = |a: &str, k: &str, v: &str, c: &str| {
        (
            a.to_string(),
            String::new(),
            k.to_string(),
            v.to_string(),
            c.to_string(),
        )
    };
    assert!(
        multi.contains(&row(ACCOUNT, "NetLiquidation", &nlv, "USD")),
        "{multi:?}"
    );
    assert!(multi.contains(&row("DU7654321", "CashBalance", "100000.00", "BASE")));
    assert!(
        multi.iter().all(|(_, _, key, _, _)| key != "BuyingPower"),
        "ledger and NLV only: {multi:?}"
    );
    drop(multi_sub);

    // Cancel the limit order.
    let mut cancel = client.cancel_order(lmt_id, "").await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, cancel.next()).await {
            Ok(Some(Ok(SubscriptionItem::Data(CancelOrder::OrderStatus(s)))))
                if s.status == OrderStatusKind::Cancelled =>
            {
                break;
            }
            Ok(Some(Ok(SubscriptionItem::Notice(n)))) if n.is_cancellation() => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("no cancel confirmation: {other:?}"),
        }
    }
    assert_eq!(sim.orders()[1].status, "Cancelled");

    // A future by con id on the second account: a market order fills at the
    // mark; a limit off the 0.25 tick is refused with 110.
    let front = Contract {
        contract_id: mnq[0].contract.contract_id,
        exchange: "CME".into(),
        ..Contract::default()
    };
    let mut fut = order_builder::market_order(Action::Sell, 2.0);
    fut.account = "DU7654321".into();
    let fut_id = client.next_order_id();
    client.submit_order(fut_id, &front, &fut).await.unwrap();
    wait_for(&mut updates, "the future's fill", |u| match u {
        OrderUpdate::OrderStatus(s)
            if s.order_id == fut_id && s.status == OrderStatusKind::Filled =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    let filled = sim
        .orders()
        .into_iter()
        .find(|o| o.order_id == fut_id)
        .unwrap();
    assert_eq!(
        (
            filled.contract.symbol.as_str(),
            filled.account.as_str(),
            filled.avg_price
        ),
        ("MNQ", "DU7654321", 21000.0)
    );
    let mut off_tick = order_builder::limit_order(Action::Buy, 1.0, 21000.1);
    off_tick.account = "DU7654321".into();
    let off_id = client.next_order_id();
    let mut refused = client.place_order(off_id, &front, &off_tick).await.unwrap();
    let code = match tokio::time::timeout(WAIT, refused.next()).await {
        Ok(Some(Ok(SubscriptionItem::Notice(n)))) | Ok(Some(Err(ibapi::Error::Notice(n)))) => {
            n.code
        }
        other => panic!("no refusal: {other:?}"),
    };
    assert_eq!(code, 110);
    assert!(!sim.orders().iter().any(|o| o.order_id == off_id));

    // A second connection with client id 100 is refused with 326.
    let second = tokio::time::timeout(WAIT, Client::connect(&addr, 100))
        .await
        .expect("answered in time");
    match second {
        Err(ibapi::Error::ClientIdInUse { client_id }) => assert_eq!(client_id, 100),
        Err(e) => panic!("expected ClientIdInUse, got {e:?}"),
        Ok(_) => panic!("a second client with id 100 connected"),
    }
    assert_eq!(sim.api_connections(), 1);
    drop(client);
    sim.shutdown().await;
}
