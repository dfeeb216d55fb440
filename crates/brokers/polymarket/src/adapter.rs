//! The [`Broker`] implementation for Polymarket's CLOB.
//!
//! A strategy names an outcome (`slug:YES`) or its token id; quantities are
//! shares. Market orders are FOK orders with a bounded worst price: the
//! alert's `price` when it carries one, else the best price on the book moved
//! by the configured slippage; nothing is sent when the book cannot fill the
//! size within that bound. Prediction markets never short: a SELL sells
//! shares held, sized by the engine on the conditional-token balance.
//!
//! Exactly once without a client order id: [`Broker::prepare_order`] signs
//! the order with salt and metadata derived from the intent's client order
//! id and its timestamp fixed to the intent's creation, so its hash (the
//! CLOB's order id) is known and stored before it leaves;
//! [`Broker::find_order`] looks that hash up (the order, then the trades it
//! took part in, so a matched FOK order that is no longer open is found).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use atomik_broker::{
    AccountRef, Balance, Broker, BrokerAccountInfo, BrokerError, BrokerKind, Clock,
    ConnectionReport, Fill, Instrument, OrderAck, OrderReport, OrderRequest, OrderState, Position,
    PreparedOrder, Session, Side,
};
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::Value;

use crate::amounts::{self, TickSize};
use crate::contracts::Exchange;
use crate::http::{Auth, Effect, Http};
use crate::identity::OrderIdentity;
use crate::markets::{self, Market, Markets, decimal};
use crate::order::{self, Funder, OrderSpec, OrderV2};
use crate::sign::{l1, l2::ApiCredentials};
use crate::{Address, B256, PolymarketConfig, U256, Wallet, funder};

/// The order version atomik signs.
const ORDER_VERSION: u64 = 2;
/// How long a `/version` answer is trusted.
const VERSION_TTL_MS: i64 = 300_000;

pub struct Polymarket {
    http: Http,
    config: PolymarketConfig,
    clock: Arc<dyn Clock>,
    markets: Markets,
    /// Derived API credentials per signer (derivation is deterministic).
    derived: Mutex<HashMap<Address, Arc<ApiCredentials>>>,
    version: Mutex<Option<(u64, i64)>>,
}

/// One account's signing setup, opened from its session.
struct Account {
    wallet: Wallet,
    funder: Funder,
    signature_type: u8,
    given: Option<Arc<ApiCredentials>>,
}

impl Account {
    fn signer(&self) -> Address {
        self.wallet.address()
    }

    /// The address holding the funds.
    fn funds(&self) -> Address {
        self.funder.roles(self.signer()).0
    }
}

fn account(session: &Session, chain_id: u64) -> Result<Account, BrokerError> {
    let Session::Wallet {
        private_key,
        signature_type,
        funder: funder_text,
        api,
    } = session
    else {
        return Err(BrokerError::Misconfigured(
            "Polymarket needs the wallet's private key, its signature type and funder address"
                .into(),
        ));
    };
    let wallet = Wallet::from_private_key(private_key)
        .map_err(|e| BrokerError::Misconfigured(e.to_string()))?;
    let funder = funder::resolve(wallet.address(), *signature_type, funder_text, chain_id)
        .map_err(BrokerError::Misconfigured)?;
    let given = match api {
        None => None,
        Some(a) => Some(Arc::new(
            ApiCredentials::new(
                a.key.expose().trim(),
                &a.secret,
                atomik_secrets::Secret::new(a.passphrase.expose().trim().to_string()),
            )
            .map_err(|e| BrokerError::Misconfigured(e.to_string()))?,
        )),
    };
    Ok(Account {
        wallet,
        funder,
        signature_type: *signature_type,
        given,
    })
}

#[derive(Deserialize)]
struct CreatedKey {
    #[serde(rename = "apiKey")]
    api_key: String,
    secret: String,
    passphrase: String,
}

#[derive(Deserialize)]
struct BalanceAllowance {
    balance: Value,
    #[serde(default)]
    allowances: HashMap<String, Value>,
}

#[derive(Deserialize)]
struct BookLevel {
    price: Value,
    size: Value,
}

