//! A Polymarket CLOB simulator speaking the CLOB's REST protocol, so that
//! Polymarket's official V2 Rust client trades against it with only its host
//! changed: L1 (`ClobAuth` EIP-712) and L2 (HMAC) auth, the market
//! information the client reads before signing, EIP-712 orders (V2, or V1
//! when `/version` says 1) verified against the right exchange for the
//! market's neg-risk flag, a per-token order book with resting liquidity
//! (GTC/GTD/FOK/FAK), balances per funder, an order and trade ledger, and
//! fault injection (see [`PolymarketFault`] and `atomik-simkit`).
//!
//! Decisions where Polymarket documents nothing precise:
//! - Amounts are in units of 10^6 (collateral and shares). A BUY's limit
//!   price is makerAmount / takerAmount and it wants takerAmount shares; a
//!   SELL's is takerAmount / makerAmount for makerAmount shares. Fills happen
//!   at the resting order's price, best price first then oldest; no fees.
//! - Tick alignment is checked on GTC/GTD prices; every price must lie in
//!   [tick, 1 − tick]. Size must be at least the market's minimum order size
//!   (shares) for limit orders.
//! - A BUY needs collateral ≥ makerAmount beyond what the funder's open BUY
//!   orders reserve; a SELL needs the shares beyond open SELL orders.
//! - The seeded book liquidity belongs to the house, which has no balances.
//! - Status `matched` when anything filled, `live` when it rests unfilled,
//!   `delayed` under the delayed fault (matched later by
//!   [`SimHandle::release_delayed`]).
//! - `POST /auth/api-key` creates the key for (address, nonce) and refuses a
//!   second create; `GET /auth/derive-api-key` returns the same credentials
//!   for (address, nonce) every time (derived from the config's seed).
//! - L2: the HMAC is checked over the path without query and the body bytes
//!   as received (also with `'` → `"` as the official clients sign it); the
//!   timestamp is not range-checked.
//! - Faults (see `atomik-simkit`) hit `POST /order` only; reads and cancels
//!   are never disturbed unless trading is disabled ([`TradingMode`]).
//! - POLY_1271 (deposit wallet, signature type 3) orders are refused.
//! - `POST /orders` takes 1 to 15 orders and answers one entry per order
//!   (`success: false` with `errorMsg` for a refused one); a fault hits the
//!   whole batch.
//!
//! - The market-data (Gamma) API's `GET /markets?slug=` is served under
//!   `/gamma`, the Data API's `GET /positions?user=` under `/data-api`.
//!
//! Control and ledger over HTTP (no auth): `GET /_sim/orders`, `GET /_sim/trades`,
//! `GET|POST /_sim/balances` (`{"address", "collateral"?, "positions"?: [{"token_id",
//! "shares"}]}`), `POST /_sim/funders` (`{"signer", "funder"}`), `POST /_sim/book`
//! (house liquidity `{"token_id", "side", "price", "size"}`), `POST
//! /_sim/release-delayed`, `GET|POST /_sim/trading-mode` (`{"mode": "open" |
//! "cancel_only" | "disabled"}`), `POST /_sim/venue-faults` (`{"kind":
//! "trading_disabled" | "cancel_only" | "delayed", "count"?}`) and simkit's
//! `/_sim/faults`.

mod auth;
mod book;
mod control;
mod gamma;
mod market;
mod orders;
mod reply;
mod routes;
pub mod sign;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, U256, address, keccak256};
use atomik_broker::Clock;
use rust_decimal::Decimal;

pub use alloy_primitives::Address as EvmAddress;

/// Polymarket's own faults (beside simkit's venue-neutral ones), one call each.
#[derive(Debug, Clone, PartialEq)]
pub enum PolymarketFault {
    /// 503 `Trading is currently disabled. Check polymarket.com for updates`.
    TradingDisabled,
    /// 503 `Trading is currently cancel-only. …`.
    CancelOnly,
    /// The order is accepted with status `delayed` and not matched until
    /// [`SimHandle::release_delayed`].
    Delayed,
}

