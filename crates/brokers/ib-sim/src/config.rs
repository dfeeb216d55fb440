//! What a simulated Gateway serves: managed accounts with cash, the
//! catalogue's knobs, marks, the server version range and the pacing limit.

use std::sync::Arc;

use atomik_broker::Clock;

#[derive(Debug, Clone)]
pub struct SimAccount {
    /// Paper accounts start with `DU`.
    pub id: String,
    /// USD cash at start.
    pub cash: f64,
}

/// A mark price. `key` names a contract by its local symbol (`MNQZ6`,
/// `EUR.USD`, `AAPL  261218C00200000`) or by its symbol, which sets every
/// contract of that symbol except options (`MNQ` → every MNQ expiry).
#[derive(Debug, Clone)]
pub struct Mark {
    pub key: String,
    pub price: f64,
}

#[derive(Clone)]
pub struct SimConfig {
    pub clock: Arc<dyn Clock>,
    pub accounts: Vec<SimAccount>,
    /// Marks by symbol or local symbol; a contract without one is at 100.
    pub marks: Vec<Mark>,
    /// The versions this Gateway speaks; the hello picks one in the client's range.
    pub server_range: (i32, i32),
    /// Futures: with `Some(d)` the front quarterly contract's last trading
    /// day is `d` days from the clock's today (so a roll is near); `None`
    /// keeps the real calendar (third Friday of March, June, September,
    /// December).
    pub front_expires_in_days: Option<u32>,
    /// How many quarterly expiries each future lists.
    pub futures_expiries: usize,
    /// Messages one connection may send per second (IB: 50); more → error 100.
    pub max_messages_per_sec: usize,
}

impl SimConfig {
    /// Two paper accounts (DU1234567 with 1,000,000 USD, DU7654321 with
    /// 100,000 USD), the whole catalogue with marks near real prices, server
    /// versions 157–226.
    pub fn demo(clock: Arc<dyn Clock>) -> Self {
        let mark = |key: &str, price: f64| Mark {
            key: key.into(),
            price,
        };
        SimConfig {
            clock,
            accounts: vec![
                SimAccount {
                    id: "DU1234567".into(),
                    cash: 1_000_000.0,
                },
                SimAccount {
                    id: "DU7654321".into(),
                    cash: 100_000.0,
                },
            ],
            marks: vec![
                mark("AAPL", 230.0),
                mark("MSFT", 420.0),
                mark("SPY", 600.0),
                mark("QQQ", 520.0),
                mark("TSLA", 250.0),
                mark("ES", 6000.0),
                mark("MES", 6000.0),
                mark("NQ", 21000.0),
                mark("MNQ", 21000.0),
                mark("EUR.USD", 1.08),
                mark("GBP.USD", 1.27),
                mark("USD.JPY", 150.0),
                mark("AAPL  261218C00200000", 35.0),
                mark("AAPL  261218P00200000", 4.5),
                mark("AAPL  261218C00230000", 15.0),
                mark("AAPL  261218P00230000", 13.0),
                mark("AAPL  261218C00250000", 7.0),
                mark("AAPL  261218P00250000", 26.0),
            ],
            server_range: (157, 226),
            front_expires_in_days: None,
            futures_expiries: 4,
            max_messages_per_sec: 50,
        }
    }
}
