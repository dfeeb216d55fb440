//! Broker connections as the dashboard and the API use them: connect through
//! OAuth, test, pause/resume, disconnect. Adapter-agnostic: everything goes
//! through the engine's broker registry and the broker trait.

use atomik_broker::{
    ApiCredentials, BrokerError, BrokerKind, ConnectionReport, Environment, Session,
};
use atomik_engine::credentials;
use atomik_secrets::Secret;
use atomik_secrets::vault::Aad;
use atomik_storage::broker_accounts::{self as accounts, BrokerAccount, Disconnected, NewAccount};
use atomik_storage::{StorageError, oauth_flows};

use crate::AppState;
use crate::auth::tokens::{digest, random_token};
use crate::error::ApiError;

/// How long a started authorization (or a tested, unsaved key) stays valid.
const OAUTH_FLOW_TTL_MS: i64 = 10 * 60 * 1000;
const FLOW_TABLE: &str = "oauth_flows";
// Credentials tested but not yet saved wait sealed in `oauth_flows`, bound
// to the dashboard session and, as associated data, to the hash of the Save
// token (no account row has such an id) and the user; Save takes them once.

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Broker(#[from] BrokerError),
}

impl From<ConnectError> for ApiError {
    fn from(err: ConnectError) -> Self {
        match err {
            ConnectError::Refused(msg) => ApiError::bad_request(msg),
            ConnectError::Storage(e) => e.into(),
            ConnectError::Broker(e) => broker_error(e),
        }
    }
}

/// A broker's failure as the API reports it (the broker's words kept).
pub fn broker_error(err: BrokerError) -> ApiError {
    use axum::http::StatusCode;
    match &err {
        BrokerError::RateLimited { retry_after, .. } => {
            let secs = retry_after.as_secs().max(1);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "broker_rate_limited",
                err.to_string(),
            );
            e.retry_after_secs = Some(secs);
            e
        }
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "broker_error", err.to_string()),
    }
}

/// Start an OAuth authorization for `kind`/`env`, bound to the dashboard
/// session `session_hash`. Returns the broker's authorization URL.
pub async fn start_oauth(
    state: &AppState,
    user_id: &str,
    session_hash: &str,
    kind: BrokerKind,
    env: Environment,
) -> Result<String, ConnectError> {
    let connector = state.brokers().oauth(kind, env).ok_or_else(|| {
        ConnectError::Refused(format!(
            "{} {} is not configured on this server.",
            kind.label(),
            env
        ))
    })?;
    let oauth_state = random_token("");
    let state_hash = digest(&oauth_state);
    let start = connector.start(&oauth_state);
    let sealed = state
        .vault()
        .seal(
            start.code_verifier.expose().as_bytes(),
            &Aad::new(FLOW_TABLE, &state_hash, user_id),
        )
        .map_err(|e| ConnectError::Refused(format!("cannot seal the authorization: {e}")))?;
    oauth_flows::create(
        state.db(),
        oauth_flows::NewFlow {
            state_hash: &state_hash,
            session_hash,
            user_id,
            broker: kind.key(),
            environment: env.key(),
            kek_id: &sealed.kek_id,
            sealed_verifier: &sealed.to_bytes(),
            expires_at: state.now_ms() + OAUTH_FLOW_TTL_MS,
        },
    )
    .await?;
    Ok(start.authorize_url)
}

/// What a finished connection shows the user.
pub struct Connected {
    pub account: BrokerAccount,
}

