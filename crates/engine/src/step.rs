//! One intent, one step: gather the facts (database read, broker calls),
//! let [`atomik_domain::execution`] decide, apply the outcome through
//! [`atomik_storage::intents::apply`] — the same write on the normal path
//! and on the recovery path.

use std::time::Instant;

use atomik_broker::{AccountRef, OrderRequest, OrderState, OrderType};
use atomik_domain::execution::{
    self as decide, AccountState, Gate, Lookup, MarketFacts, Outcome, Sent,
};
use atomik_domain::lifecycle::IntentStatus;
use atomik_storage::StorageError;
use atomik_storage::intents::{self as store, Applied, Intent, SentOrder};

use crate::executor::Executor;

/// Extra facts an outcome is stored with.
#[derive(Default)]
struct Extra<'a> {
    instrument: Option<&'a str>,
    broker_order_id: Option<&'a str>,
    latency_us: Option<i64>,
    fill: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    note: Option<&'a str>,
}

impl Executor {
    /// Store `outcome` for `i` (decided while it was `from`). Returns whether
    /// the intent is final, so the account may move on.
    async fn settle(
        &self,
        i: &Intent,
        from: IntentStatus,
        outcome: Outcome,
        extra: Extra<'_>,
    ) -> Result<bool, StorageError> {
        if outcome == Outcome::Wait {
            return Ok(false);
        }
        let applied = Applied {
            intent_id: &i.id,
            from,
            account_id: &i.account_id,
            instrument: extra.instrument,
            broker_order_id: extra.broker_order_id,
            latency_us: extra.latency_us,
            fill: extra.fill,
            note: extra.note,
        };
        store::apply(&self.db, applied, &outcome, self.now()).await?;
        let done = matches!(outcome, Outcome::Finish { .. } | Outcome::Accepted { .. });
        match &outcome {
            Outcome::Finish { status, reason, .. } => {
                tracing::info!(intent = %i.id, account = %i.account_id, %status, reason, "intent finished");
            }
            Outcome::Ambiguous { reason } => {
                tracing::warn!(intent = %i.id, account = %i.account_id, reason, "order outcome unknown; it will be looked up");
            }
            _ => {}
        }
        Ok(done)
    }

