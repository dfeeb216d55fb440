//! The Copy Trading page: create a group (a leader), add followers with
//! their multipliers, remove them, delete the group (confirmed first); per
//! follower, its state and what the last copied signal did.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use atomik_domain::Resource;
use atomik_storage::broker_accounts as accounts;
use atomik_storage::copy_groups;

use super::{Nav, render};
use crate::AppState;
use crate::api::copy_groups::{add_checked, create_group};
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::error::ApiError;
use crate::summary;

pub struct FollowerRow {
    account_id: String,
    name: String,
    multiplier: String,
    state: String,
    last: String,
}

pub struct GroupRow {
    id: String,
    name: String,
    leader: String,
    followers: Vec<FollowerRow>,
    /// Accounts that could be added: (id, name).
    candidates: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "copy_groups.html")]
struct Page {
    nav: Option<Nav>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    used: u32,
    allowed: String,
    groups: Vec<GroupRow>,
    accounts: Vec<(String, String)>,
}

pub(super) async fn page(
    state: &AppState,
    user: &Authed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let loaded = async {
        let groups = copy_groups::list(state.db(), &user.user.id).await?;
        let accts = accounts::list(state.db(), &user.user.id).await?;
        let summary = summary::load(state, &user.user).await?;
        let mut rows = Vec::with_capacity(groups.len());
        for g in groups {
            let name_of = |id: &str| {
                accts
                    .iter()
                    .find(|a| a.id == id)
                    .map_or_else(|| id.to_string(), |a| a.display_name.clone())
            };
            let mut followers = Vec::with_capacity(g.followers.len());
            for (account_id, multiplier, active) in &g.followers {
                let account = accts.iter().find(|a| &a.id == account_id);
                let state_text = match (active, account) {
                    (false, _) => "inactive (its account was disconnected)".to_string(),
                    (true, Some(a)) if a.is_active() => "copying".to_string(),
                    (true, Some(a)) if a.paused => "account paused: not copying".to_string(),
                    (true, Some(a)) => format!("account {}: not copying", a.status.as_str()),
                    (true, None) => "account gone".to_string(),
                };
                let last = match copy_groups::last_copied(state.db(), account_id).await? {
                    Some((status, reason)) => match reason {
                        Some(r) => format!("{status}: {r}"),
                        None => status,
                    },
                    None => "no signal copied yet".into(),
                };
                followers.push(FollowerRow {
                    account_id: account_id.clone(),
                    name: name_of(account_id),
                    multiplier: multiplier.clone(),
                    state: state_text,
                    last,
                });
            }
            let candidates = accts
                .iter()
                .filter(|a| a.id != g.leader_account_id)
                .filter(|a| {
                    !g.followers
                        .iter()
                        .any(|(f, _, active)| *f == a.id && *active)
                })
                .filter(|a| a.is_active())
                .map(|a| (a.id.clone(), a.display_name.clone()))
                .collect();
            rows.push(GroupRow {
                leader: name_of(&g.leader_account_id),
                id: g.id,
                name: g.name,
                followers,
                candidates,
            });
        }
        let leaders = accts
            .iter()
            .filter(|a| a.is_active())
            .map(|a| (a.id.clone(), a.display_name.clone()))
            .collect();
        Ok::<_, atomik_storage::StorageError>((rows, leaders, summary))
    }
    .await;
    let (groups, leaders, summary) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    render(
        status,
        &Page {
            nav: Nav::load(state, user, "copy-groups").await,
            csrf: user.csrf_token().to_string(),
            notice,
            error,
            used: summary.used(Resource::CopyGroups),
            allowed: summary.plan.limit(Resource::CopyGroups).to_string(),
            groups,
            accounts: leaders,
        },
    )
}

/// `GET /copy-groups`.
pub async fn list(State(state): State<AppState>, WebUser(user): WebUser) -> Response {
    page(&state, &user, StatusCode::OK, None, None).await
}

/// After a change: back to the page (Refresh does not repeat it), or the
/// page with the refusal.
async fn done(state: &AppState, user: &Authed, result: Result<(), ApiError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/copy-groups").into_response(),
        Err(e) => page(state, user, e.status, None, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    leader_account_id: String,
}

/// `POST /copy-groups`.
pub async fn create(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Form(f): Form<CreateForm>,
) -> Response {
    let result = create_group(&state, &user.user.id, &f.name, &f.leader_account_id)
        .await
        .map(|_| ());
    done(&state, &user, result).await
}

#[derive(Deserialize)]
pub struct FollowerForm {
    account_id: String,
    multiplier: Option<String>,
}

/// `POST /copy-groups/{id}/followers`.
pub async fn add_follower(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
    Form(f): Form<FollowerForm>,
) -> Response {
    let result = add_checked(
        &state,
        &user.user.id,
        &id,
        &f.account_id,
        f.multiplier.as_deref(),
    )
    .await;
    done(&state, &user, result).await
}

/// `POST /copy-groups/{id}/followers/{account_id}/remove`.
pub async fn remove_follower(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path((id, account_id)): Path<(String, String)>,
) -> Response {
    let result = copy_groups::remove_follower(state.db(), &user.user.id, &id, &account_id)
        .await
        .map_err(ApiError::from);
    done(&state, &user, result).await
}

/// `POST /copy-groups/{id}/delete`: the confirmation first.
pub async fn delete(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
    Form(confirmed): Form<super::confirm::Confirmed>,
) -> Response {
    if !confirmed.yes() {
        return super::confirm::delete_group(&state, &user, &id).await;
    }
    let result = copy_groups::delete(state.db(), &user.user.id, &id)
        .await
        .map_err(ApiError::from);
    done(&state, &user, result).await
}
