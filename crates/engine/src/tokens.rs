//! The Token Refresh Service (SPEC §2).
//!
//! - Renews each OAuth token `lead` before the expiry the broker returned
//!   (never a hard-coded lifetime).
//! - Spaces every auth call of one (broker, environment) at least `spacing`
//!   apart across all instances (a database rate slot), so the broker's auth
//!   limit (default 10 per minute) is never exceeded.
//! - One renewal per account at a time across all instances (a database lease).
//! - Transient failures back off exponentially, never past the token's expiry.
//! - On an authorization refusal it re-reads the stored token first (another
//!   worker may have renewed it) and only then marks the account disconnected
//!   with the broker's reason.
//!
//! Both the background loop and callers that need a fresh token now
//! ([`TokenService::session_for`]) go through the same lease and slot.

use std::sync::Arc;
use std::time::Duration;

use atomik_broker::{BrokerError, Clock, Session};
use atomik_secrets::vault::{Vault, VaultError};
use atomik_storage::broker_accounts::{self as accounts, AccountStatus, BrokerAccount};
use atomik_storage::{Db, StorageError, rate_slots};

use crate::{Brokers, credentials};

#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Renew this long before expiry (Tradovate documents ~15 minutes).
    pub lead: Duration,
    /// A token with less validity than this is not handed out.
    pub min_validity: Duration,
    /// Minimum time between two auth calls per (broker, environment):
    /// 6 s = at most 10 per minute.
    pub spacing: Duration,
    /// How long a renewal may hold its lease before others may take over.
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long `session_for` waits for another worker's renewal.
    pub wait_for_renewal: Duration,
    /// Token lifetime assumed for the capacity warning (Tradovate: 90 min).
    pub assumed_lifetime: Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig {
            lead: Duration::from_secs(15 * 60),
            min_validity: Duration::from_secs(60),
            spacing: Duration::from_secs(6),
            lease: Duration::from_secs(30),
            backoff_base: Duration::from_secs(15),
            backoff_max: Duration::from_secs(5 * 60),
            wait_for_renewal: Duration::from_secs(20),
            assumed_lifetime: Duration::from_secs(90 * 60),
        }
    }
}

