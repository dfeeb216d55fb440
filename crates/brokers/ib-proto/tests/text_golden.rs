//! The text codec against ib_async 2.1.0:
//! - requests ib_async's own Client wrote (tests/fixtures/requests, made by
//!   `gen_requests.py`, at 178 and the lower versions where its encoding
//!   changes) decode to the right values, and atomik's encoding of the same
//!   request has the same number of fields;
//! - events atomik encodes are read by ib_async's own Decoder
//!   (`decode_events.py`, run here when python3 with ib_async is on PATH).

mod common;

use std::path::PathBuf;
use std::process::Command;

use atomik_ib_proto::*;
use common::*;
use serde_json::{Value, json};

/// The versions `gen_requests.py` wrote requests at; 178 is what a
/// simulator answers ib_async's `v157..178`.
const FIXTURE_VERSIONS: [i32; 5] = [157, 165, 168, 175, 178];

fn fixture(v: i32, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/requests")
        .join(v.to_string())
        .join(format!("{name}.bin"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn field_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == 0).count()
}

/// Decodes ib_async's bytes, compares with `want`, and checks atomik writes
/// the same number of fields for it (values may be spelt differently:
/// `0.0` for `0`, `O` for an empty openClose).
fn check(name: &str, want: Request) {
    for v in FIXTURE_VERSIONS {
        check_at(v, name, &want);
    }
}

fn check_at(v: i32, name: &str, want: &Request) {
    let bytes = fixture(v, name);
    let got = decode_request(&bytes, v).unwrap_or_else(|e| panic!("v{v} {name}: {e}"));
    assert_eq!(got, *want, "v{v} {name}");
    let ours = encode_request(want, v).unwrap();
    assert_eq!(
        field_count(&ours),
        field_count(&bytes),
        "v{v} {name}: ours {:?} theirs {:?}",
        String::from_utf8_lossy(&ours).replace('\0', "|"),
        String::from_utf8_lossy(&bytes).replace('\0', "|"),
    );
}

#[test]
fn ib_async_requests_decode() {
    check(
        "start_api",
        Request::StartApi {
            client_id: 7,
            optional_capabilities: String::new(),
        },
    );
    check(
        "place_order_mkt",
        Request::PlaceOrder {
            order_id: 11,
            contract: future(),
            order: Order {
                order_id: 11,
                action: "BUY".into(),
                total_quantity: dec("2"),
                order_type: "MKT".into(),
                transmit: true,
                ..Order::default()
            },
        },
    );
    check(
        "place_order_lmt",
        Request::PlaceOrder {
            order_id: 12,
            contract: Contract {
                symbol: "AAPL".into(),
                sec_type: "STK".into(),
                exchange: "SMART".into(),
                primary_exchange: "NASDAQ".into(),
                currency: "USD".into(),
                ..Contract::default()
            },
            order: Order {
                order_id: 12,
                action: "SELL".into(),
                total_quantity: dec("100"),
                order_type: "LMT".into(),
                limit_price: Some(187.25),
                tif: "GTC".into(),
                account: "DU1234567".into(),
                order_ref: "atomik-7f3a".into(),
                transmit: true,
                outside_rth: true,
                ..Order::default()
            },
        },
    );
    check(
        "req_executions",
        Request::ReqExecutions {
            req_id: 5,
            filter: ExecutionFilter {
                client_id: Some(7),
                account: "DU1234567".into(),
                time: "20261201 09:30:00".into(),
                symbol: "ES".into(),
                ..ExecutionFilter::default()
            },
        },
    );
    check(
        "req_contract_details",
        Request::ReqContractData {
            req_id: 6,
            contract: future(),
        },
    );
    check("req_positions", Request::ReqPositions);
    check(
        "req_account_updates",
        Request::ReqAccountUpdates {
            subscribe: true,
            account: "DU1234567".into(),
        },
    );
    check(
        "req_account_summary",
        Request::ReqAccountSummary {
            req_id: 9,
            group: "All".into(),
            tags: "NetLiquidation,BuyingPower".into(),
        },
    );
    check("req_open_orders", Request::ReqOpenOrders);
    check("req_all_open_orders", Request::ReqAllOpenOrders);
    check(
        "req_auto_open_orders",
        Request::ReqAutoOpenOrders { auto_bind: true },
    );
    check(
        "req_completed_orders",
        Request::ReqCompletedOrders { api_only: false },
    );
    check("req_ids", Request::ReqIds { num_ids: 1 });
    check("cancel_order", Request::CancelOrder { order_id: 12 });
    check("req_current_time", Request::ReqCurrentTime);
    check("req_global_cancel", Request::ReqGlobalCancel);
    check("req_managed_accts", Request::ReqManagedAccounts);
    check(
        "req_account_updates_multi",
        Request::ReqAccountUpdatesMulti {
            req_id: 10,
            account: "DU1234567".into(),
            model_code: String::new(),
            ledger_and_nlv: false,
        },
    );
    check(
        "req_account_updates_multi_model",
        Request::ReqAccountUpdatesMulti {
            req_id: 11,
            account: String::new(),
            model_code: "Tech".into(),
            ledger_and_nlv: true,
        },
    );
    check(
        "cancel_account_updates_multi",
        Request::CancelAccountUpdatesMulti { req_id: 10 },
    );
}

fn python_with_ib_async() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import ib_async; assert ib_async.__version__ == '2.1.0'",
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs ib_async's Decoder over atomik's encoding of `events` and returns
/// its JSON report.
fn ib_async_reads(events: &[(&str, Event)], v: i32) -> Value {
    let dir = std::env::temp_dir().join(format!("ib-text-golden-{}-{v}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, event) in events {
        std::fs::write(
            dir.join(format!("{name}.bin")),
            encode_event(event, v).unwrap(),
        )
        .unwrap();
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decode_events.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&dir)
        .arg(v.to_string())
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn only_call<'a>(report: &'a Value, name: &str, method: &str) -> &'a Vec<Value> {
    let calls = report[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: {report}"));
    assert_eq!(calls.len(), 1, "{name}: {calls:?}");
    assert_eq!(calls[0]["method"], method, "{name}");
    calls[0]["args"].as_array().unwrap()
}

/// ib_async 2.1.0 speaks 157..=178; these are the versions where its
/// decoder (or IB's) changes one of the messages atomik uses, and 178.
const IB_ASYNC_VERSIONS: [i32; 9] = [157, 158, 159, 162, 163, 164, 166, 177, 178];

#[test]
fn ib_async_reads_our_events() {
    assert!(
        python_with_ib_async(),
        "needs python3 with ib_async 2.1.0: pip install ib_async==2.1.0 (scripts/test.sh installs it)"
    );
    for v in IB_ASYNC_VERSIONS {
        ib_async_reads_our_events_at(v);
    }
}

fn ib_async_reads_our_events_at(v: i32) {
    let names = [
        "next_valid_id",
        "managed_accounts",
        "error",
        "order_status",
        "open_order",
        "open_order_end",
        "completed_order",
        "completed_orders_end",
        "exec_details",
        "exec_details_end",
        "commission_report",
        "commission_report_no_pnl",
        "position",
        "position_end",
        "contract_data",
        "contract_data_end",
        "account_value",
        "portfolio_value",
        "account_update_time",
        "account_download_end",
        "account_summary",
        "account_summary_end",
        "current_time",
        "account_update_multi",
        "account_update_multi_end",
    ];
    let all = events(v);
    assert_eq!(all.len(), names.len());
    let named: Vec<_> = names.iter().copied().zip(all).collect();
    let r = ib_async_reads(&named, v);
    assert_eq!(r["errors"], json!([]), "v{v}: ib_async logged errors");

    assert_eq!(*only_call(&r, "next_valid_id", "nextValidId"), [json!(101)]);
    assert_eq!(
        *only_call(&r, "managed_accounts", "managedAccounts"),
        [json!("DU1234567,DU7654321")]
    );
    assert_eq!(
        *only_call(&r, "error", "error"),
        [
            json!(12),
            json!(201),
            json!("Order rejected - reason: no margin"),
            json!(if v >= 166 { "{\"rejectCode\":1}" } else { "" })
        ]
    );
    assert_eq!(
        *only_call(&r, "order_status", "orderStatus"),
        [
            json!(12),
            json!("Filled"),
            json!(2.5),
            json!(0.0),
            json!(187.3),
            json!(1_234_567_890_123_i64),
            json!(4),
            json!(187.4),
            json!(7),
            json!("locate"),
            json!(187.0)
        ]
    );

    let open = only_call(&r, "open_order", "openOrder");
    assert_eq!(open[0], 12);
    let (c, o, st) = (&open[1], &open[2], &open[3]);
    for (k, want) in [
        ("conId", json!(712345678)),
        ("symbol", json!("AAPL")),
        ("secType", json!("OPT")),
        ("lastTradeDateOrContractMonth", json!("20270115")),
        ("strike", json!(187.5)),
        ("right", json!("C")),
        ("multiplier", json!("100")),
        ("exchange", json!("SMART")),
        ("currency", json!("USD")),
        ("localSymbol", json!("AAPL  270115C00187500")),
        ("tradingClass", json!("AAPL")),
    ] {
        assert_eq!(c[k], want, "openOrder contract.{k}");
    }
    for (k, want) in [
        ("orderId", json!(12)),
        ("clientId", json!(7)),
        ("permId", json!(1_234_567_890_123_i64)),
        ("action", json!("SELL")),
        ("totalQuantity", json!(2.5)),
        ("orderType", json!("LMT")),
        ("lmtPrice", json!(187.25)),
        ("auxPrice", json!(f64::MAX)),
        ("tif", json!("GTC")),
        ("account", json!("DU1234567")),
        ("orderRef", json!("atomik-7f3a")),
        ("parentId", json!(4)),
        ("outsideRth", json!(true)),
        ("whatIf", json!(true)),
        ("exemptCode", json!(-1)),
    ] {
        assert_eq!(o[k], want, "openOrder order.{k}");
    }
    for (k, want) in [
        ("status", json!("Submitted")),
        ("commission", json!(1.25)),
        ("commissionCurrency", json!("USD")),
        ("warningText", json!("outside regular hours")),
    ] {
        assert_eq!(st[k], want, "openOrder state.{k}");
    }
    assert_eq!(
        *only_call(&r, "open_order_end", "openOrderEnd"),
        [] as [Value; 0]
    );

    let done = only_call(&r, "completed_order", "completedOrder");
    assert_eq!(done[0]["localSymbol"], "ESZ6");
    assert_eq!(done[1]["permId"], 987_654_321);
    assert_eq!(done[1]["orderRef"], "atomik-0001");
    assert_eq!(done[1]["totalQuantity"], 1.0);
    assert_eq!(done[2]["status"], "Cancelled");
    assert_eq!(
        done[2]["completedTime"],
        "20261201 15:59:59 America/New_York"
    );
    assert_eq!(done[2]["completedStatus"], "Cancelled by Trader");
    only_call(&r, "completed_orders_end", "completedOrdersEnd");

    let exec = only_call(&r, "exec_details", "execDetails");
    assert_eq!(exec[0], 5);
    assert_eq!(exec[1]["conId"], 495512563);
    assert_eq!(exec[1]["multiplier"], "50");
    let e = &exec[2];
    for (k, want) in [
        ("orderId", json!(12)),
        ("execId", json!("0000e0d5.6570a1b2.01.01")),
        ("acctNumber", json!("DU1234567")),
        ("exchange", json!("CME")),
        ("side", json!("SLD")),
        ("shares", json!(2.0)),
        ("price", json!(5012.25)),
        ("permId", json!(1_234_567_890_123_i64)),
        ("clientId", json!(7)),
        ("liquidation", json!(1)),
        ("cumQty", json!(2.0)),
        ("avgPrice", json!(5012.25)),
        ("orderRef", json!("atomik-7f3a")),
    ] {
        assert_eq!(e[k], want, "execution.{k}");
    }
    assert!(
        e["time"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01 09:31:02")
    );
    assert_eq!(
        *only_call(&r, "exec_details_end", "execDetailsEnd"),
        [json!(5)]
    );

    let report = &only_call(&r, "commission_report", "commissionReport")[0];
    assert_eq!(report["execId"], "0000e0d5.6570a1b2.01.01");
    assert_eq!(report["commission"], 4.5);
    assert_eq!(report["currency"], "USD");
    assert_eq!(report["realizedPNL"], -120.5);
    let report = &only_call(&r, "commission_report_no_pnl", "commissionReport")[0];
    assert_eq!(report["realizedPNL"], f64::MAX, "IB's unset sentinel");

    let pos = only_call(&r, "position", "position");
    assert_eq!(pos[0], "DU1234567");
    assert_eq!(pos[1]["symbol"], "ES");
    assert_eq!(pos[1]["exchange"], "CME");
    assert_eq!((&pos[2], &pos[3]), (&json!(-3.0), &json!(250612.5)));
    only_call(&r, "position_end", "positionEnd");

    let cd = only_call(&r, "contract_data", "contractDetails");
    assert_eq!(cd[0], 8);
    let d = &cd[1];
    for (k, want) in [
        ("marketName", json!("ES")),
        ("minTick", json!(0.25)),
        ("orderTypes", json!("LMT,MKT,STP")),
        ("validExchanges", json!("CME,QBALGO")),
        ("longName", json!("E-mini S&P 500 – Dec 2026")),
        ("contractMonth", json!("202612")),
        ("timeZoneId", json!("US/Central")),
        ("tradingHours", json!("20261130:1700-20261201:1600")),
        ("liquidHours", json!("20261201:0830-20261201:1600")),
        ("underConId", json!(11004968)),
    ] {
        assert_eq!(d[k], want, "contractDetails.{k}");
    }
    if v >= 164 {
        assert_eq!(
            (&d["minSize"], &d["sizeIncrement"]),
            (&json!(1.0), &json!(1.0))
        );
    }
    for (k, want) in [
        ("conId", json!(495512563)),
        ("symbol", json!("ES")),
        ("secType", json!("FUT")),
        ("lastTradeDateOrContractMonth", json!("20261218")),
        ("exchange", json!("CME")),
        ("primaryExchange", json!("CME")),
        ("multiplier", json!("50")),
        ("localSymbol", json!("ESZ6")),
    ] {
        assert_eq!(d["contract"][k], want, "contractDetails.contract.{k}");
    }
    assert_eq!(
        *only_call(&r, "contract_data_end", "contractDetailsEnd"),
        [json!(8)]
    );

    assert_eq!(
        *only_call(&r, "account_value", "updateAccountValue"),
        [
            json!("NetLiquidation"),
            json!("1000123.45"),
            json!("USD"),
            json!("DU1234567")
        ]
    );
    let pf = only_call(&r, "portfolio_value", "updatePortfolio");
    assert_eq!(pf[0]["primaryExchange"], "NASDAQ");
    assert_eq!(pf[0]["strike"], 187.5);
    assert_eq!(
        pf[1..],
        [
            json!(10.0),
            json!(3.5),
            json!(3500.0),
            json!(310.25),
            json!(397.5),
            json!(-12.0),
            json!("DU1234567")
        ]
    );
    assert_eq!(
        *only_call(&r, "account_update_time", "updateAccountTime"),
        [json!("15:42")]
    );
    assert_eq!(
        *only_call(&r, "account_download_end", "accountDownloadEnd"),
        [json!("DU1234567")]
    );
    assert_eq!(
        *only_call(&r, "account_summary", "accountSummary"),
        [
            json!(9),
            json!("DU1234567"),
            json!("BuyingPower"),
            json!("4000493.80"),
            json!("USD")
        ]
    );
    assert_eq!(
        *only_call(&r, "account_summary_end", "accountSummaryEnd"),
        [json!(9)]
    );
    assert_eq!(
        *only_call(&r, "current_time", "currentTime"),
        [json!(1_764_600_000)]
    );
    assert_eq!(
        *only_call(&r, "account_update_multi", "accountUpdateMulti"),
        [
            json!(10),
            json!("DU1234567"),
            json!(""),
            json!("NetLiquidation"),
            json!("1000123.45"),
            json!("USD")
        ]
    );
    assert_eq!(
        *only_call(&r, "account_update_multi_end", "accountUpdateMultiEnd"),
        [json!(10)]
    );
}
