//! Settings › Broker Accounts: list, Connect Broker (broker → environment →
//! the broker's flow), the OAuth callback, Test Connection, pause/resume and
//! Disconnect.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use atomik_broker::{BrokerKind, Environment};
use atomik_domain::Resource;
use atomik_storage::broker_accounts::{self as accounts, AccountStatus, BrokerAccount};

use super::gateway_form::GatewayForm;
use super::wallet_form::WalletForm;
use super::{Nav, render};
use crate::AppState;
use crate::auth::AuthVia;
use crate::auth::Authed;
use crate::auth::session::WebUser;
use crate::connections::{self, ConnectError};
use crate::error::ApiError;
use crate::summary::{self, format_time};

pub struct AccountRow {
    id: String,
    broker: String,
    environment: String,
    display_name: String,
    broker_account_id: String,
    status: &'static str,
    status_class: &'static str,
    status_reason: Option<String>,
    connected: bool,
    active: bool,
    paused: bool,
    inactive_label: &'static str,
    balance: String,
    last_error: Option<String>,
    last_error_at: String,
    /// The live broker connection (IB's Gateway socket), where there is one.
    link: Option<String>,
    renewal: String,
    positions: String,
    /// The account's own kill switch is engaged.
    halted: bool,
}

fn row(a: &BrokerAccount, positions: &[(String, String)]) -> AccountRow {
    let broker = BrokerKind::parse(&a.broker)
        .map(|k| k.label())
        .unwrap_or("?")
        .to_string();
    let renewal = match (a.next_refresh_at, &a.last_refresh_result) {
        (Some(next), Some(last)) => format!("next {} · last: {last}", format_time(next)),
        (Some(next), None) => format!("next {}", format_time(next)),
        (None, Some(last)) => format!("last: {last}"),
        (None, None) => "—".into(),
    };
    AccountRow {
        id: a.id.clone(),
        broker,
        environment: capitalize(&a.environment),
        display_name: a.display_name.clone(),
        broker_account_id: a.broker_account_id.clone(),
        status: match a.status {
            AccountStatus::Connected => "Connected",
            AccountStatus::Disconnected => "Disconnected",
            AccountStatus::Error => "Error",
        },
        status_class: match a.status {
            AccountStatus::Connected => "ok",
            _ => "bad",
        },
        status_reason: a.status_reason.clone(),
        connected: a.status != AccountStatus::Disconnected,
        active: a.is_active(),
        paused: a.paused,
        inactive_label: if a.paused { "Paused" } else { "Inactive" },
        balance: a.balance.clone().unwrap_or_else(|| "—".into()),
        last_error: a.last_error.clone(),
        last_error_at: a.last_error_at.map(format_time).unwrap_or_default(),
        link: None,
        renewal,
        positions: if positions.is_empty() {
            "flat".into()
        } else {
            positions
                .iter()
                .map(|(sym, q)| format!("{sym} {q}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        halted: false,
    }
}

fn connected_notice(a: &BrokerAccount) -> String {
    format!(
        "Connected {} (account {}){}.",
        a.display_name,
        a.broker_account_id,
        a.balance
            .as_deref()
            .map(|b| format!(", balance {b}"))
            .unwrap_or_default()
    )
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "broker_accounts.html")]
struct ListPage {
    nav: Option<Nav>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    used: u32,
    allowed: String,
    accounts: Vec<AccountRow>,
}

async fn list_page(
    state: &AppState,
    user: &Authed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let loaded = async {
        let list = accounts::list(state.db(), &user.user.id).await?;
        let halts = atomik_storage::execution::halts(state.db(), &user.user.id).await?;
        let mut rows = Vec::with_capacity(list.len());
        for a in &list {
            let mut shown = row(
                a,
                &atomik_storage::execution::positions_of(state.db(), &a.id).await?,
            );
            shown.link = connections::connection_state(state, a).await;
            shown.halted = halts.accounts.contains(&a.id);
            rows.push(shown);
        }
        let summary = summary::load(state, &user.user).await?;
        Ok::<_, atomik_storage::StorageError>((rows, summary))
    }
    .await;
    let (rows, summary) = match loaded {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let used = summary.used(Resource::BrokerAccounts);
    render(
        status,
        &ListPage {
            nav: Nav::load(state, user, "broker-accounts").await,
            csrf: user.csrf_token().to_string(),
            notice,
            error,
            used,
            allowed: summary.plan.limit(Resource::BrokerAccounts).to_string(),
            accounts: rows,
        },
    )
}

pub async fn list(State(state): State<AppState>, WebUser(user): WebUser) -> Response {
    list_page(&state, &user, StatusCode::OK, None, None).await
}

pub struct BrokerChoice {
    key: &'static str,
    label: &'static str,
    markets: &'static str,
    available: bool,
    /// Connected with API credentials typed into a form (not OAuth).
    api_key: bool,
    /// Connected through a gateway socket (IB): environment first, then the form.
    gateway: bool,
    /// Connected with a wallet (Polymarket): environment first, then the form.
    wallet: bool,
    flow_note: String,
    environments: Vec<EnvChoice>,
}

pub struct EnvChoice {
    key: &'static str,
    label: String,
    note: Option<String>,
}

/// The outcome of Test Connection on credentials not saved yet.
pub struct Tested {
    ok: bool,
    headline: String,
    lines: Vec<String>,
    /// Whether the held credentials may be saved (never without trading permission).
    saveable: bool,
    pending: String,
}

#[derive(Template)]
#[template(path = "connect_broker.html")]
struct ConnectPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
    /// Said up front when the plan's account limit is reached.
    limit: Option<String>,
    brokers: Vec<BrokerChoice>,
    broker: Option<BrokerChoice>,
    tested: Option<Tested>,
    gateway_form: Option<GatewayForm>,
    wallet_form: Option<WalletForm>,
}

/// The plan's refusal of one more account, when it is full: shown before
/// the user goes through OAuth or key entry for nothing.
async fn account_limit(state: &AppState, user: &Authed) -> Option<String> {
    let summary = summary::load(state, &user.user).await.ok()?;
    let catalog = atomik_storage::plans::catalog(state.db()).await.ok()?;
    summary
        .full(Resource::BrokerAccounts, &catalog)
        .map(|l| l.to_string())
}

fn choices(state: &AppState) -> Vec<BrokerChoice> {
    BrokerKind::ALL
        .into_iter()
        .map(|kind| {
            let envs = state.brokers().environments(kind);
            let oauth = envs.iter().any(|e| state.brokers().oauth(kind, *e).is_some());
            let (markets, note) = match kind {
                BrokerKind::Tradovate => ("Futures (ES, NQ, MNQ, MES…)", "You will sign in at Tradovate and authorize atomik to trade. atomik never sees your password."),
                BrokerKind::InteractiveBrokers => ("Stocks, options, futures, forex", "atomik connects to the IB Gateway or TWS you run and log in to: IB's API has no key or secret, the Gateway's login is the credential. Instruments: AAPL, MNQ1!, ES, EURUSD, or an OCC option symbol."),
                BrokerKind::Binance => ("Crypto spot and USDⓈ-M futures", "Create an API key in Binance API Management with \"Enable Spot & Margin Trading\" (and \"Enable Futures\" for USDⓈ-M) and no withdrawals, restricted to this server's IP. HMAC (secret key) and Ed25519 (private key) keys both work. Instruments: BTCUSDT for spot, BTCUSDT.P for the perpetual."),
                BrokerKind::Polymarket => ("Prediction markets", "Trade prediction markets on Polymarket's order book with your own wallet: its private key signs every order (atomik seals it in its vault), and the CLOB API credentials are derived from it. Instruments: a market slug with an outcome, like will-it-rain-tomorrow:YES, or a token id."),
            };
            let unavailable = envs.is_empty() || (kind == BrokerKind::Tradovate && !oauth);
            BrokerChoice {
                key: kind.key(),
                label: kind.label(),
                markets,
                available: !unavailable,
                api_key: !oauth,
                gateway: kind == BrokerKind::InteractiveBrokers,
                wallet: kind == BrokerKind::Polymarket,
                flow_note: if unavailable && !envs.is_empty() { "Not configured on this server.".into() } else { note.to_string() },
                environments: envs
                    .into_iter()
                    .map(|e| EnvChoice {
                        key: e.key(),
                        label: capitalize(e.key()),
                        note: state.brokers().note(kind, e).map(String::from),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ConnectQuery {
    broker: Option<String>,
    /// A gateway broker's environment, chosen on the previous step.
    environment: Option<String>,
}

pub async fn connect_page(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Query(q): Query<ConnectQuery>,
) -> Response {
    let all = choices(&state);
    let picked = q
        .broker
        .and_then(|b| all.iter().position(|c| c.key == b && c.available));
    let mut all = all;
    let broker = picked.map(|i| all.remove(i));
    let gateway_form = broker.as_ref().filter(|b| b.gateway).and_then(|b| {
        let env = q.environment.as_deref().and_then(Environment::parse)?;
        b.environments
            .iter()
            .any(|e| e.key == env.key())
            .then(|| GatewayForm::defaults(&state, &user.user.id, env))
    });
    let wallet_form = broker.as_ref().filter(|b| b.wallet).and_then(|b| {
        let env = q.environment.as_deref().and_then(Environment::parse)?;
        b.environments
            .iter()
            .any(|e| e.key == env.key())
            .then(|| WalletForm::defaults(env))
    });
    render(
        StatusCode::OK,
        &ConnectPage {
            nav: Nav::load(&state, &user, "broker-accounts").await,
            csrf: user.csrf_token().to_string(),
            error: None,
            limit: account_limit(&state, &user).await,
            brokers: all,
            broker,
            tested: None,
            gateway_form,
            wallet_form,
        },
    )
}

#[derive(Deserialize)]
pub struct KeyForm {
    environment: Option<String>,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    intent: String,
    /// Interactive Brokers: where IB Gateway / TWS listens, and the account.
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    account_id: String,
    /// Polymarket: the wallet that signs orders, how it holds its funds, and
    /// optional CLOB API credentials (`api_key` above is the API key).
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    signature_type: String,
    #[serde(default)]
    funder: String,
    #[serde(default)]
    api_secret: String,
    #[serde(default)]
    api_passphrase: String,
    /// The token of credentials tested a moment ago (Save after Test).
    pending: Option<String>,
    insist: Option<String>,
}

/// The API-key form: Test Connection (show what the broker reports and hold
/// the credentials sealed for Save), or Save (test, then store).
pub async fn connect_keys(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(broker): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    let AuthVia::Session { id_hash, .. } = &user.via else {
        return Redirect::to("/login").into_response();
    };
    let insist = form.insist.is_some();
    let gateway_form = match (
        BrokerKind::parse(&broker),
        form.environment.as_deref().and_then(Environment::parse),
    ) {
        (Some(BrokerKind::InteractiveBrokers), Some(env)) => Some(GatewayForm::typed(
            env,
            &form.host,
            &form.port,
            &form.client_id,
            &form.account_id,
        )),
        _ => None,
    };
    let wallet_form = match (
        BrokerKind::parse(&broker),
        form.environment.as_deref().and_then(Environment::parse),
    ) {
        (Some(BrokerKind::Polymarket), Some(env)) => Some(WalletForm::typed(
            env,
            &form.signature_type,
            &form.funder,
            &form.api_key,
        )),
        _ => None,
    };
    let forms = Forms {
        gateway: gateway_form,
        wallet: wallet_form,
    };
    if let Some(token) = form.pending.as_deref().filter(|t| !t.is_empty()) {
        let saved = async {
            let (kind, env, session) =
                connections::take_tested(&state, &user.user.id, id_hash, token).await?;
            connections::connect_api_key(&state, &user.user.id, kind, env, &session, insist).await
        }
        .await;
        return saved_page(&state, &user, &broker, saved, forms).await;
    }
    let (Some(kind), Some(env)) = (
        BrokerKind::parse(&broker),
        form.environment.as_deref().and_then(Environment::parse),
    ) else {
        return keys_page(
            &state,
            &user,
            &broker,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Choose a broker and an environment.".into()),
            None,
            Forms::default(),
        )
        .await;
    };
    let polymarket = kind == BrokerKind::Polymarket;
    let input = connections::ApiKeyInput {
        wallet: polymarket.then(|| connections::WalletInput {
            private_key: form.private_key,
            signature_type: form.signature_type,
            funder: form.funder,
            api_key: form.api_key.clone(),
            api_secret: form.api_secret,
            api_passphrase: form.api_passphrase,
        }),
        api_key: form.api_key,
        secret: form.secret,
        passphrase: None,
        gateway: (kind == BrokerKind::InteractiveBrokers).then_some(connections::GatewayInput {
            host: form.host,
            port: form.port,
            client_id: form.client_id,
            account_id: form.account_id,
        }),
    };
    if form.intent != "test" {
        let saved = async {
            let session = connections::api_key_session(kind, &input)?;
            connections::connect_api_key(&state, &user.user.id, kind, env, &session, insist).await
        }
        .await;
        return saved_page(&state, &user, &broker, saved, forms).await;
    }
    let tested = match connections::test_api_key(&state, kind, env, &input).await {
        Ok((session, report)) => {
            let mut lines = vec![format!("Account: {}", report.user_name)];
            if !report.balances.is_empty() {
                lines.push(format!(
                    "Balances: {}",
                    report
                        .balances
                        .iter()
                        .map(|b| format!("{} {}", connections::format_amount(b.amount), b.currency))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            lines.extend(report.notes.iter().cloned());
            let pending = if report.can_trade {
                connections::hold_tested(&state, &user.user.id, id_hash, kind, env, &session).await
            } else {
                Ok(String::new())
            };
            match pending {
                Ok(pending) => Tested {
                    ok: report.can_trade,
                    headline: if report.can_trade {
                        if kind == BrokerKind::InteractiveBrokers {
                            "Connection OK: atomik can trade this account through the Gateway. Press Save to connect it.".into()
                        } else if polymarket {
                            "Connection OK: this wallet can trade. Press Save to connect it.".into()
                        } else {
                            "Connection OK: this key can trade. Press Save to connect it.".into()
                        }
                    } else {
                        format!(
                            "{}: atomik will not save it. {}",
                            connections::no_trading_permission(kind),
                            connections::trading_permission_help(kind)
                        )
                    },
                    lines,
                    saveable: report.can_trade,
                    pending,
                },
                Err(e) => {
                    return keys_page(
                        &state,
                        &user,
                        &broker,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(e.to_string()),
                        None,
                        forms,
                    )
                    .await;
                }
            }
        }
        Err(err) => {
            let held = match connections::api_key_session(kind, &input) {
                Ok(session) if matches!(err, ConnectError::Broker(_)) => {
                    connections::hold_tested(&state, &user.user.id, id_hash, kind, env, &session)
                        .await
                        .ok()
                }
                _ => None,
            };
            Tested {
                ok: false,
                headline: format!("Test Connection failed: {err}"),
                lines: vec!["Nothing was saved. Fix the credentials and test again, or save anyway: the account will show this error until a test succeeds.".into()],
                saveable: held.is_some(),
                pending: held.unwrap_or_default(),
            }
        }
    };
    keys_page(
        &state,
        &user,
        &broker,
        StatusCode::OK,
        None,
        Some(tested),
        forms,
    )
    .await
}

/// The broker-specific form shown again after Test Connection or an error,
/// with what was typed (never the secret fields).
#[derive(Default)]
struct Forms {
    gateway: Option<GatewayForm>,
    wallet: Option<WalletForm>,
}

async fn keys_page(
    state: &AppState,
    user: &Authed,
    broker: &str,
    status: StatusCode,
    error: Option<String>,
    tested: Option<Tested>,
    forms: Forms,
) -> Response {
    let mut all = choices(state);
    let picked = all.iter().position(|c| c.key == broker && c.available);
    let broker = picked.map(|i| all.remove(i));
    render(
        status,
        &ConnectPage {
            nav: Nav::load(state, user, "broker-accounts").await,
            csrf: user.csrf_token().to_string(),
            error,
            limit: account_limit(state, user).await,
            brokers: all,
            broker,
            tested,
            gateway_form: forms.gateway,
            wallet_form: forms.wallet,
        },
    )
}

async fn saved_page(
    state: &AppState,
    user: &Authed,
    broker: &str,
    saved: Result<
        (
            connections::Connected,
            Option<atomik_broker::ConnectionReport>,
        ),
        ConnectError,
    >,
    forms: Forms,
) -> Response {
    match saved {
        Ok((done, report)) => {
            let a = done.account;
            let notice = match report {
                Some(_) => connected_notice(&a),
                None => format!(
                    "Saved {} although Test Connection failed; it shows the error until a test succeeds.",
                    a.display_name
                ),
            };
            list_page(state, user, StatusCode::OK, Some(notice), None).await
        }
        Err(ConnectError::Storage(atomik_storage::StorageError::LimitReached(limit))) => {
            list_page(
                state,
                user,
                StatusCode::CONFLICT,
                None,
                Some(limit.to_string()),
            )
            .await
        }
        Err(e) => {
            keys_page(
                state,
                user,
                broker,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.to_string()),
                None,
                forms,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct EnvForm {
    environment: String,
}

pub async fn connect_start(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(broker): Path<String>,
    Form(form): Form<EnvForm>,
) -> Response {
    let AuthVia::Session { id_hash, .. } = &user.via else {
        return Redirect::to("/login").into_response();
    };
    let (Some(kind), Some(env)) = (
        BrokerKind::parse(&broker),
        Environment::parse(&form.environment),
    ) else {
        return list_page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Choose a broker and an environment.".into()),
        )
        .await;
    };
    match connections::start_oauth(&state, &user.user.id, id_hash, kind, env).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => {
            list_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn oauth_callback(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(_broker): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let AuthVia::Session { id_hash, .. } = &user.via else {
        return Redirect::to("/login").into_response();
    };
    let Some(oauth_state) = q.state.as_deref() else {
        return list_page(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            Some("The broker's answer had no state: start again with Connect Broker.".into()),
        )
        .await;
    };
    match connections::finish_oauth(
        &state,
        &user.user.id,
        id_hash,
        oauth_state,
        q.code.as_deref(),
        q.error.as_deref(),
    )
    .await
    {
        Ok(done) => {
            let notice = connected_notice(&done.account);
            list_page(&state, &user, StatusCode::OK, Some(notice), None).await
        }
        Err(ConnectError::Storage(atomik_storage::StorageError::LimitReached(limit))) => {
            list_page(
                &state,
                &user,
                StatusCode::CONFLICT,
                None,
                Some(limit.to_string()),
            )
            .await
        }
        Err(e) => {
            list_page(
                &state,
                &user,
                StatusCode::BAD_REQUEST,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

pub async fn pause(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    set_paused(state, user, id, true).await
}

pub async fn resume(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    set_paused(state, user, id, false).await
}

async fn set_paused(state: AppState, user: Authed, id: String, paused: bool) -> Response {
    match accounts::set_paused(state.db(), &user.user.id, &id, paused).await {
        Ok(()) => {
            let notice = if paused {
                "Account paused: it will not trade until resumed."
            } else {
                "Account resumed."
            };
            list_page(&state, &user, StatusCode::OK, Some(notice.into()), None).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn disconnect(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
    Form(confirmed): Form<super::confirm::Confirmed>,
) -> Response {
    if !confirmed.yes() {
        return super::confirm::disconnect(&state, &user, &id).await;
    }
    match connections::disconnect(&state, &user.user.id, &id).await {
        Ok(done) => {
            let turned_off = if done.deactivated_strategies.is_empty() {
                "No strategies were linked to it.".to_string()
            } else {
                format!(
                    "Strategies turned off: {}.",
                    done.deactivated_strategies.join(", ")
                )
            };
            let groups = if done.deactivated_memberships.is_empty() {
                String::new()
            } else {
                format!(
                    " No longer following in copy groups: {}.",
                    done.deactivated_memberships.join(", ")
                )
            };
            let at_broker = accounts::find(state.db(), &user.user.id, &id)
                .await
                .ok()
                .flatten()
                .and_then(|a| BrokerKind::parse(&a.broker))
                .map_or("", connections::at_broker_on_disconnect);
            let notice = format!(
                "Account disconnected; its stored credentials are destroyed. {turned_off}{groups} {at_broker}"
            );
            list_page(&state, &user, StatusCode::OK, Some(notice), None).await
        }
        Err(e) => {
            list_page(
                &state,
                &user,
                StatusCode::BAD_REQUEST,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

pub async fn test(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(id): Path<String>,
) -> Response {
    match connections::test_account(&state, &user.user.id, &id).await {
        Ok(report) => {
            let notice = format!(
                "Connection OK: signed in as {} with {} account(s); trading {}.",
                report.user_name,
                report.accounts.len(),
                if report.can_trade {
                    "allowed"
                } else {
                    "NOT allowed"
                }
            );
            list_page(&state, &user, StatusCode::OK, Some(notice), None).await
        }
        Err(e) => {
            list_page(
                &state,
                &user,
                StatusCode::BAD_GATEWAY,
                None,
                Some(format!("Test Connection failed: {e}")),
            )
            .await
        }
    }
}