/// The OAuth callback: consume the flow (once, only from the session that
/// started it), exchange the code with the PKCE verifier, look the account
/// up, and store it — under the plan's account limit.
pub async fn finish_oauth(
    state: &AppState,
    user_id: &str,
    session_hash: &str,
    oauth_state: &str,
    code: Option<&str>,
    broker_error_param: Option<&str>,
) -> Result<Connected, ConnectError> {
    let state_hash = digest(oauth_state);
    let flow = oauth_flows::take(state.db(), &state_hash, session_hash, state.now_ms())
        .await?
        .filter(|f| f.user_id == user_id)
        .ok_or_else(|| {
            ConnectError::Refused(
                "This authorization is invalid, expired or already used. Start again with Connect Broker.".into(),
            )
        })?;
    let kind = BrokerKind::parse(&flow.broker)
        .ok_or_else(|| ConnectError::Refused("unknown broker".into()))?;
    let env = Environment::parse(&flow.environment)
        .ok_or_else(|| ConnectError::Refused("unknown environment".into()))?;
    if let Some(err) = broker_error_param {
        return Err(ConnectError::Refused(format!(
            "{} did not authorize the connection ({err}). Nothing was saved.",
            kind.label()
        )));
    }
    let code = code.filter(|c| !c.is_empty()).ok_or_else(|| {
        ConnectError::Refused(format!(
            "{} sent no authorization code. Nothing was saved.",
            kind.label()
        ))
    })?;
    let sealed = atomik_secrets::vault::Sealed::from_bytes(&flow.sealed_verifier)
        .map_err(|e| ConnectError::Refused(format!("stored authorization unreadable: {e}")))?;
    let verifier = state
        .vault()
        .open(&sealed, &Aad::new(FLOW_TABLE, &state_hash, user_id))
        .map_err(|e| ConnectError::Refused(format!("stored authorization unreadable: {e}")))?;
    let verifier = String::from_utf8_lossy(verifier.expose()).to_string();
    let connector = state.brokers().oauth(kind, env).ok_or_else(|| {
        ConnectError::Refused(format!("{} {} is not configured.", kind.label(), env))
    })?;
    let broker = state.brokers().get(kind, env).ok_or_else(|| {
        ConnectError::Refused(format!("{} {} is not configured.", kind.label(), env))
    })?;
    let session = connector.exchange_code(code, &verifier).await?;
    let report = broker.test_connection(&session).await?;
    store_connection(state, user_id, kind, env, &session, &report).await
}

/// Credentials typed into the dashboard or sent to the API: API keys, for
/// Interactive Brokers the Gateway socket (`gateway`), for Polymarket the
/// wallet (`wallet`).
pub struct ApiKeyInput {
    pub api_key: String,
    pub secret: String,
    pub passphrase: Option<String>,
    pub gateway: Option<GatewayInput>,
    pub wallet: Option<WalletInput>,
}

/// Polymarket signature types: `(number, name, one line of help)`, as the
/// adapter (`atomik_polymarket::funder::SIGNATURE_TYPE_HELP`) words them.
pub const SIGNATURE_TYPE_HELP: [(u8, &str, &str); 4] = [
    (
        0,
        "EOA",
        "a wallet you hold the key of trades its own funds (funder = the signer)",
    ),
    (
        1,
        "Polymarket proxy wallet",
        "you log in to Polymarket with email or Magic: the funder is the wallet address on your profile",
    ),
    (
        2,
        "Gnosis safe",
        "you log in to Polymarket with a browser wallet (MetaMask…): the funder is the safe on your profile",
    ),
    (
        3,
        "Deposit wallet",
        "an EIP-1271 deposit wallet: the funder is the deposit wallet, which also signs",
    ),
];

/// Polymarket has no API key of its own to connect with: the wallet's
/// private key signs every order; the CLOB API credentials are derived from
/// it unless given. Strings as typed.
#[derive(Clone, Default)]
pub struct WalletInput {
    pub private_key: String,
    pub signature_type: String,
    pub funder: String,
    pub api_key: String,
    pub api_secret: String,
    pub api_passphrase: String,
}

impl std::fmt::Debug for WalletInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletInput")
            .field("private_key", &"[redacted]")
            .field("signature_type", &self.signature_type)
            .field("funder", &self.funder)
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field("api_passphrase", &"[redacted]")
            .finish()
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
}

