//! Confirmation before a destructive action (Disconnect, Delete): a page
//! that says what will happen, with the one button that does it. The
//! action's `GET` shows the page (a bookmarked or refreshed URL never gives
//! a blank 405), and its `POST` without `confirm=yes` shows it too — nothing
//! destructive happens from one stray click. No JavaScript (the CSP allows
//! none).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use atomik_storage::broker_accounts as accounts;
use atomik_storage::{execution, webhooks};

use super::{Nav, render};
use crate::AppState;
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    csrf: String,
    title: String,
    question: String,
    consequences: Vec<String>,
    action: String,
    button: String,
    cancel: &'static str,
}

/// The confirmation field a destructive form carries.
#[derive(Deserialize, Default)]
pub struct Confirmed {
    confirm: Option<String>,
}

impl Confirmed {
    pub fn yes(&self) -> bool {
        self.confirm.as_deref() == Some("yes")
    }
}

/// `GET /broker-accounts/{id}/disconnect`.
pub async fn disconnect_page(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    disconnect(&state, &user, &id).await
}

/// The Disconnect confirmation: the credentials destroyed, the open
/// positions that stay open at the broker, the strategies and copy-group
/// memberships turned off.
pub async fn disconnect(state: &AppState, user: &Authed, id: &str) -> Response {
    let loaded = async {
        let account = accounts::find(state.db(), &user.user.id, id)
            .await?
            .ok_or(atomik_storage::StorageError::NotFound("broker account"))?;
        let preview = accounts::disconnect_preview(state.db(), &user.user.id, id).await?;
        let positions = execution::positions_of(state.db(), id).await?;
        Ok::<_, atomik_storage::StorageError>((account, preview, positions))
    }
    .await;
    let (account, preview, positions) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut consequences =
        vec!["Its stored credentials are destroyed; trading on it stops at once.".to_string()];
    consequences.push(if positions.is_empty() {
        "atomik tracks no open position on it.".to_string()
    } else {
        format!(
            "Open positions stay open at the broker (atomik does not close them): {}.",
            positions
                .iter()
                .map(|(symbol, q)| format!("{symbol} {q}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    consequences.push(if preview.strategies.is_empty() {
        "No active strategy uses it.".to_string()
    } else {
        format!(
            "These strategies turn off (reconnecting does not turn them back on): {}.",
            preview.strategies.join(", ")
        )
    });
    if !preview.groups.is_empty() {
        consequences.push(format!(
            "It stops following in these copy groups: {}.",
            preview.groups.join(", ")
        ));
    }
    render(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::load(state, user, "broker-accounts").await,
            csrf: user.csrf_token().to_string(),
            title: "Disconnect broker account".into(),
            question: format!("Disconnect {}?", account.display_name),
            consequences,
            action: format!("/broker-accounts/{id}/disconnect"),
            button: format!("Disconnect {}", account.display_name),
            cancel: "/broker-accounts",
        },
    )
}

/// `GET /webhooks/{id}/delete`.
pub async fn delete_webhook_page(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    delete_webhook(&state, &user, &id).await
}

/// The webhook Delete confirmation: its URL stops working, its strategies
/// are deleted with it.
pub async fn delete_webhook(state: &AppState, user: &Authed, id: &str) -> Response {
    let loaded = async {
        let hook = webhooks::find(state.db(), &user.user.id, id)
            .await?
            .ok_or(atomik_storage::StorageError::NotFound("webhook"))?;
        let strategies = webhooks::strategies_of(state.db(), &user.user.id, id).await?;
        Ok::<_, atomik_storage::StorageError>((hook, strategies))
    }
    .await;
    let (hook, strategies) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let consequences = vec![
        "Its URL answers 404 at once: alerts sent to it (TradingView's included) execute nothing, and TradingView does not retry them.".to_string(),
        if strategies.is_empty() {
            "No strategy uses it.".to_string()
        } else {
            format!("These strategies are deleted with it: {}.", strategies.join(", "))
        },
        "Its delivery logs, signals and their order history are deleted with it (orders at the broker are not touched).".to_string(),
    ];
    render(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::load(state, user, "webhooks").await,
            csrf: user.csrf_token().to_string(),
            title: "Delete webhook".into(),
            question: format!("Delete the webhook {}?", hook.name),
            consequences,
            action: format!("/webhooks/{id}/delete"),
            button: format!("Delete {}", hook.name),
            cancel: "/webhooks",
        },
    )
}

/// `GET /strategies/{id}/delete`.
pub async fn delete_strategy_page(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    delete_strategy(&state, &user, &id).await
}

/// The strategy Delete confirmation: its signals stop trading the account;
/// positions stay as they are.
pub async fn delete_strategy(state: &AppState, user: &Authed, id: &str) -> Response {
    let strategy = match execution::strategy(state.db(), id).await {
        Ok(Some(s)) if s.user_id == user.user.id => s,
        Ok(_) => return ApiError::not_found("strategy").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let consequences = vec![
        format!(
            "Signals of its webhook stop trading {} on that account{}.",
            strategy.instrument,
            if strategy.active {
                " at once, and its active-strategy slot is freed"
            } else {
                ""
            }
        ),
        "Positions it opened stay open at the broker; its past orders stay in the Logs tab."
            .into(),
        "Refused while one of its orders is still in flight: turn it off and delete it once they settle."
            .into(),
    ];
    render(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::load(state, user, "strategies").await,
            csrf: user.csrf_token().to_string(),
            title: "Delete strategy".into(),
            question: format!("Delete the strategy {}?", strategy.name),
            consequences,
            action: format!("/strategies/{id}/delete"),
            button: format!("Delete {}", strategy.name),
            cancel: "/strategies",
        },
    )
}

/// `GET /copy-groups/{id}/delete`.
pub async fn delete_group_page(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    delete_group(&state, &user, &id).await
}

/// The copy-group Delete confirmation: its followers stop copying.
pub async fn delete_group(state: &AppState, user: &Authed, id: &str) -> Response {
    let groups = match atomik_storage::copy_groups::list(state.db(), &user.user.id).await {
        Ok(g) => g,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(group) = groups.into_iter().find(|g| g.id == id) else {
        return ApiError::not_found("copy group").into_response();
    };
    let followers = group.followers.iter().filter(|f| f.2).count();
    let consequences = vec![
        format!(
            "Its {followers} follower(s) stop copying the leader's signals at once; their own strategies stay as they are."
        ),
        "Positions the followers hold stay open at their brokers.".into(),
        "Its copy-group slot on your plan is freed.".into(),
    ];
    render(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::load(state, user, "copy-groups").await,
            csrf: user.csrf_token().to_string(),
            title: "Delete copy group".into(),
            question: format!("Delete the copy group {}?", group.name),
            consequences,
            action: format!("/copy-groups/{id}/delete"),
            button: format!("Delete {}", group.name),
            cancel: "/copy-groups",
        },
    )
}
