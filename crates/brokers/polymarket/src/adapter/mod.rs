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

mod connection;
mod orders;
mod wire;

pub use orders::worst_price;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroize;

use async_trait::async_trait;
use atomik_broker::{
    AccountRef, Broker, BrokerError, BrokerKind, Clock, ConnectionReport, Instrument, OrderAck,
    OrderReport, OrderRequest, Position, PreparedOrder, Session,
};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::amounts;
use crate::http::{Auth, Effect, Http};
use crate::markets::{Market, Markets};
use crate::order::Funder;
use crate::sign::{l1, l2::ApiCredentials};
use crate::{Address, B256, PolymarketConfig, U256, Wallet, funder};
use wire::{BalanceAllowance, CreatedKey, rejected, units};

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
    /// Accounts opened from their sessions (opening derives the signer's
    /// public key and the funder; an order needs its account several times).
    opened: Mutex<HashMap<B256, Arc<Account>>>,
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

/// A digest of everything an [`Account`] is opened from: the key of the
/// opened-accounts cache (a new key, type, funder or credential opens anew).
fn session_digest(session: &Session) -> Option<B256> {
    let Session::Wallet {
        private_key,
        signature_type,
        funder,
        api,
    } = session
    else {
        return None;
    };
    let mut material: Vec<u8> = Vec::with_capacity(256);
    for part in [
        private_key.expose().as_bytes(),
        &[*signature_type],
        funder.as_bytes(),
    ] {
        material.extend_from_slice(&(part.len() as u32).to_be_bytes());
        material.extend_from_slice(part);
    }
    if let Some(a) = api {
        for part in [a.key.expose(), a.secret.expose(), a.passphrase.expose()] {
            material.extend_from_slice(&(part.len() as u32).to_be_bytes());
            material.extend_from_slice(part.as_bytes());
        }
    }
    let digest = alloy_primitives::keccak256(&material);
    material.zeroize();
    Some(digest)
}

/// At most this many opened accounts are kept (then the cache starts over).
const OPENED_ACCOUNTS: usize = 4096;

fn open_account(session: &Session, chain_id: u64) -> Result<Account, BrokerError> {
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

impl Polymarket {
    pub fn new(config: PolymarketConfig, clock: Arc<dyn Clock>) -> Self {
        Polymarket {
            http: Http::new(&config),
            markets: Markets::new(config.market_ttl.as_millis() as i64),
            config,
            clock,
            derived: Mutex::new(HashMap::new()),
            version: Mutex::new(None),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// The account a session opens, opened once.
    fn account(&self, session: &Session) -> Result<Arc<Account>, BrokerError> {
        let digest = session_digest(session);
        if let Some(d) = &digest
            && let Some(a) = self.opened.lock().expect("opened").get(d)
        {
            return Ok(a.clone());
        }
        let account = Arc::new(open_account(session, self.config.chain_id)?);
        if let Some(d) = digest {
            let mut opened = self.opened.lock().expect("opened");
            if opened.len() >= OPENED_ACCOUNTS {
                opened.clear();
            }
            opened.insert(d, account.clone());
        }
        Ok(account)
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
        self.report(session).await
    }

    /// The funder's outcome-token positions (the Data API's positions).
    async fn positions(
        &self,
        session: &Session,
        _account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError> {
        self.funder_positions(session).await
    }

    /// Shares of the outcome held (the conditional-token balance).
    async fn position(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &Instrument,
    ) -> Result<Decimal, BrokerError> {
        let account = self.account(session)?;
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
        self.prepare(session, request).await
    }

    async fn place_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        request: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        self.place(session, request).await
    }

    async fn cancel_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        _instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        self.cancel(session, broker_order_id).await
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
        self.find(session, instrument, client_order_id, prepared_order_id)
            .await
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
            collateral_orders: true,
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
