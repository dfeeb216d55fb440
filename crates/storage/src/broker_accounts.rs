//! Broker accounts and their sealed credentials: connect (under the plan's
//! account limit), list, pause, disconnect, and the token-refresh bookkeeping
//! (leases, schedule, results). Credentials arrive here already sealed; this
//! module never sees a plaintext secret.

use atomik_domain::Resource;

use std::sync::LazyLock;

use crate::sql::{Cols, FromRow, Scalar, Tx, args};
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
    let (id, user_id) = (new.id.to_string(), new.user_id.to_string());
    let key = args![
        new.user_id,
        new.broker,
        new.environment,
        new.broker_account_id
    ];
    let reuse = args![
        new.balance,
        new.token_expires_at,
        new.next_refresh_at,
        now,
        new.display_name
    ];
    let insert = args![
        new.id,
        new.user_id,
        new.broker,
        new.environment,
        new.display_name,
        new.broker_account_id,
        new.broker_account_name,
        new.balance,
        new.token_expires_at,
        new.next_refresh_at,
        now
    ];
    let credential = args![
        new.id,
        new.user_id,
        new.credential.kek_id,
        new.credential.sealed,
        now
    ];
    db.batched(move |tx| {
        Box::pin(async move {
            plans::reserve_slot(tx, &user_id, Resource::BrokerAccounts).await?;
            let existing: Option<(String, String)> = tx
                .fetch_optional(
                    "SELECT id, status FROM broker_accounts WHERE user_id = $1 AND broker = $2 \
                     AND environment = $3 AND broker_account_id = $4",
                    key,
                )
                .await?;
            match existing {
                Some((_, status)) if status != "disconnected" => {
                    return Err(StorageError::Conflict(
                        "a connection to this broker account",
                    ));
                }
                // The credential was sealed for `new.id` (see
                // `id_for_connection`); another connect of the same broker
                // account got in first.
                Some((existing, _)) if existing != id => {
                    return Err(StorageError::Conflict(
                        "a connection to this broker account",
                    ));
                }
                Some(_) => {
                    let mut args = args![&id];
                    args.extend(reuse);
                    tx.execute(
                        "UPDATE broker_accounts SET status = 'connected', paused = 0, status_reason = NULL, \
                         last_error = NULL, last_error_at = NULL, balance = $2, token_expires_at = $3, \
                         next_refresh_at = $4, refresh_failures = 0, lease_owner = NULL, lease_until = NULL, \
                         connected_at = $5, disconnected_at = NULL, display_name = $6 WHERE id = $1",
                        args,
                    )
                    .await?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO broker_accounts (id, user_id, broker, environment, display_name, \
                         broker_account_id, broker_account_name, status, balance, token_expires_at, \
                         next_refresh_at, created_at, connected_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $10, $11, $11)",
                        insert,
                    )
                    .await?;
                }
            }
            tx.execute(
                "INSERT INTO broker_credentials (account_id, user_id, kek_id, sealed, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (account_id) DO UPDATE SET kek_id = $3, sealed = $4, updated_at = $5",
                credential,
            )
            .await?;
            tx.fetch_optional(BY_ID_SQL.as_str(), args![&id])
                .await?
                .ok_or(StorageError::NotFound("broker account"))
        })
    })
    .await
}

static BY_ID_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM broker_accounts WHERE id = $1"));

/// The row id to seal a new connection's credential for: an earlier
/// disconnected row of the same broker account, or a fresh id.
pub async fn id_for_connection(
    db: &Db,
    user_id: &str,
    broker: &str,
    environment: &str,
    broker_account_id: &str,
) -> Result<String> {
    let existing: Option<Scalar<String>> = db
        .fetch_optional(
            "SELECT id FROM broker_accounts WHERE user_id = $1 AND broker = $2 AND environment = $3 \
             AND broker_account_id = $4",
            args![user_id, broker, environment, broker_account_id],
        )
        .await?;
    Ok(existing.map_or_else(new_id, |s| s.0))
}

pub async fn list(db: &Db, user_id: &str) -> Result<Vec<BrokerAccount>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {COLUMNS} FROM broker_accounts WHERE user_id = $1 ORDER BY created_at, id")
    });
    db.fetch_all(SQL.as_str(), args![user_id]).await
}

/// One of the user's accounts (never another user's).
pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<Option<BrokerAccount>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {COLUMNS} FROM broker_accounts WHERE id = $1 AND user_id = $2")
    });
    db.fetch_optional(SQL.as_str(), args![id, user_id]).await
}

/// Any account by id (background services).
pub async fn get(db: &Db, id: &str) -> Result<Option<BrokerAccount>> {
    db.fetch_optional(BY_ID_SQL.as_str(), args![id]).await
}

impl FromRow for BrokerAccount {
    fn from_row(row: &impl Cols) -> Result<Self> {
        from_row(row)
    }
}

