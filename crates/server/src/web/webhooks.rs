//! The Webhooks page: create (URL and secret shown once), rotate, pause,
//! resume, delete, allow-list.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use atomik_domain::Resource;
use atomik_storage::webhooks;

use super::{Nav, render};
use crate::AppState;
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::error::ApiError;
use crate::{hooks, summary};

pub struct HookRow {
    id: String,
    name: String,
    description: String,
    url: String,
    active: bool,
    allowed_ips: String,
}

pub struct Reveal {
    title: &'static str,
    url: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct Page {
    nav: Option<Nav>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    reveal: Option<Reveal>,
    used: u32,
    allowed: String,
    hooks: Vec<HookRow>,
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

struct Outcome {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    reveal: Option<Reveal>,
}

impl Outcome {
    fn ok() -> Self {
        Outcome {
            status: StatusCode::OK,
            notice: None,
            error: None,
            reveal: None,
        }
    }

    fn notice(text: &str) -> Self {
        Outcome {
            notice: Some(text.into()),
            ..Self::ok()
        }
    }

    fn failed(e: ApiError) -> Self {
        Outcome {
            status: e.status,
            error: Some(e.message),
            ..Self::ok()
        }
    }
}

async fn page(state: &AppState, user: &Authed, headers: &HeaderMap, outcome: Outcome) -> Response {
    let loaded = async {
        Ok::<_, atomik_storage::StorageError>((
            webhooks::list(state.db(), &user.user.id).await?,
            summary::load(state, &user.user).await?,
        ))
    }
    .await;
    let (list, summary) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let base = base_url(headers);
    render(
        outcome.status,
        &Page {
            nav: Nav::load(state, user, "webhooks").await,
            csrf: user.csrf_token().to_string(),
            notice: outcome.notice,
            error: outcome.error,
            reveal: outcome.reveal.map(|r| Reveal {
                url: format!("{base}{}", r.url),
                ..r
            }),
            used: summary.used(Resource::ActiveWebhooks),
            allowed: summary.plan.limit(Resource::ActiveWebhooks).to_string(),
            hooks: list
                .into_iter()
                .map(|w| HookRow {
                    url: format!("{base}{}", hooks::path(&w)),
                    id: w.id,
                    name: w.name,
                    description: w.description,
                    active: w.active,
                    allowed_ips: w.allowed_ips,
                })
                .collect(),
        },
    )
}

pub async fn list(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
) -> Response {
    page(&state, &user, &headers, Outcome::ok()).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Response {
    let outcome = match hooks::create(&state, &user.user.id, &f.name, &f.description).await {
        Ok((hook, secret)) => Outcome {
            reveal: Some(Reveal {
                title: "Webhook created",
                url: hooks::path(&hook),
                secret,
            }),
            ..Outcome::ok()
        },
        Err(e) => Outcome::failed(e),
    };
    page(&state, &user, &headers, outcome).await
}

pub async fn rotate(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let outcome = match (
        hooks::rotate(&state, &user.user.id, &id, None).await,
        webhooks::find(state.db(), &user.user.id, &id).await,
    ) {
        (Ok((secret, _)), Ok(Some(hook))) => Outcome {
            notice: Some(format!(
                "Secret rotated: the previous one keeps working for {} hours.",
                hooks::DEFAULT_OVERLAP_HOURS
            )),
            reveal: Some(Reveal {
                title: "New secret",
                url: hooks::path(&hook),
                secret,
            }),
            ..Outcome::ok()
        },
        (Err(e), _) => Outcome::failed(e),
        (_, Err(e)) => Outcome::failed(e.into()),
        (_, Ok(None)) => Outcome::failed(ApiError::not_found("webhook")),
    };
    page(&state, &user, &headers, outcome).await
}

pub async fn pause(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let outcome = match webhooks::set_active(state.db(), &user.user.id, &id, false).await {
        Ok(_) => Outcome::notice("Webhook paused: its signals are refused until you resume it."),
        Err(e) => Outcome::failed(e.into()),
    };
    page(&state, &user, &headers, outcome).await
}

pub async fn resume(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let outcome = match webhooks::set_active(state.db(), &user.user.id, &id, true).await {
        Ok(_) => Outcome::notice("Webhook resumed."),
        Err(e) => Outcome::failed(e.into()),
    };
    page(&state, &user, &headers, outcome).await
}

pub async fn delete(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(confirmed): Form<super::confirm::Confirmed>,
) -> Response {
    if !confirmed.yes() {
        return super::confirm::delete_webhook(&state, &user, &id).await;
    }
    let outcome = match webhooks::delete(state.db(), &user.user.id, &id).await {
        Ok(()) => Outcome::notice("Webhook deleted: its URL now answers 404."),
        Err(e) => Outcome::failed(e.into()),
    };
    page(&state, &user, &headers, outcome).await
}

#[derive(Deserialize)]
pub struct AllowForm {
    allowed_ips: String,
}

pub async fn allowed_ips(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<AllowForm>,
) -> Response {
    let result = match hooks::parse_allow_list(&f.allowed_ips) {
        Ok(list) => webhooks::set_allowed_ips(state.db(), &user.user.id, &id, &list)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(w) if w.allowed_ips.is_empty() => {
            Outcome::notice("Allow-list cleared: any source may send.")
        }
        Ok(_) => Outcome::notice("Allow-list saved."),
        Err(e) => Outcome::failed(e),
    };
    page(&state, &user, &headers, outcome).await
}
