//! Broker faults at the socket: every one fires (its counter says so) and
//! no order is lost or doubled — an unknown outcome is settled by looking
//! the order up by `orderRef`, never by sending it again blind.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{Broker, BrokerError, Instrument, OrderRequest, OrderType, Session, Side};
use atomik_ib::{InteractiveBrokers, LinkState};
use atomik_ib_sim::fault_kind;
use common::*;
use rust_decimal::Decimal;

fn buy(coid: String, instrument: &Instrument) -> OrderRequest {
    OrderRequest {
        created_at_ms: 0,
        alert_price: None,
        quantity_unit: atomik_broker::QuantityUnit::Units,
        prepared: None,
        client_order_id: coid,
        instrument: instrument.clone(),
        side: Side::Buy,
        quantity: Decimal::ONE,
        order_type: OrderType::Market,
        reduce_only: false,
    }
}

#[derive(Default, Debug)]
struct Tally {
    acked: usize,
    settled_by_lookup: usize,
    resent: usize,
}

/// What the engine does with one order: send; on an unknown outcome look it
/// up until the broker answers; send again only if the broker has no such
/// order; retry what was certainly not sent.
async fn exactly_once(
    ib: &InteractiveBrokers,
    s: &Session,
    order: OrderRequest,
    tally: &mut Tally,
) {
    loop {
        match ib.place_order(s, &account(), &order).await {
            Ok(_) => {
                tally.acked += 1;
                return;
            }
            Err(BrokerError::Ambiguous(_)) => loop {
                match ib
                    .order_by_client_id(
                        s,
                        &account(),
                        &order.instrument.symbol,
                        &order.client_order_id,
                    )
                    .await
                {
                    Ok(Some(_)) => {
                        tally.settled_by_lookup += 1;
                        return;
                    }
                    Ok(None) => {
                        tally.resent += 1;
                        break;
                    }
                    // Reconnecting: look again.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            },
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("order {} refused: {e}", order.client_order_id),
        }
    }
}

/// Each order reference exactly once in the simulator's ledger.
fn assert_each_once(gw: &Gateway, total: usize) {
    let refs: Vec<String> = gw.sim.orders().into_iter().map(|o| o.order_ref).collect();
    let unique: HashSet<&String> = refs.iter().collect();
    assert_eq!(unique.len(), refs.len(), "an order was placed twice");
    assert_eq!(refs.len(), total, "an order is missing");
}

async fn run(gw: &Arc<Gateway>, instrument: &Instrument, total: usize, workers: usize) -> Tally {
    let mut handles = Vec::new();
    for w in 0..workers {
        let gw = gw.clone();
        let instrument = instrument.clone();
        handles.push(tokio::spawn(async move {
            let s = gw.session(7);
            let mut tally = Tally::default();
            for i in (w..total).step_by(workers) {
                exactly_once(
                    &gw.ib,
                    &s,
                    buy(format!("coid-{i}"), &instrument),
                    &mut tally,
                )
                .await;
            }
            tally
        }));
    }
    let mut sum = Tally::default();
    for h in handles {
        let t = h.await.unwrap();
        sum.acked += t.acked;
        sum.settled_by_lookup += t.settled_by_lookup;
        sum.resent += t.resent;
    }
    sum
}

#[tokio::test]
async fn a_socket_dropped_after_acceptance_on_a_fifth_of_500_orders_leaves_each_exactly_once() {
    for range in [PROTOBUF, TEXT_178] {
        let gw = Arc::new(gateway(range).await);
        let mnq = gw
            .ib
            .resolve_instrument(&gw.session(7), "MNQ1!")
            .await
            .unwrap();
        gw.sim.faults().drop_after_accept_randomly(0.2, 42);
        let tally = run(&gw, &mnq, 500, 8).await;
        let dropped = gw.sim.faults().fired(fault_kind::DROP_AFTER_ACCEPT) as usize;
        assert!(dropped >= 60, "{range:?}: the fault fired {dropped} times");
        // Each dropped order was accepted: found by lookup. Other orders in
        // flight on the dropped socket were found too, or — never having
        // reached the Gateway — not found and sent again.
        assert!(tally.settled_by_lookup >= dropped, "{range:?}: {tally:?}");
        assert_eq!(tally.acked + tally.settled_by_lookup, 500, "{tally:?}");
        assert_each_once(&gw, 500);
    }
}

#[tokio::test]
async fn a_gateway_restart_mid_run_loses_and_doubles_nothing_and_recovers_by_itself() {
    let gw = Arc::new(gateway(PROTOBUF).await);
    let s = gw.session(7);
    let mnq = gw.ib.resolve_instrument(&s, "MNQ1!").await.unwrap();
    let running = tokio::spawn({
        let gw = gw.clone();
        let mnq = mnq.clone();
        async move { run(&gw, &mnq, 200, 4).await }
    });
    eventually("orders flowing", || gw.sim.orders().len() >= 50).await;
    gw.sim.restart(Duration::from_millis(300));
    // The outage shows on the account's status...
    eventually("the outage on the status", || {
        gw.ib.link_status(&s).unwrap().state == LinkState::Reconnecting
    })
    .await;
    let tally = running.await.unwrap();
    assert_eq!(gw.sim.faults().fired(fault_kind::RESTART), 1);
    assert!(
        gw.sim.faults().fired(fault_kind::REFUSED_CONNECTION) >= 1,
        "reconnects were refused during the restart"
    );
    // Orders in flight when the socket closed were looked up: found, or
    // (never having reached the Gateway) sent again — each exactly once.
    assert_eq!(tally.acked + tally.settled_by_lookup, 200, "{tally:?}");
    assert_each_once(&gw, 200);
    // ...and it recovered without anyone doing anything, the error kept.
    let status = gw.ib.link_status(&s).unwrap();
    assert_eq!(status.state, LinkState::Connected);
    assert!(status.last_error.is_some(), "{status:?}");
}

#[tokio::test]
async fn ib_connectivity_lost_pauses_sending_until_restored() {
    let gw = gateway(PROTOBUF).await;
    let s = gw.session(7);
    let aapl = gw.ib.resolve_instrument(&s, "AAPL").await.unwrap();
    gw.sim.lose_connectivity(Duration::from_millis(300));
    eventually("the 1100 notice", || {
        gw.ib.link_status(&s).unwrap().state == LinkState::IbUnreachable
    })
    .await;
    let mut paused = 0;
    loop {
        match gw
            .ib
            .place_order(&s, &account(), &buy("coid-lost".into(), &aapl))
            .await
        {
            Err(BrokerError::NotSent(why)) => {
                assert!(why.contains("1100"), "{why}");
                if paused == 0 {
                    let status = gw.ib.link_status(&s).unwrap();
                    assert_eq!(status.state, LinkState::IbUnreachable);
                }
                paused += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Ok(_) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(paused >= 1, "the 1100 notice paused sending");
    assert_eq!(
        gw.sim.faults().fired(fault_kind::REJECTED_WHILE_LOST),
        0,
        "nothing was sent while lost"
    );
    assert_each_once(&gw, 1);
}

#[tokio::test]
async fn pacing_is_respected_not_hit() {
    let gw = Arc::new(gateway(PROTOBUF).await);
    let aapl = gw
        .ib
        .resolve_instrument(&gw.session(7), "AAPL")
        .await
        .unwrap();
    // 150 orders at once on one connection: three seconds' worth at 50/s.
    let tally = run(&gw, &aapl, 150, 150).await;
    assert_eq!(tally.acked, 150);
    assert_eq!(
        gw.sim.faults().fired(fault_kind::PACING),
        0,
        "error 100 was hit"
    );
    assert_each_once(&gw, 150);
}

#[tokio::test]
async fn a_status_later_than_the_timeout_is_ambiguous_and_settled_by_lookup() {
    let mut gw = gateway(PROTOBUF).await;
    gw.ib = InteractiveBrokers::new(
        atomik_ib::IbConfig {
            request_timeout: Duration::from_millis(300),
            ..fast_config()
        },
        Arc::new(atomik_broker::SystemClock),
    );
    let s = gw.session(7);
    let aapl = gw.ib.resolve_instrument(&s, "AAPL").await.unwrap();
    gw.sim
        .faults()
        .set_status_delay(Duration::from_millis(1500));
    let err = gw
        .ib
        .place_order(&s, &account(), &buy("coid-late".into(), &aapl))
        .await
        .unwrap_err();
    assert!(matches!(err, BrokerError::Ambiguous(_)), "{err:?}");
    assert_eq!(gw.sim.faults().fired(fault_kind::STATUS_DELAY), 1);
    gw.sim.faults().set_status_delay(Duration::ZERO);
    let found = gw
        .ib
        .order_by_client_id(&s, &account(), "AAPL", "coid-late")
        .await
        .unwrap();
    assert!(
        found.is_some(),
        "the order IB took is found, not sent again"
    );
    assert_each_once(&gw, 1);
}
