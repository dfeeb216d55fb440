//! `/api/v1/broker-accounts`: list, connect API-key brokers (test first),
//! test, pause/resume, disconnect. (OAuth brokers connect through the
//! dashboard: the broker's sign-in page needs the browser.)

use atomik_broker::{BrokerKind, ConnectionReport, Environment};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use atomik_storage::broker_accounts::{self as accounts, AccountStatus, BrokerAccount};

use crate::AppState;
use crate::auth::Authed;
use crate::connections;
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    /// `tradovate`, `ib`, `binance` or `polymarket`.
    pub broker: String,
    /// `demo`, `paper`, `testnet` or `live`.
    pub environment: String,
    pub display_name: String,
    pub broker_account_id: String,
    /// `connected`, `disconnected` or `error`.
    pub status: String,
    pub status_reason: Option<String>,
    /// Connected and not paused: only active accounts trade.
    pub active: bool,
    pub paused: bool,
    pub balance: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at_ms: Option<i64>,
    pub token_expires_at_ms: Option<i64>,
    pub next_refresh_at_ms: Option<i64>,
    pub last_refresh_at_ms: Option<i64>,
    pub last_refresh_result: Option<String>,
}

impl From<BrokerAccount> for AccountView {
    fn from(a: BrokerAccount) -> Self {
        AccountView {
            active: a.is_active(),
            status: match a.status {
                AccountStatus::Connected => "connected",
                AccountStatus::Disconnected => "disconnected",
                AccountStatus::Error => "error",
            }
            .into(),
            id: a.id,
            broker: a.broker,
            environment: a.environment,
            display_name: a.display_name,
            broker_account_id: a.broker_account_id,
            status_reason: a.status_reason,
            paused: a.paused,
            balance: a.balance,
            last_error: a.last_error,
            last_error_at_ms: a.last_error_at,
            token_expires_at_ms: a.token_expires_at,
            next_refresh_at_ms: a.next_refresh_at,
            last_refresh_at_ms: a.last_refresh_at,
            last_refresh_result: a.last_refresh_result,
        }
    }
}

/// The caller's broker accounts.
#[utoipa::path(get, path = "/api/v1/broker-accounts", tag = "broker accounts",
    responses((status = 200, body = Vec<AccountView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let list = accounts::list(state.db(), &user.user.id).await?;
    Ok(Json(list.into_iter().map(AccountView::from).collect()))
}

async fn one(state: &AppState, user: &Authed, id: &str) -> Result<Json<AccountView>, ApiError> {
    let a = accounts::find(state.db(), &user.user.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("broker account"))?;
    Ok(Json(a.into()))
}

/// Pause an account: it stops trading until resumed.
#[utoipa::path(post, path = "/api/v1/broker-accounts/{id}/pause", tag = "broker accounts",
    params(("id" = String, Path)), responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    accounts::set_paused(state.db(), &user.user.id, &id, true).await?;
    one(&state, &user, &id).await
}

/// Resume a paused account.
#[utoipa::path(post, path = "/api/v1/broker-accounts/{id}/resume", tag = "broker accounts",
    params(("id" = String, Path)), responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    accounts::set_paused(state.db(), &user.user.id, &id, false).await?;
    one(&state, &user, &id).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DisconnectView {
    pub account: AccountView,
    /// Strategies that were turned off by this disconnect.
    pub deactivated_strategies: Vec<String>,
    /// Copy groups in which the account stopped following.
    pub deactivated_memberships: Vec<String>,
}

