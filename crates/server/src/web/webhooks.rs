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
            nav: Nav::new(user, "webhooks"),
            csrf: user.csrf_token().to_string(),
            notice: outcome.notice,
            error: outcome.error,
            reveal: outcome.reveal.map(|r| Reveal {
                url: format!("{base}{}", r.url),
                ..r
            }),
            used: summary
                .usage
                .iter()
                .find(|(r, _)| *r == Resource::ActiveWebhooks)
                .map(|(_, n)| *n)
                .unwrap_or(0),
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
) -> Response {
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

pub struct LogRow {
    time: String,
    ip: String,
    status: i64,
    reason: String,
    duplicate: bool,
    payload: String,
    signal: String,
    processing: String,
    /// Per account: what happened to the signal's order.
    outcomes: Vec<String>,
}

#[derive(Template)]
#[template(path = "webhook_logs.html")]
struct LogsPage {
    nav: Option<Nav>,
    name: String,
    rows: Vec<LogRow>,
}

/// The webhook's Logs tab: every delivery, accepted, duplicate or refused.
pub async fn logs(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    let hook = match webhooks::find(state.db(), &user.user.id, &id).await {
        Ok(Some(h)) => h,
        Ok(None) => return ApiError::not_found("webhook").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = match atomik_storage::signals::deliveries(state.db(), &hook.id, 200).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let names: std::collections::HashMap<String, String> =
        atomik_storage::broker_accounts::list(state.db(), &user.user.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.id, a.display_name))
            .collect();
    let mut outcomes = Vec::with_capacity(rows.len());
    for r in &rows {
        let list = match (&r.signal_id, r.duplicate) {
            (Some(id), false) => atomik_storage::execution::intents_of_signal(state.db(), id)
                .await
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        outcomes.push(
            list.into_iter()
                .map(|i| {
                    let order = match (&i.side, &i.quantity, &i.instrument) {
                        (Some(side), Some(q), Some(sym)) => {
                            format!(" {} {q} {sym}", side.as_str())
                        }
                        _ => String::new(),
                    };
                    let fill = match (&i.fill_quantity, &i.fill_price) {
                        (Some(q), Some(p)) => format!(" · filled {q} @ {p}"),
                        _ => String::new(),
                    };
                    format!(
                        "{}: {}{order}{}{fill}{}{}{} · client order id {}",
                        names
                            .get(&i.account_id)
                            .cloned()
                            .unwrap_or_else(|| i.account_id.clone()),
                        i.status,
                        i.broker_order_id
                            .map(|b| format!(" · broker order {b}"))
                            .unwrap_or_default(),
                        i.reason.map(|r| format!(" · {r}")).unwrap_or_default(),
                        i.latency_us
                            .map(|l| format!(" · {:.1} ms", l as f64 / 1000.0))
                            .unwrap_or_default(),
                        i.delay_ms
                            .map(|d| format!(" · sent {d} ms after the signal"))
                            .unwrap_or_default(),
                        i.client_order_id
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    render(
        StatusCode::OK,
        &LogsPage {
            nav: Nav::new(&user, "webhooks"),
            name: hook.name,
            rows: rows
                .into_iter()
                .zip(outcomes)
                .map(|(r, outcomes)| LogRow {
                    outcomes,
                    time: summary::format_rfc3339(r.received_at),
                    ip: r.source_ip.unwrap_or_default(),
                    status: r.status,
                    reason: r.reason,
                    duplicate: r.duplicate,
                    payload: r.payload,
                    signal: r.signal_id.unwrap_or_default(),
                    processing: format!("{:.2} ms", r.processing_us as f64 / 1000.0),
                })
                .collect(),
        },
    )
}
