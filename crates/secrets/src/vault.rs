//! The credential vault: envelope encryption with AES-256-GCM.
//!
//! Every record gets its own random 256-bit data key (DEK). The plaintext is
//! encrypted with the DEK; the DEK is wrapped (AES-256-GCM) by the primary
//! key-encryption key (KEK) of a [`KeyRing`] that lives outside the database
//! (a 0600 key file, or an environment variable). The same associated data —
//! table, row id, owner id — is bound into both layers, so a ciphertext moved
//! to another row or owner does not open. Rotation re-wraps DEKs only
//! ([`Vault::rewrap`]); record ciphertexts never change.
//!
//! `aes-gcm` 0.10 is used (the RustCrypto release most of the ecosystem is
//! on); nonces are 96-bit random values, safe here because every DEK
//! encrypts exactly one message and KEK wraps stay far below 2^32 per key.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::Secret;
pub use crate::keyring::KeyRing;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "no vault key with id {0} is loaded: restore the key file that sealed this data (or add the key to ATOMIK_VAULT_OLD_KEYS)"
    )]
    UnknownKey(String),
    #[error(
        "decryption failed: the data was sealed for another record or owner, altered, or under a different key"
    )]
    Decrypt,
    #[error("sealed data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the vault key does not match the one this database was sealed with: restore the right key file (or ATOMIK_VAULT_KEY)"
    )]
    WrongKey,
    #[error("vault key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("vault key: {0}")]
    BadKey(String),
}

/// Associated data binding a ciphertext to its table, row and owner.
/// Encoded with length prefixes, so ("ab","c") and ("a","bc") differ.
#[derive(Clone, PartialEq, Eq)]
pub struct Aad(Vec<u8>);

impl Aad {
    pub fn new(table: &str, row_id: &str, owner_id: &str) -> Self {
        let mut bytes = Vec::with_capacity(12 + table.len() + row_id.len() + owner_id.len());
        for part in [table, row_id, owner_id] {
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        Aad(bytes)
    }
}

impl fmt::Debug for Aad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aad({} bytes)", self.0.len())
    }
}

/// A sealed record: the id of the KEK that wrapped its DEK, the wrapped DEK
/// (nonce ‖ ciphertext ‖ tag) and the record ciphertext (nonce ‖ ciphertext ‖ tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kek_id: String,
    pub wrapped_dek: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sealed {{ kek_id: {}, wrapped_dek: {} bytes, ciphertext: {} bytes }}",
            self.kek_id,
            self.wrapped_dek.len(),
            self.ciphertext.len()
        )
    }
}

impl Sealed {
    /// One byte string: version ‖ len(kek_id) ‖ kek_id ‖ len(wrapped) ‖ wrapped ‖ ciphertext.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            4 + self.kek_id.len() + self.wrapped_dek.len() + self.ciphertext.len(),
        );
        out.push(FORMAT_V1);
        out.push(self.kek_id.len() as u8);
        out.extend_from_slice(self.kek_id.as_bytes());
        out.extend_from_slice(&(self.wrapped_dek.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.wrapped_dek);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed, VaultError> {
        let corrupt = |what: &str| VaultError::Corrupt(what.to_string());
        let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
        if version != FORMAT_V1 {
            return Err(corrupt("unknown format version"));
        }
        let (&id_len, rest) = rest.split_first().ok_or_else(|| corrupt("truncated"))?;
        if rest.len() < id_len as usize + 2 {
            return Err(corrupt("truncated"));
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (len, rest) = rest.split_at(2);
        let wrapped_len = u16::from_be_bytes([len[0], len[1]]) as usize;
        if rest.len() < wrapped_len {
            return Err(corrupt("truncated"));
        }
        let (wrapped, ciphertext) = rest.split_at(wrapped_len);
        Ok(Sealed {
            kek_id: String::from_utf8(id.to_vec()).map_err(|_| corrupt("key id"))?,
            wrapped_dek: wrapped.to_vec(),
            ciphertext: ciphertext.to_vec(),
        })
    }
}

fn encrypt(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    out
}

fn decrypt(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(VaultError::Corrupt("ciphertext too short".into()));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Decrypt)
}

/// Seals and opens records under a [`KeyRing`]. Cheap to clone.
///
/// A vault loaded from a key file re-reads the file when it meets a key id it
/// does not know: after `atomik keys rotate` on one machine, running servers
/// pick up the new key by themselves (no restart, no downtime).
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    ring: RwLock<Arc<KeyRing>>,
    source: Option<PathBuf>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault {{ ring: {:?} }}", self.ring())
    }
}

/// The known plaintext of the key check.
const CHECK_PLAINTEXT: &[u8] = b"atomik vault key check v1";