/// Disconnect: destroys the stored credentials (revoking them at the broker
/// where possible), turns off linked strategies, frees the plan slot.
#[utoipa::path(post, path = "/api/v1/broker-accounts/{id}/disconnect", tag = "broker accounts",
    params(("id" = String, Path)), responses((status = 200, body = DisconnectView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn disconnect(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<DisconnectView>, ApiError> {
    let done = connections::disconnect(&state, &user.user.id, &id).await?;
    let Json(account) = one(&state, &user, &id).await?;
    Ok(Json(DisconnectView {
        account,
        deactivated_strategies: done.deactivated_strategies,
        deactivated_memberships: done.deactivated_memberships,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestView {
    pub user_name: String,
    pub accounts: Vec<String>,
    pub balances: Vec<String>,
    pub can_trade: bool,
    pub notes: Vec<String>,
}

/// Test Connection: asks the broker who we are, which accounts and balances.
#[utoipa::path(post, path = "/api/v1/broker-accounts/{id}/test", tag = "broker accounts",
    params(("id" = String, Path)),
    responses((status = 200, body = TestView), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<Json<TestView>, ApiError> {
    let report = connections::test_account(&state, &user.user.id, &id).await?;
    Ok(Json(TestView::from(report)))
}

impl From<ConnectionReport> for TestView {
    fn from(report: ConnectionReport) -> Self {
        TestView {
            user_name: report.user_name,
            accounts: report
                .accounts
                .iter()
                .map(|a| format!("{} ({})", a.name, a.id))
                .collect(),
            balances: report
                .balances
                .iter()
                .map(|b| format!("{} {}", b.currency, b.amount))
                .collect(),
            can_trade: report.can_trade,
            notes: report.notes,
        }
    }
}

/// Credentials: an API key (Binance); for Interactive Brokers the
/// IB Gateway / TWS socket (`host`, `port`, `client_id`, `account_id`; no key);
/// for Polymarket the wallet (`private_key`, `signature_type`, `funder`) and,
/// optionally, its CLOB API credentials (`api_key`, `secret`, `passphrase`:
/// all three or none; without them atomik derives them from the wallet).
/// Secrets are never returned.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApiKeyRequest {
    /// `binance`, `ib` or `polymarket`.
    pub broker: String,
    /// `testnet` or `live` (Binance); `paper` or `live` (IB); `demo` or `live` (Polymarket).
    pub environment: String,
    /// The API key (Binance); Polymarket: the optional CLOB API key.
    #[serde(default)]
    pub api_key: String,
    /// The HMAC secret key, or an Ed25519 private key in PEM (Binance);
    /// Polymarket: the optional CLOB API secret.
    #[serde(default)]
    pub secret: String,
    /// Polymarket: the optional CLOB API passphrase.
    pub passphrase: Option<String>,
    /// Polymarket: the wallet's private key (64 hex digits, optionally `0x`),
    /// which signs every order.
    pub private_key: Option<String>,
    /// Polymarket: 0 EOA (the default), 1 Polymarket proxy wallet, 2 Gnosis
    /// safe, 3 deposit wallet.
    #[schema(minimum = 0, maximum = 3)]
    pub signature_type: Option<u8>,
    /// Polymarket: the address that holds the funds (`0x` + 40 hex digits,
    /// as Polymarket shows on your profile); may be empty for EOA.
    pub funder: Option<String>,
    /// IB: where IB Gateway / TWS listens (default 127.0.0.1).
    pub host: Option<String>,
    /// IB: 4002 / 4001 (IB Gateway paper / live), 7497 / 7496 (TWS).
    pub port: Option<u16>,
    /// IB: the API client id, unique among the programs on that Gateway.
    pub client_id: Option<i32>,
    /// IB: the account to trade (`DU…` paper, `U…` live).
    pub account_id: Option<String>,
    /// Save even when Test Connection fails (never without trading permission).
    #[serde(default)]
    pub save_even_if_test_fails: bool,
}

impl ApiKeyRequest {
    fn parts(self) -> Result<(BrokerKind, Environment, connections::ApiKeyInput), ApiError> {
        let kind = BrokerKind::parse(&self.broker).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "unknown broker {:?}: use tradovate, ib, binance or polymarket",
                self.broker
            ))
        })?;
        let env = Environment::parse(&self.environment).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "unknown environment {:?}: use demo, paper, testnet or live",
                self.environment
            ))
        })?;
        Ok((
            kind,
            env,
            connections::ApiKeyInput {
                wallet: (kind == BrokerKind::Polymarket).then(|| connections::WalletInput {
                    private_key: self.private_key.unwrap_or_default(),
                    signature_type: self.signature_type.unwrap_or(0).to_string(),
                    funder: self.funder.unwrap_or_default(),
                    api_key: self.api_key.clone(),
                    api_secret: self.secret.clone(),
                    api_passphrase: self.passphrase.clone().unwrap_or_default(),
                }),
                api_key: self.api_key,
                secret: self.secret,
                passphrase: self.passphrase,
                gateway: (kind == BrokerKind::InteractiveBrokers).then(|| {
                    connections::GatewayInput {
                        host: self.host.unwrap_or_else(|| "127.0.0.1".into()),
                        port: self.port.map(|p| p.to_string()).unwrap_or_default(),
                        client_id: self.client_id.map(|c| c.to_string()).unwrap_or_default(),
                        account_id: self.account_id.unwrap_or_default(),
                    }
                }),
            },
        ))
    }
}

/// Test API-key (or Gateway, or wallet) credentials without saving them.
#[utoipa::path(post, path = "/api/v1/broker-accounts/test-credentials", tag = "broker accounts",
    request_body = ApiKeyRequest,
    responses((status = 200, body = TestView), (status = 400, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test_credentials(
    State(state): State<AppState>,
    _user: Authed,
    Json(body): Json<ApiKeyRequest>,
) -> Result<Json<TestView>, ApiError> {
    let (kind, env, input) = body.parts()?;
    let (_, report) = connections::test_api_key(&state, kind, env, &input).await?;
    Ok(Json(report.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectedView {
    pub account: AccountView,
    /// What Test Connection found (absent when saved despite a failed test).
    pub test: Option<TestView>,
}

/// Connect an API-key broker account: tested first; a key without trading
/// permission is refused; a failed test refuses unless `save_even_if_test_fails`.
#[utoipa::path(post, path = "/api/v1/broker-accounts", tag = "broker accounts",
    request_body = ApiKeyRequest,
    responses((status = 201, body = ConnectedView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    user: Authed,
    Json(body): Json<ApiKeyRequest>,
) -> Result<(StatusCode, Json<ConnectedView>), ApiError> {
    let insist = body.save_even_if_test_fails;
    let (kind, env, input) = body.parts()?;
    let session = connections::api_key_session(kind, &input)?;
    let (done, report) =
        connections::connect_api_key(&state, &user.user.id, kind, env, &session, insist).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectedView {
            account: done.account.into(),
            test: report.map(TestView::from),
        }),
    ))
}
