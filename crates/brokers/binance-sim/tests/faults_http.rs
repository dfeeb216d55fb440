//! `/_sim/faults` over real HTTP: faults queued and a random rate set by a
//! client outside the simulator fire on orders and are counted.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn faults(e: &Env, method: Method, body: Option<Value>) -> (u16, Value) {
    let mut req = e
        .http
        .request(method, format!("{}/_sim/faults", e.sim.base_url()));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn queued_and_random_faults_fire_on_orders_and_are_counted() {
    let e = env().await;
    let (status, shown) = faults(
        &e,
        Method::POST,
        Some(json!({"queue": [{"kind": "server_error_before"}, {"kind": "latency", "ms": 10}]})),
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["queue"].as_array().unwrap().len(), 2);

    let order = |qty| market_buy(qty);
    let a = e
        .signed(Method::POST, "/api/v3/order", &order("0.001"))
        .await;
    assert_eq!((a.status, a.code()), (500, -1001), "{:?}", a.body);
    let b = e
        .signed(Method::POST, "/api/v3/order", &order("0.001"))
        .await;
    assert_eq!(b.status, 200, "latency still executes");
    assert_eq!(e.sim.orders().len(), 1, "the 5xx-before placed nothing");

    let (_, shown) = faults(&e, Method::GET, None).await;
    assert_eq!(shown["fired"]["server_error_before"], 1);
    assert_eq!(shown["fired"]["latency"], 1);
    assert_eq!(shown["queue"], json!([]));

    let (_, shown) = faults(
        &e,
        Method::POST,
        Some(json!({"random": {"rate": 1.0, "kind": "server_error_after"}})),
    )
    .await;
    assert_eq!(shown["random"]["rate"], 1.0);
    let c = e
        .signed(Method::POST, "/api/v3/order", &order("0.001"))
        .await;
    assert_eq!((c.status, c.code()), (503, -1007), "{:?}", c.body);
    assert_eq!(e.sim.orders().len(), 2, "the 5xx-after executed");

    let (_, shown) = faults(&e, Method::DELETE, None).await;
    assert_eq!(shown["random"], Value::Null);
    assert_eq!(shown["fired"]["server_error_after"], 1);
    assert_eq!(shown["fired_total"], 3);
    let d = e
        .signed(Method::POST, "/api/v3/order", &order("0.001"))
        .await;
    assert_eq!(d.status, 200, "cleared");
    assert_eq!(e.sim.faults().fired_total(), 3);
}

#[tokio::test]
async fn a_bad_fault_body_is_a_400_saying_what_is_wrong() {
    let e = env().await;
    let (status, body) = faults(&e, Method::POST, Some(json!({"queue": [{"kind": "nap"}]}))).await;
    assert_eq!(status, 400);
    let why = body["error"].as_str().unwrap();
    assert!(why.contains("unknown fault kind `nap`"), "{why}");
    assert_eq!(e.sim.faults().pending(), 0, "nothing queued");
}