fn check_aad() -> Aad {
    Aad::new("vault_meta", "key_check", "atomik")
}

impl Vault {
    pub fn new(ring: KeyRing) -> Self {
        Vault {
            inner: Arc::new(Inner {
                ring: RwLock::new(Arc::new(ring)),
                source: None,
            }),
        }
    }

    /// A vault over the key file at `path` (created with mode 0600 if
    /// missing), which it re-reads when it meets an unknown key id.
    pub fn from_file(path: &std::path::Path) -> Result<Self, VaultError> {
        let ring = KeyRing::load_or_create_file(path)?;
        Ok(Vault {
            inner: Arc::new(Inner {
                ring: RwLock::new(Arc::new(ring)),
                source: Some(path.to_path_buf()),
            }),
        })
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.inner.ring.read().expect("key ring lock").clone()
    }

    /// Re-read the key file if it may hold `kek_id`; true if it does now.
    fn reload_for(&self, kek_id: &str) -> bool {
        let Some(path) = &self.inner.source else {
            return false;
        };
        match KeyRing::load_file(path) {
            Ok(ring) if ring.key(kek_id).is_some() => {
                *self.inner.ring.write().expect("key ring lock") = Arc::new(ring);
                true
            }
            _ => false,
        }
    }

    pub fn primary_key_id(&self) -> String {
        self.ring().primary_id().to_string()
    }

    pub fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Sealed, VaultError> {
        let mut dek = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(dek.as_mut());
        let ring = self.ring();
        let (kek_id, kek) = ring.primary();
        Ok(Sealed {
            kek_id: kek_id.to_string(),
            wrapped_dek: encrypt(kek, dek.as_ref(), &aad.0),
            ciphertext: encrypt(&dek, plaintext, &aad.0),
        })
    }

