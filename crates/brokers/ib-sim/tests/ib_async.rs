//! A maintained third-party client, ib_async (PyPI, pinned in
//! `scripts/test.sh`), drives the simulator in the text era (ib_async
//! advertises v157..178, so server version 178): its start-up requests,
//! contract qualification, a market order that fills and a resting limit
//! order with order refs, open / all open orders, trades, fills,
//! executions, completed orders, positions and a cancel. Every answer
//! ib_async parsed must agree with the simulator's ledger.

mod common;

use serde_json::{Value, json};

/// The ib_async release `scripts/test.sh` installs.
const IB_ASYNC: &str = "2.1.0";

async fn run_ib_async(port: u16) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ib_async/client.py");
    let run = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("ib_async finished within a minute")
        .expect("python3 runs (scripts/test.sh installs it and ib_async)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ib_async failed against the simulator (install it with `pip install ib_async=={IB_ASYNC}`, as scripts/test.sh does):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ib_async printed no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn ib_async_connects_trades_reads_back_and_cancels_in_the_text_era() {
    let sim = common::start_demo().await;
    let out = run_ib_async(sim.socket_addr().port()).await;
    assert_eq!(out["ib_async"], IB_ASYNC, "the pinned ib_async release");
    assert_eq!(out["server_version"], 178);
    assert_eq!(out["accounts"], json!(["DU1234567", "DU7654321"]));
    assert_eq!(out["positions_before"], json!([]));
    assert_eq!(
        out["account_values"],
        json!([
            ["NetLiquidation", "1000000.00"],
            ["TotalCashValue", "1000000.00"]
        ])
    );
    // Read through reqAccountUpdatesMulti at connect (ib_async's default
    // start-up fetch), the only request that covers the second account.
    assert_eq!(
        out["other_account_values"],
        json!([
            ["DU7654321", "", "AccountCode", "DU7654321", ""],
            ["DU7654321", "", "CashBalance", "100000.00", "BASE"],
            ["DU7654321", "", "CashBalance", "100000.00", "USD"],
            ["DU7654321", "", "NetLiquidation", "100000.00", "USD"]
        ])
    );
    assert_eq!(out["aapl"], json!([265598, "NASDAQ", "AAPL"]));

    let ledger = sim.orders();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    let (m, l) = (&ledger[0], &ledger[1]);
    assert_eq!(
        (
            m.client_id,
            m.account.as_str(),
            m.order_ref.as_str(),
            m.status.as_str()
        ),
        (7, "DU1234567", "ib-async-mkt", "Filled")
    );
    assert_eq!(out["mkt"], json!([m.order_id, "Filled", 10.0, 230.0]));
    assert_eq!(out["lmt"], json!([l.order_id, "Submitted"]));
    assert_eq!(l.order_ref, "ib-async-lmt");
    assert_eq!(l.status, "Cancelled", "cancelled at the end");
    assert_eq!(out["lmt_after_cancel"], "Cancelled");

    assert_eq!(out["open_orders"], json!(["ib-async-lmt"]));
    assert_eq!(out["all_open_orders"], json!(["ib-async-lmt"]));
    assert_eq!(
        out["trades"],
        json!([["ib-async-lmt", "Submitted"], ["ib-async-mkt", "Filled"]])
    );
    let exec = &sim.executions()[0];
    assert_eq!(
        out["fills"],
        json!([[m.order_id, "ib-async-mkt", "BOT", 10.0, 230.0, 1.0]])
    );
    assert_eq!(
        out["executions"],
        json!([[exec.execution.exec_id, "ib-async-mkt", "BOT"]])
    );
    assert_eq!(out["completed"], json!([["ib-async-mkt", "Filled"]]));
    assert_eq!(
        out["positions_after"],
        json!([["DU1234567", "AAPL", 10.0, 230.0]])
    );
    assert_eq!(
        out["portfolio"],
        json!([["AAPL", 10.0, 230.0, 2300.0, 230.0]])
    );
    // Cash paid 2,300 + 1 commission; the shares are worth 2,300 at the mark.
    assert_eq!(out["net_liquidation"], json!(["999999.00"]));
    assert_eq!(sim.net_liquidation("DU1234567"), 999_999.0);
    // The cancel confirmation (202) and the farm notices reached ib_async.
    let codes = out["error_codes"].as_array().unwrap();
    assert!(codes.contains(&json!(202)), "{codes:?}");
    sim.shutdown().await;
}
