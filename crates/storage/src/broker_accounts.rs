//! Broker accounts and their sealed credentials: connect (under the plan's
//! account limit), list, pause, disconnect, and the token-refresh bookkeeping
//! (leases, schedule, results). Credentials arrive here already sealed; this
//! module never sees a plaintext secret.

use atomik_domain::Resource;

use crate::sql::{Cols, FromRow, args};
use crate::{Db, Result, StorageError, new_id, plans};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Connected,
    Disconnected,
    Error,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Connected => "connected",
            AccountStatus::Disconnected => "disconnected",
            AccountStatus::Error => "error",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "connected" => Ok(AccountStatus::Connected),
            "disconnected" => Ok(AccountStatus::Disconnected),
            "error" => Ok(AccountStatus::Error),
            other => Err(StorageError::Invalid(format!(
                "unknown account status {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAccount {
    pub id: String,
    pub user_id: String,
    pub broker: String,
    pub environment: String,
    pub display_name: String,
    pub broker_account_id: String,
    pub broker_account_name: String,
    pub status: AccountStatus,
    pub paused: bool,
    /// Why the account is disconnected (user action, dead grant…).
    pub status_reason: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub balance: Option<String>,
    pub token_expires_at: Option<i64>,
    pub next_refresh_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    pub last_refresh_result: Option<String>,
    pub refresh_failures: i64,
    pub created_at: i64,
}

impl BrokerAccount {
    /// Only active accounts trade: connected and not paused.
    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Connected && !self.paused
    }
}

pub(crate) const COLUMNS: &str = "id, user_id, broker, environment, display_name, broker_account_id, broker_account_name, \
     status, paused, status_reason, last_error, last_error_at, balance, token_expires_at, next_refresh_at, \
     last_refresh_at, last_refresh_result, refresh_failures, created_at";

fn from_row(row: &impl crate::sql::Cols) -> Result<BrokerAccount> {
    from_prefixed(row, "")
}

/// An account from columns named `{prefix}{column}` (joined queries).
pub(crate) fn from_prefixed(row: &impl crate::sql::Cols, prefix: &str) -> Result<BrokerAccount> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(BrokerAccount {
        id: row.try_get(&col("id"))?,
        user_id: row.try_get(&col("user_id"))?,
        broker: row.try_get(&col("broker"))?,
        environment: row.try_get(&col("environment"))?,
        display_name: row.try_get(&col("display_name"))?,
        broker_account_id: row.try_get(&col("broker_account_id"))?,
        broker_account_name: row.try_get(&col("broker_account_name"))?,
        status: AccountStatus::parse(&row.try_get::<String>(&col("status"))?)?,
        paused: row.try_get::<i64>(&col("paused"))? != 0,
        status_reason: row.try_get(&col("status_reason"))?,
        last_error: row.try_get(&col("last_error"))?,
        last_error_at: row.try_get(&col("last_error_at"))?,
        balance: row.try_get(&col("balance"))?,
        token_expires_at: row.try_get(&col("token_expires_at"))?,
        next_refresh_at: row.try_get(&col("next_refresh_at"))?,
        last_refresh_at: row.try_get(&col("last_refresh_at"))?,
        last_refresh_result: row.try_get(&col("last_refresh_result"))?,
        refresh_failures: row.try_get(&col("refresh_failures"))?,
        created_at: row.try_get(&col("created_at"))?,
    })
}

/// A credential sealed by the vault: the key id and the sealed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    pub kek_id: String,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedCredential {{ kek_id: {}, {} bytes }}",
            self.kek_id,
            self.sealed.len()
        )
    }
}

pub struct NewAccount<'a> {
    /// The row id: chosen by the caller, because the credential is sealed
    /// with the row id as associated data before the row exists.
    pub id: &'a str,
    pub user_id: &'a str,
    pub broker: &'a str,
    pub environment: &'a str,
    pub display_name: &'a str,
    pub broker_account_id: &'a str,
    pub broker_account_name: &'a str,
    pub balance: Option<&'a str>,
    pub token_expires_at: Option<i64>,
    pub next_refresh_at: Option<i64>,
    pub credential: SealedCredential,
}