pub async fn set_paused(db: &Db, user_id: &str, id: &str, paused: bool) -> Result<()> {
    let n = db
        .write(
            "UPDATE broker_accounts SET paused = $3 WHERE id = $1 AND user_id = $2",
            args![id, user_id, paused],
        )
        .await?;
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
/// account disconnected with `reason`, turn off its strategies and free
/// their active-strategy slots, free the account's plan slot. Idempotent.
pub async fn disconnect(
    db: &Db,
    user_id: &str,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<Disconnected> {
    let (user_id, id, reason) = (user_id.to_string(), id.to_string(), reason.to_string());
    db.batched(move |tx| {
        Box::pin(async move { disconnect_in(tx, &user_id, &id, &reason, now).await })
    })
    .await
}

async fn disconnect_in(
    tx: &mut Tx<'_>,
    user_id: &str,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<Disconnected> {
    let changed = tx
        .execute(
            "UPDATE broker_accounts SET status = 'disconnected', status_reason = $3, disconnected_at = $4, \
             token_expires_at = NULL, next_refresh_at = NULL, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND user_id = $2 AND status <> 'disconnected'",
            args![id, user_id, reason, now],
        )
        .await?
        == 1;
    if !changed {
        let exists: Option<Scalar<String>> = tx
            .fetch_optional(
                "SELECT id FROM broker_accounts WHERE id = $1 AND user_id = $2",
                args![id, user_id],
            )
            .await?;
        if exists.is_none() {
            return Err(StorageError::NotFound("broker account"));
        }
    }
    tx.execute(
        "DELETE FROM broker_credentials WHERE account_id = $1",
        args![id],
    )
    .await?;
    let deactivated: Vec<Scalar<String>> = tx
        .fetch_all(
            "UPDATE strategies SET active = 0 WHERE broker_account_id = $1 AND active = 1 RETURNING name",
            args![id],
        )
        .await?;
    plans::release_slots(
        tx,
        user_id,
        Resource::ActiveStrategies,
        deactivated.len() as i64,
    )
    .await?;
    let groups: Vec<Scalar<String>> = tx
        .fetch_all(
            "SELECT g.name FROM copy_group_members m JOIN copy_groups g ON g.id = m.group_id \
             WHERE m.account_id = $1 AND m.active = 1",
            args![id],
        )
        .await?;
    tx.execute(
        "UPDATE copy_group_members SET active = 0 WHERE account_id = $1",
        args![id],
    )
    .await?;
    if changed {
        plans::release_slot(tx, user_id, Resource::BrokerAccounts).await?;
    }
    let mut deactivated_strategies: Vec<String> = deactivated.into_iter().map(|s| s.0).collect();
    deactivated_strategies.sort();
    let mut deactivated_memberships: Vec<String> = groups.into_iter().map(|s| s.0).collect();
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
    let rows: Vec<(String, String, String, Vec<u8>)> = db
        .fetch_all(
            "SELECT account_id, user_id, kek_id, sealed FROM broker_credentials ORDER BY account_id",
            args![],
        )
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
    Ok(db
        .write(
            "UPDATE broker_credentials SET kek_id = $3, sealed = $4, updated_at = $5 \
             WHERE account_id = $1 AND sealed = $2",
            args![account_id, &expected.sealed, &new.kek_id, &new.sealed, now],
        )
        .await?
        == 1)
}

/// Connected OAuth accounts whose renewal is due and not leased by anyone.
pub async fn due_for_refresh(db: &Db, now: i64, limit: i64) -> Result<Vec<BrokerAccount>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {COLUMNS} FROM broker_accounts WHERE status IN ('connected', 'error') \
             AND next_refresh_at IS NOT NULL AND next_refresh_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_refresh_at, id LIMIT $2"
        )
    });
    db.fetch_all(SQL.as_str(), args![now, limit]).await
}

/// Accounts the refresh service keeps alive, per `broker:environment`.
pub async fn refreshable_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    db.fetch_all(
        "SELECT broker || ':' || environment, COUNT(*) FROM broker_accounts \
         WHERE status IN ('connected', 'error') AND next_refresh_at IS NOT NULL \
         GROUP BY broker || ':' || environment ORDER BY 1",
        args![],
    )
    .await
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
    Ok(db
        .write(
            "UPDATE broker_accounts SET lease_owner = $2, lease_until = $4 \
             WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3)",
            args![account_id, owner, now, until],
        )
        .await?
        == 1)
}

