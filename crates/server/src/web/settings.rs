//! Settings: plan, limits and usage; two-factor set-up; API tokens.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use atomik_domain::Limit;
use atomik_storage::{sessions, tokens as token_store, users};

use super::auth_pages::throttled_message;
use super::{Nav, render, status_class};
use crate::AppState;
use crate::auth::login::{self, Check};
use crate::auth::session::{ClientIp, WebUser};
use crate::auth::{AuthVia, Authed, tokens, totp, totp_store};
use crate::error::ApiError;
use crate::summary::{self, format_price, format_time};

pub struct LimitRow {
    label: String,
    used: u32,
    allowed: String,
}

pub struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
}

pub struct TotpSetup {
    secret: String,
    uri: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Option<Nav>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    plan_name: String,
    price: String,
    status_label: String,
    status_class: &'static str,
    limits: Vec<LimitRow>,
    followers_per_group: String,
    trade_execution: bool,
    totp_enabled: bool,
    totp_setup: Option<TotpSetup>,
    recovery_codes: Vec<String>,
    recovery_codes_left: i64,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
}

/// One-off content for a settings render (a message, a secret shown once).
#[derive(Default)]
struct Extra {
    notice: Option<String>,
    error: Option<String>,
    totp_setup: Option<TotpSetup>,
    recovery_codes: Vec<String>,
    new_token: Option<String>,
}

async fn render_settings(
    state: &AppState,
    user: &Authed,
    status: StatusCode,
    extra: Extra,
) -> Response {
    let result = async {
        let summary = summary::load(state, &user.user).await?;
        let tokens = token_store::list(state.db(), &user.user.id).await?;
        let left = users::remaining_recovery_codes(state.db(), &user.user.id).await?;
        Ok::<_, atomik_storage::StorageError>((summary, tokens, left))
    }
    .await;
    let (summary, tokens, left) = match result {
        Ok(v) => v,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let page = SettingsPage {
        nav: Nav::load(state, user, "settings").await,
        csrf: user.csrf_token().to_string(),
        notice: extra.notice,
        error: extra.error,
        plan_name: summary.plan.name.clone(),
        price: format_price(summary.plan.price_cents_per_month),
        status_label: summary.status.as_str().replace('_', " "),
        status_class: status_class(summary.status),
        limits: summary
            .usage
            .iter()
            .map(|(r, used)| LimitRow {
                label: capitalize(r.label()),
                used: *used,
                allowed: summary.plan.limit(*r).to_string(),
            })
            .collect(),
        followers_per_group: match summary.plan.followers_per_group {
            Limit::Finite(n) => n.to_string(),
            Limit::Unlimited => "unlimited".into(),
        },
        trade_execution: summary.plan.trade_execution,
        totp_enabled: user.user.totp_enabled,
        totp_setup: extra.totp_setup,
        recovery_codes: extra.recovery_codes,
        recovery_codes_left: left,
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                created: format_time(t.created_at),
                last_used: t
                    .last_used_at
                    .map(format_time)
                    .unwrap_or_else(|| "never".into()),
            })
            .collect(),
        new_token: extra.new_token,
    };
    render(status, &page)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub async fn page(State(state): State<AppState>, WebUser(user): WebUser) -> Response {
    render_settings(&state, &user, StatusCode::OK, Extra::default()).await
}

