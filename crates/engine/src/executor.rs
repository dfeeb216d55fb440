//! The execution service: turns order intents into broker orders.
//!
//! Per account, intents run strictly in order and one at a time, under an
//! execution lease that holds across instances; accounts run in parallel, so
//! one account's failure or slowness never delays another. Every intent is
//! marked `sending` before the network call. A lost answer (`Ambiguous`) is
//! settled only by looking the order up by its client order id — never by a
//! blind resend; an intent found `sending` after a crash is settled the same
//! way. Exits are sized on the account's own position as the broker reports
//! it (the tracked position is reconciled and a difference logged).

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomik_broker::{
    AccountRef, BrokerError, Clock, Instrument, OrderRequest, OrderState, OrderType, Side,
};
use atomik_domain::signal::{Action, Intent as SignalIntent, parse_comment};
use atomik_domain::sizing::{self, Decision, OrderKind, QuantitySource, Sizing};
use atomik_storage::broker_accounts as accounts;
use atomik_storage::execution::{self, Intent};
use atomik_storage::{Db, StorageError};
use rust_decimal::Decimal;

use crate::{Brokers, TokenService};

#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// How long an account's execution lease lasts without renewal.
    pub lease: Duration,
    /// Fallback polling when no wake-up arrives (other instances' signals).
    pub poll: Duration,
    /// After an ambiguous outcome, how long to wait before trusting a
    /// "not found" from the broker's lookup.
    pub resolve_grace: Duration,
    /// Attempts before a never-sent intent is given up as failed.
    pub max_attempts: i64,
    /// Executions calling the broker at once per broker environment (from
    /// resolving the instrument to the order's answer): copy-group fan-out
    /// stays within the broker's request limits, and a backlog queues here.
    pub max_in_flight_per_broker: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            resolve_grace: Duration::from_secs(2),
            max_attempts: 5,
            max_in_flight_per_broker: 32,
        }
    }
}

#[derive(Clone)]
pub struct Executor {
    db: Db,
    brokers: Brokers,
    tokens: TokenService,
    clock: Arc<dyn Clock>,
    config: ExecConfig,
    instance: String,
    /// One semaphore per `broker:environment`.
    in_flight:
        Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>>,
    /// Accounts this instance is draining right now, each with whether
    /// work arrived for it meanwhile (then it drains again at once).
    draining: Arc<std::sync::Mutex<std::collections::HashMap<String, bool>>>,
    /// Execution leases this instance holds, and until when. A lease is
    /// kept between drains (renewed once a third of it has gone) instead of
    /// taken and released around each one: two durable writes fewer per
    /// signal. Released on shutdown; after a crash it expires.
    leases: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// This instance is draining the account while it lives.
struct Draining {
    set: Arc<std::sync::Mutex<std::collections::HashMap<String, bool>>>,
    account_id: String,
    /// The mark is gone already (a later drain may own the entry now).
    released: bool,
}

impl Draining {
    /// `None` if the account is being drained already (it is then marked
    /// to drain again when that drain ends, so no work waits for a poll).
    fn start(executor: &Executor, account_id: &str) -> Option<Draining> {
        let set = executor.draining.clone();
        let mut draining = set.lock().expect("draining set");
        if let Some(again) = draining.get_mut(account_id) {
            *again = true;
            return None;
        }
        draining.insert(account_id.to_string(), false);
        drop(draining);
        Some(Draining {
            set,
            account_id: account_id.to_string(),
            released: false,
        })
    }

    /// Whether work arrived during the drain (and clear that); if not, the
    /// account is no longer draining once this returns.
    fn again(&mut self) -> bool {
        let mut draining = self.set.lock().expect("draining set");
        match draining.get_mut(&self.account_id) {
            Some(again) if *again => {
                *again = false;
                true
            }
            _ => {
                draining.remove(&self.account_id);
                self.released = true;
                false
            }
        }
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.set
            .lock()
            .expect("draining set")
            .remove(&self.account_id);
    }
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

impl Executor {
    pub fn new(
        db: Db,
        brokers: Brokers,
        tokens: TokenService,
        clock: Arc<dyn Clock>,
        config: ExecConfig,
    ) -> Self {
        Executor {
            db,
            brokers,
            tokens,
            clock,
            config,
            instance: format!("exec-{}", uuid::Uuid::new_v4().simple()),
            in_flight: Arc::default(),
            draining: Arc::default(),
            leases: Arc::default(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn broker_gate(&self, key: &str) -> Arc<tokio::sync::Semaphore> {
        let mut map = self.in_flight.lock().expect("in-flight map");
        map.entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Semaphore::new(
                    self.config.max_in_flight_per_broker.max(1),
                ))
            })
            .clone()
    }

