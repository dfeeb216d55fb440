//! The log-in procedure shared by the dashboard: throttling, password check
//! with identical answers for unknown users and wrong passwords, the second
//! factor, and session creation.

use std::net::IpAddr;

use atomik_storage::{StorageError, sessions, throttle, users};

use crate::AppState;
use crate::auth::{password, tokens, totp, totp_store};

pub enum LoginOutcome {
    /// A full session: set this cookie value.
    LoggedIn { session_cookie: String },
    /// Password accepted; a second factor is owed on this pending session.
    NeedsSecondFactor { session_cookie: String },
    /// Too many failures; try again after this many seconds.
    Throttled { retry_after_secs: u64 },
    /// Unknown email or wrong password (indistinguishable on purpose).
    Rejected,
}

/// The message shown for [`LoginOutcome::Rejected`], whatever the cause.
pub const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// How long a password-only session may wait for its second factor.
const MFA_PENDING_TTL_MS: i64 = 5 * 60 * 1000;

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn ip_key(ip: Option<IpAddr>) -> String {
    format!(
        "ip:{}",
        ip.map(|i| i.to_string())
            .unwrap_or_else(|| "unknown".into())
    )
}

fn second_factor_key(user_id: &str) -> String {
    format!("2fa:{user_id}")
}

async fn throttled(state: &AppState, keys: &[(String, i64)]) -> Result<Option<u64>, StorageError> {
    let cfg = &state.config().throttle;
    let window = cfg.window.as_millis() as i64;
    let now = state.now_ms();
    for (key, max) in keys {
        if let Some(ms) = throttle::blocked_for(state.db(), key, now, *max, window).await? {
            return Ok(Some((ms as u64).div_ceil(1000)));
        }
    }
    Ok(None)
}

async fn record_failures(state: &AppState, keys: &[(String, i64)]) -> Result<(), StorageError> {
    let window = state.config().throttle.window.as_millis() as i64;
    for (key, _) in keys {
        throttle::record_failure(state.db(), key, state.now_ms(), window).await?;
    }
    Ok(())
}

pub async fn password_login(
    state: &AppState,
    email: &str,
    password_attempt: &str,
    ip: Option<IpAddr>,
) -> Result<LoginOutcome, StorageError> {
    let email = normalize_email(email);
    let cfg = &state.config().throttle;
    let keys = [
        (account_key(&email), cfg.account_failures),
        (ip_key(ip), cfg.ip_failures),
    ];
    if let Some(retry_after_secs) = throttled(state, &keys).await? {
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let creds = users::credentials_by_email(state.db(), &email).await?;
    // Verify against a real hash even for unknown users, so timing does not
    // reveal which emails have accounts.
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| state.dummy_password_hash().to_string());
    let valid = password::verify_async(password_attempt.to_string(), hash).await;
    let Some(creds) = creds.filter(|_| valid) else {
        record_failures(state, &keys).await?;
        return Ok(LoginOutcome::Rejected);
    };
    throttle::clear(state.db(), &keys[0].0).await?;
    let mfa = creds.user.totp_enabled;
    let session_cookie = start_session(state, &creds.user.id, mfa).await?;
    Ok(if mfa {
        LoginOutcome::NeedsSecondFactor { session_cookie }
    } else {
        LoginOutcome::LoggedIn { session_cookie }
    })
}

/// The result of a password or code check outside log-in.
pub enum Check<T = ()> {
    Passed(T),
    Failed,
    Throttled { retry_after_secs: u64 },
}