pub async fn totp_start(State(state): State<AppState>, WebUser(user): WebUser) -> Response {
    if user.user.totp_enabled {
        return Redirect::to("/settings").into_response();
    }
    let secret = totp::new_secret();
    let stored = match totp_store::seal(&state, &user.user.id, &secret) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot seal a TOTP secret");
            return ApiError::internal().into_response();
        }
    };
    if let Err(err) = users::set_pending_totp(state.db(), &user.user.id, &stored).await {
        return ApiError::from(err).into_response();
    }
    let uri = totp::provisioning_uri(&secret, &user.user.email);
    let extra = Extra {
        totp_setup: Some(TotpSetup { secret, uri }),
        ..Extra::default()
    };
    render_settings(&state, &user, StatusCode::OK, extra).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp_confirm(
    State(state): State<AppState>,
    WebUser(mut user): WebUser,
    Form(form): Form<CodeForm>,
) -> Response {
    let secret = match users::totp_secret(state.db(), &user.user.id).await {
        Ok(Some(stored)) if !user.user.totp_enabled => {
            match totp_store::open(&state, &user.user.id, &stored) {
                Some(s) => s.expose().clone(),
                None => return Redirect::to("/settings").into_response(),
            }
        }
        Ok(_) => return Redirect::to("/settings").into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let refused = |error: String| Extra {
        error: Some(error),
        totp_setup: Some(TotpSetup {
            uri: totp::provisioning_uri(&secret, &user.user.email),
            secret: secret.clone(),
        }),
        ..Extra::default()
    };
    let step = match login::check_totp_code(&state, &user.user.id, &secret, &form.code).await {
        Ok(Check::Passed(step)) => step,
        Ok(Check::Failed) => {
            let extra = refused("That code does not match. Check the key in your app and the clock of your device, then try the current code.".into());
            return render_settings(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
        }
        Ok(Check::Throttled { retry_after_secs }) => {
            let extra = refused(throttled_message(retry_after_secs));
            return render_settings(&state, &user, StatusCode::TOO_MANY_REQUESTS, extra).await;
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| tokens::digest(&totp::normalize_recovery_code(c)))
        .collect();
    let result = async {
        users::enable_totp(state.db(), &user.user.id, &hashes).await?;
        users::claim_totp_step(state.db(), &user.user.id, step).await?;
        end_other_sessions(&state, &user).await
    }
    .await;
    if let Err(err) = result {
        return ApiError::from(err).into_response();
    }
    user.user.totp_enabled = true;
    let extra = Extra {
        notice: Some(
            "Two-factor authentication is on. Store your recovery codes somewhere safe.".into(),
        ),
        recovery_codes: codes,
        ..Extra::default()
    };
    render_settings(&state, &user, StatusCode::OK, extra).await
}

/// After a security change, every other session of the user ends.
async fn end_other_sessions(
    state: &AppState,
    user: &Authed,
) -> Result<(), atomik_storage::StorageError> {
    let AuthVia::Session {
        id_hash,
        csrf_token,
    } = &user.via
    else {
        return Ok(());
    };
    sessions::delete_for_user(state.db(), &user.user.id).await?;
    let now = state.now_ms();
    let expires = now + state.config().session_ttl.as_millis() as i64;
    sessions::create(
        state.db(),
        id_hash,
        &user.user.id,
        csrf_token,
        false,
        now,
        expires,
    )
    .await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn totp_disable(
    State(state): State<AppState>,
    WebUser(mut user): WebUser,
    ClientIp(ip): ClientIp,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !user.user.totp_enabled {
        let extra = Extra {
            notice: Some("Two-factor authentication is already off.".into()),
            ..Extra::default()
        };
        return render_settings(&state, &user, StatusCode::OK, extra).await;
    }
    let refused = |error: String| Extra {
        error: Some(error),
        ..Extra::default()
    };
    match login::check_password(&state, &user.user.email, &form.password, ip).await {
        Ok(Check::Passed(())) => {}
        Ok(Check::Failed) => {
            let extra =
                refused("Password is incorrect; two-factor authentication stays on.".into());
            return render_settings(&state, &user, StatusCode::UNAUTHORIZED, extra).await;
        }
        Ok(Check::Throttled { retry_after_secs }) => {
            let extra = refused(throttled_message(retry_after_secs));
            return render_settings(&state, &user, StatusCode::TOO_MANY_REQUESTS, extra).await;
        }
        Err(err) => return ApiError::from(err).into_response(),
    }
    if let Err(err) = users::disable_totp(state.db(), &user.user.id).await {
        return ApiError::from(err).into_response();
    }
    user.user.totp_enabled = false;
    let extra = Extra {
        notice: Some("Two-factor authentication is off.".into()),
        ..Extra::default()
    };
    render_settings(&state, &user, StatusCode::OK, extra).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
}

pub async fn token_create(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Form(form): Form<TokenForm>,
) -> Response {
    match crate::api::tokens::issue(&state, &user.user.id, &form.name).await {
        Ok((_, token)) => {
            let extra = Extra {
                new_token: Some(token),
                ..Extra::default()
            };
            render_settings(&state, &user, StatusCode::OK, extra).await
        }
        Err(err) => {
            let extra = Extra {
                error: Some(err.message),
                ..Extra::default()
            };
            render_settings(&state, &user, err.status, extra).await
        }
    }
}

pub async fn token_delete(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    match token_store::delete(state.db(), &user.user.id, &id).await {
        Ok(_) => Redirect::to("/settings").into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}
