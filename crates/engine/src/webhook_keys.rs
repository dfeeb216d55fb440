//! The key for webhook secrets' keyed hashes (HMAC-SHA256): random, created
//! once, kept sealed by the vault in the database, shared by every instance.
//! Webhook secrets are stored only as `HMAC(key, secret)` and looked up by
//! that digest, so a database copy alone cannot test guesses offline.

use atomik_secrets::Secret;
use atomik_secrets::vault::{Aad, Sealed, Vault, VaultError};
use atomik_storage::{Db, StorageError, vault_meta};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const NAME: &str = "webhook_hmac_key";

pub fn aad(name: &str) -> Aad {
    Aad::new("vault_meta", name, "atomik")
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// The webhook HMAC key, created on first use.
#[derive(Clone, Debug)]
pub struct WebhookKey(Secret<Vec<u8>>);

impl WebhookKey {
    pub async fn load_or_create(db: &Db, vault: &Vault) -> Result<Self, KeyError> {
        let (_, bytes) = match vault_meta::get(db, NAME).await? {
            Some(found) => found,
            None => {
                let mut key = vec![0u8; 32];
                rand::rng().fill_bytes(&mut key);
                let sealed = vault.seal(&key, &aad(NAME))?;
                vault_meta::put_if_absent(db, NAME, &sealed.kek_id, &sealed.to_bytes()).await?
            }
        };
        let key = vault.open(&Sealed::from_bytes(&bytes)?, &aad(NAME))?;
        Ok(WebhookKey(key))
    }

    /// Hex HMAC-SHA256 of a webhook secret.
    pub fn digest(&self, secret: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes any key length");
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}
