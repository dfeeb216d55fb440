//! A simulated IB Gateway and the adapter pointed at it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{AccountRef, Broker, Session, SystemClock};
use atomik_ib::{IbConfig, InteractiveBrokers};
use atomik_ib_sim::{self as sim, SimConfig};

pub const ACCOUNT: &str = "DU1234567";

pub struct Gateway {
    pub sim: sim::SimHandle,
    pub ib: InteractiveBrokers,
}

/// Server version ranges that pin one era: text at 178 (ib_async's) and
/// 200 (the newest text), protobuf at 226.
pub const TEXT_178: (i32, i32) = (157, 178);
pub const TEXT_200: (i32, i32) = (157, 200);
pub const PROTOBUF: (i32, i32) = (213, 226);
pub const ERAS: [(i32, i32); 3] = [TEXT_178, TEXT_200, PROTOBUF];

pub fn fast_config() -> IbConfig {
    IbConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(400),
        ..IbConfig::default()
    }
}

pub async fn gateway(range: (i32, i32)) -> Gateway {
    gateway_with(range, |_| {}).await
}

pub async fn gateway_with(range: (i32, i32), tune: impl FnOnce(&mut SimConfig)) -> Gateway {
    let mut config = SimConfig::demo(Arc::new(SystemClock));
    config.server_range = range;
    tune(&mut config);
    let sim = sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts");
    Gateway {
        sim,
        ib: InteractiveBrokers::new(fast_config(), Arc::new(SystemClock)),
    }
}

impl Gateway {
    pub fn session(&self, client_id: i32) -> Session {
        self.session_for(client_id, ACCOUNT)
    }

    pub fn session_for(&self, client_id: i32, account: &str) -> Session {
        Session::Socket {
            host: "127.0.0.1".into(),
            port: self.sim.socket_addr().port(),
            client_id,
            account: account.into(),
        }
    }
}

pub fn account() -> AccountRef {
    AccountRef {
        id: ACCOUNT.into(),
        name: ACCOUNT.into(),
    }
}

/// Wait (bounded) until `check` holds, polling the simulator's ledger.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn broker(ib: &InteractiveBrokers) -> &dyn Broker {
    ib
}