impl WalletInput {
    /// Checked when saved: each error says what is wrong and what to do, and
    /// never repeats the private key or the API secret/passphrase.
    pub fn session(&self) -> Result<Session, ConnectError> {
        let refuse = |m: &str| Err(ConnectError::Refused(m.to_string()));
        let key = self.private_key.trim();
        if key.is_empty() {
            return refuse(
                "Fill in the wallet's private key: it signs every order atomik places (export it from your wallet, or from Polymarket's profile settings for an email login).",
            );
        }
        let hex = key
            .strip_prefix("0x")
            .or_else(|| key.strip_prefix("0X"))
            .unwrap_or(key);
        if !is_hex(hex, 64) {
            return refuse(
                "The private key must be 64 hexadecimal digits (0-9, a-f), optionally starting with 0x: not a wallet address or a seed phrase.",
            );
        }
        let signature_type = match self.signature_type.trim().parse::<u8>() {
            Ok(t) if t <= 3 => t,
            _ => {
                return refuse(
                    "Signature type must be 0 (EOA), 1 (Polymarket proxy wallet), 2 (Gnosis safe) or 3 (deposit wallet).",
                );
            }
        };
        let funder = self.funder.trim();
        if funder.is_empty() && signature_type != 0 {
            return refuse(
                "Fill in the funder address: for this signature type it is the address Polymarket shows as your profile's wallet (only EOA may leave it empty).",
            );
        }
        if !funder.is_empty()
            && !(funder.len() == 42
                && (funder.starts_with("0x") || funder.starts_with("0X"))
                && is_hex(&funder[2..], 40))
        {
            return refuse(
                "The funder address must be 0x followed by 40 hexadecimal digits, like the address Polymarket shows as your profile's wallet.",
            );
        }
        let (api_key, api_secret, api_passphrase) = (
            self.api_key.trim(),
            self.api_secret.trim(),
            self.api_passphrase.trim(),
        );
        let given = [api_key, api_secret, api_passphrase]
            .iter()
            .filter(|v| !v.is_empty())
            .count();
        let api = match given {
            0 => None,
            3 => Some(ApiCredentials {
                key: Secret::new(api_key.to_string()),
                secret: Secret::new(api_secret.to_string()),
                passphrase: Secret::new(api_passphrase.to_string()),
            }),
            _ => {
                return refuse(
                    "Give all three API credentials (key, secret and passphrase), or none: atomik then derives them from the wallet.",
                );
            }
        };
        Ok(Session::Wallet {
            private_key: Secret::new(format!("0x{}", hex.to_ascii_lowercase())),
            signature_type,
            funder: funder.to_string(),
            api,
        })
    }
}

/// IB's TWS API needs no key: the Gateway's own login is the credential;
/// atomik needs where it listens, a client id, and the account to trade.
#[derive(Debug, Clone, Default)]
pub struct GatewayInput {
    pub host: String,
    pub port: String,
    pub client_id: String,
    pub account_id: String,
}

impl GatewayInput {
    /// Checked when saved: each field says what is wrong with it.
    pub fn session(&self) -> Result<Session, ConnectError> {
        let refuse = |m: &str| Err(ConnectError::Refused(m.to_string()));
        let host = self.host.trim();
        if host.is_empty()
            || host.len() > 253
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return refuse(
                "Gateway host must be a host name or IP address, such as 127.0.0.1 (where IB Gateway or TWS runs).",
            );
        }
        let Some(port) = self.port.trim().parse::<u16>().ok().filter(|p| *p > 0) else {
            return refuse(
                "Port must be a number from 1 to 65535: IB Gateway listens on 4002 (paper) or 4001 (live), TWS on 7497 (paper) or 7496 (live).",
            );
        };
        let Some(client_id) = self
            .client_id
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|c| *c >= 0)
        else {
            return refuse(
                "Client id must be a whole number from 0 to 2147483647, unique among the programs connected to this Gateway.",
            );
        };
        let account = self.account_id.trim().to_ascii_uppercase();
        let letters = account
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .count();
        let digits = &account[letters..];
        if !(1..=3).contains(&letters)
            || digits.len() < 3
            || !digits.chars().all(|c| c.is_ascii_digit())
        {
            return refuse(
                "Account ID must be the IB account to trade, such as DU1234567 (paper) or U1234567 (live).",
            );
        }
        Ok(Session::Socket {
            host: host.to_string(),
            port,
            client_id,
            account,
        })
    }
}

/// The session credentials as typed, checked for presence.
pub fn api_key_session(kind: BrokerKind, input: &ApiKeyInput) -> Result<Session, ConnectError> {
    input.session(kind)
}

impl ApiKeyInput {
    fn session(&self, kind: BrokerKind) -> Result<Session, ConnectError> {
        if kind == BrokerKind::InteractiveBrokers {
            return self
                .gateway
                .as_ref()
                .ok_or_else(|| {
                    ConnectError::Refused(
                        "Interactive Brokers needs the Gateway host, port, client id and Account ID (no API key).".into(),
                    )
                })?
                .session();
        }
        if kind == BrokerKind::Polymarket {
            return self
                .wallet
                .as_ref()
                .ok_or_else(|| {
                    ConnectError::Refused(
                        "Polymarket needs the wallet's private key, the signature type and (except for EOA) the funder address.".into(),
                    )
                })?
                .session();
        }
        let api_key = self.api_key.trim();
        if api_key.is_empty() || self.secret.trim().is_empty() {
            return Err(ConnectError::Refused(format!(
                "Fill in the {} API key and its secret (or private key).",
                kind.label()
            )));
        }
        Ok(Session::ApiKey {
            key: Secret::new(api_key.to_string()),
            secret: Secret::new(self.secret.trim().to_string()),
            passphrase: self
                .passphrase
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Secret::new(p.to_string())),
        })
    }
}

