//! Interactive Brokers end to end over real HTTP and a real TWS API socket:
//! a new user connects the IB Paper account from the dashboard (the
//! simulated Gateway as the proposed address), signals buy `MNQ1!` and
//! `AAPL`, and the Logs tab shows the resolved contracts, IB order ids and
//! fills; Test Connection explains what cannot work. SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use atomik_domain::lifecycle::IntentStatus;
use atomik_storage::execution;
use atomik_testkit::{Fixture, IbEnv, csrf_in, ib_app, on_both_databases, test_config};
use serde_json::{Value, json};

async fn settled(e: &IbEnv, signal_id: &str) -> Vec<execution::IntentView> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, signal_id)
            .await
            .unwrap();
        if !intents.is_empty() && intents.iter().all(|i| i.status.is_terminal()) {
            return intents;
        }
        assert!(Instant::now() < deadline, "intents still open: {intents:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn fire(url: &str, payload: Value) -> String {
    let res = atomik_testkit::client()
        .post(url)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    body["signal_id"].as_str().unwrap().to_string()
}

on_both_databases!(
    async fn a_new_user_connects_ib_paper_and_signals_buy_futures_and_stocks(t) {
        let e = ib_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "ib@example.com").await;
        let account = fx.ib_account("DU1234567").await;
        let [_, form, tested, saved] = &account.pages[..] else { panic!("four pages") };
        // The form proposes the simulated Gateway and says why there is no key.
        let port = e.sim.socket_addr().port().to_string();
        assert!(form.contains(&format!("value=\"{port}\"")), "{form}");
        assert!(form.contains("There is no API key or secret"), "{form}");
        assert!(form.contains("Read-Only API"), "{form}");
        assert!(tested.contains("server version 226 (protobuf protocol)"), "{tested}");
        assert!(tested.contains("Net liquidation: USD"), "{tested}");
        assert!(saved.contains("(account DU1234567)"), "{saved}");

        let mut signals = Vec::new();
        for (instrument, quantity) in [("MNQ1!", "1"), ("AAPL", "10")] {
            let hook = fx.webhook(&format!("{instrument} alerts")).await;
            fx.strategy(&hook, &account.id, instrument, quantity).await;
            let id = fire(&hook.signal_url(), json!({"action": "buy", "ticker": instrument})).await;
            let intents = settled(&e, &id).await;
            assert_eq!(intents.len(), 1);
            assert_eq!(intents[0].status, IntentStatus::Accepted, "{intents:?}");
            signals.push((hook, intents[0].clone()));
        }
        let ledger = e.sim.orders();
        assert_eq!(ledger.len(), 2, "{ledger:?}");
        let front = ledger[0].contract.local_symbol.clone();
        assert!(front.starts_with("MNQ") && front.len() == 5, "{front}");
        assert_eq!(ledger[1].contract.symbol, "AAPL");
        let fills = ["filled 1 @ 21000", "filled 10 @ 230"];
        for (((hook, intent), placed), fill) in signals.iter().zip(&ledger).zip(fills) {
            assert_eq!(placed.order_ref, intent.client_order_id);
            assert_eq!(placed.account, "DU1234567");
            let order_id = intent.broker_order_id.clone().expect("the IB order id");
            assert_eq!(placed.order_id.to_string(), order_id);
            let logs = fx.client.get(e.app.url(&format!("/webhooks/{}/logs", hook.id))).send().await.unwrap().text().await.unwrap();
            let resolved = intent.instrument.clone().unwrap();
            assert!(logs.contains(&resolved) && logs.contains(&order_id), "{resolved} {order_id}: {logs}");
            // The fill as IB reported it: quantity and average price.
            assert!(logs.contains(fill), "{fill}: {logs}");
        }
        assert_eq!(signals[0].1.instrument.as_deref(), Some(front.as_str()), "MNQ1! resolved to the front month");
        // Both filled at the simulator; the positions show on the account.
        let deadline = Instant::now() + Duration::from_secs(10);
        while e.sim.positions().len() < 2 {
            assert!(Instant::now() < deadline, "{:?}", e.sim.positions());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let accounts_page = || async { fx.client.get(e.app.url("/broker-accounts")).send().await.unwrap().text().await.unwrap() };
        let page = accounts_page().await;
        assert!(page.contains(&front) && page.contains("AAPL"), "{page}");
        assert!(page.contains("connected (server version 226)"), "{page}");
        // A Gateway restart shows on the account, and it recovers by itself.
        e.sim.restart(Duration::from_millis(500));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = accounts_page().await;
            if page.contains("disconnected; reconnecting") {
                assert!(page.contains("last error: the Gateway closed the connection"), "{page}");
                break;
            }
            assert!(Instant::now() < deadline, "the outage never showed: {page}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let hook = &signals[1].0;
        let id = fire(&hook.signal_url(), json!({"action": "buy", "ticker": "AAPL", "id": "after-restart"})).await;
        let after = settled(&e, &id).await;
        assert_eq!(after[0].status, IntentStatus::Accepted, "{after:?}");
        assert!(accounts_page().await.contains("connected (server version 226)"));
        assert_eq!(e.sim.orders().len(), 3);
        // The exit sells what IB holds (20 AAPL), not a fixed quantity.
        let id = fire(&hook.signal_url(), json!({"action": "exit", "ticker": "AAPL", "id": "exit"})).await;
        let exit = settled(&e, &id).await;
        assert_eq!(exit[0].status, IntentStatus::Accepted, "{exit:?}");
        assert_eq!((exit[0].side, exit[0].quantity.as_deref()), (Some(atomik_domain::sizing::Side::Sell), Some("20")));
        let sold = e.sim.orders().pop().unwrap();
        assert_eq!((sold.action.as_str(), sold.quantity), ("SELL", 20.into()));
    }
);

on_both_databases!(
    async fn the_api_connects_an_ib_account_with_the_gateway_fields(t) {
        let e = ib_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "ib-api@example.com").await;
        let post = |body: Value| {
            let fx = &fx;
            let e = &e;
            async move {
                let res = fx.client.post(e.app.url("/api/v1/broker-accounts")).header("x-csrf-token", &fx.csrf).json(&body).send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        let port = e.sim.socket_addr().port();
        let (status, body) = post(json!({"broker": "ib", "environment": "paper", "port": port, "client_id": 21, "account_id": "du7654321"})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["account"]["broker_account_id"], "DU7654321");
        assert!(body["test"]["notes"][0].as_str().unwrap().contains("server version 226"), "{body}");
        // Values are checked when saved; each error says what is wrong.
        let (status, body) = post(json!({"broker": "ib", "environment": "paper", "port": port, "client_id": -3, "account_id": "DU7654321"})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().unwrap_or(&body.to_string()).contains("Client id must be a whole number"), "{body}");
        let (status, body) = post(json!({"broker": "ib", "environment": "paper", "port": port, "client_id": 22, "account_id": "nope"})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("Account ID must be the IB account to trade"), "{body}");
    }
);

on_both_databases!(
    async fn test_connection_explains_what_cannot_work(t) {
        let e = ib_app(t, test_config()).await;
        let fx = Fixture::signup(&e.app, "ib-errors@example.com").await;
        let connect = fx.client.get(e.app.url("/broker-accounts/connect?broker=ib&environment=paper")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_in(&connect);
        let port = e.sim.socket_addr().port().to_string();
        let test = |port: String, client_id: &'static str, account: &'static str| {
            let fx = &fx;
            let e = &e;
            let csrf = csrf.clone();
            async move {
                fx.client
                    .post(e.app.url("/broker-accounts/connect/ib/keys"))
                    .form(&[("csrf", csrf.as_str()), ("environment", "paper"), ("host", "127.0.0.1"), ("port", port.as_str()), ("client_id", client_id), ("account_id", account), ("intent", "test")])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let wrong = test(port.clone(), "11", "DU0000001").await;
        assert!(wrong.contains("DU0000001 is not among the accounts") && wrong.contains("DU1234567, DU7654321"), "{wrong}");
        // Another program holds client id 12.
        let other = atomik_ib::InteractiveBrokers::new(atomik_ib::IbConfig::default(), std::sync::Arc::new(atomik_broker::SystemClock));
        use atomik_broker::Broker;
        other.test_connection(&atomik_broker::Session::Socket { host: "127.0.0.1".into(), port: e.sim.socket_addr().port(), client_id: 12, account: "DU1234567".into() }).await.unwrap();
        let in_use = test(port.clone(), "12", "DU1234567").await;
        assert!(in_use.contains("client id 12 is already in use") && in_use.contains("326"), "{in_use}");
        e.sim.faults().set_read_only(true);
        let read_only = test(port.clone(), "13", "DU1234567").await;
        assert!(read_only.contains("read-only") && read_only.contains("Read-Only API"), "{read_only}");
        assert!(!read_only.contains("name=\"pending\" value=\"") || !read_only.contains("id=\"save\""), "a read-only Gateway is not saved as able to trade");
        e.sim.faults().set_read_only(false);
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = free.local_addr().unwrap().port().to_string();
        drop(free);
        let refused = test(closed, "14", "DU1234567").await;
        assert!(refused.contains("cannot connect to IB Gateway") && refused.contains("Enable ActiveX and Socket Clients"), "{refused}");
        let bad = test("99999".into(), "14", "DU1234567").await;
        assert!(bad.contains("Port must be a number from 1 to 65535"), "{bad}");
    }
);

on_both_databases!(
    async fn signals_through_the_pipeline_with_a_fifth_of_sockets_dropped_after_acceptance_execute_exactly_once(t) {
        let mut config = test_config();
        config.webhook_rate = atomik_server::ratelimit::Rate { per_second: 100_000, burst: 100_000 };
        let e = ib_app(t, config).await;
        let fx = Fixture::signup(&e.app, "ib-faults@example.com").await;
        let account = fx.ib_account("DU1234567").await;
        let hook = fx.webhook("AAPL faults").await;
        fx.strategy(&hook, &account.id, "AAPL", "1").await;
        e.sim.faults().drop_after_accept_randomly(0.2, 7);
        let total = 100;
        let mut ids = Vec::new();
        for n in 0..total {
            let side = if n % 2 == 0 { "buy" } else { "sell" };
            ids.push(fire(&hook.signal_url(), json!({"action": side, "ticker": "AAPL", "id": format!("f{n}")})).await);
        }
        let mut intents = Vec::new();
        for id in &ids {
            intents.extend(settled(&e, id).await);
        }
        let dropped = e.sim.faults().fired(atomik_ib_sim::fault_kind::DROP_AFTER_ACCEPT);
        assert!(dropped >= 10, "the fault fired {dropped} times");
        assert!(intents.iter().all(|i| i.status == IntentStatus::Accepted), "{intents:?}");
        // Each intent's order exactly once in the Gateway's ledger.
        let ledger = e.sim.orders();
        let mut refs: Vec<_> = ledger.iter().map(|o| o.order_ref.clone()).collect();
        refs.sort();
        refs.dedup();
        assert_eq!(refs.len(), ledger.len(), "an order was placed twice");
        let mut coids: Vec<_> = intents.iter().map(|i| i.client_order_id.clone()).collect();
        coids.sort();
        assert_eq!(refs, coids, "every intent's order, and only those");
        // The dropped ones were settled by lookup: their IB order id came from it.
        for i in &intents {
            let placed = ledger.iter().find(|o| o.order_ref == i.client_order_id).unwrap();
            assert_eq!(i.broker_order_id.as_deref(), Some(placed.order_id.to_string().as_str()));
        }
    }
);