#[derive(Deserialize)]
struct Book {
    #[serde(default)]
    bids: Vec<BookLevel>,
    #[serde(default)]
    asks: Vec<BookLevel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostAnswer {
    #[serde(default)]
    success: bool,
    #[serde(default, alias = "error_msg")]
    error_msg: Option<String>,
    #[serde(default, rename = "orderID")]
    order_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    making_amount: Option<Value>,
    #[serde(default)]
    taking_amount: Option<Value>,
}

#[derive(Deserialize)]
struct OpenOrder {
    id: String,
    status: String,
    #[serde(default)]
    size_matched: Option<Value>,
    #[serde(default)]
    price: Option<Value>,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Trade {
    #[serde(default)]
    taker_order_id: String,
    #[serde(default)]
    size: Option<Value>,
    #[serde(default)]
    price: Option<Value>,
    #[serde(default)]
    maker_orders: Vec<MakerOrder>,
}

#[derive(Deserialize)]
struct MakerOrder {
    order_id: String,
    #[serde(default)]
    matched_amount: Option<Value>,
    #[serde(default)]
    price: Option<Value>,
}

/// `/data-api/positions` rows (the Data API's `GET /positions?user=`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataPosition {
    asset: String,
    size: Value,
    #[serde(default)]
    avg_price: Option<Value>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
}

/// 10^6-scaled integer units (balances) as a decimal.
fn units(v: &Value) -> Option<Decimal> {
    decimal(v)?.checked_div(Decimal::from(1_000_000))
}

/// An allowance: a decimal integer above zero (often 2^256 − 1, beyond
/// any decimal type).
fn is_positive_integer(v: &Value) -> bool {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return false,
    };
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.bytes().any(|b| b != b'0')
}

fn rejected(reason: String) -> BrokerError {
    BrokerError::Rejected { code: None, reason }
}

/// The CLOB's order status in the trait's terms.
fn order_state(status: &str) -> OrderState {
    match status.to_ascii_uppercase().as_str() {
        "MATCHED" => OrderState::Filled,
        "LIVE" => OrderState::Working,
        "CANCELED" | "CANCELED_MARKET_RESOLVED" | "UNMATCHED" => OrderState::Canceled,
        _ => OrderState::Pending,
    }
}

/// The worst price a market order of `side` may fill at, on the tick.
pub fn worst_price(
    side: order::Side,
    alert_price: Option<Decimal>,
    best: Option<Decimal>,
    slippage: Decimal,
    tick: TickSize,
) -> Result<Decimal, BrokerError> {
    let t = tick.as_decimal();
    let (raw, strategy) = match (side, alert_price) {
        (order::Side::Buy, Some(p)) => (p, RoundingStrategy::ToZero),
        (order::Side::Sell, Some(p)) => (p, RoundingStrategy::AwayFromZero),
        (order::Side::Buy, None) => (
            best.ok_or_else(|| {
                rejected(
                    "nobody is selling this outcome on Polymarket now: the book has no asks".into(),
                )
            })? + slippage,
            RoundingStrategy::ToZero,
        ),
        (order::Side::Sell, None) => (
            best.ok_or_else(|| {
                rejected(
                    "nobody is buying this outcome on Polymarket now: the book has no bids".into(),
                )
            })? - slippage,
            RoundingStrategy::AwayFromZero,
        ),
    };
    let on_tick = (raw / t).round_dp_with_strategy(0, strategy) * t;
    if let Some(p) = alert_price {
        amounts::check_price(on_tick.normalize(), tick).map_err(|e| {
            rejected(format!(
                "the alert's price {p} cannot be a Polymarket price: {e}"
            ))
        })?;
        return Ok(on_tick.normalize());
    }
    Ok(on_tick.clamp(t, Decimal::ONE - t).normalize())
}

/// Shares the book offers to an order of `side` at `worst` or better.
fn depth(book: &Book, side: order::Side, worst: Decimal) -> Decimal {
    let levels = match side {
        order::Side::Buy => &book.asks,
        order::Side::Sell => &book.bids,
    };
    levels
        .iter()
        .filter_map(|l| Some((decimal(&l.price)?, decimal(&l.size)?)))
        .filter(|(p, _)| match side {
            order::Side::Buy => *p <= worst,
            order::Side::Sell => *p >= worst,
        })
        .map(|(_, s)| s)
        .sum()
}

fn best(book: &Book, side: order::Side) -> Option<Decimal> {
    let prices = match side {
        order::Side::Buy => &book.asks,
        order::Side::Sell => &book.bids,
    }
    .iter()
    .filter_map(|l| decimal(&l.price));
    match side {
        order::Side::Buy => prices.min(),
        order::Side::Sell => prices.max(),
    }
}

