//! Edit and delete a strategy from the dashboard. Edit keeps what was typed
//! when a value is refused; Delete confirms first (see `confirm.rs`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use atomik_storage::broker_accounts as accounts;
use atomik_storage::execution::{self, Strategy};
use atomik_storage::webhooks;

use super::{Nav, render};
use crate::AppState;
use crate::api::strategy_edit::{UpdateStrategy, update_strategy};
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::error::ApiError;

/// The edit form's fields, as text (what was typed is shown back).
#[derive(Deserialize, Default)]
pub struct EditForm {
    name: String,
    instrument: String,
    quantity: String,
    #[serde(default)]
    quantity_source: String,
    #[serde(default)]
    quantity_unit: String,
    #[serde(default)]
    max_per_signal: String,
    #[serde(default)]
    max_position: String,
    #[serde(default)]
    trading_hours: String,
    #[serde(default)]
    max_order_quantity: String,
    #[serde(default)]
    daily_order_cap: String,
    #[serde(default)]
    max_signal_age_secs: String,
}

impl EditForm {
    fn of(s: &Strategy) -> EditForm {
        let r = &s.rules;
        let text = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
        EditForm {
            name: s.name.clone(),
            instrument: s.instrument.clone(),
            quantity: r.quantity.to_string(),
            quantity_source: if r.max_per_signal().is_some() {
                "alert"
            } else {
                "fixed"
            }
            .into(),
            quantity_unit: r.quantity_unit.as_str().into(),
            max_per_signal: r
                .max_per_signal()
                .unwrap_or(rust_decimal::Decimal::from(
                    atomik_domain::sizing::DEFAULT_MAX_PER_SIGNAL,
                ))
                .to_string(),
            max_position: text(r.max_position),
            trading_hours: r.trading_hours.map(|h| h.stored()).unwrap_or_default(),
            max_order_quantity: text(r.max_order_quantity),
            daily_order_cap: r.daily_order_cap.map(|c| c.to_string()).unwrap_or_default(),
            max_signal_age_secs: r
                .max_signal_age_secs
                .map(|c| c.to_string())
                .unwrap_or_default(),
        }
    }

    /// The API body, or which whole number is not one.
    fn body(&self) -> Result<UpdateStrategy, String> {
        let whole = |field: &str, v: &str| -> Result<Option<i64>, String> {
            match v.trim() {
                "" => Ok(None),
                t => t
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| format!("{field} must be a whole number, got {t:?}")),
            }
        };
        let opt = |v: &str| Some(v.trim().to_string()).filter(|t| !t.is_empty());
        Ok(UpdateStrategy {
            name: self.name.clone(),
            instrument: self.instrument.clone(),
            quantity: self.quantity.clone(),
            quantity_source: opt(&self.quantity_source),
            max_per_signal: opt(&self.max_per_signal),
            quantity_unit: opt(&self.quantity_unit),
            max_position: opt(&self.max_position),
            trading_hours: opt(&self.trading_hours),
            max_order_quantity: opt(&self.max_order_quantity),
            daily_order_cap: whole("daily order cap", &self.daily_order_cap)?,
            max_signal_age_secs: whole("max signal age", &self.max_signal_age_secs)?,
        })
    }
}

#[derive(Template)]
#[template(path = "strategy_edit.html")]
struct EditPage {
    nav: Option<Nav>,
    csrf: String,
    id: String,
    webhook: String,
    account: String,
    f: EditForm,
    error: Option<String>,
}

async fn owned(state: &AppState, user: &Authed, id: &str) -> Result<Strategy, ApiError> {
    execution::strategy(state.db(), id)
        .await?
        .filter(|s| s.user_id == user.user.id)
        .ok_or_else(|| ApiError::not_found("strategy"))
}

async fn edit_page(
    state: &AppState,
    user: &Authed,
    s: &Strategy,
    f: EditForm,
    error: Option<String>,
) -> Response {
    let webhook = match &s.webhook_id {
        Some(w) => webhooks::find(state.db(), &user.user.id, w)
            .await
            .ok()
            .flatten()
            .map_or_else(|| "—".to_string(), |h| h.name),
        None => "—".into(),
    };
    let account = accounts::find(state.db(), &user.user.id, &s.broker_account_id)
        .await
        .ok()
        .flatten()
        .map_or_else(|| "—".to_string(), |a| a.display_name);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &EditPage {
            nav: Nav::load(state, user, "strategies").await,
            csrf: user.csrf_token().to_string(),
            id: s.id.clone(),
            webhook,
            account,
            f,
            error,
        },
    )
}

/// `GET /strategies/{id}/edit`.
pub async fn form(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    match owned(&state, &user, &id).await {
        Ok(s) => edit_page(&state, &user, &s, EditForm::of(&s), None).await,
        Err(e) => e.into_response(),
    }
}

/// `POST /strategies/{id}/edit`: saved → back to Strategies; refused → the
/// form again with what was typed and why.
pub async fn save(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Response {
    let s = match owned(&state, &user, &id).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let outcome = match f.body() {
        Ok(body) => update_strategy(&state, &user.user.id, &id, &body)
            .await
            .map_err(|e| e.message),
        Err(why) => Err(why),
    };
    match outcome {
        Ok(_) => Redirect::to("/strategies").into_response(),
        Err(why) => edit_page(&state, &user, &s, f, Some(why)).await,
    }
}

/// `POST /strategies/{id}/delete`: the confirmation first.
pub async fn delete(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
    Form(confirmed): Form<super::confirm::Confirmed>,
) -> Response {
    if !confirmed.yes() {
        return super::confirm::delete_strategy(&state, &user, &id).await;
    }
    let (notice, error) = match execution::delete_strategy(state.db(), &user.user.id, &id).await {
        Ok(()) => (Some("Strategy deleted.".to_string()), None),
        Err(e) => (None, Some(ApiError::from(e).message)),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    super::strategies::page(&state, &user, status, notice, error).await
}