impl atomik_simkit::VenueFault for PolymarketFault {
    fn kind(&self) -> &'static str {
        match self {
            PolymarketFault::TradingDisabled => "trading_disabled",
            PolymarketFault::CancelOnly => "cancel_only",
            PolymarketFault::Delayed => "delayed",
        }
    }
}

pub type Fault = atomik_simkit::Fault<PolymarketFault>;
pub type Faults = atomik_simkit::Faults<PolymarketFault>;

/// A lasting trading state (as opposed to one-call faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradingMode {
    #[default]
    Open,
    /// New orders refused (503), cancels allowed.
    CancelOnly,
    /// New orders and cancels refused (503).
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimToken {
    /// Decimal U256, as the CLOB writes token ids.
    pub token_id: String,
    pub outcome: String,
    /// Shown by `/markets`.
    pub price: Decimal,
}

#[derive(Debug, Clone)]
pub struct SimMarket {
    /// 0x + 64 hex.
    pub condition_id: String,
    pub question: String,
    pub slug: String,
    /// Two outcomes (YES first).
    pub tokens: Vec<SimToken>,
    /// One of 0.1, 0.01, 0.001, 0.0001.
    pub tick_size: Decimal,
    /// In shares.
    pub min_order_size: Decimal,
    /// Orders sign against the neg-risk exchange.
    pub neg_risk: bool,
    pub active: bool,
}

impl SimMarket {
    /// A market whose ids derive from its slug (condition = keccak("condition:" + slug),
    /// token = keccak(slug + ":" + outcome) as a decimal U256).
    pub fn new(
        slug: &str,
        question: &str,
        outcomes: [(&str, Decimal); 2],
        tick: Decimal,
        neg_risk: bool,
    ) -> Self {
        SimMarket {
            condition_id: keccak256(format!("condition:{slug}")).to_string(),
            question: question.into(),
            slug: slug.into(),
            tokens: outcomes
                .iter()
                .map(|(o, price)| SimToken {
                    token_id: U256::from_be_bytes(keccak256(format!("{slug}:{o}")).0).to_string(),
                    outcome: (*o).into(),
                    price: *price,
                })
                .collect(),
            tick_size: tick,
            min_order_size: Decimal::from(5),
            neg_risk,
            active: true,
        }
    }
}

/// Resting house liquidity seeded at start.
#[derive(Debug, Clone)]
pub struct SimLevel {
    pub token_id: String,
    pub side: Side,
    pub price: Decimal,
    pub size: Decimal,
}

/// The verifying contracts orders are signed against.
#[derive(Debug, Clone, Copy)]
pub struct Exchanges {
    pub v1: Address,
    pub v1_neg_risk: Address,
    pub v2: Address,
    pub v2_neg_risk: Address,
}

impl Exchanges {
    /// Polygon (137) per BROKERS.md §4.1.
    pub const POLYGON: Exchanges = Exchanges {
        v1: address!("0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"),
        v1_neg_risk: address!("0xC5d563A36AE78145C45a50134d48A1215220f80a"),
        v2: address!("0xE111180000d2663C0091e4f400237545B87B996B"),
        v2_neg_risk: address!("0xe2222d279d744050d28e00520010520000310F59"),
    };
}

#[derive(Clone)]
pub struct SimConfig {
    pub clock: Arc<dyn Clock>,
    pub chain_id: u64,
    pub exchanges: Exchanges,
    /// What `/version` reports: 2 (V2 orders) or 1 (V1 orders).
    pub version: u32,
    pub markets: Vec<SimMarket>,
    pub liquidity: Vec<SimLevel>,
    /// Proxy/Safe funder registered for each signer (signature types 1 and 2).
    pub funders: BTreeMap<Address, Address>,
    /// Collateral per funder (EOA: the signer), in pUSD.
    pub collateral: BTreeMap<Address, Decimal>,
    /// Outcome-token balances per (funder, token id), in shares.
    pub positions: BTreeMap<(Address, String), Decimal>,
    /// Seed of the deterministic API credentials.
    pub credential_seed: Vec<u8>,
}