impl Polymarket {
    pub fn new(config: PolymarketConfig, clock: Arc<dyn Clock>) -> Self {
        Polymarket {
            http: Http::new(&config),
            markets: Markets::new(config.market_ttl.as_millis() as i64),
            config,
            clock,
            derived: Mutex::new(HashMap::new()),
            version: Mutex::new(None),
        }
    }

    fn now_s(&self) -> u64 {
        (self.clock.now_ms() / 1000).max(0) as u64
    }

    /// The order version the CLOB takes; anything but V2 refuses to trade.
    async fn check_version(&self) -> Result<u64, BrokerError> {
        let now = self.clock.now_ms();
        if let Some((v, at)) = *self.version.lock().expect("version")
            && now - at < VERSION_TTL_MS
        {
            return Ok(v);
        }
        let answer: Value = self
            .http
            .clob(Method::GET, "/version", &[], None, Auth::None, Effect::Read)
            .await?;
        let version = answer.get("version").and_then(Value::as_u64);
        match version {
            Some(ORDER_VERSION) => {
                *self.version.lock().expect("version") = Some((ORDER_VERSION, now));
                Ok(ORDER_VERSION)
            }
            Some(1) => Err(BrokerError::Misconfigured(format!(
                "the CLOB at {} takes only V1 orders; atomik signs the current V2 orders: check the CLOB URL",
                self.config.clob_url
            ))),
            _ => Err(BrokerError::Misconfigured(format!(
                "the CLOB at {} reports an order version atomik does not know ({answer}); it signs V2 orders only",
                self.config.clob_url
            ))),
        }
    }

    /// The account's API credentials: the ones given, or derived with the
    /// wallet (L1 `derive-api-key`, created if the wallet has none).
    async fn credentials(&self, account: &Account) -> Result<Arc<ApiCredentials>, BrokerError> {
        if let Some(given) = &account.given {
            return Ok(given.clone());
        }
        let signer = account.signer();
        if let Some(c) = self.derived.lock().expect("derived").get(&signer) {
            return Ok(c.clone());
        }
        let l1 = |wallet: &Wallet| {
            l1::headers(wallet, self.config.chain_id, self.now_s(), 0)
                .map_err(|e| BrokerError::Misconfigured(e.to_string()))
        };
        let headers = l1(&account.wallet)?;
        let derived: Result<CreatedKey, BrokerError> = self
            .http
            .clob(
                Method::GET,
                "/auth/derive-api-key",
                &[],
                None,
                Auth::L1(&headers),
                Effect::Read,
            )
            .await;
        let key = match derived {
            Ok(k) => k,
            Err(BrokerError::Rejected { .. }) => {
                let headers = l1(&account.wallet)?;
                self.http
                    .clob(
                        Method::POST,
                        "/auth/api-key",
                        &[],
                        None,
                        Auth::L1(&headers),
                        Effect::Read,
                    )
                    .await?
            }
            Err(e) => return Err(e),
        };
        let credentials = Arc::new(
            ApiCredentials::new(
                key.api_key,
                &atomik_secrets::Secret::new(key.secret),
                atomik_secrets::Secret::new(key.passphrase),
            )
            .map_err(|e| {
                BrokerError::NotSent(format!(
                    "Polymarket returned API credentials atomik cannot use: {e}"
                ))
            })?,
        );
        self.derived
            .lock()
            .expect("derived")
            .insert(signer, credentials.clone());
        Ok(credentials)
    }

    /// An L2-authenticated CLOB call.
    async fn l2<T: serde::de::DeserializeOwned>(
        &self,
        account: &Account,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
        effect: Effect,
    ) -> Result<T, BrokerError> {
        let credentials = self.credentials(account).await?;
        let answer = self
            .http
            .clob(
                method,
                path,
                query,
                body,
                Auth::L2 {
                    credentials: &credentials,
                    address: account.signer(),
                    timestamp: self.now_s(),
                },
                effect,
            )
            .await;
        if matches!(answer, Err(BrokerError::AuthExpired(_))) && account.given.is_none() {
            // A derived key that stopped working is derived again next time.
            self.derived
                .lock()
                .expect("derived")
                .remove(&account.signer());
        }
        answer
    }

