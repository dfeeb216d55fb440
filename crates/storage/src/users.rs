//! Users: accounts, plan and subscription, and two-factor state.

use atomik_domain::SubscriptionStatus;
use sqlx::Row;

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

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    let status: String = row.try_get("subscription_status")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        plan_id: row.try_get("plan_id")?,
        subscription_status: status.parse().map_err(StorageError::Invalid)?,
        trial_ends_at: row.try_get("trial_ends_at")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn create(db: &Db, new: NewUser<'_>, now: i64) -> Result<User> {
    let id = new_id();
    let result = sqlx::query(
        "INSERT INTO users (id, email, password_hash, plan_id, subscription_status, trial_ends_at, is_admin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(new.email)
    .bind(new.password_hash)
    .bind(new.plan_id)
    .bind(new.subscription_status.as_str())
    .bind(new.trial_ends_at)
    .bind(new.is_admin as i64)
    .bind(now)
    .execute(db.pool())
    .await;
    match result {
        Ok(_) => {}
        Err(e) if StorageError::is_unique_violation(&e) => {
            return Err(StorageError::Conflict("a user with this email"));
        }
        Err(e) if e.to_string().contains("FOREIGN KEY") || e.to_string().contains("23503") => {
            return Err(StorageError::Invalid(format!(
                "unknown plan {:?}",
                new.plan_id
            )));
        }
        Err(e) => return Err(e.into()),
    }
    find(db, &id).await?.ok_or(StorageError::NotFound("user"))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn credentials_by_email(db: &Db, email: &str) -> Result<Option<Credentials>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| {
        Ok(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        })
    })
    .transpose()
}

pub async fn list(db: &Db) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn set_plan(db: &Db, user_id: &str, plan_id: &str) -> Result<()> {
    if crate::plans::find(db, plan_id).await?.is_none() {
        return Err(StorageError::Invalid(format!(
            "unknown plan {plan_id:?}: use free, starter, trader or unlimited"
        )));
    }
    let n = sqlx::query("UPDATE users SET plan_id = $2 WHERE id = $1")
        .bind(user_id)
        .bind(plan_id)
        .execute(db.pool())
        .await?
        .rows_affected();
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
    let n =
        sqlx::query("UPDATE users SET subscription_status = $2, trial_ends_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(status.as_str())
            .bind(trial_ends_at)
            .execute(db.pool())
            .await?
            .rows_affected();
    if n == 0 {
        return Err(StorageError::NotFound("user"));
    }
    Ok(())
}

pub async fn set_password_hash(db: &Db, user_id: &str, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The stored (vault-sealed) TOTP secret, enabled or pending confirmation.
pub async fn totp_secret(db: &Db, user_id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT totp_secret FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?
            .flatten(),
    )
}

/// Store a new, not yet enabled, sealed TOTP secret (replacing any pending one).
pub async fn set_pending_totp(db: &Db, user_id: &str, secret_base32: &str) -> Result<()> {
    sqlx::query("UPDATE users SET totp_secret = $2, totp_enabled = 0, totp_last_step = NULL WHERE id = $1 AND totp_enabled = 0")
        .bind(user_id)
        .bind(secret_base32)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Turn two-factor on and replace the recovery codes, in one transaction.
pub async fn enable_totp(db: &Db, user_id: &str, recovery_code_hashes: &[String]) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET totp_enabled = 1 WHERE id = $1 AND totp_secret IS NOT NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for hash in recovery_code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn disable_totp(db: &Db, user_id: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Record that the TOTP code of time step `step` was used. Returns false if
/// this step (or a later one) was already used: a code is accepted only once.
pub async fn claim_totp_step(db: &Db, user_id: &str, step: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Use up a recovery code (by its hash). Returns false if unknown or used.
pub async fn consume_recovery_code(
    db: &Db,
    user_id: &str,
    code_hash: &str,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn remaining_recovery_codes(db: &Db, user_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?)
}