    /// Until `shutdown`: every `poll`, start a drain for each account with
    /// work that is not already draining (work deferred to later, other
    /// instances' signals, work left by a restart). New signals do not wait
    /// for this: ingress hands their accounts to [`Self::dispatch_accounts`].
    /// Drains run independently: a slow account never holds up another's
    /// next intent.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(err) = self.dispatch().await {
                tracing::error!(error = %err, "execution dispatch failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = shutdown.changed() => break,
            }
        }
        self.release_leases().await;
    }

    async fn dispatch(&self) -> Result<(), StorageError> {
        let accounts = execution::accounts_with_work(&self.db, self.now()).await?;
        self.dispatch_accounts(accounts);
        Ok(())
    }

    /// Drain these accounts now (each in its own task; an account already
    /// draining goes on with the new work). Ingress calls this with the
    /// accounts a signal gave work to, so no query stands between a signal
    /// and its orders; the periodic scan catches everything else.
    pub fn dispatch_accounts(&self, accounts: impl IntoIterator<Item = String>) {
        for account_id in accounts {
            let Some(mut draining) = Draining::start(self, &account_id) else {
                continue;
            };
            let me = self.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = me.drain_account(&account_id).await {
                        // No retry at once: a failing database would turn
                        // into a tight loop of broker reads. The poll retries.
                        tracing::error!(error = %e, account = %account_id, "account execution failed");
                        break;
                    }
                    if !draining.again() {
                        break;
                    }
                }
                drop(draining);
            });
        }
    }

    /// Give up every lease this instance holds (on shutdown).
    async fn release_leases(&self) {
        let held: Vec<String> = self
            .leases
            .lock()
            .expect("leases")
            .drain()
            .map(|(account, _)| account)
            .collect();
        for account_id in held {
            if let Err(e) =
                execution::release_exec_lease(&self.db, &account_id, &self.lease_owner()).await
            {
                tracing::warn!(error = %e, account = %account_id, "cannot release an execution lease; it will expire");
            }
        }
    }

    fn lease_owner(&self) -> String {
        format!("{}/exec", self.instance)
    }

    /// Hold the account's execution lease for at least two thirds of its
    /// length: renew it (one durable write) only when needed.
    async fn hold_lease(&self, account_id: &str) -> Result<bool, StorageError> {
        let now = self.now();
        let lease = ms(self.config.lease);
        let held_until = self.leases.lock().expect("leases").get(account_id).copied();
        if held_until.is_some_and(|until| until - now > lease * 2 / 3) {
            return Ok(true);
        }
        let until = now + lease;
        let taken =
            execution::try_exec_lease(&self.db, account_id, &self.lease_owner(), now, until)
                .await?;
        let mut leases = self.leases.lock().expect("leases");
        if taken {
            leases.insert(account_id.to_string(), until);
        } else {
            leases.remove(account_id);
        }
        Ok(taken)
    }

    /// One pass, waiting for it: every account with work, in parallel.
    /// Returns intents advanced.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let accounts = execution::accounts_with_work(&self.db, self.now()).await?;
        let mut set = tokio::task::JoinSet::new();
        for account_id in accounts {
            let Some(draining) = Draining::start(self, &account_id) else {
                continue;
            };
            let me = self.clone();
            set.spawn(async move {
                let result = me.drain_account(&account_id).await;
                drop(draining);
                result
            });
        }
        let mut advanced = 0;
        while let Some(result) = set.join_next().await {
            match result {
                Ok(Ok(n)) => advanced += n,
                Ok(Err(e)) => tracing::error!(error = %e, "account execution failed"),
                Err(e) => tracing::error!(error = %e, "account execution task panicked"),
            }
        }
        Ok(advanced)
    }

    /// Execute the account's intents in order while they are due. The
    /// caller holds the account's [`Draining`] mark.
    async fn drain_account(&self, account_id: &str) -> Result<usize, StorageError> {
        let mut advanced = 0;
        while self.hold_lease(account_id).await? {
            let (Some(intent), more) = execution::next_intents(&self.db, account_id).await? else {
                break;
            };
            if intent.not_before > self.now() {
                break;
            }
            let done = match intent.status.as_str() {
                "pending" => self.execute(&intent).await?,
                _ => self.resolve(&intent).await?,
            };
            if done && intent.has_followers {
                // Followers of this intent may go now.
                self.dispatch_accounts(execution::follower_accounts(&self.db, &intent.id).await?);
            }
            advanced += 1;
            // Nothing more: work that arrives from now on drains this
            // account again (see `Draining`), or the poll finds it.
            if !done || !more {
                break;
            }
        }
        Ok(advanced)
    }

    async fn finish(&self, i: &Intent, status: &str, reason: &str) -> Result<bool, StorageError> {
        execution::mark(
            &self.db,
            &i.id,
            status,
            Some(reason),
            None,
            None,
            self.now(),
        )
        .await?;
        tracing::info!(intent = %i.id, account = %i.account_id, status, reason, "intent finished");
        Ok(true)
    }

    /// Not sent: back off, or give up after `max_attempts`.
    async fn not_sent(
        &self,
        i: &Intent,
        reason: &str,
        wait: Duration,
    ) -> Result<bool, StorageError> {
        if i.attempts >= self.config.max_attempts {
            return self
                .finish(
                    i,
                    "failed",
                    &format!("gave up after {} attempts: {reason}", i.attempts),
                )
                .await;
        }
        execution::retry_later(&self.db, &i.id, reason, self.now() + ms(wait), self.now()).await?;
        Ok(false)
    }

    /// A failure before anything was sent: counts as an attempt; give up
    /// after `max_attempts`.
    async fn retry_unsent(
        &self,
        i: &Intent,
        reason: &str,
        wait: Duration,
    ) -> Result<bool, StorageError> {
        let attempts = i.attempts + 1;
        if attempts >= self.config.max_attempts {
            let reason = format!("gave up after {attempts} attempts: {reason}");
            return self.finish(i, "failed", &reason).await;
        }
        execution::retry_unsent(&self.db, &i.id, reason, self.now() + ms(wait), self.now()).await?;
        Ok(false)
    }

    /// A broker failure before the order was sent (resolving the instrument,
    /// reading the position): wait out rate limits, show refused
    /// credentials on the account, pause it when a human must act.
    async fn unsent_failure(
        &self,
        i: &Intent,
        account_id: &str,
        context: &str,
        err: BrokerError,
    ) -> Result<bool, StorageError> {
        let reason = format!("{context}: {err}");
        match err {
            BrokerError::RateLimited { retry_after, .. } => {
                let at = self.now() + ms(retry_after);
                execution::retry_later(&self.db, &i.id, &reason, at, self.now()).await?;
                Ok(false)
            }
            BrokerError::NeedsAttention(msg) => {
                accounts::pause_with_error(&self.db, account_id, &msg, self.now()).await?;
                self.finish(i, "failed", &reason).await
            }
            BrokerError::Misconfigured(_) => {
                accounts::record_error(&self.db, account_id, &reason, false, self.now()).await?;
                self.finish(i, "failed", &reason).await
            }
            BrokerError::AuthExpired(_) => {
                accounts::record_error(&self.db, account_id, &reason, false, self.now()).await?;
                self.retry_unsent(i, &reason, Duration::from_millis(500))
                    .await
            }
            _ => self.retry_unsent(i, &reason, Duration::from_secs(1)).await,
        }
    }

    /// Execute a pending intent. Returns whether it is final (the account may
    /// move on to its next intent).
    async fn execute(&self, i: &Intent) -> Result<bool, StorageError> {
        // A copy-group follower goes right after its leader's order is final.
        if i.leader_intent_id.is_some()
            && matches!(
                i.leader_status.as_deref(),
                Some("pending" | "sending" | "ambiguous")
            )
        {
            return Ok(false);
        }
        if let Some(scope) = &i.kill_switch {
            return self
                .finish(
                    i,
                    "skipped",
                    &format!("kill switch engaged ({scope}): no order sent"),
                )
                .await;
        }
        if let Some(window) = &i.strategy.trading_hours
            && let Ok(hours) = atomik_domain::hours::TradingHours::parse(window)
            && !hours.contains(self.now())
        {
            let reason = format!("outside the strategy's trading hours ({hours})");
            return self.finish(i, "skipped", &reason).await;
        }
        let Some(account) = &i.account else {
            return self
                .finish(i, "skipped", "the account no longer exists")
                .await;
        };
        if !account.is_active() {
            return self
                .finish(i, "skipped", "the account is paused or disconnected")
                .await;
        }
        let Some(broker) = self.brokers.for_keys(&account.broker, &account.environment) else {
            return self
                .finish(
                    i,
                    "failed",
                    "no adapter is configured for this broker environment",
                )
                .await;
        };
        let session = match self
            .tokens
            .session_with(account, i.credential.as_ref())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let reason = format!("no usable session: {e}");
                return self.retry_unsent(i, &reason, Duration::from_secs(2)).await;
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
        let instrument = match broker
            .resolve_instrument(&session, &i.strategy.instrument)
            .await
        {
            Ok(x) => x,
            Err(BrokerError::Rejected { reason, .. }) => {
                return self.finish(i, "rejected", &reason).await;
            }
            Err(e) => {
                return self
                    .unsent_failure(i, &account.id, "cannot resolve the instrument", e)
                    .await;
            }
        };
        let position = match broker.position(&session, &aref, &instrument).await {
            Ok(quantity) => quantity,
            Err(e) => {
                return self
                    .unsent_failure(i, &account.id, "cannot read the position", e)
                    .await;
            }
        };
        drop(permit);
        let tracked = i
            .tracked_positions
            .iter()
            .find(|(symbol, _)| *symbol == instrument.symbol)
            .and_then(|(_, quantity)| Decimal::from_str(quantity).ok());
        self.reconcile(&account.id, &instrument.symbol, tracked, position)
            .await?;
        let decision = match size(i, position, &instrument) {
            Ok(d) => d,
            Err(reason) => return self.finish(i, "rejected", &reason).await,
        };
        let (side, quantity, kind) = match decision {
            Decision::Skip(reason) => return self.finish(i, "skipped", &reason.to_string()).await,
            Decision::Order {
                side,
                quantity,
                kind,
            } => (side, quantity, kind),
        };
        if let Some(max) = i
            .strategy
            .max_order_quantity
            .as_deref()
            .and_then(|m| Decimal::from_str(m).ok())
            && quantity > max
        {
            let reason = format!(
                "risk: an order of {quantity} exceeds the strategy's max order quantity {max}"
            );
            return self.finish(i, "skipped", &reason).await;
        }
        if let Some(cap) = i.strategy.daily_order_cap {
            let day_start = self.now() - self.now().rem_euclid(86_400_000);
            let sent =
                execution::accepted_since(&self.db, &i.strategy.id, &i.account_id, day_start)
                    .await?;
            if sent >= cap {
                let reason = format!(
                    "risk: the strategy's daily order cap ({cap}) is reached on this account"
                );
                return self.finish(i, "skipped", &reason).await;
            }
        }
        let side_text = side_key(side);
        execution::mark_sending(
            &self.db,
            &i.id,
            &instrument.symbol,
            side_text,
            &quantity.to_string(),
            self.now(),
        )
        .await?;
        let _permit = gate.acquire_owned().await.expect("never closed");
        let started = Instant::now();
        let request = OrderRequest {
            client_order_id: i.client_order_id.clone(),
            instrument: instrument.clone(),
            side,
            quantity,
            order_type: OrderType::Market,
            reduce_only: matches!(kind, OrderKind::Reduce | OrderKind::Close),
        };
        match broker.place_order(&session, &aref, &request).await {
            Ok(ack) => {
                let after = match side {
                    Side::Buy => position + quantity,
                    Side::Sell => position - quantity,
                };
                let accepted = execution::Accepted {
                    intent_id: &i.id,
                    broker_order_id: &ack.broker_order_id,
                    latency_us: started.elapsed().as_micros() as i64,
                    account_id: &account.id,
                    instrument: &instrument.symbol,
                    position_after: &after.to_string(),
                };
                execution::mark_accepted(&self.db, accepted, self.now()).await?;
                Ok(true)
            }
            Err(BrokerError::Rejected { reason, .. }) => self.finish(i, "rejected", &reason).await,
            Err(BrokerError::Ambiguous(reason)) => {
                execution::mark(
                    &self.db,
                    &i.id,
                    "ambiguous",
                    Some(&reason),
                    None,
                    None,
                    self.now(),
                )
                .await?;
                Ok(false)
            }
            Err(BrokerError::NeedsAttention(msg)) => {
                accounts::pause_with_error(&self.db, &account.id, &msg, self.now()).await?;
                self.finish(i, "failed", &msg).await
            }
            // A rate limit always ends: wait as told, never give up over it.
            Err(BrokerError::RateLimited {
                retry_after,
                reason,
            }) => {
                execution::retry_later(
                    &self.db,
                    &i.id,
                    &reason,
                    self.now() + ms(retry_after),
                    self.now(),
                )
                .await?;
                Ok(false)
            }
            Err(e @ BrokerError::NotSent(_)) => {
                self.not_sent(i, &e.to_string(), Duration::from_millis(500))
                    .await
            }
            // Refused credentials (a revoked key, a lost permission) and a
            // setup that cannot work are shown on the account as well.
            Err(e @ BrokerError::AuthExpired(_)) => {
                accounts::record_error(&self.db, &account.id, &e.to_string(), false, self.now())
                    .await?;
                self.not_sent(i, &e.to_string(), Duration::from_millis(500))
                    .await
            }
            Err(e @ BrokerError::Misconfigured(_)) => {
                accounts::record_error(&self.db, &account.id, &e.to_string(), false, self.now())
                    .await?;
                self.finish(i, "failed", &e.to_string()).await
            }
        }
    }

    /// Settle a `sending` or `ambiguous` intent by looking the order up.
    async fn resolve(&self, i: &Intent) -> Result<bool, StorageError> {
        let Some(account) = accounts::get(&self.db, &i.account_id).await? else {
            return self
                .finish(i, "failed", "the account no longer exists; outcome unknown")
                .await;
        };
        let Some(broker) = self.brokers.for_keys(&account.broker, &account.environment) else {
            return self
                .finish(i, "failed", "no adapter is configured; outcome unknown")
                .await;
        };
        let retry =
            |wait: Duration| execution::defer(&self.db, &i.id, self.now() + ms(wait), self.now());
        let session = match self.tokens.session_for(&account.id).await {
            Ok(s) => s,
            Err(_) => {
                retry(Duration::from_secs(2)).await?;
                return Ok(false);
            }
        };
        let aref = AccountRef {
            id: account.broker_account_id.clone(),
            name: account.broker_account_name.clone(),
        };
        match broker
            .order_by_client_id(
                &session,
                &aref,
                i.instrument.as_deref().unwrap_or(&i.strategy.instrument),
                &i.client_order_id,
            )
            .await
        {
            Ok(Some(report)) => {
                let (status, reason) = match report.state {
                    OrderState::Rejected => (
                        "rejected",
                        report.reason.clone().unwrap_or_else(|| "rejected".into()),
                    ),
                    _ => (
                        "accepted",
                        "found at the broker after an unknown outcome".to_string(),
                    ),
                };
                execution::mark(
                    &self.db,
                    &i.id,
                    status,
                    Some(&reason),
                    Some(&report.broker_order_id),
                    None,
                    self.now(),
                )
                .await?;
                if status == "accepted"
                    && let (Some(symbol), Some(side), Some(qty)) =
                        (&i.instrument, &i.side, &i.quantity)
                {
                    let before = execution::position(&self.db, &account.id, symbol)
                        .await?
                        .and_then(|q| Decimal::from_str(&q).ok())
                        .unwrap_or(Decimal::ZERO);
                    let side = if side == "buy" { Side::Buy } else { Side::Sell };
                    self.apply_fill(
                        &account.id,
                        symbol,
                        before,
                        side,
                        Decimal::from_str(qty).unwrap_or_default(),
                    )
                    .await?;
                }
                Ok(true)
            }
            Ok(None) if self.now() - i.updated_at < ms(self.config.resolve_grace) => {
                retry(self.config.resolve_grace).await?;
                Ok(false)
            }
            Ok(None) => {
                // The broker has no such order: it was never placed. Safe to
                // send again with the same client order id.
                execution::retry_later(
                    &self.db,
                    &i.id,
                    "not placed at the broker; sending again",
                    0,
                    self.now(),
                )
                .await?;
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(intent = %i.id, error = %e, "lookup by client order id failed; will retry");
                retry(Duration::from_secs(1)).await?;
                Ok(false)
            }
        }
    }

    /// Compare the broker's position with the tracked one; the broker wins.
    /// `tracked`: atomik's position for `symbol`, read with the intent.
    async fn reconcile(
        &self,
        account_id: &str,
        symbol: &str,
        tracked: Option<Decimal>,
        broker: Decimal,
    ) -> Result<(), StorageError> {
        if let Some(tracked) = tracked
            && tracked != broker
        {
            tracing::warn!(account = %account_id, symbol, %tracked, %broker, "tracked position differs from the broker's; using the broker's");
            let note = format!(
                "position for {symbol} differed: atomik tracked {tracked}, the broker reported {broker}; the broker's is used"
            );
            accounts::record_error(&self.db, account_id, &note, false, self.now()).await?;
        }
        if tracked != Some(broker) {
            execution::set_position(
                &self.db,
                account_id,
                symbol,
                &broker.to_string(),
                self.now(),
            )
            .await?;
        }
        Ok(())
    }

    async fn apply_fill(
        &self,
        account_id: &str,
        symbol: &str,
        before: Decimal,
        side: Side,
        qty: Decimal,
    ) -> Result<(), StorageError> {
        let after = match side {
            Side::Buy => before + qty,
            Side::Sell => before - qty,
        };
        execution::set_position(&self.db, account_id, symbol, &after.to_string(), self.now()).await
    }
}