pub async fn release_lease(db: &Db, account_id: &str, owner: &str) -> Result<()> {
    db.write(
        "UPDATE broker_accounts SET lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2",
        args![account_id, owner],
    )
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
    let account = args![account_id, owner, expires_at, next_refresh_at, now];
    let sealed = args![account_id, &credential.kek_id, &credential.sealed, now];
    db.batched(move |tx| {
        Box::pin(async move {
            let held = tx
                .execute(
                    "UPDATE broker_accounts SET token_expires_at = $3, next_refresh_at = $4, \
                     last_refresh_at = $5, last_refresh_result = 'renewed', refresh_failures = 0, \
                     status = 'connected', last_error = NULL, last_error_at = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND status <> 'disconnected'",
                    account,
                )
                .await?
                == 1;
            if held {
                tx.execute(
                    "UPDATE broker_credentials SET kek_id = $2, sealed = $3, updated_at = $4 \
                     WHERE account_id = $1",
                    sealed,
                )
                .await?;
            }
            Ok(held)
        })
    })
    .await
}

/// A renewal failed transiently: record it and when to try again.
pub async fn record_refresh_failure(
    db: &Db,
    account_id: &str,
    reason: &str,
    retry_at: i64,
    now: i64,
) -> Result<()> {
    db.write(
        "UPDATE broker_accounts SET last_refresh_at = $3, last_refresh_result = $2, \
         refresh_failures = refresh_failures + 1, next_refresh_at = $4, last_error = $2, last_error_at = $3 \
         WHERE id = $1 AND status <> 'disconnected'",
        args![account_id, reason, now, retry_at],
    )
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
    db.write(sql, args![account_id, error, now]).await?;
    Ok(())
}

/// A successful Test Connection: fresh balance, error cleared.
pub async fn record_test_ok(db: &Db, account_id: &str, balance: Option<&str>) -> Result<()> {
    db.write(
        "UPDATE broker_accounts SET balance = COALESCE($2, balance), last_error = NULL, last_error_at = NULL, \
         status = CASE WHEN status = 'error' THEN 'connected' ELSE status END \
         WHERE id = $1",
        args![account_id, balance],
    )
    .await?;
    Ok(())
}

/// Pause an account on the broker's demand (e.g. a captcha penalty), with the reason.
pub async fn pause_with_error(db: &Db, account_id: &str, error: &str, now: i64) -> Result<()> {
    db.write(
        "UPDATE broker_accounts SET paused = 1, last_error = $2, last_error_at = $3 WHERE id = $1",
        args![account_id, error, now],
    )
    .await?;
    Ok(())
}

/// The grant is dead: same as a user's disconnect, with the broker's reason
/// (one transaction).
pub async fn mark_grant_dead(db: &Db, account_id: &str, reason: &str, now: i64) -> Result<()> {
    let (id, reason) = (account_id.to_string(), reason.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let owner: Option<Scalar<String>> = tx
                .fetch_optional(
                    "SELECT user_id FROM broker_accounts WHERE id = $1",
                    args![&id],
                )
                .await?;
            let Some(Scalar(user_id)) = owner else {
                return Ok(());
            };
            disconnect_in(tx, &user_id, &id, &reason, now).await?;
            tx.execute(
                "UPDATE broker_accounts SET last_error = $2, last_error_at = $3, last_refresh_result = $2 \
                 WHERE id = $1",
                args![&id, &reason, now],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Create an active strategy linked to an account, taking its
/// active-strategy slot (the signals work builds the rest; see
/// [`crate::execution::create_strategy`]).
pub async fn create_strategy(
    db: &Db,
    user_id: &str,
    account_id: &str,
    name: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    let user = user_id.to_string();
    let row = args![&id, user_id, account_id, name, now];
    db.batched(move |tx| {
        Box::pin(async move {
            plans::reserve_slot(tx, &user, Resource::ActiveStrategies).await?;
            tx.execute(
                "INSERT INTO strategies (id, user_id, broker_account_id, name, active, created_at) \
                 VALUES ($1, $2, $3, $4, 1, $5)",
                row,
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(id)
}

pub async fn active_strategy_names(db: &Db, account_id: &str) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT name FROM strategies WHERE broker_account_id = $1 AND active = 1 ORDER BY name",
            args![account_id],
        )
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}

/// What disconnecting an account would change, for the confirmation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisconnectPreview {
    /// Active strategies that would turn off.
    pub strategies: Vec<String>,
    /// Copy groups it would stop following in.
    pub groups: Vec<String>,
}

/// What [`disconnect`] would turn off (read only).
pub async fn disconnect_preview(db: &Db, user_id: &str, id: &str) -> Result<DisconnectPreview> {
    let strategies: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT s.name FROM strategies s JOIN broker_accounts a ON a.id = s.broker_account_id \
             WHERE s.broker_account_id = $1 AND a.user_id = $2 AND s.active = 1 ORDER BY s.name",
            args![id, user_id],
        )
        .await?;
    let groups: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT g.name FROM copy_group_members m JOIN copy_groups g ON g.id = m.group_id \
             WHERE m.account_id = $1 AND g.user_id = $2 AND m.active = 1 ORDER BY g.name",
            args![id, user_id],
        )
        .await?;
    Ok(DisconnectPreview {
        strategies: strategies.into_iter().map(|s| s.0).collect(),
        groups: groups.into_iter().map(|s| s.0).collect(),
    })
}
