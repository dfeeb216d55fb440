//! Sessions at rest: serialized and sealed by the vault, bound by associated
//! data to the credential row (account id) and its owner (user id). A sealed
//! credential copied to another account or user does not open.

use atomik_broker::Session;
use atomik_secrets::Secret;
use atomik_secrets::vault::{Aad, Sealed, Vault, VaultError};
use atomik_storage::broker_accounts::SealedCredential;
use zeroize::Zeroizing;

pub const TABLE: &str = "broker_credentials";

fn aad(account_id: &str, user_id: &str) -> Aad {
    Aad::new(TABLE, account_id, user_id)
}

fn encode(session: &Session) -> Zeroizing<Vec<u8>> {
    let value = match session {
        Session::OAuth {
            access_token,
            expires_at_ms,
        } => serde_json::json!({
            "type": "oauth", "access_token": access_token.expose(), "expires_at_ms": expires_at_ms,
        }),
        Session::ApiKey {
            key,
            secret,
            passphrase,
        } => serde_json::json!({
            "type": "api_key", "key": key.expose(), "secret": secret.expose(),
            "passphrase": passphrase.as_ref().map(|p| p.expose().clone()),
        }),
        Session::Socket {
            host,
            port,
            client_id,
            account,
        } => serde_json::json!({
            "type": "socket", "host": host, "port": port, "client_id": client_id,
            "account": account,
        }),
    };
    Zeroizing::new(serde_json::to_vec(&value).expect("JSON of strings and numbers"))
}

fn decode(bytes: &[u8]) -> Result<Session, VaultError> {
    let bad = || VaultError::Corrupt("stored credential has an unknown shape".into());
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| bad())?;
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(|s| Secret::new(s.to_string()))
    };
    Ok(match v.get("type").and_then(|t| t.as_str()) {
        Some("oauth") => Session::OAuth {
            access_token: text("access_token").ok_or_else(bad)?,
            expires_at_ms: v
                .get("expires_at_ms")
                .and_then(|x| x.as_i64())
                .ok_or_else(bad)?,
        },
        Some("api_key") => Session::ApiKey {
            key: text("key").ok_or_else(bad)?,
            secret: text("secret").ok_or_else(bad)?,
            passphrase: text("passphrase"),
        },
        Some("socket") => Session::Socket {
            host: v
                .get("host")
                .and_then(|x| x.as_str())
                .ok_or_else(bad)?
                .to_string(),
            port: v.get("port").and_then(|x| x.as_u64()).ok_or_else(bad)? as u16,
            client_id: v
                .get("client_id")
                .and_then(|x| x.as_i64())
                .ok_or_else(bad)? as i32,
            account: v
                .get("account")
                .and_then(|x| x.as_str())
                .ok_or_else(bad)?
                .to_string(),
        },
        _ => return Err(bad()),
    })
}

pub fn seal(
    vault: &Vault,
    account_id: &str,
    user_id: &str,
    session: &Session,
) -> Result<SealedCredential, VaultError> {
    let sealed = vault.seal(&encode(session), &aad(account_id, user_id))?;
    Ok(SealedCredential {
        kek_id: sealed.kek_id.clone(),
        sealed: sealed.to_bytes(),
    })
}

pub fn open(
    vault: &Vault,
    account_id: &str,
    user_id: &str,
    credential: &SealedCredential,
) -> Result<Session, VaultError> {
    let sealed = Sealed::from_bytes(&credential.sealed)?;
    let plain = vault.open(&sealed, &aad(account_id, user_id))?;
    decode(plain.expose())
}

/// Re-wrap a credential's data key under the primary key (key rotation).
/// `None` when it already is.
pub fn rewrap(
    vault: &Vault,
    account_id: &str,
    user_id: &str,
    credential: &SealedCredential,
) -> Result<Option<SealedCredential>, VaultError> {
    let sealed = Sealed::from_bytes(&credential.sealed)?;
    Ok(vault
        .rewrap(&sealed, &aad(account_id, user_id))?
        .map(|s| SealedCredential {
            kek_id: s.kek_id.clone(),
            sealed: s.to_bytes(),
        }))
}
