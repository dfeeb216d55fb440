//! The simulator at the socket level, in both eras (text at 178 as ib_async
//! negotiates it, protobuf at 226 as ibapi does), through a raw client on
//! `atomik-ib-proto`: start-up, the order lifecycle, queries and IB's
//! refusals.

mod common;

use std::sync::Arc;

use atomik_broker::ManualClock;
use atomik_ib_proto::{Contract, Event, ExecutionFilter, Request};
use atomik_ib_sim::SimConfig;
use common::*;
use rust_decimal::Decimal;

const ACCOUNT: &str = "DU1234567";

#[tokio::test]
async fn start_up_trade_query_and_cancel_in_both_eras() {
    for (range, want_version) in [(TEXT, 178), (PROTOBUF, 226)] {
        let sim = start_demo().await;
        let mut raw = Raw::hello(sim.socket_addr(), range).await.unwrap();
        assert_eq!(raw.version, want_version);
        raw.send(&Request::StartApi {
            client_id: 7,
            optional_capabilities: String::new(),
        })
        .await;
        let start = raw.until(is_error(2158)).await;
        assert!(start.contains(&Event::ManagedAccounts {
            accounts: vec!["DU1234567".into(), "DU7654321".into()]
        }));
        assert!(start.contains(&Event::NextValidId { order_id: 1 }));
        for code in [2104, 2106] {
            assert!(start.iter().any(is_error(code)), "{code} in {start:?}");
        }

        // A market order fills at the mark.
        raw.send(&place(
            1,
            stock("AAPL"),
            order("BUY", 10, None, ACCOUNT, "mkt-1"),
        ))
        .await;
        let events = raw
            .until(|e| matches!(e, Event::CommissionReport { .. }))
            .await;
        let statuses: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::OrderStatus { status, .. } => Some(status.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            statuses,
            ["PreSubmitted", "Submitted", "Filled"],
            "{range:?}"
        );
        let exec = events
            .iter()
            .find_map(|e| match e {
                Event::ExecDetails {
                    req_id, execution, ..
                } => Some((*req_id, execution.clone())),
                _ => None,
            })
            .expect("ExecDetails");
        assert_eq!(exec.0, -1);
        assert_eq!(
            (
                exec.1.side.as_str(),
                exec.1.price,
                exec.1.order_ref.as_str()
            ),
            ("BOT", 230.0, "mkt-1")
        );
        assert_eq!(exec.1.shares, Decimal::from(10));

        // A limit below the mark rests.
        raw.send(&place(
            2,
            stock("AAPL"),
            order("BUY", 5, Some(200.0), ACCOUNT, "lmt-2"),
        ))
        .await;
        raw.until(status_is(2, "Submitted")).await;
        let ledger = sim.orders();
        assert_eq!(ledger.len(), 2);
        assert_eq!(
            (
                ledger[0].status.as_str(),
                ledger[0].avg_price,
                ledger[0].order_ref.as_str()
            ),
            ("Filled", 230.0, "mkt-1")
        );
        assert_eq!(ledger[1].status, "Submitted");
        assert_eq!(ledger[0].contract.con_id, 265598);

        raw.send(&Request::ReqOpenOrders).await;
        let open = raw.until(|e| *e == Event::OpenOrderEnd).await;
        let open_ids: Vec<i32> = open
            .iter()
            .filter_map(|e| match e {
                Event::OpenOrder {
                    order_id, order, ..
                } => {
                    assert_eq!(order.order_ref, "lmt-2");
                    Some(*order_id)
                }
                _ => None,
            })
            .collect();
        assert_eq!(open_ids, [2]);

        raw.send(&Request::ReqCompletedOrders { api_only: false })
            .await;
        let done = raw.until(|e| *e == Event::CompletedOrdersEnd).await;
        assert!(
            done.iter()
                .any(|e| matches!(e, Event::CompletedOrder { order, state, .. }
                if order.order_ref == "mkt-1" && state.status == "Filled")),
            "{done:?}"
        );

        raw.send(&Request::ReqExecutions {
            req_id: 9,
            filter: ExecutionFilter {
                symbol: "AAPL".into(),
                side: "BUY".into(),
                ..ExecutionFilter::default()
            },
        })
        .await;
        let execs = raw
            .until(|e| *e == Event::ExecDetailsEnd { req_id: 9 })
            .await;
        assert!(execs.iter().any(
            |e| matches!(e, Event::ExecDetails { req_id: 9, execution, .. }
            if execution.order_ref == "mkt-1")
        ));
        assert!(
            execs
                .iter()
                .any(|e| matches!(e, Event::CommissionReport { .. }))
        );
        raw.send(&Request::ReqExecutions {
            req_id: 10,
            filter: ExecutionFilter {
                side: "SELL".into(),
                ..ExecutionFilter::default()
            },
        })
        .await;
        let none = raw
            .until(|e| *e == Event::ExecDetailsEnd { req_id: 10 })
            .await;
        assert_eq!(none.len(), 1, "no sells: {none:?}");

        raw.send(&Request::ReqPositions).await;
        let positions = raw.until(|e| *e == Event::PositionEnd).await;
        assert!(positions.iter().any(|e| matches!(e, Event::Position { account, contract, position, avg_cost }
            if account == ACCOUNT && contract.con_id == 265598 && *position == Decimal::from(10) && *avg_cost == 230.0)));

        raw.send(&Request::ReqAccountSummary {
            req_id: 3,
            group: "All".into(),
            tags: "NetLiquidation,TotalCashValue".into(),
        })
        .await;
        let summary = raw
            .until(|e| *e == Event::AccountSummaryEnd { req_id: 3 })
            .await;
        // 10 × 230 + 1 commission paid, the shares valued at the mark.
        assert!(
            summary.contains(&Event::AccountSummary {
                req_id: 3,
                account: ACCOUNT.into(),
                tag: "TotalCashValue".into(),
                value: "997699.00".into(),
                currency: "USD".into(),
            }),
            "{summary:?}"
        );
        assert_eq!(summary.len(), 5, "2 accounts × 2 tags + end");

        // Cancel the resting order; cancelling it again or an unknown id is refused.
        raw.send(&Request::CancelOrder { order_id: 2 }).await;
        let cancel = raw.until(is_error(202)).await;
        assert!(cancel.iter().any(status_is(2, "Cancelled")));
        raw.send(&Request::CancelOrder { order_id: 2 }).await;
        raw.until(is_error(10148)).await;
        raw.send(&Request::CancelOrder { order_id: 99 }).await;
        raw.until(is_error(10147)).await;
        assert_eq!(sim.orders()[1].status, "Cancelled");

        raw.send(&Request::ReqIds { num_ids: 1 }).await;
        raw.until(|e| *e == Event::NextValidId { order_id: 3 })
            .await;
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn contract_details_list_every_match_and_the_roll_is_near() {
    // 2026-12-01 12:00 UTC; the front future expires in two days.
    let clock = ManualClock::new(1_796_126_400_000);
    let mut config = SimConfig::demo(Arc::new(clock));
    config.front_expires_in_days = Some(2);
    let sim = start(config).await;
    for range in [TEXT, PROTOBUF] {
        let (mut raw, _) = Raw::connect(sim.socket_addr(), range, 1).await;
        let mnq = Contract {
            symbol: "MNQ".into(),
            sec_type: "FUT".into(),
            exchange: "CME".into(),
            ..Contract::default()
        };
        raw.send(&Request::ReqContractData {
            req_id: 4,
            contract: mnq,
        })
        .await;
        let details = raw
            .until(|e| *e == Event::ContractDataEnd { req_id: 4 })
            .await;
        let listed: Vec<(String, String, f64)> = details
            .iter()
            .filter_map(|e| match e {
                Event::ContractData { req_id: 4, details } => Some((
                    details.contract.local_symbol.clone(),
                    details.contract.last_trade_date_or_contract_month.clone(),
                    details.min_tick,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(listed.len(), 4, "{range:?}: {details:?}");
        assert_eq!(listed[0], ("MNQZ6".into(), "20261203".into(), 0.25));
        assert_eq!(listed[1].0, "MNQH7");

        raw.send(&Request::ReqContractData {
            req_id: 5,
            contract: Contract {
                local_symbol: "AAPL  261218C00200000".into(),
                sec_type: "OPT".into(),
                ..Contract::default()
            },
        })
        .await;
        let opt = raw
            .until(|e| *e == Event::ContractDataEnd { req_id: 5 })
            .await;
        assert!(matches!(&opt[0], Event::ContractData { details, .. }
            if details.contract.right == "C" && details.contract.strike == Some(200.0)
                && details.contract.multiplier.parse::<f64>().ok() == Some(100.0)));

        raw.send(&Request::ReqContractData {
            req_id: 6,
            contract: stock("NOPE"),
        })
        .await;
        let err = raw.until(is_error(200)).await;
        assert!(
            matches!(err.last(), Some(Event::Error { id: 6, message, .. })
            if message == "No security definition has been found for the request")
        );
        drop(raw);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_carry_ibs_codes_in_both_eras() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 3).await;
        assert_eq!(next, 1);
        let refused = |id: i32, code: i32| move |e: &Event| matches!(e, Event::Error { id: i, code: c, .. } if *i == id && *c == code);
        // Off the 0.01 tick.
        raw.send(&place(
            5,
            stock("AAPL"),
            order("BUY", 1, Some(200.005), ACCOUNT, ""),
        ))
        .await;
        raw.until(refused(5, 110)).await;
        // The id is used now: 5 again, and anything lower, is a duplicate.
        raw.send(&place(5, stock("AAPL"), order("BUY", 1, None, ACCOUNT, "")))
            .await;
        raw.until(refused(5, 103)).await;
        raw.send(&place(4, stock("AAPL"), order("BUY", 1, None, ACCOUNT, "")))
            .await;
        raw.until(refused(4, 103)).await;
        // An account this login does not manage.
        raw.send(&place(
            6,
            stock("AAPL"),
            order("BUY", 1, None, "DU0000001", ""),
        ))
        .await;
        let e = raw.until(refused(6, 201)).await;
        assert!(
            matches!(e.last(), Some(Event::Error { message, .. }) if message.contains("DU0000001"))
        );
        // Unknown contract; non-positive quantity.
        raw.send(&place(7, stock("NOPE"), order("BUY", 1, None, ACCOUNT, "")))
            .await;
        raw.until(refused(7, 200)).await;
        raw.send(&place(8, stock("AAPL"), order("BUY", 0, None, ACCOUNT, "")))
            .await;
        raw.until(refused(8, 201)).await;
        let huge = order("BUY", 2_000_000_000, None, ACCOUNT, "");
        raw.send(&place(9, stock("AAPL"), huge)).await;
        raw.until(refused(9, 201)).await;
        // What-if: an answer with a state, nothing recorded or executed.
        let mut what_if = order("BUY", 10, None, ACCOUNT, "what-if");
        what_if.what_if = true;
        raw.send(&place(10, stock("AAPL"), what_if.clone())).await;
        raw.until(|e| matches!(e, Event::OpenOrder { order_id: 10, .. }))
            .await;
        // Read-only API: orders (what-if included) and cancels answer 321.
        sim.faults().set_read_only(true);
        raw.send(&place(11, stock("AAPL"), what_if)).await;
        let e = raw.until(refused(11, 321)).await;
        assert!(
            matches!(e.last(), Some(Event::Error { message, .. }) if message.contains("Read-Only"))
        );
        raw.send(&Request::CancelOrder { order_id: 11 }).await;
        raw.until(refused(11, 321)).await;
        assert_eq!(sim.faults().fired(atomik_ib_sim::fault_kind::READ_ONLY), 2);
        sim.faults().set_read_only(false);
        raw.send(&place(
            12,
            stock("AAPL"),
            order("BUY", 1, None, ACCOUNT, ""),
        ))
        .await;
        raw.until(status_is(12, "Filled")).await;
        assert_eq!(sim.orders().len(), 1, "only the last order was accepted");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_second_connection_with_a_client_id_in_use_gets_326_and_is_closed() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (_first, _) = Raw::connect(sim.socket_addr(), range, 12).await;
        let mut second = Raw::hello(sim.socket_addr(), range).await.unwrap();
        second
            .send(&Request::StartApi {
                client_id: 12,
                optional_capabilities: String::new(),
            })
            .await;
        let seen = second.until_closed().await;
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            matches!(&seen[0], Event::Error { id: -1, code: 326, message, .. }
            if message == "Unable to connect as the client id is already in use. Retry with a unique client id.")
        );
        // Another id is fine.
        let (_third, _) = Raw::connect(sim.socket_addr(), range, 13).await;
        assert_eq!(sim.api_connections(), 2);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn over_fifty_messages_a_second_answer_100_and_are_not_executed() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, _) = Raw::connect(sim.socket_addr(), range, 1).await;
        // StartApi was the first message of this second; 55 more follow.
        for _ in 0..55 {
            raw.send(&Request::ReqCurrentTime).await;
        }
        let mut times = 0;
        let mut paced = Vec::new();
        while times + paced.len() < 55 {
            match raw.next().await.expect("open") {
                Event::CurrentTime { .. } => times += 1,
                Event::Error {
                    code: 100, message, ..
                } => paced.push(message),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(times, 49, "{range:?}");
        assert_eq!(paced.len(), 6);
        assert_eq!(
            paced[0],
            "Max rate of messages per second has been exceeded:max=50 rec=51 (1)"
        );
        assert_eq!(sim.faults().fired(atomik_ib_sim::fault_kind::PACING), 6);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_client_without_a_common_version_gets_no_answer() {
    let sim = start_demo().await;
    assert!(Raw::hello(sim.socket_addr(), (100, 150)).await.is_err());
    // The mixed band alone (201–212) is not spoken either.
    assert!(Raw::hello(sim.socket_addr(), (203, 210)).await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn client_zero_sees_every_order_and_global_cancel_cancels_them_all() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut master, _) = Raw::connect(sim.socket_addr(), range, 0).await;
        let (mut one, next) = Raw::connect(sim.socket_addr(), range, 31).await;
        for (id, limit) in [(next, 200.0), (next + 1, 210.0)] {
            one.send(&place(
                id,
                stock("AAPL"),
                order("BUY", 1, Some(limit), "DU7654321", ""),
            ))
            .await;
            one.until(status_is(id, "Submitted")).await;
            master.until(status_is(id, "Submitted")).await;
        }
        master.send(&Request::ReqManagedAccounts).await;
        master
            .until(|e| matches!(e, Event::ManagedAccounts { accounts } if accounts.len() == 2))
            .await;
        master.send(&Request::ReqGlobalCancel).await;
        for id in [next, next + 1] {
            one.until(status_is(id, "Cancelled")).await;
        }
        assert!(sim.orders().iter().all(|o| o.status == "Cancelled"));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn account_updates_carry_values_portfolio_time_and_end() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 1).await;
        let es = Contract {
            local_symbol: sim
                .catalogue()
                .iter()
                .find(|e| e.contract().symbol == "ES")
                .map(|e| e.contract().local_symbol.clone())
                .unwrap(),
            sec_type: "FUT".into(),
            exchange: "CME".into(),
            ..Contract::default()
        };
        raw.send(&place(next, es, order("BUY", 1, None, ACCOUNT, "es")))
            .await;
        raw.until(status_is(next, "Filled")).await;
        raw.send(&Request::ReqAccountUpdates {
            subscribe: true,
            account: ACCOUNT.into(),
        })
        .await;
        let updates = raw
            .until(|e| matches!(e, Event::AccountDownloadEnd { .. }))
            .await;
        let value = |key: &str, currency: &str| {
            updates.iter().find_map(|e| match e {
                Event::AccountValue {
                    key: k,
                    value,
                    currency: c,
                    account,
                } if k == key && c == currency && account == ACCOUNT => Some(value.clone()),
                _ => None,
            })
        };
        // 1 ES at 6000 × 50, 0.85 commission: cash down, net liquidation only by the fee.
        assert_eq!(value("TotalCashValue", "USD").as_deref(), Some("699999.15"));
        assert_eq!(value("NetLiquidation", "USD").as_deref(), Some("999999.15"));
        assert_eq!(value("CashBalance", "BASE").as_deref(), Some("699999.15"));
        assert!(value("BuyingPower", "USD").is_some() && value("AvailableFunds", "USD").is_some());
        assert!(
            updates.iter().any(
                |e| matches!(e, Event::PortfolioValue { contract, position, market_value, .. }
            if contract.symbol == "ES" && *position == Decimal::ONE && *market_value == 300_000.0)
            ),
            "{updates:?}"
        );
        assert!(
            updates
                .iter()
                .any(|e| matches!(e, Event::AccountUpdateTime { .. }))
        );
        sim.shutdown().await;
    }
}

fn multi_value<'a>(
    events: &'a [Event],
    req: i32,
    acct: &str,
    key: &str,
    cur: &str,
) -> Option<&'a str> {
    events.iter().find_map(|e| match e {
        Event::AccountUpdateMulti {
            req_id,
            account,
            key: k,
            value,
            currency,
            ..
        } if *req_id == req && account == acct && k == key && currency == cur => {
            Some(value.as_str())
        }
        _ => None,
    })
}

#[tokio::test]
async fn account_updates_multi_answers_streams_and_cancels() {
    for range in [TEXT, PROTOBUF] {
        let sim = start_demo().await;
        let (mut raw, next) = Raw::connect(sim.socket_addr(), range, 1).await;
        let multi =
            |req_id: i32, account: &str, ledger_and_nlv: bool| Request::ReqAccountUpdatesMulti {
                req_id,
                account: account.into(),
                model_code: String::new(),
                ledger_and_nlv,
            };
        let end = |id: i32| move |e: &Event| *e == Event::AccountUpdateMultiEnd { req_id: id };

        // Every managed account, as an empty account asks.
        raw.send(&multi(50, "", false)).await;
        let all = raw.until(end(50)).await;
        for (account, nlv) in [(ACCOUNT, "1000000.00"), ("DU7654321", "100000.00")] {
            assert_eq!(
                multi_value(&all, 50, account, "NetLiquidation", "USD"),
                Some(nlv),
                "{account}: {all:?}"
            );
            assert_eq!(
                multi_value(&all, 50, account, "GrossPositionValue", "USD"),
                Some("0.00"),
                "no negative zero"
            );
            assert_eq!(
                multi_value(&all, 50, account, "AccountCode", ""),
                Some(account)
            );
        }
        // `All` is every account too.
        raw.send(&multi(51, "All", false)).await;
        let all = raw.until(end(51)).await;
        assert!(multi_value(&all, 51, "DU7654321", "BuyingPower", "USD").is_some());
        // One account, ledger and net liquidation only.
        raw.send(&multi(52, ACCOUNT, true)).await;
        let one = raw.until(end(52)).await;
        assert!(one.iter().all(|e| match e {
            Event::AccountUpdateMulti { account, key, .. } =>
                account == ACCOUNT && key != "BuyingPower" && key != "AccountCode",
            _ => true,
        }));
        assert_eq!(
            multi_value(&one, 52, ACCOUNT, "CashBalance", "BASE"),
            Some("1000000.00")
        );
        // A model code: the simulator has no models, so only the end.
        raw.send(&Request::ReqAccountUpdatesMulti {
            req_id: 53,
            account: ACCOUNT.into(),
            model_code: "Tech".into(),
            ledger_and_nlv: false,
        })
        .await;
        let model = raw.until(end(53)).await;
        assert_eq!(model, [Event::AccountUpdateMultiEnd { req_id: 53 }]);
        // An account that is not managed.
        raw.send(&multi(54, "DU0000000", false)).await;
        raw.until(is_error(321)).await;

        // Cancel 50 and 51; a fill then streams to 52 only, under its id.
        raw.send(&Request::CancelAccountUpdatesMulti { req_id: 50 })
            .await;
        raw.send(&Request::CancelAccountUpdatesMulti { req_id: 51 })
            .await;
        let es = Contract {
            local_symbol: sim
                .catalogue()
                .iter()
                .find(|e| e.contract().symbol == "ES")
                .map(|e| e.contract().local_symbol.clone())
                .unwrap(),
            sec_type: "FUT".into(),
            exchange: "CME".into(),
            ..Contract::default()
        };
        raw.send(&place(next, es, order("BUY", 1, None, ACCOUNT, "es")))
            .await;
        raw.until(status_is(next, "Filled")).await;
        // Every event of the fill is written before the answer to a later
        // request on the same connection.
        raw.send(&Request::ReqCurrentTime).await;
        let after = raw.until(|e| matches!(e, Event::CurrentTime { .. })).await;
        assert_eq!(
            multi_value(&after, 52, ACCOUNT, "CashBalance", "BASE"),
            Some("699999.15"),
            "{after:?}"
        );
        assert!(
            after.iter().all(|e| match e {
                Event::AccountUpdateMulti { req_id, key, .. } =>
                    *req_id == 52 && key != "BuyingPower",
                _ => true,
            }),
            "{after:?}"
        );
        sim.shutdown().await;
    }
}
