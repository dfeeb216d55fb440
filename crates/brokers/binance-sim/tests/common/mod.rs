//! What the simulator's HTTP tests share: a simulator on a manual clock,
//! raw and signed requests (the test signs itself, HMAC-SHA256 hex or
//! Ed25519 base64, as Binance's docs define them) and common order bodies.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_binance_sim::{self as sim, SimConfig};
use atomik_broker::{Clock, ManualClock};
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::Mac;
use reqwest::Method;
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde_json::Value;

/// 2026-11-24, a multiple of every window used here.
pub const T0: i64 = 1_795_500_000_000;
pub const DEMO: &str = SimConfig::DEMO_API_KEY;

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub struct Env {
    pub clock: ManualClock,
    pub sim: sim::SimHandle,
    pub http: reqwest::Client,
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn env_with(adjust: impl FnOnce(&mut SimConfig)) -> Env {
    let clock = ManualClock::new(T0);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut config = SimConfig::demo(shared);
    adjust(&mut config);
    let sim = sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    Env { clock, sim, http }
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

/// The client side of Binance signing: HMAC-SHA256 (hex) or Ed25519 (base64).
pub enum Signer {
    Hmac(Vec<u8>),
    Ed25519(Box<SigningKey>),
}

impl Signer {
    pub fn from_secret(secret: &str) -> Option<Signer> {
        Some(Signer::Hmac(secret.as_bytes().to_vec()))
    }

    pub fn sign(&self, payload: &[u8]) -> String {
        use base64::Engine;
        match self {
            Signer::Hmac(secret) => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
                mac.update(payload);
                hex::encode(mac.finalize().into_bytes())
            }
            Signer::Ed25519(key) => {
                base64::engine::general_purpose::STANDARD.encode(key.sign(payload).to_bytes())
            }
        }
    }
}

pub fn demo_signer() -> Signer {
    Signer::from_secret(SimConfig::DEMO_SECRET_KEY).unwrap()
}

pub fn encode(params: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(params).unwrap()
}

impl Env {
    /// Send exactly these bytes.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        query: &str,
        body: &str,
    ) -> reqwest::Result<Answer> {
        let url = format!("{}{path}?{query}", self.sim.base_url());
        let mut req = self.http.request(method, url);
        if let Some(key) = key {
            req = req.header("X-MBX-APIKEY", key);
        }
        if !body.is_empty() {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.to_string());
        }
        let resp = req.send().await?;
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// `params` + `timestamp` in the query, signed by `signer`.
    pub async fn signed_as(
        &self,
        method: Method,
        path: &str,
        key: &str,
        signer: &Signer,
        params: &[(&str, &str)],
    ) -> reqwest::Result<Answer> {
        let ts = self.clock.now_ms().to_string();
        let mut all = params.to_vec();
        all.push(("timestamp", &ts));
        let query = encode(&all);
        let signature = signer.sign(query.as_bytes());
        let query = format!("{query}&{}", encode(&[("signature", &signature)]));
        self.send(method, path, Some(key), &query, "").await
    }

    pub async fn signed(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Answer {
        self.signed_as(method, path, DEMO, &demo_signer(), params)
            .await
            .unwrap()
    }

    pub async fn public(&self, path_and_query: &str) -> Answer {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        self.send(Method::GET, path, None, query, "").await.unwrap()
    }
}

pub type P = Vec<(&'static str, &'static str)>;

pub fn market_buy(qty: &'static str) -> P {
    vec![
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quantity", qty),
    ]
}

pub fn limit(side: &'static str, qty: &'static str, price: &'static str, cl: &'static str) -> P {
    vec![
        ("symbol", "BTCUSDT"),
        ("side", side),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", qty),
        ("price", price),
        ("newClientOrderId", cl),
    ]
}
