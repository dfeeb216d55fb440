//! The one broker trait that Tradovate, Interactive Brokers, Binance and
//! Polymarket adapters implement, its error taxonomy, and the clock seam.
//!
//! Adapters are stateless per account: every call gets the account's
//! [`Session`] (tokens or keys, decrypted only for the call). Only the token
//! refresh service renews a session. Every order carries a deterministic
//! client order id, and [`Broker::order_by_client_id`] settles ambiguous
//! outcomes by lookup — never by a blind resend.

mod clock;
mod error;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::BrokerError;
pub use types::*;

use async_trait::async_trait;

/// One broker. Object-safe: accounts are connected at run time and the
/// engine holds `Arc<dyn Broker>`.
#[async_trait]
pub trait Broker: Send + Sync {
    fn kind(&self) -> BrokerKind;

    /// Who am I: identity, trading accounts, balances and permissions.
    async fn test_connection(&self, session: &Session) -> Result<ConnectionReport, BrokerError>;

    /// Current positions of the account.
    async fn positions(
        &self,
        session: &Session,
        account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError>;

    /// The signed position in one resolved instrument (spot: the free
    /// balance of the base asset). By default, from [`Broker::positions`].
    async fn position(
        &self,
        session: &Session,
        account: &AccountRef,
        instrument: &Instrument,
    ) -> Result<rust_decimal::Decimal, BrokerError> {
        Ok(self
            .positions(session, account)
            .await?
            .into_iter()
            .find(|p| p.symbol == instrument.symbol)
            .map(|p| p.quantity)
            .unwrap_or_default())
    }

    /// Place an order. `order.client_order_id` is stable for the intent's lifetime.
    async fn place_order(
        &self,
        session: &Session,
        account: &AccountRef,
        order: &OrderRequest,
    ) -> Result<OrderAck, BrokerError>;

    /// Cancel a working order of `instrument` (`Instrument::symbol`).
    async fn cancel_order(
        &self,
        session: &Session,
        account: &AccountRef,
        instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError>;

    /// Look an order up by the client order id we gave it, for the
    /// instrument it was sent for (`Instrument::symbol`; some brokers key
    /// lookups by symbol). `Ok(None)` means the broker has no such order: it
    /// was never placed.
    async fn order_by_client_id(
        &self,
        session: &Session,
        account: &AccountRef,
        instrument: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, BrokerError>;

    /// Build (and sign) the order before it is sent, where the broker's id
    /// for it is a function of the order (Polymarket's order hash): the
    /// engine stores that id before the order leaves, and passes the
    /// prepared order to [`Broker::place_order`] in
    /// [`OrderRequest::prepared`]. `None` for brokers that key orders by
    /// the client order id.
    async fn prepare_order(
        &self,
        _session: &Session,
        _account: &AccountRef,
        _order: &OrderRequest,
    ) -> Result<Option<PreparedOrder>, BrokerError> {
        Ok(None)
    }

    /// [`Broker::order_by_client_id`], given also the broker order id
    /// stored before sending (from [`Broker::prepare_order`]), for brokers
    /// that cannot search by client order id.
    async fn find_order(
        &self,
        session: &Session,
        account: &AccountRef,
        instrument: &str,
        client_order_id: &str,
        _prepared_order_id: Option<&str>,
    ) -> Result<Option<OrderReport>, BrokerError> {
        self.order_by_client_id(session, account, instrument, client_order_id)
            .await
    }

    /// Resolve what a strategy names (`MNQ`, `NQ1!`, `BTCUSDT`, a token id) to
    /// the instrument to trade now (e.g. the front-month contract).
    async fn resolve_instrument(
        &self,
        session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError>;

    /// Renew the session's credentials (OAuth token renewal). Brokers whose
    /// credentials do not expire return them unchanged.
    async fn refresh_credentials(&self, session: &Session) -> Result<Session, BrokerError>;

    /// Revoke the credentials at the broker where it supports that. Best effort.
    async fn revoke(&self, session: &Session) -> Result<(), BrokerError>;

    /// The live state of the connection behind `session`, in words, where
    /// the adapter keeps one (IB's Gateway socket: connected, reconnecting,
    /// the Gateway has lost IB; and the last error). No I/O.
    fn connection_state(&self, _session: &Session) -> Option<String> {
        None
    }

    /// Whether [`Broker::connection_state`] can say anything (callers skip
    /// opening the credentials otherwise).
    fn keeps_connections(&self) -> bool {
        false
    }
}

/// The start of an OAuth authorization: where to send the user, and the PKCE
/// verifier to keep (sealed) until the callback.
#[derive(Debug)]
pub struct OAuthStart {
    pub authorize_url: String,
    pub code_verifier: atomik_secrets::Secret<String>,
}

/// Brokers connected by the OAuth 2.0 authorization-code flow with PKCE.
#[async_trait]
pub trait OAuthConnector: Send + Sync {
    /// The authorization URL for `state` (bound to the user's session by the
    /// caller) with a fresh PKCE S256 challenge.
    fn start(&self, state: &str) -> OAuthStart;

    /// Exchange the callback's code (with the PKCE verifier) for a session.
    async fn exchange_code(&self, code: &str, code_verifier: &str) -> Result<Session, BrokerError>;
}
