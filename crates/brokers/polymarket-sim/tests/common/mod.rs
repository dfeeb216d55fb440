//! Test helpers: a demo simulator, the official client logged in with the
//! Hardhat #0 wallet, and raw L2-signed HTTP for what the client never sends.
#![allow(dead_code)]

use std::str::FromStr as _;
use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use atomik_broker::SystemClock;
use atomik_polymarket_sim::sign::{self, OrderV2};
use atomik_polymarket_sim::{SimConfig, SimHandle, SimMarket, start};
use polymarket_client_sdk_v2::POLYGON;
use polymarket_client_sdk_v2::auth::state::Authenticated;
use polymarket_client_sdk_v2::auth::{ExposeSecret as _, LocalSigner, Normal, Signer as _};
use polymarket_client_sdk_v2::clob::{Client, Config};
use reqwest::Method;
use serde_json::{Value, json};

pub const HARDHAT0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub type Wallet = LocalSigner<k256::ecdsa::SigningKey>;
pub type Sdk = Client<Authenticated<Normal>>;

pub struct Env {
    pub sim: SimHandle,
    pub signer: Wallet,
    pub me: Address,
    pub client: Sdk,
    pub rain: SimMarket,
    pub election: SimMarket,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

pub fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

pub async fn env() -> Env {
    env_with(|_| {}).await
}

pub async fn env_with(tweak: impl FnOnce(&mut SimConfig)) -> Env {
    let mut config = SimConfig::demo(Arc::new(SystemClock));
    tweak(&mut config);
    let rain = config.market(SimConfig::RAIN).unwrap().clone();
    let election = config.market(SimConfig::ELECTION).unwrap().clone();
    let sim = start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let signer = LocalSigner::from_str(HARDHAT0)
        .unwrap()
        .with_chain_id(Some(POLYGON));
    let me = signer.address();
    sim.set_collateral(me, rust_decimal::Decimal::from(1000));
    let client = Client::new(&sim.base_url(), Config::default())
        .unwrap()
        .authentication_builder(&signer)
        .authenticate()
        .await
        .unwrap();
    Env {
        sim,
        signer,
        me,
        client,
        rain,
        election,
        http: reqwest::Client::new(),
    }
}

impl Env {
    pub fn yes(&self) -> U256 {
        U256::from_str(&self.rain.tokens[0].token_id).unwrap()
    }

    pub fn key(&self) -> String {
        self.client.credentials().key().to_string()
    }

    /// An L2-signed request with exactly these body bytes.
    pub async fn raw(&self, method: Method, path: &str, body: &str) -> Reply {
        let creds = self.client.credentials();
        let ts = "1700000000";
        let sig = sign::l2_signature(
            creds.secret().expose_secret(),
            ts,
            method.as_str(),
            path.split('?').next().unwrap(),
            body.as_bytes(),
        )
        .unwrap();
        let res = self
            .http
            .request(method, format!("{}{path}", self.sim.base_url()))
            .header("POLY_ADDRESS", self.me.to_checksum(None))
            .header("POLY_API_KEY", self.key())
            .header("POLY_PASSPHRASE", creds.passphrase().expose_secret())
            .header("POLY_TIMESTAMP", ts)
            .header("POLY_SIGNATURE", sig)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// A V2 `POST /order` body for the rain market's YES token, signed by
    /// the test wallet against the CTF exchange V2.
    pub async fn v2_order(
        &self,
        side: u8,
        maker_amount: u64,
        taker_amount: u64,
        order_type: &str,
    ) -> String {
        let order = OrderV2 {
            salt: U256::from(rand_salt()),
            maker: self.me,
            signer: self.me,
            tokenId: self.yes(),
            makerAmount: U256::from(maker_amount),
            takerAmount: U256::from(taker_amount),
            side,
            signatureType: 0,
            timestamp: U256::from(1_700_000_000_000u64),
            metadata: B256::ZERO,
            builder: B256::ZERO,
        };
        let exchange = atomik_polymarket_sim::Exchanges::POLYGON.v2;
        let hash = sign::order_v2_hash(&order, 137, exchange);
        let sig = self.signer.sign_hash(&hash).await.unwrap();
        json!({
            "order": {
                "salt": order.salt.to::<u64>(),
                "maker": self.me.to_checksum(None), "signer": self.me.to_checksum(None),
                "tokenId": order.tokenId.to_string(),
                "makerAmount": maker_amount.to_string(), "takerAmount": taker_amount.to_string(),
                "side": if side == 0 { "BUY" } else { "SELL" },
                "expiration": "0", "signatureType": 0,
                "timestamp": "1700000000000",
                "metadata": B256::ZERO.to_string(), "builder": B256::ZERO.to_string(),
                "signature": sig.to_string(),
            },
            "owner": self.key(),
            "orderType": order_type,
            "postOnly": false,
            "deferExec": false,
        })
        .to_string()
    }
}

fn rand_salt() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The HTTP status and message of an SDK error.
pub fn status_of(e: &polymarket_client_sdk_v2::error::Error) -> Option<(u16, String)> {
    e.downcast_ref::<polymarket_client_sdk_v2::error::Status>()
        .map(|s| (s.status_code.as_u16(), s.message.clone()))
}
