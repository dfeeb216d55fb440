use std::fmt;

use atomik_secrets::Secret;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    Tradovate,
    InteractiveBrokers,
    Binance,
    Polymarket,
}

impl BrokerKind {
    pub const ALL: [BrokerKind; 4] = [
        BrokerKind::Tradovate,
        BrokerKind::InteractiveBrokers,
        BrokerKind::Binance,
        BrokerKind::Polymarket,
    ];

    pub fn key(self) -> &'static str {
        match self {
            BrokerKind::Tradovate => "tradovate",
            BrokerKind::InteractiveBrokers => "ib",
            BrokerKind::Binance => "binance",
            BrokerKind::Polymarket => "polymarket",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::Tradovate => "Tradovate",
            BrokerKind::InteractiveBrokers => "Interactive Brokers",
            BrokerKind::Binance => "Binance",
            BrokerKind::Polymarket => "Polymarket",
        }
    }

    pub fn parse(key: &str) -> Option<BrokerKind> {
        BrokerKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// A broker environment: Demo/Live (Tradovate), Paper/Live (IB), Testnet/Live (Binance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Demo,
    Paper,
    Testnet,
    Live,
}

impl Environment {
    pub fn key(self) -> &'static str {
        match self {
            Environment::Demo => "demo",
            Environment::Paper => "paper",
            Environment::Testnet => "testnet",
            Environment::Live => "live",
        }
    }

    pub fn parse(key: &str) -> Option<Environment> {
        [
            Environment::Demo,
            Environment::Paper,
            Environment::Testnet,
            Environment::Live,
        ]
        .into_iter()
        .find(|e| e.key() == key)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What an adapter needs to act for one account. Secrets stay wrapped.
#[derive(Debug, Clone)]
pub enum Session {
    /// OAuth bearer token (Tradovate).
    OAuth {
        access_token: Secret<String>,
        expires_at_ms: i64,
    },
    /// API key + secret or private key (Binance, Polymarket, IB Web API).
    ApiKey {
        key: Secret<String>,
        secret: Secret<String>,
        passphrase: Option<Secret<String>>,
    },
    /// A socket endpoint (IB TWS / Gateway) and the account to trade there.
    /// The Gateway's own login is the credential: nothing here is secret.
    Socket {
        host: String,
        port: u16,
        client_id: i32,
        /// The IB account id orders go to (`DU…` paper, `U…` live).
        account: String,
    },
    /// A wallet that signs every order (Polymarket), how it holds its
    /// funds, and the CLOB API credentials (derived from the wallet when
    /// not given).
    Wallet {
        private_key: Secret<String>,
        /// 0 EOA, 1 Polymarket proxy wallet, 2 Gnosis safe, 3 deposit wallet.
        signature_type: u8,
        /// The address that holds the funds (the signer's own for EOA).
        funder: String,
        api: Option<ApiCredentials>,
    },
}

/// An API key with its HMAC secret and passphrase (Polymarket's L2 credentials).
#[derive(Debug, Clone)]
pub struct ApiCredentials {
    pub key: Secret<String>,
    pub secret: Secret<String>,
    pub passphrase: Secret<String>,
}

impl Session {
    /// When the session stops working on its own, if it does.
    pub fn expires_at_ms(&self) -> Option<i64> {
        match self {
            Session::OAuth { expires_at_ms, .. } => Some(*expires_at_ms),
            _ => None,
        }
    }
}

/// Which trading account at the broker an operation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    /// The broker's account id (numeric for Tradovate, `U1234567` for IB…).
    pub id: String,
    /// The broker's account name/spec where it differs from the id.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerAccountInfo {
    pub id: String,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub currency: String,
    pub amount: Decimal,
}

/// The result of "test connection": who, which accounts, balances, rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionReport {
    pub user_id: String,
    pub user_name: String,
    pub accounts: Vec<BrokerAccountInfo>,
    /// Balances of the first (or only) account.
    pub balances: Vec<Balance>,
    pub can_trade: bool,
    /// Anything the user should know (read-only key, IP restriction…).
    pub notes: Vec<String>,
}