impl RefreshConfig {
    /// How many accounts one environment's budget can keep alive, for tokens
    /// of `lifetime`: one renewal per account per (lifetime − lead).
    pub fn capacity(&self, lifetime: Duration) -> u64 {
        let cycle = lifetime.saturating_sub(self.lead).as_millis() as u64;
        cycle / (self.spacing.as_millis() as u64).max(1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the account is not connected: {0}")]
    NotConnected(String),
    #[error("no adapter is configured for {0}")]
    NoAdapter(String),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("credential vault: {0}")]
    Vault(#[from] VaultError),
    #[error("timed out waiting for the token renewal of this account")]
    Busy,
}

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassSummary {
    pub renewed: u32,
    pub failed: u32,
    pub disconnected: u32,
    /// Due accounts left for a later pass (no rate slot free yet).
    pub deferred: u32,
}

#[derive(Clone)]
pub struct TokenService {
    db: Db,
    vault: Vault,
    brokers: Brokers,
    clock: Arc<dyn Clock>,
    config: RefreshConfig,
    /// This instance's id; each lease taken adds a unique suffix.
    instance: String,
}

enum Renewal {
    Renewed(Session),
    /// Someone else renewed meanwhile: here is the stored session.
    AlreadyFresh(Session),
}

impl TokenService {
    /// The broker adapters sessions are made for.
    pub fn brokers(&self) -> &Brokers {
        &self.brokers
    }

    pub fn new(
        db: Db,
        vault: Vault,
        brokers: Brokers,
        clock: Arc<dyn Clock>,
        config: RefreshConfig,
    ) -> Self {
        TokenService {
            db,
            vault,
            brokers,
            clock,
            config,
            instance: format!("instance-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// A lease owner id unique to one acquisition.
    fn lease_owner(&self) -> String {
        format!("{}/{}", self.instance, uuid::Uuid::new_v4().simple())
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    fn ms(d: Duration) -> i64 {
        d.as_millis() as i64
    }

    fn slot_key(account: &BrokerAccount) -> String {
        format!("{}:{}:auth", account.broker, account.environment)
    }

    /// When to renew a token that expires at `expires_at`: `lead` before it,
    /// or half-way there for tokens shorter than twice the lead.
    pub fn next_refresh_at(&self, now: i64, expires_at: i64) -> i64 {
        let lead = Self::ms(self.config.lead);
        if expires_at - now >= 2 * lead {
            expires_at - lead
        } else {
            now + (expires_at - now) / 2
        }
    }

    async fn load(
        &self,
        account: &BrokerAccount,
    ) -> Result<(accounts::SealedCredential, Session), TokenError> {
        let (user_id, credential) = accounts::credential(&self.db, &account.id)
            .await?
            .ok_or_else(|| TokenError::NotConnected(disconnected_reason(account)))?;
        let session = credentials::open(&self.vault, &account.id, &user_id, &credential)?;
        Ok((credential, session))
    }

    fn is_fresh(&self, session: &Session) -> bool {
        match session.expires_at_ms() {
            Some(exp) => exp - self.now() > Self::ms(self.config.min_validity),
            None => true,
        }
    }

    fn fresh_by_row(&self, account: &BrokerAccount) -> bool {
        match account.token_expires_at {
            Some(exp) => exp - self.now() > Self::ms(self.config.min_validity),
            None => true,
        }
    }

    /// [`Self::session_for`] when the caller has just read the account and
    /// its sealed credential (`(owner, credential)`): a fresh session then
    /// costs no read at all; otherwise it is renewed as usual.
    pub async fn session_with(
        &self,
        account: &BrokerAccount,
        credential: Option<&(String, accounts::SealedCredential)>,
    ) -> Result<Session, TokenError> {
        if account.status != AccountStatus::Disconnected
            && self.fresh_by_row(account)
            && let Some((user_id, sealed)) = credential
        {
            let session = credentials::open(&self.vault, &account.id, user_id, sealed)?;
            if self.is_fresh(&session) {
                return Ok(session);
            }
        }
        self.session_for(&account.id).await
    }

    /// A usable session for `account_id`, renewing it first if it is about to
    /// expire. Concurrent callers (in this or any other instance) share one
    /// renewal.
    pub async fn session_for(&self, account_id: &str) -> Result<Session, TokenError> {
        let deadline = tokio::time::Instant::now() + self.config.wait_for_renewal;
        loop {
            let account = accounts::get(&self.db, account_id)
                .await?
                .ok_or_else(|| TokenError::NotConnected("no such account".into()))?;
            if account.status == AccountStatus::Disconnected {
                return Err(TokenError::NotConnected(disconnected_reason(&account)));
            }
            if self.fresh_by_row(&account) {
                let (_, session) = self.load(&account).await?;
                if self.is_fresh(&session) {
                    return Ok(session);
                }
            }
            let now = self.now();
            let owner = self.lease_owner();
            if accounts::try_lease(
                &self.db,
                account_id,
                &owner,
                now,
                now + Self::ms(self.config.lease),
            )
            .await?
            {
                let result = self.renew_leased(&account, &owner, true).await;
                accounts::release_lease(&self.db, account_id, &owner).await?;
                return match result? {
                    Renewal::Renewed(s) | Renewal::AlreadyFresh(s) => Ok(s),
                };
            }
            if tokio::time::Instant::now() > deadline {
                return Err(TokenError::Busy);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Wait (up to the renewal wait) for this environment's auth slot.
    async fn take_slot_waiting(&self, key: &str) -> Result<bool, TokenError> {
        let deadline = tokio::time::Instant::now() + self.config.wait_for_renewal;
        loop {
            if rate_slots::try_take(&self.db, key, self.now(), Self::ms(self.config.spacing))
                .await?
            {
                return Ok(true);
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Renew while holding the lease. `wait_for_slot`: wait for the auth
    /// slot (a caller needs the token now) or give up at once (scheduler).
    async fn renew_leased(
        &self,
        account: &BrokerAccount,
        owner: &str,
        wait_for_slot: bool,
    ) -> Result<Renewal, TokenError> {
        // Re-read under the lease: another worker may have renewed between
        // the caller's read and our lease (then its schedule moved on).
        let account = &accounts::get(&self.db, &account.id)
            .await?
            .ok_or_else(|| TokenError::NotConnected("no such account".into()))?;
        let (credential, session) = self.load(account).await?;
        let now = self.now();
        if account.next_refresh_at.is_some_and(|next| next > now) && self.is_fresh(&session) {
            return Ok(Renewal::AlreadyFresh(session));
        }
        let broker = self
            .brokers
            .for_keys(&account.broker, &account.environment)
            .ok_or_else(|| {
                TokenError::NoAdapter(format!("{} {}", account.broker, account.environment))
            })?;
        let key = Self::slot_key(account);
        let slot = if wait_for_slot {
            self.take_slot_waiting(&key).await?
        } else {
            rate_slots::try_take(&self.db, &key, now, Self::ms(self.config.spacing)).await?
        };
        if !slot {
            return Err(TokenError::Busy);
        }
        match broker.refresh_credentials(&session).await {
            Ok(renewed) => {
                atomik_failpoint::hit("token_renewal");
                let now = self.now();
                let expires_at = renewed
                    .expires_at_ms()
                    .unwrap_or(now + Self::ms(self.config.lead) * 4);
                let sealed =
                    credentials::seal(&self.vault, &account.id, &account.user_id, &renewed)?;
                let next = self.next_refresh_at(now, expires_at);
                if !accounts::store_renewal(
                    &self.db,
                    &account.id,
                    owner,
                    &sealed,
                    expires_at,
                    next,
                    now,
                )
                .await?
                {
                    return Err(TokenError::NotConnected(
                        "the account was disconnected during the renewal".into(),
                    ));
                }
                tracing::info!(account = %account.id, broker = %account.broker, "access token renewed");
                Ok(Renewal::Renewed(renewed))
            }
            Err(BrokerError::AuthExpired(reason)) => {
                self.on_refused(account, &credential, &reason).await
            }
            Err(err) => {
                self.on_transient(account, &session, &err).await?;
                Err(err.into())
            }
        }
    }

    /// The broker refused the renewal. Re-read the stored token: if another
    /// worker renewed it meanwhile, use theirs; otherwise the grant is dead.
    async fn on_refused(
        &self,
        account: &BrokerAccount,
        used: &accounts::SealedCredential,
        reason: &str,
    ) -> Result<Renewal, TokenError> {
        if let Some((user_id, stored)) = accounts::credential(&self.db, &account.id).await?
            && stored != *used
        {
            let session = credentials::open(&self.vault, &account.id, &user_id, &stored)?;
            if self.is_fresh(&session) {
                return Ok(Renewal::AlreadyFresh(session));
            }
        }
        let message = format!(
            "{} refused to renew the session ({reason}). Reconnect the account to resume trading.",
            broker_label(&account.broker)
        );
        accounts::mark_grant_dead(&self.db, &account.id, &message, self.now()).await?;
        tracing::warn!(account = %account.id, reason = %reason, "grant is dead; account disconnected");
        Err(TokenError::NotConnected(message))
    }

    async fn on_transient(
        &self,
        account: &BrokerAccount,
        session: &Session,
        err: &BrokerError,
    ) -> Result<(), TokenError> {
        let now = self.now();
        let reason = format!("renewal failed: {err}");
        if let BrokerError::NeedsAttention(msg) = err {
            accounts::pause_with_error(&self.db, &account.id, msg, now).await?;
        }
        let backoff = match err {
            BrokerError::RateLimited { retry_after, .. } => Self::ms(*retry_after),
            _ => {
                let exp = 2i64.saturating_pow(account.refresh_failures.clamp(0, 16) as u32);
                (Self::ms(self.config.backoff_base) * exp).min(Self::ms(self.config.backoff_max))
            }
        };
        // Never schedule the retry past the point where the token is unusable.
        let latest = session
            .expires_at_ms()
            .map(|exp| exp - Self::ms(self.config.min_validity))
            .unwrap_or(i64::MAX);
        let retry_at = (now + backoff).min(latest.max(now + 1_000));
        accounts::record_refresh_failure(&self.db, &account.id, &reason, retry_at, now).await?;
        tracing::warn!(account = %account.id, error = %err, retry_in_ms = retry_at - now, "token renewal failed");
        Ok(())
    }

    /// One scheduler pass: renew every due account while this environment's
    /// auth slots allow; the rest wait for a later pass.
    pub async fn run_once(&self) -> Result<PassSummary, TokenError> {
        let mut summary = PassSummary::default();
        let now = self.now();
        let due = accounts::due_for_refresh(&self.db, now, 200).await?;
        let mut exhausted: Vec<String> = Vec::new();
        for account in due {
            let key = Self::slot_key(&account);
            if exhausted.contains(&key) {
                summary.deferred += 1;
                continue;
            }
            if rate_slots::next_free_at(&self.db, &key).await? > now {
                exhausted.push(key);
                summary.deferred += 1;
                continue;
            }
            let lease_until = now + Self::ms(self.config.lease);
            let owner = self.lease_owner();
            if !accounts::try_lease(&self.db, &account.id, &owner, now, lease_until).await? {
                continue;
            }
            let result = self.renew_leased(&account, &owner, false).await;
            accounts::release_lease(&self.db, &account.id, &owner).await?;
            match result {
                Ok(Renewal::Renewed(_)) => summary.renewed += 1,
                Ok(Renewal::AlreadyFresh(_)) => {}
                Err(TokenError::Busy) => {
                    exhausted.push(key);
                    summary.deferred += 1;
                }
                Err(TokenError::NotConnected(_)) => summary.disconnected += 1,
                Err(TokenError::Storage(e)) => return Err(TokenError::Storage(e)),
                Err(_) => summary.failed += 1,
            }
        }
        Ok(summary)
    }

    /// Environments with more accounts than their auth budget can keep alive
    /// (one renewal per account per lifetime − lead, one call per spacing).
    pub async fn budget_warnings(&self) -> Result<Vec<String>, TokenError> {
        let capacity = self.config.capacity(self.config.assumed_lifetime);
        Ok(accounts::refreshable_counts(&self.db)
            .await?
            .into_iter()
            .filter(|(_, n)| *n as u64 > capacity)
            .map(|(env, n)| {
                format!(
                    "{n} accounts on {env} need token renewals but the auth budget keeps at most {capacity} alive; \
                     some tokens will expire. Spread accounts over more server IPs or environments."
                )
            })
            .collect())
    }

    /// The background loop: a pass every second until `shutdown` resolves.
    pub async fn run(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut shutdown = shutdown;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut passes: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(err) = self.run_once().await {
                        tracing::error!(error = %err, "token refresh pass failed");
                    }
                    if passes.is_multiple_of(300) {
                        for warning in self.budget_warnings().await.unwrap_or_default() {
                            tracing::warn!("{warning}");
                        }
                    }
                    passes += 1;
                }
                _ = shutdown.changed() => break,
            }
        }
    }
}

fn disconnected_reason(account: &BrokerAccount) -> String {
    account
        .status_reason
        .clone()
        .unwrap_or_else(|| "reconnect the account".into())
}

fn broker_label(key: &str) -> &'static str {
    atomik_broker::BrokerKind::parse(key)
        .map(|k| k.label())
        .unwrap_or("The broker")
}