    fn unwrap_dek(&self, sealed: &Sealed, aad: &Aad) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let mut ring = self.ring();
        if ring.key(&sealed.kek_id).is_none() && self.reload_for(&sealed.kek_id) {
            ring = self.ring();
        }
        let kek = ring
            .key(&sealed.kek_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.kek_id.clone()))?;
        let dek = decrypt(kek, &sealed.wrapped_dek, &aad.0)?;
        let mut out = Zeroizing::new([0u8; 32]);
        if dek.len() != 32 {
            return Err(VaultError::Corrupt("data key has the wrong length".into()));
        }
        out.copy_from_slice(&dek);
        Ok(out)
    }

    pub fn open(&self, sealed: &Sealed, aad: &Aad) -> Result<Secret<Vec<u8>>, VaultError> {
        let dek = self.unwrap_dek(sealed, aad)?;
        let mut plain = decrypt(&dek, &sealed.ciphertext, &aad.0)?;
        Ok(Secret::new(std::mem::take(&mut *plain)))
    }

    pub fn seal_str(&self, plaintext: &str, aad: &Aad) -> Result<Sealed, VaultError> {
        self.seal(plaintext.as_bytes(), aad)
    }

    pub fn open_string(&self, sealed: &Sealed, aad: &Aad) -> Result<Secret<String>, VaultError> {
        let bytes = self.open(sealed, aad)?;
        String::from_utf8(bytes.expose().clone())
            .map(Secret::new)
            .map_err(|_| VaultError::Corrupt("not UTF-8".into()))
    }

    /// Re-wrap the record's data key under the primary KEK (ciphertext
    /// unchanged). `None` if it already is: re-running a rotation is a no-op.
    pub fn rewrap(&self, sealed: &Sealed, aad: &Aad) -> Result<Option<Sealed>, VaultError> {
        if sealed.kek_id == self.primary_key_id() {
            return Ok(None);
        }
        let dek = self.unwrap_dek(sealed, aad)?;
        // Prove the DEK opens the record before committing to it.
        decrypt(&dek, &sealed.ciphertext, &aad.0)?;
        let ring = self.ring();
        let (kek_id, kek) = ring.primary();
        Ok(Some(Sealed {
            kek_id: kek_id.to_string(),
            wrapped_dek: encrypt(kek, dek.as_ref(), &aad.0),
            ciphertext: sealed.ciphertext.clone(),
        }))
    }

    /// A sealed known value, stored once so start-up can verify the key.
    pub fn check_value(&self) -> Result<Sealed, VaultError> {
        self.seal(CHECK_PLAINTEXT, &check_aad())
    }

    /// Fails closed with [`VaultError::WrongKey`] unless this ring opens `sealed`.
    pub fn verify_check(&self, sealed: &Sealed) -> Result<(), VaultError> {
        match self.open(sealed, &check_aad()) {
            Ok(p) if p.expose().as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(VaultError::WrongKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::generate()
    }

    #[test]
    fn round_trip_and_binding_to_row_owner_and_table() {
        let v = Vault::new(ring());
        let aad = Aad::new("broker_credentials", "acct-1", "user-1");
        let s = v.seal(b"token-123", &aad).unwrap();
        assert_eq!(v.open(&s, &aad).unwrap().expose().as_slice(), b"token-123");
        for other in [
            Aad::new("broker_credentials", "acct-2", "user-1"),
            Aad::new("broker_credentials", "acct-1", "user-2"),
            Aad::new("oauth_flows", "acct-1", "user-1"),
            Aad::new("broker_credentials", "acct-1u", "ser-1"),
        ] {
            assert!(matches!(v.open(&s, &other), Err(VaultError::Decrypt)));
        }
        let back = Sealed::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn tampering_is_detected() {
        let v = Vault::new(ring());
        let aad = Aad::new("t", "r", "o");
        let s = v.seal(b"secret", &aad).unwrap();
        let mut bad = s.clone();
        *bad.ciphertext.last_mut().unwrap() ^= 1;
        assert!(v.open(&bad, &aad).is_err());
        let mut bad = s.clone();
        bad.wrapped_dek[NONCE_LEN] ^= 1;
        assert!(v.open(&bad, &aad).is_err());
        assert!(Sealed::from_bytes(&[9, 9, 9]).is_err());
    }

    #[test]
    fn other_keys_cannot_open_and_check_fails_closed() {
        let a = Vault::new(ring());
        let b = Vault::new(ring());
        let aad = Aad::new("t", "r", "o");
        let s = a.seal(b"x", &aad).unwrap();
        assert!(matches!(b.open(&s, &aad), Err(VaultError::UnknownKey(_))));
        let check = a.check_value().unwrap();
        assert!(a.verify_check(&check).is_ok());
        assert!(matches!(b.verify_check(&check), Err(VaultError::WrongKey)));
    }

    #[test]
    fn rotation_rewraps_once_and_keeps_ciphertext() {
        let old = ring();
        let old_only = Vault::new(old.clone());
        let aad = Aad::new("t", "r", "o");
        let s = old_only.seal(b"payload", &aad).unwrap();
        let rotated = Vault::new(old.with_new_primary());
        assert_ne!(rotated.primary_key_id(), old_only.primary_key_id());
        let re = rotated.rewrap(&s, &aad).unwrap().expect("rewrapped");
        assert_eq!(re.kek_id, rotated.primary_key_id());
        assert_eq!(re.ciphertext, s.ciphertext);
        assert_eq!(
            rotated.open(&re, &aad).unwrap().expose().as_slice(),
            b"payload"
        );
        assert!(
            rotated.rewrap(&re, &aad).unwrap().is_none(),
            "second pass is a no-op"
        );
        assert!(
            old_only.open(&re, &aad).is_err(),
            "the old key alone cannot open it"
        );
        assert!(
            rotated.open(&s, &aad).is_ok(),
            "not-yet-rewrapped rows still open during rotation"
        );
    }

    #[test]
    fn a_file_vault_picks_up_a_rotated_key_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.key");
        let running = Vault::from_file(&path).unwrap();
        let aad = Aad::new("t", "r", "o");
        let old = running.seal(b"x", &aad).unwrap();
        // Another process rotates and re-wraps.
        let rotated = Vault::new(KeyRing::rotate_file(&path).unwrap());
        let rewrapped = rotated.rewrap(&old, &aad).unwrap().unwrap();
        assert_ne!(running.primary_key_id(), rotated.primary_key_id());
        assert_eq!(
            running.open(&rewrapped, &aad).unwrap().expose().as_slice(),
            b"x"
        );
        assert_eq!(
            running.primary_key_id(),
            rotated.primary_key_id(),
            "new seals use the new key"
        );
        let fixed = Vault::new(KeyRing::load_file(&path).unwrap());
        let lone = Vault::new(KeyRing::generate());
        assert!(matches!(
            lone.open(&rewrapped, &aad),
            Err(VaultError::UnknownKey(_))
        ));
        assert!(fixed.open(&rewrapped, &aad).is_ok());
    }

    #[test]
    fn debug_output_carries_no_key_material() {
        let r = ring();
        let (_, key) = r.primary();
        let hex_key = hex::encode(key);
        let v = Vault::new(r);
        let s = v.seal(b"plain-canary", &Aad::new("t", "r", "o")).unwrap();
        for text in [
            format!("{v:?}"),
            format!("{s:?}"),
            format!("{:?}", Aad::new("t", "r", "o")),
        ] {
            assert!(
                !text.contains(&hex_key) && !text.contains("plain-canary"),
                "{text}"
            );
        }
    }
}