pub use atomik_domain::sizing::{QuantityUnit, Side};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OrderType {
    Market,
    Limit { price: Decimal },
}

/// A resolved, tradable instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instrument {
    /// What atomik calls it now: the broker's name, qualified by market
    /// where one broker has several (`MNQZ6`, `BTCUSDT`, `BTCUSDT.P`).
    pub symbol: String,
    /// The broker's id for it, when it has one (Tradovate contract id,
    /// Binance symbol).
    pub broker_id: Option<String>,
    /// Smallest tradable quantity increment (1 for futures contracts).
    pub quantity_step: Decimal,
    /// Whether a position may go short (futures yes; spot crypto and
    /// prediction markets no).
    pub can_short: bool,
    /// The venue's own largest single order, where it publishes one
    /// (Binance's `MARKET_LOT_SIZE`); the default max order size of a
    /// strategy derives from it ([`atomik_domain::risk::default_max_order`]).
    pub max_order_quantity: Option<Decimal>,
    /// Buys may be sized by the collateral they spend
    /// ([`QuantityUnit::Collateral`]; Polymarket).
    pub collateral_orders: bool,
}

impl Instrument {
    /// What the strategy rules need to know of this market.
    pub fn market_rules(&self) -> atomik_domain::risk::MarketRules {
        atomik_domain::risk::MarketRules {
            quantity_step: self.quantity_step,
            venue_max_order: self.max_order_quantity,
            collateral_orders: self.collateral_orders,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub client_order_id: String,
    /// When the intent was created (ms): brokers whose order identity is a
    /// hash of the order (Polymarket) fix its timestamp to this.
    pub created_at_ms: i64,
    pub instrument: Instrument,
    pub side: Side,
    pub quantity: Decimal,
    /// What `quantity` counts: units, or the collateral a buy spends (only
    /// on instruments with [`Instrument::collateral_orders`]).
    pub quantity_unit: QuantityUnit,
    pub order_type: OrderType,
    /// The order may only reduce the position (exits); brokers that support
    /// it refuse an order that would grow or flip it.
    pub reduce_only: bool,
    /// The price the alert carried, if any (Polymarket: the worst price a
    /// market order may fill at).
    pub alert_price: Option<Decimal>,
    /// The order as [`crate::Broker::prepare_order`] built it, when the
    /// broker prepares orders.
    pub prepared: Option<PreparedOrder>,
}

impl OrderRequest {
    /// For brokers that size every order in units: refuses (never sends) an
    /// order sized in collateral, should one ever reach them.
    pub fn units_only(&self) -> Result<(), crate::BrokerError> {
        match self.quantity_unit {
            QuantityUnit::Units => Ok(()),
            QuantityUnit::Collateral => Err(crate::BrokerError::Rejected {
                code: None,
                reason: format!(
                    "{} cannot be ordered by an amount of collateral at this broker; set the strategy's quantity unit to units",
                    self.instrument.symbol
                ),
            }),
        }
    }
}

/// An order built and signed before it is sent, so that its id at the
/// broker is known (and stored) before it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedOrder {
    /// The id the broker will know it by (Polymarket: the order hash).
    pub broker_order_id: String,
    /// What is sent, exactly (a signed order: nothing secret).
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAck {
    pub broker_order_id: String,
    /// What the broker reported filled by the time it answered, if anything.
    pub fill: Option<Fill>,
}

/// A fill as the broker reports it: quantity and average price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub quantity: Decimal,
    pub average_price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Pending,
    Working,
    Filled,
    Canceled,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    pub broker_order_id: String,
    pub client_order_id: String,
    pub state: OrderState,
    pub filled_quantity: Decimal,
    pub average_price: Option<Decimal>,
    /// The broker's reason, for rejected orders.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    pub symbol: String,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    pub average_price: Option<Decimal>,
}