impl SimConfig {
    /// Demo credential (Hardhat/Anvil account #1, public knowledge; never fund it
    /// on a real chain): the demo wallet's private key.
    pub const DEMO_PRIVATE_KEY: &'static str =
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    pub const DEMO_ADDRESS: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    pub const RAIN: &'static str = "will-it-rain-tomorrow";
    pub const ELECTION: &'static str = "who-wins-the-2028-election-alice";

    /// Polygon 137, `/version` 2; `will-it-rain-tomorrow` (YES/NO, tick 0.01)
    /// and the neg-risk `who-wins-the-2028-election-alice` (tick 0.001), each
    /// with house liquidity on both sides; the demo wallet (EOA) holds 1,000
    /// pUSD and 100 YES of the rain market.
    pub fn demo(clock: Arc<dyn Clock>) -> Self {
        let d = |s: &str| s.parse::<Decimal>().expect("demo decimal");
        let rain = SimMarket::new(
            Self::RAIN,
            "Will it rain tomorrow?",
            [("Yes", d("0.55")), ("No", d("0.45"))],
            d("0.01"),
            false,
        );
        let election = SimMarket::new(
            Self::ELECTION,
            "Will Alice win the 2028 election?",
            [("Yes", d("0.3")), ("No", d("0.7"))],
            d("0.001"),
            true,
        );
        let level = |m: &SimMarket, i: usize, side, price: &str, size: &str| SimLevel {
            token_id: m.tokens[i].token_id.clone(),
            side,
            price: d(price),
            size: d(size),
        };
        let liquidity = vec![
            level(&rain, 0, Side::Sell, "0.56", "200"),
            level(&rain, 0, Side::Sell, "0.58", "300"),
            level(&rain, 0, Side::Buy, "0.54", "200"),
            level(&rain, 0, Side::Buy, "0.52", "300"),
            level(&rain, 1, Side::Sell, "0.46", "200"),
            level(&rain, 1, Side::Buy, "0.44", "200"),
            level(&election, 0, Side::Sell, "0.305", "100"),
            level(&election, 0, Side::Buy, "0.295", "100"),
            level(&election, 1, Side::Sell, "0.705", "100"),
            level(&election, 1, Side::Buy, "0.695", "100"),
        ];
        let mut positions = BTreeMap::new();
        positions.insert(
            (Self::DEMO_ADDRESS, rain.tokens[0].token_id.clone()),
            d("100"),
        );
        SimConfig {
            clock,
            chain_id: 137,
            exchanges: Exchanges::POLYGON,
            version: 2,
            markets: vec![rain, election],
            liquidity,
            funders: BTreeMap::new(),
            collateral: BTreeMap::from([(Self::DEMO_ADDRESS, d("1000"))]),
            positions,
            credential_seed: b"atomik-polymarket-sim".to_vec(),
        }
    }

    pub fn market(&self, slug: &str) -> Option<&SimMarket> {
        self.markets.iter().find(|m| m.slug == slug)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Live,
    Matched,
    Canceled,
    Delayed,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Live => "LIVE",
            OrderStatus::Matched => "MATCHED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Delayed => "DELAYED",
        }
    }
}

/// An order as the simulator recorded it.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// The EIP-712 order hash.
    pub id: String,
    /// The API key that posted it.
    pub owner: String,
    pub maker: Address,
    pub signer: Address,
    pub signature_type: u8,
    /// 1 or 2.
    pub version: u8,
    pub token_id: String,
    pub condition_id: String,
    pub outcome: String,
    pub side: Side,
    pub price: Decimal,
    pub original_size: Decimal,
    pub size_matched: Decimal,
    pub status: OrderStatus,
    /// GTC, GTD, FOK or FAK.
    pub order_type: String,
    /// Unix seconds (0 = none).
    pub expiration: u64,
    pub created_at_ms: i64,
    /// When its `POST` reached the simulator (monotonic; for latency figures).
    pub arrived: std::time::Instant,
    pub trade_ids: Vec<String>,
}

