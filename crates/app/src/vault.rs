//! Opening the credential vault at start-up (fail closed) and `atomik keys rotate`.

use anyhow::{Context, bail};

use atomik_engine::{credentials, webhook_keys};
use atomik_secrets::vault::{KeyRing, Sealed, Vault};
use atomik_storage::{Db, broker_accounts, oauth_flows, vault_meta};

use crate::config::Settings;

/// The vault over `ATOMIK_VAULT_KEY`, or over the key file — created on
/// first start, but never silently re-created once the database holds sealed
/// data (that would make every stored credential unreadable).
async fn load(settings: &Settings, db: &Db) -> anyhow::Result<Vault> {
    if let Some((primary, old)) = &settings.vault_key_env {
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        let ring = KeyRing::from_env(primary, &old).context("ATOMIK_VAULT_KEY is not usable")?;
        return Ok(Vault::new(ring));
    }
    let path = &settings.vault_key_file;
    if !path.exists() && vault_meta::has_sealed_data(db).await? {
        bail!(
            "the vault key file {} is missing, but the database holds sealed credentials. \
             Restore the key file from your backup (or set ATOMIK_VAULT_KEY); atomik will not start without it.",
            path.display()
        );
    }
    Vault::from_file(path)
        .with_context(|| format!("cannot open the vault key file {}", path.display()))
}

/// Open the vault and prove the key matches this database's sealed data.
pub async fn open(settings: &Settings, db: &Db) -> anyhow::Result<Vault> {
    let vault = load(settings, db).await?;
    match vault_meta::key_check(db).await? {
        None => {
            let check = vault.check_value()?;
            vault_meta::set_key_check(db, &check.kek_id, &check.to_bytes()).await?;
        }
        Some((_, bytes)) => {
            let sealed = Sealed::from_bytes(&bytes)?;
            vault.verify_check(&sealed).context(
                "the vault key does not match the one this database was sealed with: restore the right key file \
                 (or ATOMIK_VAULT_KEY / ATOMIK_VAULT_OLD_KEYS); atomik will not start with a wrong key",
            )?;
        }
    }
    Ok(vault)
}

/// `atomik keys rotate`: a new primary key, then every credential's data key
/// re-wrapped under it. Interruptible: re-running finishes an unfinished
/// rotation (rows still on an older key) before it would start a new one.
pub async fn rotate(settings: &Settings, db: &Db) -> anyhow::Result<()> {
    if settings.vault_key_env.is_some() {
        bail!(
            "keys come from ATOMIK_VAULT_KEY: generate a new key, set it as ATOMIK_VAULT_KEY with the old one in \
             ATOMIK_VAULT_OLD_KEYS, then run `atomik keys rotate` again to re-wrap (the key file is not used)"
        );
    }
    let current = open(settings, db).await?;
    let pending = broker_accounts::all_credentials(db)
        .await?
        .iter()
        .filter(|(_, _, c)| c.kek_id != current.primary_key_id())
        .count();
    let vault = if pending > 0 {
        println!("resuming an unfinished rotation: {pending} credential(s) still on an older key");
        current
    } else {
        KeyRing::rotate_file(&settings.vault_key_file)?;
        Vault::from_file(&settings.vault_key_file)?
    };
    rewrap_all(&vault, db).await?;
    let check = vault.check_value()?;
    vault_meta::set_key_check(db, &check.kek_id, &check.to_bytes()).await?;
    println!(
        "every credential is sealed under key {}",
        vault.primary_key_id()
    );
    Ok(())
}

async fn rewrap_all(vault: &Vault, db: &Db) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut done = 0;
    for (account_id, user_id, credential) in broker_accounts::all_credentials(db).await? {
        if let Some(rewrapped) = credentials::rewrap(vault, &account_id, &user_id, &credential)? {
            // Compare-and-swap: a renewal that raced us already wrote a
            // credential sealed under the primary key.
            if broker_accounts::replace_credential_if(db, &account_id, &credential, &rewrapped, now)
                .await?
            {
                done += 1;
                atomik_failpoint::hit("key_rotation_mid_batch");
            }
        }
    }
    // Authorizations in flight (minutes-long) are dropped rather than
    // re-wrapped: a user mid-way simply starts Connect Broker again.
    oauth_flows::purge_expired(db, i64::MAX).await?;
    for name in vault_meta::names(db).await? {
        if name == vault_meta::KEY_CHECK {
            continue;
        }
        let Some((_, bytes)) = vault_meta::get(db, &name).await? else {
            continue;
        };
        if let Some(new) = vault.rewrap(&Sealed::from_bytes(&bytes)?, &webhook_keys::aad(&name))? {
            vault_meta::put(db, &name, &new.kek_id, &new.to_bytes()).await?;
        }
    }
    println!("re-wrapped {done} credential(s)");
    Ok(())
}