    async fn balance(
        &self,
        account: &Account,
        token: Option<U256>,
    ) -> Result<BalanceAllowance, BrokerError> {
        let signature_type = account.signature_type.to_string();
        let token_text = token.map(|t| t.to_string());
        let mut query = vec![("signature_type", signature_type.as_str())];
        match &token_text {
            Some(t) => query.extend([("asset_type", "CONDITIONAL"), ("token_id", t.as_str())]),
            None => query.push(("asset_type", "COLLATERAL")),
        }
        self.l2(
            account,
            Method::GET,
            "/balance-allowance",
            &query,
            None,
            Effect::Read,
        )
        .await
    }

    async fn market_of(&self, instrument: &Instrument) -> Result<Market, BrokerError> {
        self.markets
            .resolve(&self.http, &instrument.symbol, self.clock.now_ms())
            .await
    }

    /// Polymarket's refusal of an order, explained where its words are terse.
    fn explain(&self, account: &Account, message: &str) -> BrokerError {
        let lower = message.to_ascii_lowercase();
        let why = if lower.contains("invalid signature") || lower.contains("invalid maker") {
            format!(
                "{message}: Polymarket did not accept signer {} with funder {} as a {}; check the account's signature type and funder address (Test Connection explains which go together)",
                account.signer().to_checksum(None),
                account.funds().to_checksum(None),
                funder::signature_type_name(account.signature_type)
            )
        } else if lower.contains("not enough balance") {
            format!(
                "{message}: the funder {} lacks the pUSD or shares for this order, or has not approved Polymarket's exchange to use them",
                account.funds().to_checksum(None)
            )
        } else if lower.contains("order_version_mismatch") {
            format!(
                "{message}: the CLOB expects another order version than the V2 orders atomik signs"
            )
        } else {
            message.to_string()
        };
        rejected(why)
    }

    async fn trades_of(
        &self,
        account: &Account,
        token: Option<U256>,
        hash: &str,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let token_text = token.map(|t| t.to_string());
        let mut cursor = String::new();
        let (mut size, mut notional) = (Decimal::ZERO, Decimal::ZERO);
        loop {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(t) = &token_text {
                query.push(("asset_id", t));
            }
            if !cursor.is_empty() {
                query.push(("next_cursor", &cursor));
            }
            let page: Page<Trade> = self
                .l2(
                    account,
                    Method::GET,
                    "/data/trades",
                    &query,
                    None,
                    Effect::Read,
                )
                .await?;
            for t in &page.data {
                let matched = if t.taker_order_id.eq_ignore_ascii_case(hash) {
                    Some((t.size.as_ref(), t.price.as_ref()))
                } else {
                    t.maker_orders
                        .iter()
                        .find(|m| m.order_id.eq_ignore_ascii_case(hash))
                        .map(|m| (m.matched_amount.as_ref(), m.price.as_ref()))
                };
                if let Some((Some(s), Some(p))) = matched
                    && let (Some(s), Some(p)) = (decimal(s), decimal(p))
                {
                    size += s;
                    notional += s * p;
                }
            }
            match page.next_cursor {
                Some(c) if !c.is_empty() && c != "LTE=" && !page.data.is_empty() => cursor = c,
                _ => break,
            }
        }
        Ok((!size.is_zero()).then(|| OrderReport {
            broker_order_id: hash.to_string(),
            client_order_id: String::new(),
            state: OrderState::Filled,
            filled_quantity: size,
            average_price: notional.checked_div(size),
            reason: None,
        }))
    }
}