/// A fill between a taker order and a resting order (the house's or a user's).
#[derive(Debug, Clone)]
pub struct SimTrade {
    pub id: String,
    pub taker_order_id: String,
    pub maker_order_id: String,
    pub token_id: String,
    pub condition_id: String,
    pub outcome: String,
    /// The taker's side.
    pub side: Side,
    pub price: Decimal,
    pub size: Decimal,
    pub taker_owner: String,
    pub taker_address: Address,
    /// None for house liquidity.
    pub maker_owner: Option<String>,
    pub maker_address: Option<Address>,
    pub match_time_ms: i64,
    pub transaction_hash: String,
}

pub(crate) struct Shared {
    pub config: SimConfig,
    pub state: Mutex<state::State>,
    pub faults: Faults,
    pub mode: Mutex<TradingMode>,
}

impl Shared {
    pub fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, state::State> {
        self.state.lock().expect("sim state")
    }

    pub fn mode(&self) -> TradingMode {
        *self.mode.lock().expect("mode")
    }
}

impl atomik_simkit::HasFaults<PolymarketFault> for Shared {
    fn faults(&self) -> &Faults {
        &self.faults
    }
}

/// A running simulator.
pub struct SimHandle {
    served: atomik_simkit::Served,
    shared: Arc<Shared>,
}

pub async fn start(config: SimConfig, bind: SocketAddr) -> std::io::Result<SimHandle> {
    let state = state::State::new(&config);
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        config,
        faults: Faults::default(),
        mode: Mutex::new(TradingMode::Open),
    });
    let served = atomik_simkit::Served::start(bind, routes::service(shared.clone())).await?;
    Ok(SimHandle { served, shared })
}

impl SimHandle {
    /// The CLOB host (the official client wants it with or without a trailing `/`).
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// One-call faults on `POST /order`; counts what fired.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    pub fn set_trading_mode(&self, mode: TradingMode) {
        *self.shared.mode.lock().expect("mode") = mode;
    }

    /// The order ledger, in arrival order.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.state().orders.clone()
    }

    pub fn order(&self, id: &str) -> Option<SimOrder> {
        self.shared
            .state()
            .orders
            .iter()
            .find(|o| o.id == id)
            .cloned()
    }

    pub fn trades(&self) -> Vec<SimTrade> {
        self.shared.state().trades.clone()
    }

    pub fn collateral(&self, funder: Address) -> Decimal {
        self.shared.state().collateral(funder)
    }

    pub fn set_collateral(&self, funder: Address, amount: Decimal) {
        self.shared.state().collateral.insert(funder, amount);
    }

    pub fn position(&self, funder: Address, token_id: &str) -> Decimal {
        self.shared.state().position(funder, token_id)
    }

    pub fn set_position(&self, funder: Address, token_id: &str, shares: Decimal) {
        self.shared
            .state()
            .positions
            .insert((funder, token_id.to_string()), shares);
    }

    /// How many API keys the CLOB holds.
    pub fn api_keys(&self) -> usize {
        self.shared.state().keys.len()
    }

    /// Delete every API key (as a user deleting them from another tool).
    pub fn delete_api_keys(&self) {
        self.shared.state().keys.clear();
    }

    /// Register `funder` as the proxy/Safe wallet of `signer`.
    pub fn set_funder(&self, signer: Address, funder: Address) {
        self.shared.state().funders.insert(signer, funder);
    }

    /// Add house liquidity.
    pub fn add_liquidity(&self, level: SimLevel) {
        self.shared.state().add_house(&level);
    }

    /// Match the orders accepted as `delayed`, oldest first; returns how many.
    pub fn release_delayed(&self) -> usize {
        let now = self.shared.now_ms();
        self.shared.state().release_delayed(now)
    }

    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}
