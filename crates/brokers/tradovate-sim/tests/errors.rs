//! Whatever the simulator does not implement answers in Tradovate's error
//! shape (`{"errorText": …}`), never with an empty body.

use std::net::SocketAddr;
use std::sync::Arc;

use atomik_broker::SystemClock;
use atomik_tradovate_sim::{self as sim, SimConfig};
use serde_json::Value;

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_with_error_text() {
    let sim = sim::start(
        SimConfig::demo(Arc::new(SystemClock)),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::GET, "/v1/order/placeoso"),
        (reqwest::Method::POST, "/v1/order/liquidatePosition"),
        (reqwest::Method::DELETE, "/v1/auth/me"),
        (reqwest::Method::GET, "/nothing"),
    ] {
        let resp = http
            .request(method.clone(), format!("{}{path}", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        let text = body["errorText"].as_str().unwrap();
        assert!(
            text.contains(&path.to_ascii_lowercase()),
            "{method} {path}: {text}"
        );
    }
    sim.shutdown().await;
}
