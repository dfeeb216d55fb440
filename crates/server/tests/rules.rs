//! Defects found by crash, attack and new-user testing, each against the
//! real server and the Tradovate simulator on SQLite and PostgreSQL: values
//! that blocked an account, absurd orders, orders sent late, leases waited
//! out after a restart.

use std::time::{Duration, Instant};

use atomik_domain::lifecycle::IntentStatus;
use atomik_storage::execution;
use atomik_testkit::{Fixture, Hook, TradovateEnv, on_both_databases, tradovate_app};
use serde_json::{Value, json};

struct Trader {
    fx: Fixture,
    account_id: String,
    hook: Hook,
}

/// Sign up, connect the demo account, create a webhook (no strategy).
async fn trader(e: &TradovateEnv) -> Trader {
    let fx = Fixture::signup(&e.app, "rules@example.com").await;
    let account_id = fx.tradovate_account(&e.sim.base_url()).await.id;
    let hook = fx.webhook("rules").await;
    Trader {
        fx,
        account_id,
        hook,
    }
}

impl Trader {
    async fn strategy(&self, e: &TradovateEnv, body: Value) -> (u16, Value) {
        let mut body = body;
        body["webhook_id"] = self.hook.id.clone().into();
        body["broker_account_id"] = self.account_id.clone().into();
        let res = self
            .fx
            .client
            .post(e.app.url("/api/v1/strategies"))
            .header("x-csrf-token", &self.fx.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn send(&self, payload: Value) -> String {
        let res = atomik_testkit::client()
            .post(self.hook.signal_url())
            .json(&payload)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        body["signal_id"].as_str().unwrap().to_string()
    }
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Wait (bounded) until the signal's intents are final.
async fn settled(e: &TradovateEnv, signal_id: &str) -> Vec<execution::IntentView> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let intents = execution::intents_of_signal(&e.app.db, signal_id)
            .await
            .unwrap();
        if !intents.is_empty() && intents.iter().all(|i| i.status.is_terminal()) {
            return intents;
        }
        assert!(Instant::now() < deadline, "intents still open: {intents:?}");
        e.app.executor.run_once().await.unwrap();
        tokio::task::yield_now().await;
    }
}

on_both_databases!(
    /// Bad values are refused when the strategy is saved, saying which and
    /// why; nothing is stored.
    async fn strategy_values_are_validated_when_saved(t) {
        let e = tradovate_app(t, "rules-secret", Duration::from_secs(5)).await;
        let t = trader(&e).await;
        let base = json!({"name": "s", "instrument": "MNQ1!", "quantity": "1"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let cases = [
            (with("trading_hours", json!("9-17")), 422, "HH:MM"),
            (with("max_order_quantity", json!("lots")), 422, "max_order_quantity"),
            (with("quantity", json!("1000000000000000000000000000")), 422, "too large"),
            // Absurd but in range: above the market's default max order size.
            (with("quantity", json!("1000000")), 422, "default max order quantity"),
            (with("instrument", json!("ZZZZNOTREAL")), 422, "does not know the instrument"),
            (with("max_signal_age_secs", json!(0)), 422, "max_signal_age_secs"),
            // Futures are never ordered by an amount of collateral.
            (with("quantity_unit", json!("collateral")), 422, "set the quantity unit to units"),
            (with("quantity_unit", json!("dollars")), 422, "units or collateral"),
        ];
        for (body, status, words) in cases {
            let (got, answer) = t.strategy(&e, body.clone()).await;
            assert_eq!(got, status, "{body} → {answer}");
            assert!(message(&answer).contains(words), "{body} → {answer}");
        }
        let none: Value = t.fx.client.get(e.app.url("/api/v1/strategies")).send().await.unwrap().json().await.unwrap();
        assert_eq!(none.as_array().unwrap().len(), 0, "nothing half-saved");
        // Raised deliberately, a large order is allowed (the broker's margin
        // check then decides).
        let (got, answer) = t.strategy(&e, with("quantity", json!("1000000")).as_object().map(|o| {
            let mut o = o.clone();
            o.insert("max_order_quantity".into(), json!("1000000"));
            Value::Object(o)
        }).unwrap()).await;
        assert_eq!(got, 201, "{answer}");
        assert_eq!(answer["max_order_quantity"], "1000000");
        assert_eq!(answer["max_signal_age_secs"], 60);
    }
);

on_both_databases!(
    /// A strategy row that cannot be read (saved before validation existed)
    /// fails closed: its intent is rejected with the reason, and the
    /// account's next intent is not blocked behind it.
    async fn an_unreadable_rule_rejects_its_intent_and_blocks_nothing(t) {
        let e = tradovate_app(t, "rules-secret", Duration::from_secs(5)).await;
        let t = trader(&e).await;
        let (got, answer) = t.strategy(&e, json!({"name": "s", "instrument": "MNQ1!", "quantity": "1"})).await;
        assert_eq!(got, 201, "{answer}");
        sqlx::query("UPDATE strategies SET quantity = '1000000000000000000000000000'")
            .execute(e.app.db.pool())
            .await
            .unwrap();
        let bad = t.send(json!({"action": "BUY", "id": "bad"})).await;
        let intents = settled(&e, &bad).await;
        assert_eq!(intents[0].status, IntentStatus::Rejected, "{intents:?}");
        assert!(intents[0].reason.as_deref().unwrap().contains("strategy misconfigured"), "{intents:?}");
        assert!(e.sim.orders().is_empty());
        sqlx::query("UPDATE strategies SET quantity = '1'").execute(e.app.db.pool()).await.unwrap();
        let good = t.send(json!({"action": "BUY", "id": "good"})).await;
        assert_eq!(settled(&e, &good).await[0].status, IntentStatus::Accepted);
        assert_eq!(e.sim.orders().len(), 1);
    }
);

on_both_databases!(
    /// A restarted instance (same instance id) takes its own execution
    /// lease back at once; another instance must wait it out. An intent
    /// older than the strategy's max signal age is skipped, not sent late.
    async fn restarts_recover_leases_at_once_and_old_signals_expire(t) {
        let e = tradovate_app(t, "rules-secret", Duration::from_secs(5)).await;
        let t = trader(&e).await;
        let (got, answer) = t.strategy(&e, json!({"name": "s", "instrument": "MNQ1!", "quantity": "1"})).await;
        assert_eq!(got, 201, "{answer}");
        // The previous life of instance "crashed" holds the account's lease.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!(execution::try_exec_lease(&e.app.db, &t.account_id, "crashed/exec", now, now + 30_000).await.unwrap());
        let fresh = t.send(json!({"action": "BUY", "id": "fresh"})).await;
        let restart = |id: &str| {
            atomik_engine::Executor::new(
                e.app.db.clone(),
                e.app.tokens.brokers().clone(),
                e.app.tokens.clone(),
                std::sync::Arc::new(atomik_broker::SystemClock),
                atomik_engine::ExecConfig { instance_id: Some(id.into()), ..Default::default() },
            )
        };
        assert_eq!(restart("someone-else").run_once().await.unwrap(), 0, "the lease is not theirs");
        assert!(e.sim.orders().is_empty());
        assert_eq!(restart("crashed").run_once().await.unwrap(), 1, "its own lease, taken back at once");
        assert_eq!(settled(&e, &fresh).await[0].status, IntentStatus::Accepted);
        // A signal that waited past its max age (default 60 s) is skipped.
        assert!(execution::try_exec_lease(&e.app.db, &t.account_id, "crashed/exec", now, now + 30_000).await.unwrap());
        let stale = t.send(json!({"action": "BUY", "id": "stale"})).await;
        sqlx::query("UPDATE signals SET received_at = received_at - 61000 WHERE id = $1")
            .bind(&stale)
            .execute(e.app.db.pool())
            .await
            .unwrap();
        restart("crashed").run_once().await.unwrap();
        let intents = settled(&e, &stale).await;
        assert_eq!(intents[0].status, IntentStatus::Skipped, "{intents:?}");
        assert!(intents[0].reason.as_deref().unwrap().starts_with("expired: not sent within 60s"), "{intents:?}");
        assert_eq!(e.sim.orders().len(), 1, "nothing sent late");
    }
);