/// Why credentials that tested fine cannot be used for trading.
pub fn no_trading_permission(kind: BrokerKind) -> &'static str {
    match kind {
        BrokerKind::InteractiveBrokers => {
            "The Gateway's API is read-only (IB 321), so atomik cannot place orders through it"
        }
        BrokerKind::Polymarket => {
            "Polymarket has this account in closed-only mode: it may only close positions, so atomik cannot place orders with it"
        }
        _ => "This API key has no trading permission, so atomik cannot place orders with it",
    }
}

/// What the user must do at the broker to give a key trading permission.
pub fn trading_permission_help(kind: BrokerKind) -> &'static str {
    match kind {
        BrokerKind::Binance => {
            "In Binance API Management, press Edit restrictions on this key, tick \"Enable Spot & Margin Trading\" \
             (and \"Enable Futures\" for USDⓈ-M futures), save, then test again."
        }
        BrokerKind::InteractiveBrokers => {
            "In TWS / IB Gateway, API › Settings: untick \"Read-Only API\", then test again."
        }
        BrokerKind::Polymarket => {
            "Closed-only mode is Polymarket's decision (often the account's region): check the account on polymarket.com, then test again."
        }
        _ => "Give the key trading permission at the broker, then test again.",
    }
}

fn api_key_broker(
    state: &AppState,
    kind: BrokerKind,
    env: Environment,
) -> Result<std::sync::Arc<dyn atomik_broker::Broker>, ConnectError> {
    if state.brokers().oauth(kind, env).is_some() {
        return Err(ConnectError::Refused(format!(
            "{} connects through its own sign-in page, not with API keys.",
            kind.label()
        )));
    }
    state.brokers().get(kind, env).ok_or_else(|| {
        ConnectError::Refused(format!(
            "{} {} is not configured on this server.",
            kind.label(),
            env
        ))
    })
}

/// Test Connection for credentials not saved yet: what the broker reports.
pub async fn test_api_key(
    state: &AppState,
    kind: BrokerKind,
    env: Environment,
    input: &ApiKeyInput,
) -> Result<(Session, ConnectionReport), ConnectError> {
    let broker = api_key_broker(state, kind, env)?;
    let session = input.session(kind)?;
    let report = broker.test_connection(&session).await?;
    Ok((session, report))
}

/// Keep tested credentials sealed for a Save from the same dashboard
/// session; returns the token the Save form carries.
pub async fn hold_tested(
    state: &AppState,
    user_id: &str,
    session_hash: &str,
    kind: BrokerKind,
    env: Environment,
    session: &Session,
) -> Result<String, ConnectError> {
    let token = random_token("");
    let token_hash = digest(&token);
    let sealed = credentials::seal(state.vault(), &token_hash, user_id, session)
        .map_err(|e| ConnectError::Refused(format!("cannot seal the credentials: {e}")))?;
    oauth_flows::create(
        state.db(),
        oauth_flows::NewFlow {
            state_hash: &token_hash,
            session_hash,
            user_id,
            broker: kind.key(),
            environment: env.key(),
            kek_id: &sealed.kek_id,
            sealed_verifier: &sealed.sealed,
            expires_at: state.now_ms() + OAUTH_FLOW_TTL_MS,
        },
    )
    .await?;
    Ok(token)
}

/// Take credentials held by [`hold_tested`] (once).
pub async fn take_tested(
    state: &AppState,
    user_id: &str,
    session_hash: &str,
    token: &str,
) -> Result<(BrokerKind, Environment, Session), ConnectError> {
    let token_hash = digest(token);
    let expired = || {
        ConnectError::Refused(
            "The tested credentials expired or were already saved: fill in the form again.".into(),
        )
    };
    let flow = oauth_flows::take(state.db(), &token_hash, session_hash, state.now_ms())
        .await?
        .filter(|f| f.user_id == user_id)
        .ok_or_else(expired)?;
    let kind = BrokerKind::parse(&flow.broker).ok_or_else(expired)?;
    let env = Environment::parse(&flow.environment).ok_or_else(expired)?;
    let session = credentials::open(
        state.vault(),
        &token_hash,
        user_id,
        &atomik_storage::broker_accounts::SealedCredential {
            kek_id: flow.kek_id,
            sealed: flow.sealed_verifier,
        },
    )
    .map_err(|e| ConnectError::Refused(format!("stored credentials unreadable: {e}")))?;
    Ok((kind, env, session))
}

