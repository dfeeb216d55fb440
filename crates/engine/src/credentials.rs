//! Sessions at rest: serialized and sealed by the vault, bound by associated
//! data to the credential row (account id) and its owner (user id). A sealed
//! credential copied to another account or user does not open.

use atomik_broker::{ApiCredentials, Session};
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
        Session::Wallet {
            private_key,
            signature_type,
            funder,
            api,
        } => serde_json::json!({
            "type": "wallet", "private_key": private_key.expose(),
            "signature_type": signature_type, "funder": funder,
            "api": api.as_ref().map(|a| serde_json::json!({
                "key": a.key.expose(), "secret": a.secret.expose(),
                "passphrase": a.passphrase.expose(),
            })),
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
        Some("wallet") => Session::Wallet {
            private_key: text("private_key").ok_or_else(bad)?,
            signature_type: v
                .get("signature_type")
                .and_then(|x| x.as_u64())
                .and_then(|x| u8::try_from(x).ok())
                .ok_or_else(bad)?,
            funder: v
                .get("funder")
                .and_then(|x| x.as_str())
                .ok_or_else(bad)?
                .to_string(),
            api: match v.get("api") {
                None | Some(serde_json::Value::Null) => None,
                Some(a) => {
                    let part = |k: &str| {
                        a.get(k)
                            .and_then(|x| x.as_str())
                            .map(|s| Secret::new(s.to_string()))
                            .ok_or_else(bad)
                    };
                    Some(ApiCredentials {
                        key: part("key")?,
                        secret: part("secret")?,
                        passphrase: part("passphrase")?,
                    })
                }
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A wallet session reads back whole, with and without API credentials,
    /// and its sealed bytes hold none of its secrets.
    #[test]
    fn wallet_sessions_round_trip_sealed() {
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        for api in [
            None,
            Some(ApiCredentials {
                key: Secret::new("k-123".into()),
                secret: Secret::new("c2VjcmV0".into()),
                passphrase: Secret::new("pass-phrase".into()),
            }),
        ] {
            let session = Session::Wallet {
                private_key: Secret::new(key.into()),
                signature_type: 2,
                funder: "0xd93b25Cb943D14d0d34FBAf01fc93a0F8b5f6e47".into(),
                api: api.clone(),
            };
            let bytes = encode(&session);
            let Session::Wallet {
                private_key,
                signature_type,
                funder,
                api: back,
            } = decode(&bytes).unwrap()
            else {
                panic!("not a wallet session")
            };
            assert_eq!(private_key.expose(), key);
            assert_eq!(signature_type, 2);
            assert_eq!(funder, "0xd93b25Cb943D14d0d34FBAf01fc93a0F8b5f6e47");
            assert_eq!(
                back.map(|a| (
                    a.key.expose().clone(),
                    a.secret.expose().clone(),
                    a.passphrase.expose().clone()
                )),
                api.map(|a| (
                    a.key.expose().clone(),
                    a.secret.expose().clone(),
                    a.passphrase.expose().clone()
                ))
            );
            let dir = tempfile::tempdir().unwrap();
            let vault = Vault::new(
                atomik_secrets::vault::KeyRing::load_or_create_file(&dir.path().join("k")).unwrap(),
            );
            let sealed = seal(&vault, "acct", "user", &session).unwrap();
            let text = String::from_utf8_lossy(&sealed.sealed);
            assert!(!text.contains(&key[2..20]) && !text.contains("pass-phrase"));
            assert!(matches!(
                open(&vault, "acct", "user", &sealed).unwrap(),
                Session::Wallet { .. }
            ));
            assert!(
                format!("{session:?}").find(&key[2..20]).is_none(),
                "Debug shows no key"
            );
        }
        assert!(
            decode(br#"{"type":"wallet","private_key":"x","signature_type":300,"funder":""}"#)
                .is_err()
        );
    }
}
