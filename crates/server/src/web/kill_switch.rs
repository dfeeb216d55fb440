//! The kill switch in the dashboard: a Stop / Resume button in every page's
//! header (the user's switch; the operator's global one for operators), one
//! per account on Broker Accounts, and a banner on every page while one
//! stops the user's orders. Each form redirects back (no resubmission on
//! Refresh).

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use atomik_storage::broker_accounts as accounts;
use atomik_storage::execution;

use crate::AppState;
use crate::auth::session::WebUser;
use crate::error::ApiError;

/// What the header shows about the kill switches.
#[derive(Debug, Default)]
pub struct Banner {
    /// The operator's global switch is engaged.
    pub global: bool,
    /// The user's own switch is engaged.
    pub user: bool,
    /// Names of the user's accounts stopped by their own switch.
    pub accounts: Vec<String>,
    /// The kill switches could not be read: said, never hidden.
    pub unknown: bool,
}

impl Banner {
    pub async fn load(state: &AppState, user_id: &str) -> Banner {
        let halts = match execution::halts(state.db(), user_id).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the kill switches for the header");
                return Banner {
                    unknown: true,
                    ..Banner::default()
                };
            }
        };
        let mut accounts = Vec::new();
        if !halts.accounts.is_empty() {
            let all = accounts::list(state.db(), user_id)
                .await
                .unwrap_or_default();
            for id in &halts.accounts {
                accounts.push(
                    all.iter()
                        .find(|a| &a.id == id)
                        .map_or_else(|| id.clone(), |a| a.display_name.clone()),
                );
            }
        }
        Banner {
            global: halts.global,
            user: halts.user,
            accounts,
            unknown: false,
        }
    }

    /// Anything to show.
    pub fn any(&self) -> bool {
        self.global || self.user || !self.accounts.is_empty() || self.unknown
    }

    /// The banner's words.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if self.global {
            parts.push(
                "Trading is stopped for everyone: the operator's kill switch is engaged. No new order leaves until an operator releases it."
                    .to_string(),
            );
        }
        if self.user {
            parts.push(
                "Trading is stopped: your kill switch is engaged. No new order leaves for any of your accounts until you resume."
                    .to_string(),
            );
        }
        if !self.accounts.is_empty() {
            parts.push(format!(
                "Trading is stopped on {}: the account's kill switch is engaged.",
                self.accounts.join(", ")
            ));
        }
        if self.unknown {
            parts.push(
                "The kill switches could not be read just now; reload to see whether trading is stopped."
                    .to_string(),
            );
        }
        parts.join(" ")
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    /// `on` engages, anything else releases.
    engaged: String,
    /// Only this account (else all of the user's).
    account_id: Option<String>,
    back: Option<String>,
}

/// Back to the page the form was on: a local path only.
fn back_to(back: Option<&str>) -> Redirect {
    let path = back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or("/");
    Redirect::to(path)
}

/// `POST /kill-switch`: the user's switch, or one account's.
pub async fn set(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Form(f): Form<SwitchForm>,
) -> Response {
    let engaged = f.engaged == "on";
    let scope = match f.account_id.as_deref().filter(|a| !a.is_empty()) {
        Some(id) => match accounts::find(state.db(), &user.user.id, id).await {
            Ok(Some(_)) => format!("account:{id}"),
            Ok(None) => return ApiError::not_found("broker account").into_response(),
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => format!("user:{}", user.user.id),
    };
    if let Err(e) = execution::set_kill_switch(state.db(), &scope, engaged, state.now_ms()).await {
        return ApiError::from(e).into_response();
    }
    state.halt_hint().changed();
    tracing::warn!(scope = %scope, engaged, "kill switch changed from the dashboard");
    back_to(f.back.as_deref()).into_response()
}

/// `POST /admin/kill-switch`: the operator's global switch.
pub async fn set_global(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Form(f): Form<SwitchForm>,
) -> Response {
    if !user.user.is_admin {
        return ApiError::forbidden("Operator access required.").into_response();
    }
    let engaged = f.engaged == "on";
    if let Err(e) = execution::set_kill_switch(state.db(), "global", engaged, state.now_ms()).await
    {
        return ApiError::from(e).into_response();
    }
    state.halt_hint().changed();
    tracing::warn!(engaged, operator = %user.user.email, "global kill switch changed from the dashboard");
    back_to(f.back.as_deref()).into_response()
}