    /// A pending intent: admit, read the market, decide, send.
    pub(crate) async fn execute(&self, i: &Intent) -> Result<bool, StorageError> {
        let now = self.now();
        let policy = self.config.policy();
        let pending = IntentStatus::Pending;
        let broker = i
            .account
            .as_ref()
            .and_then(|a| self.brokers.for_keys(&a.broker, &a.environment));
        let unreadable = [
            i.rules.as_ref().err(),
            i.signal.as_ref().err(),
            i.multiplier.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .next();
        let gate = Gate {
            now,
            received_at: i.received_at,
            leader: i.leader_status,
            kill_switch: i.kill_switch,
            rules: match (unreadable, &i.rules) {
                (None, Ok(rules)) => Ok(rules),
                (Some(why), _) | (None, Err(why)) => Err(why.as_str()),
            },
            account: match &i.account {
                None => AccountState::Missing,
                Some(a) if a.is_active() => AccountState::Active,
                Some(_) => AccountState::Inactive,
            },
            adapter_configured: broker.is_some(),
        };
        if let Some(outcome) = decide::admit(&gate) {
            return self.settle(i, pending, outcome, Extra::default()).await;
        }
        let (Some(account), Some(broker), Ok(rules), Ok(signal), Ok(multiplier)) =
            (&i.account, broker, &i.rules, &i.signal, &i.multiplier)
        else {
            return Err(StorageError::Invalid("admitted without its facts".into()));
        };
        let session = match self
            .tokens
            .session_with(account, i.credential.as_ref())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let outcome = decide::no_session(&policy, i.attempts, now, &e.to_string());
                return self.settle(i, pending, outcome, Extra::default()).await;
            }
        };
        let aref = AccountRef {
            id: account.broker_account_id.clone(),
            name: account.broker_account_name.clone(),
        };
        // Broker calls: a bounded number per broker environment at a time (a
        // backlog then waits here, cheaply, instead of flooding the broker and
        // the machine with requests). Not held across database writes.
        let gate = self.broker_gate(&format!("{}:{}", account.broker, account.environment));
        let permit = gate.clone().acquire_owned().await.expect("never closed");
        let unsent = |context: &str, e: &atomik_broker::BrokerError| {
            decide::unsent_failure(&policy, i.attempts, self.now(), context, &e.to_failure())
        };
        let instrument = match broker
            .resolve_instrument(&session, &i.strategy_instrument)
            .await
        {
            Ok(x) => x,
            Err(e) => {
                drop(permit);
                let outcome = unsent("cannot resolve the instrument", &e);
                return self.settle(i, pending, outcome, Extra::default()).await;
            }
        };
        let position = match broker.position(&session, &aref, &instrument).await {
            Ok(quantity) => quantity,
            Err(e) => {
                drop(permit);
                let outcome = unsent("cannot read the position", &e);
                return self.settle(i, pending, outcome, Extra::default()).await;
            }
        };
        drop(permit);
        self.reconcile(i, &instrument.symbol, position).await?;
        let orders_today = match rules.daily_order_cap {
            Some(_) => {
                let day_start = now - now.rem_euclid(86_400_000);
                Some(
                    store::accepted_since(&self.db, &i.strategy_id, &i.account_id, day_start)
                        .await?,
                )
            }
            None => None,
        };
        let market = MarketFacts {
            position,
            can_short: instrument.can_short,
            rules: instrument.market_rules(),
            multiplier: *multiplier,
            orders_today,
        };
        let order = match decide::decide(rules, signal, &market) {
            Outcome::Send(order) => order,
            outcome => return self.settle(i, pending, outcome, Extra::default()).await,
        };
        let mut request = OrderRequest {
            client_order_id: i.client_order_id.clone(),
            created_at_ms: i.created_at,
            instrument: instrument.clone(),
            side: order.side,
            quantity: order.quantity,
            quantity_unit: order.unit,
            order_type: OrderType::Market,
            reduce_only: order.reduce_only,
            alert_price: i.alert_price,
            prepared: None,
        };
        // Brokers whose order id is the order's hash build it now, so the id
        // is stored with `sending` before the order leaves.
        request.prepared = match broker.prepare_order(&session, &aref, &request).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let outcome = unsent("cannot prepare the order", &e);
                return self.settle(i, pending, outcome, Extra::default()).await;
            }
        };
        let sent = SentOrder {
            instrument: instrument.symbol.clone(),
            side: order.side,
            quantity: order.quantity,
            unit: order.unit,
        };
        let prepared_id = request
            .prepared
            .as_ref()
            .map(|p| p.broker_order_id.as_str());
        store::start_sending(&self.db, &i.id, &sent, prepared_id, self.now()).await?;
        atomik_failpoint::hit("after_sending");
        let _permit = gate.acquire_owned().await.expect("never closed");
        let started = Instant::now();
        let answer = broker.place_order(&session, &aref, &request).await;
        let latency_us = started.elapsed().as_micros() as i64;
        atomik_failpoint::hit("after_broker_answer");
        let failure = answer.as_ref().err().map(|e| e.to_failure());
        let fill = answer
            .as_ref()
            .ok()
            .and_then(|a| a.fill.as_ref())
            .map(|f| (f.quantity, f.average_price));
        let outcome = decide::after_send(
            &policy,
            i.attempts,
            self.now(),
            &order,
            failure.as_ref().map_or(Ok(fill.map(|(q, _)| q)), Err),
        );
        let extra = Extra {
            instrument: Some(&instrument.symbol),
            broker_order_id: answer.as_ref().ok().map(|a| a.broker_order_id.as_str()),
            latency_us: answer.is_ok().then_some(latency_us),
            fill,
            note: order.note.as_deref(),
        };
        self.settle(i, IntentStatus::Sending, outcome, extra).await
    }

    /// Settle a `sending` or `ambiguous` intent by looking the order up.
    pub(crate) async fn resolve(&self, i: &Intent) -> Result<bool, StorageError> {
        let now = self.now();
        let policy = self.config.policy();
        let broker = i
            .account
            .as_ref()
            .and_then(|a| self.brokers.for_keys(&a.broker, &a.environment));
        let (Some(account), Some(broker)) = (&i.account, broker) else {
            // Only the broker can settle it: wait for an adapter to be
            // configured again, never give up blind.
            let outcome = Outcome::LookUpAt {
                at: now + 30_000,
                reason: Some(
                    "outcome unknown and no adapter is configured for this broker environment: \
                     it will be looked up once one is"
                        .into(),
                ),
            };
            return self.settle(i, i.status, outcome, Extra::default()).await;
        };
        let instrument = i
            .sent
            .as_ref()
            .map_or(i.strategy_instrument.as_str(), |s| s.instrument.as_str());
        let found = match self.tokens.session_for(&account.id).await {
            Ok(session) => {
                let aref = AccountRef {
                    id: account.broker_account_id.clone(),
                    name: account.broker_account_name.clone(),
                };
                broker
                    .find_order(
                        &session,
                        &aref,
                        instrument,
                        &i.client_order_id,
                        i.broker_order_id.as_deref(),
                    )
                    .await
            }
            Err(e) => {
                tracing::warn!(intent = %i.id, error = %e, "no session to look an order up; will retry");
                let outcome = Outcome::LookUpAt {
                    at: now + 2_000,
                    reason: None,
                };
                return self.settle(i, i.status, outcome, Extra::default()).await;
            }
        };
        let lookup = match &found {
            Ok(Some(report)) => Lookup::Found {
                filled: Some(report.filled_quantity),
                rejected: (report.state == OrderState::Rejected).then(|| {
                    report
                        .reason
                        .clone()
                        .unwrap_or_else(|| "the broker rejected the order".into())
                }),
            },
            Ok(None) => Lookup::NotFound,
            Err(e) => {
                tracing::warn!(intent = %i.id, error = %e, "lookup by client order id failed; will retry");
                Lookup::Failed
            }
        };
        let sent = i.sent.as_ref().map(|s| Sent {
            side: s.side,
            quantity: s.quantity,
            unit: s.unit,
            position_before: i.tracked(&s.instrument).unwrap_or_default(),
        });
        // The broker's grace runs from when the order left, not from the
        // last write: every "not found yet" rewrites `updated_at` after its
        // lookup, so measured from there the grace would never run out.
        let since_sent = now - i.sent_at.unwrap_or(i.updated_at);
        let outcome = decide::after_lookup(&policy, now, since_sent, sent, &lookup);
        let extra = Extra {
            instrument: i.sent.as_ref().map(|s| s.instrument.as_str()),
            broker_order_id: found
                .as_ref()
                .ok()
                .and_then(|r| r.as_ref())
                .map(|r| r.broker_order_id.as_str()),
            latency_us: None,
            fill: found.as_ref().ok().and_then(|r| r.as_ref()).and_then(|r| {
                r.average_price
                    .filter(|_| r.filled_quantity > rust_decimal::Decimal::ZERO)
                    .map(|p| (r.filled_quantity, p))
            }),
            note: None,
        };
        self.settle(i, i.status, outcome, extra).await
    }

    /// The broker's position wins; a difference from the tracked one is
    /// logged and noted on the account.
    async fn reconcile(
        &self,
        i: &Intent,
        symbol: &str,
        broker: rust_decimal::Decimal,
    ) -> Result<(), StorageError> {
        let tracked = i.tracked(symbol);
        if tracked == Some(broker) {
            return Ok(());
        }
        let note = tracked.map(|tracked| {
            tracing::warn!(account = %i.account_id, symbol, %tracked, %broker, "tracked position differs from the broker's; using the broker's");
            format!(
                "position for {symbol} differed: atomik tracked {tracked}, the broker reported {broker}; the broker's is used"
            )
        });
        store::reconcile_position(&self.db, &i.account_id, symbol, broker, note, self.now()).await
    }
}