/// Re-check a signed-in user's password (e.g. before turning 2FA off),
/// under the same throttle as log-in: the account's and the address's
/// failures count together with failed log-ins.
pub async fn check_password(
    state: &AppState,
    email: &str,
    attempt: &str,
    ip: Option<IpAddr>,
) -> Result<Check, StorageError> {
    let email = normalize_email(email);
    let cfg = &state.config().throttle;
    let keys = [
        (account_key(&email), cfg.account_failures),
        (ip_key(ip), cfg.ip_failures),
    ];
    if let Some(retry_after_secs) = throttled(state, &keys).await? {
        return Ok(Check::Throttled { retry_after_secs });
    }
    let hash = users::credentials_by_email(state.db(), &email)
        .await?
        .map(|c| c.password_hash)
        .unwrap_or_else(|| state.dummy_password_hash().to_string());
    if password::verify_async(attempt.to_string(), hash).await {
        throttle::clear(state.db(), &keys[0].0).await?;
        Ok(Check::Passed(()))
    } else {
        record_failures(state, &keys).await?;
        Ok(Check::Failed)
    }
}

/// Check a TOTP code against `secret` (e.g. confirming 2FA setup) under the
/// same throttle as the log-in's second factor. Passes with the code's step.
pub async fn check_totp_code(
    state: &AppState,
    user_id: &str,
    secret: &str,
    code: &str,
) -> Result<Check<i64>, StorageError> {
    let keys = [(
        second_factor_key(user_id),
        state.config().throttle.account_failures,
    )];
    if let Some(retry_after_secs) = throttled(state, &keys).await? {
        return Ok(Check::Throttled { retry_after_secs });
    }
    match totp::verify(secret, code, state.now_ms() / 1000) {
        Some(step) => {
            throttle::clear(state.db(), &keys[0].0).await?;
            Ok(Check::Passed(step))
        }
        None => {
            record_failures(state, &keys).await?;
            Ok(Check::Failed)
        }
    }
}

pub enum SecondFactorOutcome {
    LoggedIn { session_cookie: String },
    Throttled { retry_after_secs: u64 },
    Rejected,
}

/// Complete a pending log-in with a TOTP code or a recovery code. On success
/// the pending session is replaced by a new one (fresh id).
pub async fn second_factor(
    state: &AppState,
    pending_id_hash: &str,
    user_id: &str,
    code: &str,
) -> Result<SecondFactorOutcome, StorageError> {
    let keys = [(
        second_factor_key(user_id),
        state.config().throttle.account_failures,
    )];
    if let Some(retry_after_secs) = throttled(state, &keys).await? {
        return Ok(SecondFactorOutcome::Throttled { retry_after_secs });
    }
    let now = state.now_ms();
    let secret = users::totp_secret(state.db(), user_id)
        .await?
        .and_then(|stored| totp_store::open(state, user_id, &stored));
    let accepted = match secret {
        None => false,
        Some(secret) => match totp::verify(secret.expose(), code, now / 1000) {
            Some(step) => users::claim_totp_step(state.db(), user_id, step).await?,
            None => {
                let normalized = totp::normalize_recovery_code(code);
                normalized.len() == 12
                    && users::consume_recovery_code(
                        state.db(),
                        user_id,
                        &tokens::digest(&normalized),
                        now,
                    )
                    .await?
            }
        },
    };
    if !accepted {
        record_failures(state, &keys).await?;
        return Ok(SecondFactorOutcome::Rejected);
    }
    throttle::clear(state.db(), &keys[0].0).await?;
    sessions::delete(state.db(), pending_id_hash).await?;
    let session_cookie = start_session(state, user_id, false).await?;
    Ok(SecondFactorOutcome::LoggedIn { session_cookie })
}

/// Create a session and return the cookie value (the only copy of the id).
pub async fn start_session(
    state: &AppState,
    user_id: &str,
    mfa_pending: bool,
) -> Result<String, StorageError> {
    let id = tokens::random_token("");
    let csrf = tokens::random_token("");
    let now = state.now_ms();
    let ttl = if mfa_pending {
        MFA_PENDING_TTL_MS
    } else {
        state.config().session_ttl.as_millis() as i64
    };
    sessions::create(
        state.db(),
        &tokens::digest(&id),
        user_id,
        &csrf,
        mfa_pending,
        now,
        now + ttl,
    )
    .await?;
    Ok(id)
}
