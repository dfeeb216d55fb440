//! TOTP secrets at rest: sealed by the vault, bound to the user.

use atomik_secrets::Secret;
use atomik_secrets::vault::{Aad, Sealed};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::AppState;

fn aad(user_id: &str) -> Aad {
    Aad::new("users.totp_secret", user_id, user_id)
}

/// The stored form (base64 of the sealed bytes) of a base32 TOTP secret.
pub fn seal(state: &AppState, user_id: &str, secret_base32: &str) -> Result<String, String> {
    let sealed = state
        .vault()
        .seal(secret_base32.as_bytes(), &aad(user_id))
        .map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(sealed.to_bytes()))
}

/// The base32 secret from its stored form; `None` if it cannot be opened.
pub fn open(state: &AppState, user_id: &str, stored: &str) -> Option<Secret<String>> {
    let bytes = STANDARD.decode(stored).ok()?;
    let sealed = Sealed::from_bytes(&bytes).ok()?;
    state.vault().open_string(&sealed, &aad(user_id)).ok()
}
