//! The dashboard: server-rendered pages (askama templates compiled into the
//! binary) and embedded static assets.

mod auth_pages;
mod broker_accounts;
mod confirm;
mod copy_groups;
mod gateway_form;
mod kill_switch;
mod logs;
mod settings;
mod strategies;
mod strategy_edit;
mod wallet_form;
mod webhooks;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use rust_embed::Embed;

use crate::AppState;
use crate::auth::session::WebUser;
use crate::summary;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route(
            "/signup",
            get(auth_pages::signup_page).post(auth_pages::signup),
        )
        .route(
            "/login",
            get(auth_pages::login_page).post(auth_pages::login),
        )
        .route(
            "/login/2fa",
            get(auth_pages::second_factor_page).post(auth_pages::second_factor),
        )
        .route("/logout", post(auth_pages::logout))
        .route("/settings", get(settings::page))
        .route("/settings/2fa/start", post(settings::totp_start))
        .route("/settings/2fa/confirm", post(settings::totp_confirm))
        .route("/settings/2fa/disable", post(settings::totp_disable))
        .route("/settings/tokens", post(settings::token_create))
        .route("/settings/tokens/{id}/delete", post(settings::token_delete))
        .route("/broker-accounts", get(broker_accounts::list))
        .route(
            "/broker-accounts/connect",
            get(broker_accounts::connect_page),
        )
        .route(
            "/broker-accounts/connect/{broker}",
            post(broker_accounts::connect_start),
        )
        .route(
            "/broker-accounts/connect/{broker}/keys",
            post(broker_accounts::connect_keys),
        )
        .route(
            "/broker-accounts/oauth/{broker}/callback",
            get(broker_accounts::oauth_callback),
        )
        .route("/broker-accounts/{id}/pause", post(broker_accounts::pause))
        .route(
            "/broker-accounts/{id}/resume",
            post(broker_accounts::resume),
        )
        .route(
            "/broker-accounts/{id}/disconnect",
            get(confirm::disconnect_page).post(broker_accounts::disconnect),
        )
        .route("/broker-accounts/{id}/test", post(broker_accounts::test))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}/logs", get(logs::logs))
        .route("/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/webhooks/{id}/pause", post(webhooks::pause))
        .route("/webhooks/{id}/resume", post(webhooks::resume))
        .route(
            "/webhooks/{id}/delete",
            get(confirm::delete_webhook_page).post(webhooks::delete),
        )
        .route("/webhooks/{id}/allowed-ips", post(webhooks::allowed_ips))
        .route(
            "/strategies",
            get(strategies::list).post(strategies::create),
        )
        .route(
            "/strategies/{id}/edit",
            get(strategy_edit::form).post(strategy_edit::save),
        )
        .route(
            "/strategies/{id}/delete",
            get(confirm::delete_strategy_page).post(strategy_edit::delete),
        )
        .route("/strategies/{id}/{state}", post(strategies::set_active))
        .route(
            "/copy-groups",
            get(copy_groups::list).post(copy_groups::create),
        )
        .route(
            "/copy-groups/{id}/followers",
            post(copy_groups::add_follower),
        )
        .route(
            "/copy-groups/{id}/followers/{account_id}/remove",
            post(copy_groups::remove_follower),
        )
        .route(
            "/copy-groups/{id}/delete",
            get(confirm::delete_group_page).post(copy_groups::delete),
        )
        .route("/kill-switch", post(kill_switch::set))
        .route("/admin/kill-switch", post(kill_switch::set_global))
        .route("/static/{*file}", get(static_file))
}

/// The signed-in header: who, where, the CSRF token for its forms, and the
/// kill switches (a banner while one stops this user's orders).
pub struct Nav {
    pub email: String,
    pub csrf: String,
    pub active: &'static str,
    /// The page to come back to after a header form.
    pub back: &'static str,
    pub operator: bool,
    pub halts: kill_switch::Banner,
}

impl Nav {
    pub async fn load(
        state: &AppState,
        user: &crate::auth::Authed,
        active: &'static str,
    ) -> Option<Nav> {
        Some(Nav {
            email: user.user.email.clone(),
            csrf: user.csrf_token().to_string(),
            active,
            back: match active {
                "broker-accounts" => "/broker-accounts",
                "webhooks" => "/webhooks",
                "strategies" => "/strategies",
                "copy-groups" => "/copy-groups",
                "settings" => "/settings",
                _ => "/",
            },
            operator: user.user.is_admin,
            halts: kill_switch::Banner::load(state, &user.user.id).await,
        })
    }
}

/// Render a template, or a plain 500 page if rendering fails (a bug).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "section.html")]
struct SectionPage {
    nav: Option<Nav>,
    heading: String,
    body: String,
}

/// A minimal page carrying one message (used for refusals outside `/api`).
pub fn message_page(status: StatusCode, heading: &str, body: &str) -> Response {
    render(
        status,
        &SectionPage {
            nav: None,
            heading: heading.to_string(),
            body: body.to_string(),
        },
    )
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    nav: Option<Nav>,
    plan_name: String,
    status_label: String,
    status_class: &'static str,
    may_execute: bool,
    execution_note: String,
    /// While trialing: when the trial ends.
    trial_note: Option<String>,
}

pub fn status_class(status: atomik_domain::SubscriptionStatus) -> &'static str {
    if status.may_execute() { "ok" } else { "bad" }
}

async fn overview(WebUser(user): WebUser, state: axum::extract::State<AppState>) -> Response {
    let summary = match summary::load(&state, &user.user).await {
        Ok(s) => s,
        Err(err) => return crate::error::ApiError::from(err).into_response(),
    };
    render(
        StatusCode::OK,
        &OverviewPage {
            nav: Nav::load(&state, &user, "overview").await,
            plan_name: summary.plan.name.clone(),
            status_label: summary.status.as_str().replace('_', " "),
            status_class: status_class(summary.status),
            may_execute: summary.execution.is_ok(),
            trial_note: match (summary.status, user.user.trial_ends_at) {
                (atomik_domain::SubscriptionStatus::Trialing, Some(ends)) => {
                    let days = ((ends - state.now_ms()).max(0) + 86_399_999) / 86_400_000;
                    Some(format!(
                        "Trial ends {} ({days} day{} left).",
                        summary::format_time(ends),
                        if days == 1 { "" } else { "s" }
                    ))
                }
                _ => None,
            },
            execution_note: summary
                .execution
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        },
    )
}

#[derive(Embed)]
#[folder = "static/"]
struct Static;

async fn static_file(Path(file): Path<String>) -> Response {
    match Static::get(&file) {
        Some(content) => {
            let mime = if file.ends_with(".css") {
                "text/css; charset=utf-8"
            } else if file.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                content.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
