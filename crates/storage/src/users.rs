//! Users: accounts, plan and subscription, and two-factor state.

use std::sync::LazyLock;

use atomik_domain::SubscriptionStatus;

use crate::sql::{Cols, FromRow, Scalar, args};
use crate::{Db, Result, StorageError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub plan_id: String,
    pub subscription_status: SubscriptionStatus,
    pub trial_ends_at: Option<i64>,
    pub is_admin: bool,
    pub totp_enabled: bool,
    pub created_at: i64,
}

/// The stored password hash travels separately from [`User`] so that it is
/// only loaded where a password is checked.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub plan_id: &'a str,
    pub subscription_status: SubscriptionStatus,
    pub trial_ends_at: Option<i64>,
    pub is_admin: bool,
}

const USER_COLUMNS: &str =
    "id, email, plan_id, subscription_status, trial_ends_at, is_admin, totp_enabled, created_at";

impl FromRow for User {
    fn from_row(row: &impl Cols) -> Result<Self> {
        let status: String = row.try_get("subscription_status")?;
        Ok(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            plan_id: row.try_get("plan_id")?,
            subscription_status: status.parse().map_err(StorageError::Invalid)?,
            trial_ends_at: row.try_get("trial_ends_at")?,
            is_admin: row.try_get::<i64>("is_admin")? != 0,
            totp_enabled: row.try_get::<i64>("totp_enabled")? != 0,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl FromRow for Credentials {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok(Credentials {
            user: User::from_row(row)?,
            password_hash: row.try_get("password_hash")?,
        })
    }
}

pub async fn create(db: &Db, new: NewUser<'_>, now: i64) -> Result<User> {
    let id = new_id();
    let result = db
        .write(
            "INSERT INTO users (id, email, password_hash, plan_id, subscription_status, trial_ends_at, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                &id,
                new.email,
                new.password_hash,
                new.plan_id,
                new.subscription_status.as_str(),
                new.trial_ends_at,
                new.is_admin,
                now
            ],
        )
        .await;
    match result {
        Ok(_) => {}
        Err(e) if e.is_unique() => {
            return Err(StorageError::Conflict("a user with this email"));
        }
        Err(e) if e.is_foreign_key() => {
            return Err(StorageError::Invalid(format!(
                "unknown plan {:?}",
                new.plan_id
            )));
        }
        Err(e) => return Err(e),
    }
    find(db, &id).await?.ok_or(StorageError::NotFound("user"))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<User>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
    db.fetch_optional(SQL.as_str(), args![id]).await
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"));
    db.fetch_optional(SQL.as_str(), args![email]).await
}

pub async fn credentials_by_email(db: &Db, email: &str) -> Result<Option<Credentials>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1")
    });
    db.fetch_optional(SQL.as_str(), args![email]).await
}

pub async fn list(db: &Db) -> Result<Vec<User>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"));
    db.fetch_all(SQL.as_str(), args![]).await
}

pub async fn set_plan(db: &Db, user_id: &str, plan_id: &str) -> Result<()> {
    if crate::plans::find(db, plan_id).await?.is_none() {
        return Err(StorageError::Invalid(format!(
            "unknown plan {plan_id:?}: use free, starter, trader or unlimited"
        )));
    }
    let n = db
        .write(
            "UPDATE users SET plan_id = $2 WHERE id = $1",
            args![user_id, plan_id],
        )
        .await?;
    if n == 0 {
        return Err(StorageError::NotFound("user"));
    }
    Ok(())
}

pub async fn set_subscription_status(
    db: &Db,
    user_id: &str,
    status: SubscriptionStatus,
    trial_ends_at: Option<i64>,
) -> Result<()> {
    let n = db
        .write(
            "UPDATE users SET subscription_status = $2, trial_ends_at = $3 WHERE id = $1",
            args![user_id, status.as_str(), trial_ends_at],
        )
        .await?;
    if n == 0 {
        return Err(StorageError::NotFound("user"));
    }
    Ok(())
}

pub async fn set_password_hash(db: &Db, user_id: &str, hash: &str) -> Result<()> {
    db.write(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        args![user_id, hash],
    )
    .await?;
    Ok(())
}

/// The stored (vault-sealed) TOTP secret, enabled or pending confirmation.
pub async fn totp_secret(db: &Db, user_id: &str) -> Result<Option<String>> {
    Ok(db
        .fetch_optional::<Scalar<Option<String>>>(
            "SELECT totp_secret FROM users WHERE id = $1",
            args![user_id],
        )
        .await?
        .and_then(|s| s.0))
}

/// Store a new, not yet enabled, sealed TOTP secret (replacing any pending one).
pub async fn set_pending_totp(db: &Db, user_id: &str, secret_base32: &str) -> Result<()> {
    db.write(
        "UPDATE users SET totp_secret = $2, totp_enabled = 0, totp_last_step = NULL \
         WHERE id = $1 AND totp_enabled = 0",
        args![user_id, secret_base32],
    )
    .await?;
    Ok(())
}

/// Turn two-factor on and replace the recovery codes, in one transaction.
pub async fn enable_totp(db: &Db, user_id: &str, recovery_code_hashes: &[String]) -> Result<()> {
    let user_id = user_id.to_string();
    let hashes = recovery_code_hashes.to_vec();
    db.batched(move |tx| {
        Box::pin(async move {
            tx.execute(
                "UPDATE users SET totp_enabled = 1 WHERE id = $1 AND totp_secret IS NOT NULL",
                args![&user_id],
            )
            .await?;
            tx.execute(
                "DELETE FROM recovery_codes WHERE user_id = $1",
                args![&user_id],
            )
            .await?;
            for hash in hashes {
                tx.execute(
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                    args![&user_id, hash],
                )
                .await?;
            }
            Ok(())
        })
    })
    .await
}

pub async fn disable_totp(db: &Db, user_id: &str) -> Result<()> {
    let user_id = user_id.to_string();
    db.batched(move |tx| {
        Box::pin(async move {
            tx.execute(
                "UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = NULL WHERE id = $1",
                args![&user_id],
            )
            .await?;
            tx.execute(
                "DELETE FROM recovery_codes WHERE user_id = $1",
                args![&user_id],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Record that the TOTP code of time step `step` was used. Returns false if
/// this step (or a later one) was already used: a code is accepted only once.
pub async fn claim_totp_step(db: &Db, user_id: &str, step: i64) -> Result<bool> {
    let n = db
        .write(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
            args![user_id, step],
        )
        .await?;
    Ok(n == 1)
}

/// Use up a recovery code (by its hash). Returns false if unknown or used.
pub async fn consume_recovery_code(
    db: &Db,
    user_id: &str,
    code_hash: &str,
    now: i64,
) -> Result<bool> {
    let n = db
        .write(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            args![user_id, code_hash, now],
        )
        .await?;
    Ok(n == 1)
}

pub async fn remaining_recovery_codes(db: &Db, user_id: &str) -> Result<i64> {
    Ok(db
        .fetch_optional::<Scalar<i64>>(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            args![user_id],
        )
        .await?
        .map_or(0, |s| s.0))
}