/// Save API-key credentials: tested first (again, if they were tested
/// before — a key can lose its permissions in between). A key without
/// trading permission is never saved. Credentials whose test fails are saved
/// only if the user insists, and the account then shows the failure.
pub async fn connect_api_key(
    state: &AppState,
    user_id: &str,
    kind: BrokerKind,
    env: Environment,
    session: &Session,
    insist: bool,
) -> Result<(Connected, Option<ConnectionReport>), ConnectError> {
    let broker = api_key_broker(state, kind, env)?;
    match broker.test_connection(session).await {
        Ok(report) if !report.can_trade => Err(ConnectError::Refused(format!(
            "{}; nothing was saved. {}",
            no_trading_permission(kind),
            trading_permission_help(kind)
        ))),
        Ok(report) => {
            let connected = store_connection(state, user_id, kind, env, session, &report).await?;
            Ok((connected, Some(report)))
        }
        Err(err) if insist => {
            let unverified = match session {
                Session::ApiKey { key, .. } => {
                    format!("unverified-{}", &digest(key.expose())[..12])
                }
                // The account id is what was typed; the test said why it failed.
                Session::Socket { account, .. } => account.clone(),
                // The funder as typed (an address; nothing secret).
                Session::Wallet { funder, .. } if !funder.trim().is_empty() => {
                    funder.trim().to_string()
                }
                Session::Wallet { .. } => "unverified-wallet".to_string(),
                Session::OAuth { .. } => return Err(err.into()),
            };
            let report = ConnectionReport {
                user_id: unverified.clone(),
                user_name: unverified.clone(),
                accounts: vec![atomik_broker::BrokerAccountInfo {
                    id: unverified.clone(),
                    name: unverified,
                    active: true,
                }],
                balances: Vec::new(),
                can_trade: false,
                notes: Vec::new(),
            };
            let connected = store_connection(state, user_id, kind, env, session, &report).await?;
            let message = format!("Test Connection failed when saved: {err}");
            accounts::record_error(
                state.db(),
                &connected.account.id,
                &message,
                true,
                state.now_ms(),
            )
            .await?;
            let account = accounts::find(state.db(), user_id, &connected.account.id)
                .await?
                .ok_or(StorageError::NotFound("broker account"))?;
            Ok((Connected { account }, None))
        }
        Err(err) => Err(ConnectError::Refused(format!(
            "Test Connection failed: {err}. Nothing was saved; fix the credentials, or save anyway to keep them with the error shown."
        ))),
    }
}

fn balance_text(report: &ConnectionReport) -> Option<String> {
    report
        .balances
        .first()
        .map(|b| format!("{} {}", b.currency, format_amount(b.amount)))
}

