//! Faults at the socket level (both eras) and the HTTP side: each fault
//! fires, is counted, and leaves the ledger the truth to look up.

mod common;

use std::time::{Duration, Instant};

use atomik_ib_proto::{Event, ExecutionFilter, Request};
use atomik_ib_sim::fault_kind;
use common::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "DU1234567";

#[tokio::test]
async fn a_connection_dropped_after_accept_leaves_the_order_in_the_ledger() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 21).await;
        sim.faults().drop_after_accept_next(1);
        raw.send(&place(
            next,
            stock("MSFT"),
            order("BUY", 3, None, ACCOUNT, "lost-1"),
        ))
        .await;
        let seen = raw.until_closed().await;
        assert!(
            !seen.iter().any(|e| matches!(
                e,
                Event::OrderStatus { .. } | Event::OpenOrder { .. } | Event::ExecDetails { .. }
            )),
            "{range:?}: nothing about the order before the drop: {seen:?}"
        );
        assert_eq!(sim.faults().fired(fault_kind::DROP_AFTER_ACCEPT), 1);
        let ledger = sim.orders();
        assert_eq!(ledger.len(), 1);
        assert_eq!(
            (ledger[0].status.as_str(), ledger[0].order_ref.as_str()),
            ("Filled", "lost-1")
        );

        // The same client id reconnects at once and finds the order.
        let (mut raw, next_after) = Raw::connect(sim.socket_addr(), range, 21).await;
        assert_eq!(next_after, next + 1, "the used id stays used");
        raw.send(&Request::ReqCompletedOrders { api_only: true })
            .await;
        let done = raw.until(|e| *e == Event::CompletedOrdersEnd).await;
        assert!(
            done.iter()
                .any(|e| matches!(e, Event::CompletedOrder { order, state, .. }
            if order.order_ref == "lost-1" && state.status == "Filled")),
            "{done:?}"
        );
        raw.send(&Request::ReqExecutions {
            req_id: 1,
            filter: ExecutionFilter {
                client_id: Some(21),
                ..ExecutionFilter::default()
            },
        })
        .await;
        let execs = raw
            .until(|e| *e == Event::ExecDetailsEnd { req_id: 1 })
            .await;
        assert!(
            execs
                .iter()
                .any(|e| matches!(e, Event::ExecDetails { execution, .. }
            if execution.order_ref == "lost-1" && execution.order_id == next))
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_seeded_drop_rate_fires_and_is_counted() {
    let sim = start_demo().await;
    sim.faults().drop_after_accept_randomly(1.0, 42);
    let (mut raw, next) = Raw::connect(sim.socket_addr(), PROTOBUF, 1).await;
    raw.send(&place(
        next,
        stock("SPY"),
        order("SELL", 1, None, ACCOUNT, ""),
    ))
    .await;
    raw.until_closed().await;
    assert_eq!(sim.faults().fired(fault_kind::DROP_AFTER_ACCEPT), 1);
    sim.faults().drop_after_accept_randomly(0.0, 0);
    let (mut raw, next) = Raw::connect(sim.socket_addr(), PROTOBUF, 1).await;
    raw.send(&place(
        next,
        stock("SPY"),
        order("BUY", 1, None, ACCOUNT, ""),
    ))
    .await;
    raw.until(status_is(next, "Filled")).await;
    assert_eq!(sim.faults().fired(fault_kind::DROP_AFTER_ACCEPT), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_gateway_restart_refuses_then_accepts_and_keeps_ledger_and_ids() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 5).await;
        raw.send(&place(
            next,
            stock("QQQ"),
            order("BUY", 2, None, ACCOUNT, "before"),
        ))
        .await;
        raw.until(status_is(next, "Filled")).await;

        sim.restart(Duration::from_millis(400));
        raw.until_closed().await;
        assert_eq!(sim.api_connections(), 0);
        assert!(
            Raw::hello(sim.socket_addr(), range).await.is_err(),
            "refused while restarting"
        );
        assert!(sim.faults().fired(fault_kind::REFUSED_CONNECTION) >= 1);
        // Accepting again within a few seconds (retrying as a client would).
        let deadline = Instant::now() + WAIT;
        let mut raw = loop {
            if Raw::hello(sim.socket_addr(), range).await.is_ok() {
                break Raw::connect(sim.socket_addr(), range, 5).await;
            }
            assert!(Instant::now() < deadline, "the Gateway never came back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(raw.1, next + 1, "order ids survive the restart");
        raw.0.send(&Request::ReqPositions).await;
        let positions = raw.0.until(|e| *e == Event::PositionEnd).await;
        let kept = positions
            .iter()
            .filter(|e| matches!(e, Event::Position { contract, .. } if contract.symbol == "QQQ"))
            .count();
        assert_eq!(kept, 1, "the QQQ position survives: {positions:?}");
        assert_eq!(sim.faults().fired(fault_kind::RESTART), 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn connectivity_lost_then_restored_and_orders_meanwhile_are_rejected() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 8).await;
        sim.lose_connectivity(Duration::from_millis(300));
        raw.until(is_error(1100)).await;
        raw.send(&place(
            next,
            stock("TSLA"),
            order("BUY", 1, None, ACCOUNT, ""),
        ))
        .await;
        let e = raw.until(is_error(201)).await;
        assert!(matches!(e.last(), Some(Event::Error { id, message, .. })
            if *id == next && message.contains("Connectivity between IB and Trader Workstation has been lost")));
        let restored = raw.until(is_error(1102)).await;
        assert!(matches!(restored.last(), Some(Event::Error { message, .. })
            if message == "Connectivity between IB and Trader Workstation has been restored - data maintained."));
        raw.send(&place(
            next + 1,
            stock("TSLA"),
            order("BUY", 1, None, ACCOUNT, ""),
        ))
        .await;
        raw.until(status_is(next + 1, "Filled")).await;
        assert_eq!(sim.faults().fired(fault_kind::CONNECTIVITY_LOST), 1);
        assert_eq!(sim.faults().fired(fault_kind::REJECTED_WHILE_LOST), 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn status_messages_can_be_delayed() {
    let sim = start_demo().await;
    let (mut raw, next) = Raw::connect(sim.socket_addr(), PROTOBUF, 1).await;
    sim.faults().set_status_delay(Duration::from_millis(300));
    let sent = Instant::now();
    raw.send(&place(
        next,
        stock("AAPL"),
        order("BUY", 1, None, ACCOUNT, ""),
    ))
    .await;
    raw.until(status_is(next, "Filled")).await;
    assert!(
        sent.elapsed() >= Duration::from_millis(300),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(sim.orders()[0].status, "Filled", "executed at once");
    assert_eq!(sim.faults().fired(fault_kind::STATUS_DELAY), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_http_side_shows_the_ledger_moves_marks_and_sets_faults() {
    let sim = start_demo().await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.http_base_url());
    let (mut raw, next) = Raw::connect(sim.socket_addr(), TEXT, 2).await;
    raw.send(&place(
        next,
        stock("AAPL"),
        order("BUY", 4, Some(220.0), ACCOUNT, "rest"),
    ))
    .await;
    raw.until(status_is(next, "Submitted")).await;

    // The mark falls through the limit: the order fills at its limit.
    let r = http
        .post(url("/_sim/prices"))
        .json(&json!({"symbol": "AAPL", "price": 219.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    raw.until(status_is(next, "Filled")).await;
    let orders: Value = http
        .get(url("/_sim/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let o = &orders[0];
    assert_eq!(
        (
            &o["order_ref"],
            &o["status"],
            &o["avg_price"],
            &o["filled"],
            &o["client_id"],
            &o["local_symbol"]
        ),
        (
            &json!("rest"),
            &json!("Filled"),
            &json!(220.0),
            &json!(4.0),
            &json!(2),
            &json!("AAPL")
        )
    );
    assert_eq!(o["perm_id"], json!(sim.orders()[0].perm_id));
    let positions: Value = http
        .get(url("/_sim/positions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(positions[0]["position"], json!(4.0));
    assert_eq!(positions[0]["mark"], json!(219.5));

    // Faults over HTTP: set, read back, fire, clear.
    let r = http
        .post(url("/_sim/faults"))
        .json(&json!({"read_only": true, "drop_after_accept": {"next": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    raw.send(&place(
        next + 1,
        stock("AAPL"),
        order("BUY", 1, None, ACCOUNT, ""),
    ))
    .await;
    raw.until(is_error(321)).await;
    let shown: Value = http
        .get(url("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["settings"]["read_only"], json!(true));
    assert_eq!(shown["settings"]["drop_after_accept"]["next"], json!(2));
    assert_eq!(shown["fired"]["read_only"], json!(1));
    let cleared: Value = http
        .delete(url("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["settings"]["read_only"], json!(false));
    assert_eq!(cleared["fired"]["read_only"], json!(1), "counts stay");
    let bad = http
        .post(url("/_sim/faults"))
        .body(r#"{"reed_only": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = http
        .post(url("/_sim/prices"))
        .json(&json!({"symbol": "NOPE", "price": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // A restart over HTTP closes the connection.
    http.post(url("/_sim/faults"))
        .json(&json!({"restart": {"ms": 100}}))
        .send()
        .await
        .unwrap();
    raw.until_closed().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn refusing_connections_is_a_switch() {
    let sim = start_demo().await;
    let (mut open, _) = Raw::connect(sim.socket_addr(), TEXT, 1).await;
    sim.faults().set_refuse_connections(true);
    for range in [TEXT, PROTOBUF] {
        assert!(Raw::hello(sim.socket_addr(), range).await.is_err());
    }
    assert_eq!(sim.faults().fired(fault_kind::REFUSED_CONNECTION), 2);
    // A connection made before keeps working.
    open.send(&Request::ReqCurrentTime).await;
    open.until(|e| matches!(e, Event::CurrentTime { .. })).await;
    sim.faults().set_refuse_connections(false);
    let (_again, _) = Raw::connect(sim.socket_addr(), PROTOBUF, 2).await;

    // Connectivity loss over HTTP reaches every connection.
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.http_base_url()))
        .json(&json!({"connectivity_lost": {"ms": 100}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    open.until(is_error(1100)).await;
    open.until(is_error(1102)).await;
    sim.shutdown().await;
}
