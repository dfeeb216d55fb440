//! The execution service: turns order intents into broker orders.
//!
//! Per account, intents run strictly in order and one at a time, under an
//! execution lease that holds across instances; accounts run in parallel, so
//! one account's failure or slowness never delays another. What happens to
//! one intent is decided by [`atomik_domain::execution`] and carried out by
//! [`crate::step`]: gather the facts, decide, apply the outcome.

use std::sync::Arc;
use std::time::Duration;

use atomik_broker::Clock;
use atomik_domain::lifecycle::IntentStatus;
use atomik_storage::intents as execution;
use atomik_storage::{Db, StorageError};

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
    /// Counted failed tries before a never-sent intent is given up.
    pub max_attempts: i64,
    /// Executions calling the broker at once per broker environment (from
    /// resolving the instrument to the order's answer): copy-group fan-out
    /// stays within the broker's request limits, and a backlog queues here.
    pub max_in_flight_per_broker: usize,
    /// Who holds this instance's execution leases. Stable across restarts
    /// (the binary keeps it in the data directory), so a restarted instance
    /// takes its own leases back at once instead of waiting them out.
    /// `None`: a fresh random one.
    pub instance_id: Option<String>,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            resolve_grace: Duration::from_secs(2),
            max_attempts: 5,
            max_in_flight_per_broker: 32,
            instance_id: None,
        }
    }
}

impl ExecConfig {
    pub(crate) fn policy(&self) -> atomik_domain::execution::Policy {
        atomik_domain::execution::Policy {
            max_attempts: self.max_attempts,
            resolve_grace_ms: ms(self.resolve_grace),
        }
    }
}

#[derive(Clone)]
pub struct Executor {
    pub(crate) db: Db,
    pub(crate) brokers: Brokers,
    pub(crate) tokens: TokenService,
    clock: Arc<dyn Clock>,
    pub(crate) config: ExecConfig,
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

pub(crate) fn ms(d: Duration) -> i64 {
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
            instance: config
                .instance_id
                .clone()
                .unwrap_or_else(|| format!("exec-{}", uuid::Uuid::new_v4().simple())),
            config,
            in_flight: Arc::default(),
            draining: Arc::default(),
            leases: Arc::default(),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn broker_gate(&self, key: &str) -> Arc<tokio::sync::Semaphore> {
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
            let done = self.step_contained(&intent).await?;
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

    /// One step for `intent`; a panic inside it (a bug) ends that intent
    /// with the reason instead of repeating on every poll and blocking the
    /// account's later intents. An intent that may be at the broker is
    /// still settled by lookup, never ended blind.
    async fn step_contained(
        &self,
        intent: &atomik_storage::intents::Intent,
    ) -> Result<bool, StorageError> {
        use futures_util::FutureExt;
        let step = async {
            match intent.status {
                IntentStatus::Pending => self.execute(intent).await,
                _ => self.resolve(intent).await,
            }
        };
        let panic = match std::panic::AssertUnwindSafe(step).catch_unwind().await {
            Ok(result) => return result,
            Err(panic) => panic,
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        tracing::error!(intent = %intent.id, account = %intent.account_id, panic = %what, "executing an intent failed unexpectedly");
        let outcome = if intent.status == IntentStatus::Pending {
            atomik_domain::execution::Outcome::Finish {
                status: IntentStatus::Failed,
                reason: format!("internal error while executing ({what}); nothing was sent"),
                note: None,
            }
        } else {
            atomik_domain::execution::Outcome::LookUpAt {
                at: self.now() + 5_000,
                reason: None,
            }
        };
        let applied = execution::Applied {
            intent_id: &intent.id,
            from: intent.status,
            account_id: &intent.account_id,
            instrument: None,
            broker_order_id: None,
            latency_us: None,
            fill: None,
            note: None,
        };
        match execution::apply(&self.db, applied, &outcome, self.now()).await {
            Ok(()) => Ok(intent.status == IntentStatus::Pending),
            // It had become `sending` before the panic: the lookup settles it.
            Err(StorageError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
