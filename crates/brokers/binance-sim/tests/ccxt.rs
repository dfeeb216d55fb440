//! A maintained third-party client, ccxt (PyPI, pinned in `scripts/test.sh`),
//! drives the simulator with nothing changed but its URLs: ccxt's start-up
//! (`load_markets`: spot, USDⓈ-M and COIN-M exchangeInfo, the wallet's coin
//! list), balances, positions, tickers, a market order on spot and on
//! futures, fetching each back, open orders, order history and trade
//! history. Every answer ccxt parsed must agree with the simulator's ledger.

use std::net::SocketAddr;
use std::sync::Arc;

use atomik_binance_sim::{self as sim, Market, SimConfig};
use atomik_broker::SystemClock;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The ccxt release `scripts/test.sh` installs.
const CCXT: &str = "4.5.90";

async fn run_ccxt(sim: &sim::SimHandle) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ccxt/client.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(sim.base_url())
        .arg(SimConfig::DEMO_API_KEY)
        .arg(SimConfig::DEMO_SECRET_KEY)
        .output()
        .await
        .expect("python3 runs (scripts/test.sh installs it and ccxt)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ccxt failed against the simulator (install it with `pip install ccxt=={CCXT}`, as scripts/test.sh does):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ccxt printed no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn ccxt_starts_up_reads_trades_and_reads_back_on_spot_and_futures() {
    // ccxt signs with the host clock, so the simulator runs on it too.
    let sim = sim::start(
        SimConfig::demo(Arc::new(SystemClock)),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let out = run_ccxt(&sim).await;
    assert_eq!(out["ccxt"], CCXT, "the pinned ccxt release");

    // Start-up: every listed market on both venues, and the coin list.
    assert_eq!(
        out["markets"],
        json!(["BTC/USDT", "BTC/USDT:USDT", "ETH/USDT", "ETH/USDT:USDT"])
    );
    // From the coin list; ccxt adds BNFCR (Binance's futures credit) itself.
    assert_eq!(out["currencies"], json!(["BNFCR", "BTC", "ETH", "USDT"]));

    // Balances before trading: the demo key's 10,000 USDT + 0.5 BTC spot and
    // 10,000 USDT futures wallet.
    assert_eq!(out["spot_balance"], json!({"USDT": 10000.0, "BTC": 0.5}));
    assert_eq!(out["futures_usdt"], json!(10000.0));
    assert_eq!(out["spot_last"], json!(60000.0));
    assert_eq!(out["futures_last"], json!(60000.0));

    // The ledger holds exactly the two market orders ccxt placed.
    let ledger = sim.orders();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    for (key, market, qty) in [
        ("spot_order", Market::Spot, 0.001),
        ("futures_order", Market::Futures, 0.01),
    ] {
        let o = &out[key];
        let rec = ledger.iter().find(|r| r.market == market).unwrap();
        assert_eq!(o["id"], rec.order_id.to_string(), "{key}");
        assert_eq!(rec.status, "FILLED");
        assert_eq!(
            (&o["status"], &o["filled"], &o["average"]),
            (&json!("closed"), &json!(qty), &json!(60000.0)),
            "{key}: fetched back as filled at the market price"
        );
        assert_eq!(o["open"], 0, "{key}: nothing left open");
        assert_eq!(o["orders"], json!([rec.order_id.to_string()]), "{key}");
        assert_eq!(
            o["trades"],
            json!([[rec.order_id.to_string(), "buy", qty, 60000.0]]),
            "{key}: one trade, the fill"
        );
    }
    assert_eq!(
        out["positions"],
        json!([["BTC/USDT:USDT", "long", 0.01, 60000.0]])
    );
    assert_eq!(out["spot_btc_after"], json!(0.501));
    assert_eq!(
        sim.spot_free(SimConfig::DEMO_API_KEY, "BTC"),
        "0.501".parse::<Decimal>().unwrap()
    );
    // Nothing ccxt called was refused.
    assert_eq!(sim.rejections(), []);
    sim.shutdown().await;
}
