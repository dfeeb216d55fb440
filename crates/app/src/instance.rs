//! This instance's identity: a stable id kept in the data directory, so that
//! a restarted process (after a crash or a deploy) takes back its own
//! execution leases at once instead of waiting them out, and an exclusive
//! lock on the directory, so two live processes can never share one id.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;

/// The id, valid while the lock is held (for the life of the process; the
/// kernel releases it when the process dies, however it dies).
pub struct Instance {
    pub id: String,
    _lock: File,
}

pub fn claim(data_dir: &Path) -> anyhow::Result<Instance> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let lock_path = data_dir.join("instance.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => anyhow::bail!(
            "another atomik process is running with the data directory {}: stop it first, \
             or give this instance a data directory of its own (--data-dir)",
            data_dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    let id_path = data_dir.join("instance-id");
    let mut id = String::new();
    if let Ok(mut f) = File::open(&id_path) {
        f.read_to_string(&mut id)
            .with_context(|| format!("cannot read {}", id_path.display()))?;
    }
    let id = id.trim().to_string();
    let id = if id.is_empty()
        || id.len() > 64
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        let fresh = format!("atomik-{}", uuid::Uuid::new_v4().simple());
        let mut f = File::create(&id_path)
            .with_context(|| format!("cannot write {}", id_path.display()))?;
        f.write_all(fresh.as_bytes())?;
        f.sync_all()?;
        fresh
    } else {
        id
    };
    Ok(Instance { id, _lock: lock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_survives_a_restart_and_two_live_processes_cannot_share_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = claim(dir.path()).unwrap();
        let err = claim(dir.path()).err().expect("the directory is locked");
        assert!(err.to_string().contains("another atomik process"), "{err}");
        let id = first.id.clone();
        drop(first);
        assert_eq!(claim(dir.path()).unwrap().id, id);
    }
}
