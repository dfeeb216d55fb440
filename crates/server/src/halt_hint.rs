//! Whether any kill switch is engaged anywhere, re-read at most once a
//! second: the webhook's answer then skips its per-user kill-switch read in
//! the common case (none engaged). Only the answer's words depend on it —
//! the engine checks the switches itself before every order. A switch
//! changed on this instance is seen at once (`changed`); one changed on
//! another instance within a second.

use std::sync::Mutex;

use atomik_storage::{Db, execution};

/// How long "no switch anywhere" is trusted.
const TTL_MS: i64 = 1_000;

#[derive(Default)]
pub struct HaltHint {
    /// When it was read, and whether any switch was engaged.
    last: Mutex<Option<(i64, bool)>>,
}

impl HaltHint {
    /// May a kill switch be engaged? (Unreadable: yes, so the exact read
    /// runs.)
    pub async fn maybe_engaged(&self, db: &Db, now: i64) -> bool {
        if let Some((at, any)) = *self.last.lock().expect("halt hint")
            && now.saturating_sub(at) < TTL_MS
            && now >= at
        {
            return any;
        }
        let any = execution::any_kill_switch(db).await.unwrap_or(true);
        *self.last.lock().expect("halt hint") = Some((now, any));
        any
    }

    /// A switch was engaged or released here: read again next time.
    pub fn changed(&self) {
        *self.last.lock().expect("halt hint") = None;
    }
}