/// `50000` → `50,000.00`.
pub fn format_amount(amount: rust_decimal::Decimal) -> String {
    let fixed = format!("{:.2}", amount.round_dp(2));
    let (int, frac) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

async fn store_connection(
    state: &AppState,
    user_id: &str,
    kind: BrokerKind,
    env: Environment,
    session: &Session,
    report: &ConnectionReport,
) -> Result<Connected, ConnectError> {
    let trading = report
        .accounts
        .iter()
        .find(|a| a.active)
        .or(report.accounts.first())
        .ok_or_else(|| {
            ConnectError::Refused(format!(
                "{} reports no trading account for this login.",
                kind.label()
            ))
        })?;
    let id = accounts::id_for_connection(state.db(), user_id, kind.key(), env.key(), &trading.id)
        .await?;
    let credential = credentials::seal(state.vault(), &id, user_id, session)
        .map_err(|e| ConnectError::Refused(format!("cannot seal the credentials: {e}")))?;
    let now = state.now_ms();
    let expires = session.expires_at_ms();
    let next = expires.map(|exp| state.tokens().next_refresh_at(now, exp));
    let display_name = format!(
        "{} {} · {}",
        kind.label(),
        capitalize(env.key()),
        trading.name
    );
    let balance = balance_text(report);
    let account = accounts::connect(
        state.db(),
        NewAccount {
            id: &id,
            user_id,
            broker: kind.key(),
            environment: env.key(),
            display_name: &display_name,
            broker_account_id: &trading.id,
            broker_account_name: &trading.name,
            balance: balance.as_deref(),
            token_expires_at: expires,
            next_refresh_at: next,
            credential,
        },
        now,
    )
    .await?;
    tracing::info!(account = %account.id, broker = kind.key(), environment = env.key(), "broker account connected");
    Ok(Connected { account })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Disconnect: revoke at the broker where possible (best effort), then in one
/// transaction destroy the credential, turn strategies off, free the slot.
pub async fn disconnect(
    state: &AppState,
    user_id: &str,
    account_id: &str,
) -> Result<Disconnected, ConnectError> {
    let account = accounts::find(state.db(), user_id, account_id)
        .await?
        .ok_or(StorageError::NotFound("broker account"))?;
    if let (Some(broker), Some((owner, credential))) = (
        state
            .brokers()
            .for_keys(&account.broker, &account.environment),
        accounts::credential(state.db(), account_id).await?,
    ) && let Ok(session) = credentials::open(state.vault(), account_id, &owner, &credential)
        && let Err(err) = broker.revoke(&session).await
    {
        tracing::warn!(account = %account_id, error = %err, "revocation at the broker failed; credentials are destroyed here anyway");
    }
    let reason = match BrokerKind::parse(&account.broker) {
        Some(kind) => format!("Disconnected by you. {}", at_broker_on_disconnect(kind)),
        None => "Disconnected by you.".to_string(),
    };
    Ok(accounts::disconnect(state.db(), user_id, account_id, &reason, state.now_ms()).await?)
}

/// The live state of the account's broker connection, where its adapter
/// keeps one (IB), for the account's status.
pub async fn connection_state(state: &AppState, account: &BrokerAccount) -> Option<String> {
    if account.status == accounts::AccountStatus::Disconnected {
        return None;
    }
    let broker = state
        .brokers()
        .for_keys(&account.broker, &account.environment)
        .filter(|b| b.keeps_connections())?;
    let (owner, credential) = accounts::credential(state.db(), &account.id).await.ok()??;
    let session = credentials::open(state.vault(), &account.id, &owner, &credential).ok()?;
    broker.connection_state(&session)
}

/// What Disconnect does at the broker itself.
pub fn at_broker_on_disconnect(kind: BrokerKind) -> &'static str {
    match kind {
        BrokerKind::InteractiveBrokers => {
            "Nothing to revoke at Interactive Brokers (its API has no key): atomik stops connecting for this account; your IB Gateway login is unchanged."
        }
        BrokerKind::Tradovate => {
            "Tradovate has no revocation call: the token expires on its own within 90 minutes."
        }
        BrokerKind::Polymarket => {
            "Nothing to revoke at Polymarket: the wallet and its key stay yours; atomik no longer signs orders with it."
        }
        BrokerKind::Binance => {
            "The API key itself stays valid at the broker: delete it there if you no longer use it."
        }
    }
}

/// Test Connection for a stored account: who am I, balances; the result (or
/// the broker's exact error) is recorded on the account.
pub async fn test_account(
    state: &AppState,
    user_id: &str,
    account_id: &str,
) -> Result<ConnectionReport, ConnectError> {
    let account = accounts::find(state.db(), user_id, account_id)
        .await?
        .ok_or(StorageError::NotFound("broker account"))?;
    let broker = state
        .brokers()
        .for_keys(&account.broker, &account.environment)
        .ok_or_else(|| {
            ConnectError::Refused("this broker is not configured on this server".into())
        })?;
    let session = state
        .tokens()
        .session_for(account_id)
        .await
        .map_err(|e| ConnectError::Refused(e.to_string()))?;
    let now = state.now_ms();
    match broker.test_connection(&session).await {
        Ok(report) => {
            accounts::record_test_ok(state.db(), account_id, balance_text(&report).as_deref())
                .await?;
            Ok(report)
        }
        Err(err) => {
            accounts::record_error(state.db(), account_id, &err.to_string(), true, now).await?;
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_amount;

    #[test]
    fn amounts_are_grouped_with_two_decimals() {
        assert_eq!(format_amount("50000".parse().unwrap()), "50,000.00");
        assert_eq!(
            format_amount("-1234567.891".parse().unwrap()),
            "-1,234,567.89"
        );
        assert_eq!(format_amount("12.5".parse().unwrap()), "12.50");
    }
}