/// Connect an account: reserve a slot under the plan's account limit, insert
/// the account and its sealed credential — all in one transaction, so a
/// refusal leaves nothing behind. A previously disconnected row for the same
/// broker account is reused (it keeps its history; its strategies stay off).
pub async fn connect(db: &Db, new: NewAccount<'_>, now: i64) -> Result<BrokerAccount> {
    let mut tx = db.begin_write().await?;
    plans::reserve_slot(&mut tx, new.user_id, Resource::BrokerAccounts).await?;
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT id, status FROM broker_accounts WHERE user_id = $1 AND broker = $2 AND environment = $3 \
         AND broker_account_id = $4",
    )
    .bind(new.user_id)
    .bind(new.broker)
    .bind(new.environment)
    .bind(new.broker_account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match existing {
        Some((_, status)) if status != "disconnected" => {
            return Err(StorageError::Conflict(
                "a connection to this broker account",
            ));
        }
        Some((id, _)) => {
            sqlx::query(
                "UPDATE broker_accounts SET status = 'connected', paused = 0, status_reason = NULL, \
                 last_error = NULL, last_error_at = NULL, balance = $2, token_expires_at = $3, \
                 next_refresh_at = $4, refresh_failures = 0, lease_owner = NULL, lease_until = NULL, \
                 connected_at = $5, disconnected_at = NULL, display_name = $6 WHERE id = $1",
            )
            .bind(&id)
            .bind(new.balance)
            .bind(new.token_expires_at)
            .bind(new.next_refresh_at)
            .bind(now)
            .bind(new.display_name)
            .execute(&mut *tx)
            .await?;
            id
        }
        None => {
            sqlx::query(
                "INSERT INTO broker_accounts (id, user_id, broker, environment, display_name, broker_account_id, \
                 broker_account_name, status, balance, token_expires_at, next_refresh_at, created_at, connected_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $10, $11, $11)",
            )
            .bind(new.id)
            .bind(new.user_id)
            .bind(new.broker)
            .bind(new.environment)
            .bind(new.display_name)
            .bind(new.broker_account_id)
            .bind(new.broker_account_name)
            .bind(new.balance)
            .bind(new.token_expires_at)
            .bind(new.next_refresh_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            new.id.to_string()
        }
    };
    if id != new.id {
        // The credential was sealed for `new.id` (see `id_for_connection`);
        // another connect of the same broker account got in first.
        return Err(StorageError::Conflict(
            "a connection to this broker account",
        ));
    }
    sqlx::query(
        "INSERT INTO broker_credentials (account_id, user_id, kek_id, sealed, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id) DO UPDATE SET kek_id = $3, sealed = $4, updated_at = $5",
    )
    .bind(&id)
    .bind(new.user_id)
    .bind(&new.credential.kek_id)
    .bind(&new.credential.sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let account = fetch(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(account)
}

/// The row id to seal a new connection's credential for: an earlier
/// disconnected row of the same broker account, or a fresh id.
pub async fn id_for_connection(
    db: &Db,
    user_id: &str,
    broker: &str,
    environment: &str,
    broker_account_id: &str,
) -> Result<String> {
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT id FROM broker_accounts WHERE user_id = $1 AND broker = $2 AND environment = $3 AND broker_account_id = $4",
    )
    .bind(user_id)
    .bind(broker)
    .bind(environment)
    .bind(broker_account_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(existing.unwrap_or_else(new_id))
}

async fn fetch(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: &str) -> Result<BrokerAccount> {
    let sql = format!("SELECT {COLUMNS} FROM broker_accounts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<BrokerAccount>> {
    let sql =
        format!("SELECT {COLUMNS} FROM broker_accounts WHERE user_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One of the user's accounts (never another user's).
pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<BrokerAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM broker_accounts WHERE id = $1 AND user_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Any account by id (background services).
pub async fn get(db: &Db, id: &str) -> Result<Option<BrokerAccount>> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM broker_accounts WHERE id = $1"));
    db.fetch_optional(SQL.as_str(), args![id]).await
}

impl FromRow for BrokerAccount {
    fn from_row(row: &impl Cols) -> Result<Self> {
        from_row(row)
    }
}

pub async fn set_paused(db: &Db, user_id: &str, id: &str, paused: bool) -> Result<()> {
    let n = sqlx::query("UPDATE broker_accounts SET paused = $3 WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .bind(paused as i64)
        .execute(db.pool())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StorageError::NotFound("broker account"));
    }
    Ok(())
}

/// What a disconnect did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnected {
    /// Names of the strategies that were turned off.
    pub deactivated_strategies: Vec<String>,
    /// Copy groups the account no longer follows in.
    pub deactivated_memberships: Vec<String>,
    /// False if the account was already disconnected (nothing changed).
    pub changed: bool,
}

/// Disconnect in one transaction: destroy the stored credential, mark the
/// account disconnected with `reason`, turn off its strategies, free the
/// plan slot. Idempotent.
pub async fn disconnect(
    db: &Db,
    user_id: &str,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<Disconnected> {
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE broker_accounts SET status = 'disconnected', status_reason = $3, disconnected_at = $4, \
         token_expires_at = NULL, next_refresh_at = NULL, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND user_id = $2 AND status <> 'disconnected'",
    )
    .bind(id)
    .bind(user_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !changed {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM broker_accounts WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(StorageError::NotFound("broker account"));
        }
    }
    sqlx::query("DELETE FROM broker_credentials WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deactivated: Vec<String> = sqlx::query_scalar(
        "UPDATE strategies SET active = 0 WHERE broker_account_id = $1 AND active = 1 RETURNING name",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT g.name FROM copy_group_members m JOIN copy_groups g ON g.id = m.group_id \
         WHERE m.account_id = $1 AND m.active = 1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("UPDATE copy_group_members SET active = 0 WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if changed {
        plans::release_slot(&mut tx, user_id, Resource::BrokerAccounts).await?;
    }
    tx.commit().await?;
    let mut deactivated_strategies = deactivated;
    deactivated_strategies.sort();
    let mut deactivated_memberships = groups;
    deactivated_memberships.sort();
    Ok(Disconnected {
        deactivated_strategies,
        deactivated_memberships,
        changed,
    })
}

/// The sealed credential and its owner, for an account.
pub async fn credential(db: &Db, account_id: &str) -> Result<Option<(String, SealedCredential)>> {
    let row: Option<(String, String, Vec<u8>)> = db
        .fetch_optional(
            "SELECT user_id, kek_id, sealed FROM broker_credentials WHERE account_id = $1",
            args![account_id],
        )
        .await?;
    Ok(row.map(|(user, kek_id, sealed)| (user, SealedCredential { kek_id, sealed })))
}

/// Every sealed credential with its key id (for key rotation).
pub async fn all_credentials(db: &Db) -> Result<Vec<(String, String, SealedCredential)>> {
    let rows: Vec<(String, String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT account_id, user_id, kek_id, sealed FROM broker_credentials ORDER BY account_id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, user, kek_id, sealed)| (id, user, SealedCredential { kek_id, sealed }))
        .collect())
}

/// Replace a credential only if it is still the one `expected_kek_id` sealed
/// (compare-and-swap, so a concurrent renewal is never overwritten).
pub async fn replace_credential_if(
    db: &Db,
    account_id: &str,
    expected: &SealedCredential,
    new: &SealedCredential,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE broker_credentials SET kek_id = $3, sealed = $4, updated_at = $5 \
         WHERE account_id = $1 AND sealed = $2",
    )
    .bind(account_id)
    .bind(&expected.sealed)
    .bind(&new.kek_id)
    .bind(&new.sealed)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

/// Connected OAuth accounts whose renewal is due and not leased by anyone.
pub async fn due_for_refresh(db: &Db, now: i64, limit: i64) -> Result<Vec<BrokerAccount>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM broker_accounts WHERE status IN ('connected', 'error') \
         AND next_refresh_at IS NOT NULL AND next_refresh_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_refresh_at, id LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Accounts the refresh service keeps alive, per `broker:environment`.
pub async fn refreshable_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT broker || ':' || environment, COUNT(*) FROM broker_accounts \
         WHERE status IN ('connected', 'error') AND next_refresh_at IS NOT NULL \
         GROUP BY broker || ':' || environment ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Take the account's refresh lease (single flight across every instance and
/// every task: `owner` is unique per acquisition, and a held lease is never
/// re-entered).
pub async fn try_lease(
    db: &Db,
    account_id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE broker_accounts SET lease_owner = $2, lease_until = $4 \
         WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(account_id)
    .bind(owner)
    .bind(now)
    .bind(until)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

pub async fn release_lease(db: &Db, account_id: &str, owner: &str) -> Result<()> {
    sqlx::query("UPDATE broker_accounts SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2")
        .bind(account_id)
        .bind(owner)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Store a renewed credential (only while holding the lease).
#[allow(clippy::too_many_arguments)]
pub async fn store_renewal(
    db: &Db,
    account_id: &str,
    owner: &str,
    credential: &SealedCredential,
    expires_at: i64,
    next_refresh_at: i64,
    now: i64,
) -> Result<bool> {
    let mut tx = db.begin_write().await?;
    let held = sqlx::query(
        "UPDATE broker_accounts SET token_expires_at = $3, next_refresh_at = $4, last_refresh_at = $5, \
         last_refresh_result = 'renewed', refresh_failures = 0, status = 'connected', last_error = NULL, \
         last_error_at = NULL WHERE id = $1 AND lease_owner = $2 AND status <> 'disconnected'",
    )
    .bind(account_id)
    .bind(owner)
    .bind(expires_at)
    .bind(next_refresh_at)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !held {
        return Ok(false);
    }
    sqlx::query("UPDATE broker_credentials SET kek_id = $2, sealed = $3, updated_at = $4 WHERE account_id = $1")
        .bind(account_id)
        .bind(&credential.kek_id)
        .bind(&credential.sealed)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// A renewal failed transiently: record it and when to try again.
pub async fn record_refresh_failure(
    db: &Db,
    account_id: &str,
    reason: &str,
    retry_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE broker_accounts SET last_refresh_at = $3, last_refresh_result = $2, \
         refresh_failures = refresh_failures + 1, next_refresh_at = $4, last_error = $2, last_error_at = $3 \
         WHERE id = $1 AND status <> 'disconnected'",
    )
    .bind(account_id)
    .bind(reason)
    .bind(now)
    .bind(retry_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Record the last error of a call on the account (shown on the account);
/// `to_error_status` also sets the status to `error`.
pub async fn record_error(
    db: &Db,
    account_id: &str,
    error: &str,
    to_error_status: bool,
    now: i64,
) -> Result<()> {
    let sql = if to_error_status {
        "UPDATE broker_accounts SET last_error = $2, last_error_at = $3, status = 'error' \
         WHERE id = $1 AND status <> 'disconnected'"
    } else {
        "UPDATE broker_accounts SET last_error = $2, last_error_at = $3 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(account_id)
        .bind(error)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A successful Test Connection: fresh balance, error cleared.
pub async fn record_test_ok(db: &Db, account_id: &str, balance: Option<&str>) -> Result<()> {
    sqlx::query(
        "UPDATE broker_accounts SET balance = COALESCE($2, balance), last_error = NULL, last_error_at = NULL, \
         status = CASE WHEN status = 'error' THEN 'connected' ELSE status END \
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(balance)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Pause an account on the broker's demand (e.g. a captcha penalty), with the reason.
pub async fn pause_with_error(db: &Db, account_id: &str, error: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE broker_accounts SET paused = 1, last_error = $2, last_error_at = $3 WHERE id = $1",
    )
    .bind(account_id)
    .bind(error)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The grant is dead: same as a user's disconnect, with the broker's reason.
pub async fn mark_grant_dead(db: &Db, account_id: &str, reason: &str, now: i64) -> Result<()> {
    let user_id: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM broker_accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(db.pool())
            .await?;
    let Some(user_id) = user_id else {
        return Ok(());
    };
    disconnect(db, &user_id, account_id, reason, now).await?;
    sqlx::query("UPDATE broker_accounts SET last_error = $2, last_error_at = $3, last_refresh_result = $2 WHERE id = $1")
        .bind(account_id)
        .bind(reason)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Create a strategy linked to an account (the signals work builds the rest).
pub async fn create_strategy(
    db: &Db,
    user_id: &str,
    account_id: &str,
    name: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO strategies (id, user_id, broker_account_id, name, active, created_at) VALUES ($1, $2, $3, $4, 1, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(account_id)
    .bind(name)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn active_strategy_names(db: &Db, account_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM strategies WHERE broker_account_id = $1 AND active = 1 ORDER BY name",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?)
}
