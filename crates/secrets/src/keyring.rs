//! Key-encryption keys, kept outside the database.
//!
//! Key file format (JSON, mode 0600, written atomically):
//! `{"version":1,"primary":"<id>","keys":[{"id":"<id>","key":"<base64 32 bytes>","created_at_ms":…}]}`.
//! A key's id is the first 8 bytes of SHA-256(key) in hex, so the same key
//! always has the same id wherever it comes from (file or environment).

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::vault::VaultError;

#[derive(Clone)]
struct Kek {
    id: String,
    key: Zeroizing<[u8; 32]>,
    created_at_ms: i64,
}

/// The primary KEK (seals new data) and older KEKs (still open old data).
#[derive(Clone)]
pub struct KeyRing {
    primary: String,
    keys: Vec<Kek>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "KeyRing {{ primary: {}, keys: {ids:?} }}", self.primary)
    }
}

#[derive(Serialize, Deserialize)]
struct FileKey {
    id: String,
    key: String,
    created_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    primary: String,
    keys: Vec<FileKey>,
}

fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(key)[..8])
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn new_kek() -> Kek {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(key.as_mut());
    Kek {
        id: key_id(&key),
        key,
        created_at_ms: now_ms(),
    }
}

fn decode_key(b64: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(b64.trim())
            .map_err(|_| VaultError::BadKey("not valid base64".into()))?,
    );
    if bytes.len() != 32 {
        return Err(VaultError::BadKey(format!(
            "must be 32 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), got {}",
            bytes.len()
        )));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

impl KeyRing {
    /// A ring with one fresh random key (tests, first start).
    pub fn generate() -> KeyRing {
        let kek = new_kek();
        KeyRing {
            primary: kek.id.clone(),
            keys: vec![kek],
        }
    }

    /// This ring plus a fresh key that becomes primary.
    pub fn with_new_primary(&self) -> KeyRing {
        let kek = new_kek();
        let mut keys = self.keys.clone();
        let primary = kek.id.clone();
        keys.push(kek);
        KeyRing { primary, keys }
    }

    pub fn primary_id(&self) -> &str {
        &self.primary
    }

    pub(crate) fn primary(&self) -> (&str, &[u8; 32]) {
        let k = self
            .keys
            .iter()
            .find(|k| k.id == self.primary)
            .expect("the primary key is in the ring");
        (&k.id, &k.key)
    }

    pub(crate) fn key(&self, id: &str) -> Option<&[u8; 32]> {
        self.keys.iter().find(|k| k.id == id).map(|k| &*k.key)
    }

    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Keys given by environment: the primary and any older ones (base64).
    pub fn from_env(primary_b64: &str, older_b64: &[&str]) -> Result<KeyRing, VaultError> {
        let primary = decode_key(primary_b64)?;
        let mut keys = vec![Kek {
            id: key_id(&primary),
            key: primary,
            created_at_ms: 0,
        }];
        for b64 in older_b64 {
            let key = decode_key(b64)?;
            keys.push(Kek {
                id: key_id(&key),
                key,
                created_at_ms: 0,
            });
        }
        Ok(KeyRing {
            primary: keys[0].id.clone(),
            keys,
        })
    }

    /// Read the key file, or create it (mode 0600) with a fresh key.
    pub fn load_or_create_file(path: &Path) -> Result<KeyRing, VaultError> {
        if path.exists() {
            return Self::load_file(path);
        }
        let ring = Self::generate();
        ring.write_file(path)?;
        Ok(ring)
    }

    pub fn load_file(path: &Path) -> Result<KeyRing, VaultError> {
        let err = |reason: String| VaultError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let meta = fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(err(format!(
                "permissions {:o} are too open: it must be readable by its owner only (chmod 600)",
                meta.permissions().mode() & 0o777
            )));
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| err(e.to_string()))?);
        let file: KeyFile =
            serde_json::from_str(&text).map_err(|e| err(format!("not a vault key file: {e}")))?;
        let mut keys = Vec::new();
        for k in file.keys {
            let key = decode_key(&k.key)?;
            if key_id(&key) != k.id {
                return Err(err(format!("key {} does not match its id", k.id)));
            }
            keys.push(Kek {
                id: k.id,
                key,
                created_at_ms: k.created_at_ms,
            });
        }
        if !keys.iter().any(|k| k.id == file.primary) {
            return Err(err("the primary key is missing from the file".into()));
        }
        Ok(KeyRing {
            primary: file.primary,
            keys,
        })
    }

    /// Write atomically: a 0600 temp file in the same directory, fsync, rename.
    fn write_file(&self, path: &Path) -> Result<(), VaultError> {
        let err = |reason: String| VaultError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let file = KeyFile {
            version: 1,
            primary: self.primary.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| FileKey {
                    id: k.id.clone(),
                    key: STANDARD.encode(*k.key),
                    created_at_ms: k.created_at_ms,
                })
                .collect(),
        };
        let text = Zeroizing::new(serde_json::to_string_pretty(&file).expect("serializable"));
        let tmp = path.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| err(e.to_string()))?;
        f.write_all(text.as_bytes())
            .map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
        fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
        Ok(())
    }

    /// Add a new primary key to the key file (older keys stay for old data).
    pub fn rotate_file(path: &Path) -> Result<KeyRing, VaultError> {
        let ring = Self::load_file(path)?.with_new_primary();
        ring.write_file(path)?;
        Ok(ring)
    }

    /// Drop keys that no stored data references any more.
    pub fn retire_unused(path: &Path, in_use_ids: &[String]) -> Result<KeyRing, VaultError> {
        let mut ring = Self::load_file(path)?;
        let primary = ring.primary.clone();
        ring.keys
            .retain(|k| k.id == primary || in_use_ids.contains(&k.id));
        ring.write_file(path)?;
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vault.key");
        let a = KeyRing::load_or_create_file(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = KeyRing::load_or_create_file(&path).unwrap();
        assert_eq!(a.primary_id(), b.primary_id());
        let rotated = KeyRing::rotate_file(&path).unwrap();
        assert_ne!(rotated.primary_id(), a.primary_id());
        assert_eq!(KeyRing::load_file(&path).unwrap().ids().len(), 2);
        let retired = KeyRing::retire_unused(&path, &[]).unwrap();
        assert_eq!(retired.ids(), vec![rotated.primary_id().to_string()]);
    }

    #[test]
    fn open_permissions_and_bad_env_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.key");
        KeyRing::load_or_create_file(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = KeyRing::load_file(&path).unwrap_err().to_string();
        assert!(e.contains("too open"), "{e}");
        assert!(
            KeyRing::from_env("c2hvcnQ=", &[])
                .unwrap_err()
                .to_string()
                .contains("must be 32 bytes")
        );
        let good = STANDARD.encode([7u8; 32]);
        let ring = KeyRing::from_env(&good, &[]).unwrap();
        assert_eq!(ring.primary_id(), key_id(&[7u8; 32]));
        assert!(!format!("{ring:?}").contains(&good));
    }
}
