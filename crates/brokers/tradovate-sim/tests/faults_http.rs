//! `/_sim/faults` over real HTTP: a fault queued by a client outside the
//! simulator fires on the next auth call and is counted; a random rate
//! fires too; DELETE clears; a bad body is a 400 saying what is wrong.

use std::net::SocketAddr;
use std::sync::Arc;

use atomik_broker::SystemClock;
use atomik_tradovate_sim::{self as sim, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn faults_set_over_http_fire_and_are_counted() {
    let sim = sim::start(
        SimConfig::demo(Arc::new(SystemClock)),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let faults = format!("{}/_sim/faults", sim.base_url());
    let token = format!("{}/auth/oauthtoken", sim.base_url());
    let (status, shown) = call(
        &http,
        Method::POST,
        &faults,
        Some(json!({"queue": [{"kind": "server_error_before"}]})),
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["queue"], json!([{"kind": "server_error_before"}]));

    // A token exchange (an auth call) gets the fault; the next one does not.
    let form = json!({"grant_type": "authorization_code", "code": "nope"});
    let (status, _) = call(&http, Method::POST, &token, Some(form.clone())).await;
    assert_eq!(status, 500);
    let (status, _) = call(&http, Method::POST, &token, Some(form.clone())).await;
    assert_eq!(status, 400, "the unknown code, no fault");

    call(
        &http,
        Method::POST,
        &faults,
        Some(json!({"random": {"rate": 1.0, "kinds": ["server_error_before"]}})),
    )
    .await;
    let (status, _) = call(&http, Method::POST, &token, Some(form.clone())).await;
    assert_eq!(status, 500, "the random rate fired");
    let (_, shown) = call(&http, Method::GET, &faults, None).await;
    assert_eq!(shown["fired"]["server_error_before"], 2);
    assert_eq!(
        shown["random"]["kinds"],
        json!([{"kind": "server_error_before"}])
    );

    let (_, shown) = call(&http, Method::DELETE, &faults, None).await;
    assert_eq!(shown["random"], Value::Null);
    let (status, _) = call(&http, Method::POST, &token, Some(form)).await;
    assert_eq!(status, 400, "cleared");
    assert_eq!(sim.faults().fired_total(), 2);

    let (status, body) = call(
        &http,
        Method::POST,
        &faults,
        Some(json!({"random": {"rate": "often", "kind": "drop_after"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("random.rate"),
        "{body}"
    );
    sim.shutdown().await;
}