#[async_trait]
impl Broker for Polymarket {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Polymarket
    }

    /// Signer and funder, the API version, the API credentials (given ones
    /// checked, else derived), collateral balance and allowance, and
    /// closed-only mode.
    async fn test_connection(&self, session: &Session) -> Result<ConnectionReport, BrokerError> {
        let account = account(session, self.config.chain_id)?;
        let version = self.check_version().await?;
        let credentials = self.credentials(&account).await?;
        // Given credentials must belong to this wallet: the key list is
        // answered only to the key's own address.
        let keys: Value = self
            .l2(&account, Method::GET, "/auth/api-keys", &[], None, Effect::Read)
            .await
            .map_err(|e| match (e, account.given.is_some()) {
                (BrokerError::AuthExpired(_), true) => BrokerError::Misconfigured(format!(
                    "the API credentials do not belong to the wallet {} (or were deleted): leave them empty and atomik derives the wallet's own",
                    account.signer().to_checksum(None)
                )),
                (e, _) => e,
            })?;
        let listed = keys
            .get("apiKeys")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|k| k.as_str() == Some(credentials.api_key())));
        if !listed {
            return Err(BrokerError::Misconfigured(format!(
                "the API key is not one of the wallet {}'s keys",
                account.signer().to_checksum(None)
            )));
        }
        let closed_only = self
            .l2::<Value>(
                &account,
                Method::GET,
                "/auth/ban-status/closed-only",
                &[],
                None,
                Effect::Read,
            )
            .await?
            .get("closed_only")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let collateral = self.balance(&account, None).await?;
        let balance = units(&collateral.balance).unwrap_or_default();
        let unapproved = collateral
            .allowances
            .values()
            .filter(|a| !is_positive_integer(a))
            .count();
        let funds = account.funds().to_checksum(None);
        let mut notes = vec![
            format!("Signer {}.", account.signer().to_checksum(None)),
            format!(
                "Funder {funds} ({}).",
                funder::signature_type_name(account.signature_type)
            ),
            format!("CLOB API version {version} (V2 signed orders)."),
            format!(
                "API credentials: {}.",
                if account.given.is_some() {
                    "given, and they belong to this wallet"
                } else {
                    "derived from the wallet"
                }
            ),
            format!(
                "Collateral allowance: {}.",
                if unapproved == 0 && !collateral.allowances.is_empty() {
                    "approved for the exchanges".to_string()
                } else {
                    format!(
                        "{unapproved} exchange contract(s) not approved: approve them on polymarket.com before trading"
                    )
                }
            ),
        ];
        if closed_only {
            notes.push(
                "This account is in closed-only mode: Polymarket lets it only close positions."
                    .into(),
            );
        }
        Ok(ConnectionReport {
            user_id: funds.clone(),
            user_name: format!("Polymarket wallet {funds}"),
            accounts: vec![BrokerAccountInfo {
                id: funds.clone(),
                name: funds,
                active: true,
            }],
            balances: vec![Balance {
                currency: "pUSD".into(),
                amount: balance,
            }],
            can_trade: !closed_only,
            notes,
        })
    }

    /// The funder's outcome-token positions (the Data API's positions).
    async fn positions(
        &self,
        session: &Session,
        _account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError> {
        let account = account(session, self.config.chain_id)?;
        let user = account.funds().to_checksum(None);
        let rows: Vec<DataPosition> = self
            .http
            .data("/positions", &[("user", &user), ("sizeThreshold", "0")])
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|p| {
                let size = decimal(&p.size)?;
                let symbol = match (&p.slug, &p.outcome) {
                    (Some(s), Some(o)) => {
                        format!("{s}:{} [token {}]", o.to_ascii_uppercase(), p.asset)
                    }
                    _ => p.asset.clone(),
                };
                Some(Position {
                    symbol,
                    quantity: size,
                    average_price: p.avg_price.as_ref().and_then(decimal),
                })
            })
            .filter(|p| !p.quantity.is_zero())
            .collect())
    }

    /// Shares of the outcome held (the conditional-token balance).
    async fn position(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &Instrument,
    ) -> Result<Decimal, BrokerError> {
        let account = account(session, self.config.chain_id)?;
        let market = self.market_of(instrument).await?;
        let b = self.balance(&account, Some(market.token_id)).await?;
        units(&b.balance).ok_or_else(|| {
            BrokerError::NotSent("Polymarket's balance of the outcome token is unreadable".into())
        })
    }

    async fn prepare_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        request: &OrderRequest,
    ) -> Result<Option<PreparedOrder>, BrokerError> {
        let account = account(session, self.config.chain_id)?;
        self.check_version().await?;
        let market = self.market_of(&request.instrument).await?;
        let side = match request.side {
            Side::Buy => order::Side::Buy,
            Side::Sell => order::Side::Sell,
        };
        let token = market.token_id.to_string();
        let book: Book = self
            .http
            .clob(
                Method::GET,
                "/book",
                &[("token_id", &token)],
                None,
                Auth::None,
                Effect::Read,
            )
            .await?;
        let worst = worst_price(
            side,
            request.alert_price,
            best(&book, side),
            self.config.max_slippage,
            market.rules.tick,
        )?;
        let available = depth(&book, side, worst);
        if available < request.quantity {
            return Err(rejected(format!(
                "the book holds {} shares to {} at {worst} or better, short of the {} ordered; nothing was sent (a fill-or-kill order would be killed)",
                available.normalize(),
                if side == order::Side::Buy {
                    "buy"
                } else {
                    "sell"
                },
                request.quantity.normalize()
            )));
        }
        let amounts = amounts::limit_amounts(side, worst, request.quantity, &market.rules)
            .map_err(|e| rejected(format!("{e}; nothing was sent")))?;
        let credentials = self.credentials(&account).await?;
        let created = u64::try_from(request.created_at_ms).unwrap_or(0);
        let spec = OrderSpec {
            token_id: market.token_id,
            side,
            amounts,
            funder: account.funder,
            identity: OrderIdentity::derive(&request.client_order_id, created),
            builder: B256::ZERO,
            expiration: 0,
        };
        let exchange = Exchange::v2(self.config.chain_id, market.neg_risk)
            .map_err(|e| BrokerError::Misconfigured(e.to_string()))?;
        let signed = OrderV2::from_spec(account.signer(), &spec)
            .sign(&account.wallet, &exchange)
            .map_err(|e| BrokerError::Misconfigured(e.to_string()))?;
        let body = signed.post_body(credentials.api_key(), order::OrderType::Fok, false, false);
        Ok(Some(PreparedOrder {
            broker_order_id: signed.order_id(),
            payload: serde_json::to_string(&body).expect("an order body is JSON"),
        }))
    }

    async fn place_order(
        &self,
        session: &Session,
        account_ref: &AccountRef,
        request: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        let prepared = match &request.prepared {
            Some(p) => p.clone(),
            None => self
                .prepare_order(session, account_ref, request)
                .await?
                .expect("Polymarket always prepares"),
        };
        let account = account(session, self.config.chain_id)?;
        let answer: PostAnswer = match self
            .l2(
                &account,
                Method::POST,
                "/order",
                &[],
                Some(&prepared.payload),
                Effect::Order,
            )
            .await
        {
            Ok(a) => a,
            // The same hash is already at the CLOB: an earlier send of this
            // very order arrived. The lookup settles what became of it.
            Err(BrokerError::Rejected { reason, .. }) if reason.contains("Duplicated") => {
                return Err(BrokerError::Ambiguous(format!(
                    "Polymarket already has order {}: {reason}",
                    prepared.broker_order_id
                )));
            }
            Err(BrokerError::Rejected { reason, .. }) => {
                return Err(self.explain(&account, &reason));
            }
            Err(e) => return Err(e),
        };
        if !answer.success {
            let reason = answer.error_msg.unwrap_or_else(|| "order refused".into());
            return Err(self.explain(&account, &reason));
        }
        let id = answer
            .order_id
            .filter(|id| !id.is_empty())
            .unwrap_or(prepared.broker_order_id);
        let matched = answer
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("matched"));
        let (making, taking) = (
            answer.making_amount.as_ref().and_then(decimal),
            answer.taking_amount.as_ref().and_then(decimal),
        );
        let fill = match (matched, making, taking) {
            (true, Some(making), Some(taking)) => {
                // BUY: pays collateral (making) for shares (taking); SELL the reverse.
                let (shares, collateral) = match request.side {
                    Side::Buy => (taking, making),
                    Side::Sell => (making, taking),
                };
                collateral.checked_div(shares).map(|price| Fill {
                    quantity: shares.normalize(),
                    average_price: price.round_dp(6).normalize(),
                })
            }
            _ => None,
        };
        Ok(OrderAck {
            broker_order_id: id,
            fill,
        })
    }

    async fn cancel_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        _instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        let account = account(session, self.config.chain_id)?;
        let body = serde_json::json!({ "orderID": broker_order_id }).to_string();
        let answer: Value = self
            .l2(
                &account,
                Method::DELETE,
                "/order",
                &[],
                Some(&body),
                Effect::Order,
            )
            .await?;
        let canceled = answer
            .get("canceled")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(broker_order_id)));
        if canceled {
            return Ok(());
        }
        let why = answer
            .get("not_canceled")
            .and_then(|m| m.get(broker_order_id))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_else(|| "Polymarket did not cancel it".into());
        Err(rejected(why))
    }

    /// Polymarket orders have no client order id: only their hash finds them.
    async fn order_by_client_id(
        &self,
        session: &Session,
        account: &AccountRef,
        instrument: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, BrokerError> {
        self.find_order(session, account, instrument, client_order_id, None)
            .await
    }

    async fn find_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &str,
        client_order_id: &str,
        prepared_order_id: Option<&str>,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let Some(hash) = prepared_order_id else {
            return Err(BrokerError::NotSent(format!(
                "the order of {client_order_id} has no stored order hash: a Polymarket order is found only by its hash"
            )));
        };
        let account = account(session, self.config.chain_id)?;
        let path = format!("/data/order/{hash}");
        match self
            .l2::<OpenOrder>(&account, Method::GET, &path, &[], None, Effect::Read)
            .await
        {
            Ok(o) => {
                let state = order_state(&o.status);
                let filled = o
                    .size_matched
                    .as_ref()
                    .and_then(decimal)
                    .unwrap_or_default();
                let mut report = OrderReport {
                    broker_order_id: o.id,
                    client_order_id: client_order_id.to_string(),
                    state,
                    filled_quantity: filled,
                    average_price: None,
                    reason: None,
                };
                if !filled.is_zero() {
                    // The order shows its limit; the trades its fill price.
                    let token = markets::parse(instrument).ok().and_then(|n| match n {
                        markets::Named::Token(t) => Some(t),
                        _ => None,
                    });
                    report.average_price = match self.trades_of(&account, token, hash).await? {
                        Some(t) => t.average_price,
                        None => o.price.as_ref().and_then(decimal),
                    };
                }
                Ok(Some(report))
            }
            Err(BrokerError::Rejected { code, .. }) if code.as_deref() == Some("404") => {
                // Not (or no longer) listed: a matched order is in the trades.
                let token = markets::parse(instrument).ok().and_then(|n| match n {
                    markets::Named::Token(t) => Some(t),
                    _ => None,
                });
                Ok(self.trades_of(&account, token, hash).await?.map(|mut r| {
                    r.client_order_id = client_order_id.to_string();
                    r
                }))
            }
            Err(e) => Err(e),
        }
    }

    async fn resolve_instrument(
        &self,
        _session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError> {
        let market = self
            .markets
            .resolve(&self.http, symbol, self.clock.now_ms())
            .await?;
        Ok(Instrument {
            symbol: market.symbol(),
            broker_id: Some(market.token_id.to_string()),
            quantity_step: Decimal::new(1, amounts::SIZE_DECIMALS),
            can_short: false,
            max_order_quantity: None,
        })
    }

    async fn refresh_credentials(&self, session: &Session) -> Result<Session, BrokerError> {
        Ok(session.clone())
    }

    /// Nothing to revoke: the wallet key stays the user's, and a derived API
    /// key is the wallet's own (deleting it would break the user's other
    /// tools using it).
    async fn revoke(&self, _session: &Session) -> Result<(), BrokerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn market_orders_have_a_bounded_worst_price_on_the_tick() {
        let t = TickSize::Hundredth;
        let s = d("0.05");
        assert_eq!(
            worst_price(order::Side::Buy, None, Some(d("0.56")), s, t).unwrap(),
            d("0.61")
        );
        assert_eq!(
            worst_price(order::Side::Sell, None, Some(d("0.54")), s, t).unwrap(),
            d("0.49")
        );
        // Clamped to [tick, 1 − tick].
        assert_eq!(
            worst_price(order::Side::Buy, None, Some(d("0.97")), s, t).unwrap(),
            d("0.99")
        );
        assert_eq!(
            worst_price(order::Side::Sell, None, Some(d("0.02")), s, t).unwrap(),
            d("0.01")
        );
        // The alert's price, rounded in the order's favour.
        assert_eq!(
            worst_price(order::Side::Buy, Some(d("0.557")), None, s, t).unwrap(),
            d("0.55")
        );
        assert_eq!(
            worst_price(order::Side::Sell, Some(d("0.553")), None, s, t).unwrap(),
            d("0.56")
        );
        assert!(worst_price(order::Side::Buy, Some(d("1.2")), None, s, t).is_err());
        assert!(worst_price(order::Side::Buy, None, None, s, t).is_err());
        let th = TickSize::Thousandth;
        assert_eq!(
            worst_price(order::Side::Buy, None, Some(d("0.305")), s, th).unwrap(),
            d("0.355")
        );
    }
}