fn side_key(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// The sizing decision for an intent on `position` in `instrument`.
fn size(i: &Intent, position: Decimal, instrument: &Instrument) -> Result<Decision, String> {
    let bad = |what: &str| format!("strategy misconfigured: {what}");
    let action = match i.action.as_str() {
        "BUY" => Action::Buy,
        "SELL" => Action::Sell,
        "EXIT" => Action::Exit,
        other => return Err(format!("unknown action {other}")),
    };
    let intent = match &i.comment {
        Some(c) => parse_comment(c).map_err(|e| e.to_string())?,
        None => SignalIntent::Default,
    };
    let multiplier = match &i.multiplier {
        Some(m) => Decimal::from_str(m).map_err(|_| bad("copy-group multiplier"))?,
        None => Decimal::ONE,
    };
    let strategy_qty =
        Decimal::from_str(&i.strategy.quantity).map_err(|_| bad("quantity"))? * multiplier;
    let source = if i.strategy.quantity_from_alert {
        QuantitySource::FromAlert {
            cap: Decimal::from_str(&i.strategy.max_per_signal)
                .map_err(|_| bad("max per signal"))?,
        }
    } else {
        QuantitySource::Fixed
    };
    let alert_qty = i
        .alert_quantity
        .as_deref()
        .and_then(|q| Decimal::from_str(q).ok());
    let max_position = match &i.strategy.max_position {
        Some(m) => Some(Decimal::from_str(m).map_err(|_| bad("max position"))?),
        None => None,
    };
    Ok(sizing::decide(&Sizing {
        action,
        intent,
        position,
        quantity: sizing::order_quantity(strategy_qty, source, alert_qty),
        max_position,
        can_short: instrument.can_short,
        step: instrument.quantity_step,
    }))
}
