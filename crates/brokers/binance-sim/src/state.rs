//! The simulator's authoritative state: accounts (spot balances, futures
//! wallet and positions), the order ledger with matching, and the meters.

use std::collections::BTreeMap;
use std::time::Instant;

use ed25519_dalek::VerifyingKey;
use rust_decimal::Decimal;

use crate::limits::{Limits, OrderLimit};
use crate::reply::{Result, bad, unknown_order};
use crate::sign::{self, KeyError};
use crate::{Market, SimConfig, SimKey, SimOrder, SimSecret, SimSymbol};

/// Futures leverage (one-way mode, cross margin).
pub const LEVERAGE: i64 = 20;

#[derive(Clone)]
pub enum Verifier {
    Hmac(Vec<u8>),
    Ed25519(VerifyingKey),
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Position {
    pub amt: Decimal,
    pub entry: Decimal,
    pub update_ms: i64,
}

pub struct Account {
    pub key: SimKey,
    pub verifier: Verifier,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub spot: BTreeMap<String, Balance>,
    pub wallet: Decimal,
    pub positions: BTreeMap<String, Position>,
}

pub struct Order {
    pub rec: SimOrder,
    pub time_in_force: String,
    pub orig_quote_qty: Decimal,
    pub cum_quote: Decimal,
    pub fill_price: Option<Decimal>,
    pub trade_id: Option<i64>,
    /// Futures: the PnL the fill realized (closing part of a position).
    pub realized_pnl: Decimal,
    /// Spot funds held while open (quote for BUY, base for SELL).
    pub locked: Decimal,
    pub update_ms: i64,
}

impl Order {
    pub fn is_open(&self) -> bool {
        self.rec.status == "NEW"
    }

    pub fn is_buy(&self) -> bool {
        self.rec.side == "BUY"
    }
}

/// A validated new order.
pub struct Placement {
    pub market: Market,
    pub api_key: String,
    pub symbol: String,
    pub buy: bool,
    /// `None` for MARKET.
    pub limit_price: Option<Decimal>,
    pub time_in_force: String,
    pub qty: Decimal,
    pub orig_quote_qty: Decimal,
    pub client_order_id: String,
    pub reduce_only: bool,
}

/// How a request names an order.
pub enum OrderRef<'a> {
    Id(i64),
    Client(&'a str),
}

pub struct State {
    pub accounts: Vec<Account>,
    pub symbols: Vec<SimSymbol>,
    pub orders: Vec<Order>,
    pub limits: Limits,
    pub rejections: Vec<(u16, i64)>,
    next_order_id: i64,
    next_trade_id: i64,
}

fn signed_qty(buy: bool, qty: Decimal) -> Decimal {
    if buy { qty } else { -qty }
}

/// Whether a signed order quantity only reduces the position `pos`.
fn reduces(pos: Decimal, delta: Decimal) -> bool {
    !pos.is_zero() && pos.is_sign_negative() != delta.is_sign_negative() && delta.abs() <= pos.abs()
}

fn verifier(secret: &SimSecret) -> std::result::Result<Verifier, KeyError> {
    Ok(match secret {
        SimSecret::Hmac(s) => Verifier::Hmac(s.as_bytes().to_vec()),
        SimSecret::Ed25519 { public_key } => {
            Verifier::Ed25519(sign::ed25519_public_key(public_key)?)
        }
    })
}

impl State {
    pub fn new(config: &SimConfig, now: i64) -> std::result::Result<State, KeyError> {
        let mut state = State {
            accounts: Vec::new(),
            symbols: config.symbols.clone(),
            orders: Vec::new(),
            limits: Limits::default(),
            rejections: Vec::new(),
            next_order_id: 1_000_000,
            next_trade_id: 500_000,
        };
        for key in &config.keys {
            state.add_account(key.clone(), now)?;
        }
        Ok(state)
    }

    pub fn add_account(&mut self, key: SimKey, now: i64) -> std::result::Result<(), KeyError> {
        if self.account(&key.api_key).is_some() {
            return Err(KeyError(format!("API key {} already exists", key.api_key)));
        }
        let assets = self
            .symbols
            .iter()
            .filter(|s| s.spot)
            .flat_map(|s| [s.base.clone(), s.quote.clone()]);
        let mut spot: BTreeMap<String, Balance> = assets.map(|a| (a, Balance::default())).collect();
        for (asset, free) in &key.spot_balances {
            spot.entry(asset.clone()).or_default().free += *free;
        }
        self.accounts.push(Account {
            verifier: verifier(&key.secret)?,
            wallet: key.futures_wallet_usdt,
            key,
            created_ms: now,
            updated_ms: now,
            spot,
            positions: BTreeMap::new(),
        });
        Ok(())
    }

    pub fn account(&self, api_key: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.key.api_key == api_key)
    }

    fn account_mut(&mut self, api_key: &str) -> &mut Account {
        self.accounts
            .iter_mut()
            .find(|a| a.key.api_key == api_key)
            .expect("orders belong to known accounts")
    }

    /// A symbol listed on `market`.
    pub fn listed(&self, symbol: &str, market: Market) -> Option<&SimSymbol> {
        self.symbols.iter().find(|s| {
            s.symbol == symbol
                && match market {
                    Market::Spot => s.spot,
                    Market::Futures => s.futures,
                }
        })
    }

    fn symbol(&self, symbol: &str) -> &SimSymbol {
        self.symbols
            .iter()
            .find(|s| s.symbol == symbol)
            .expect("orders name listed symbols")
    }

    pub fn spot_balance(&self, api_key: &str, asset: &str) -> Balance {
        self.account(api_key)
            .and_then(|a| a.spot.get(asset).copied())
            .unwrap_or_default()
    }

    pub fn position(&self, api_key: &str, symbol: &str) -> Position {
        self.account(api_key)
            .and_then(|a| a.positions.get(symbol).copied())
            .unwrap_or_default()
    }

    pub fn ledger(&self) -> Vec<SimOrder> {
        self.orders.iter().map(|o| o.rec.clone()).collect()
    }

    fn mine<'a>(
        &'a self,
        market: Market,
        api_key: &'a str,
    ) -> impl DoubleEndedIterator<Item = (usize, &'a Order)> + 'a {
        self.orders
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.rec.market == market && o.rec.api_key == api_key)
    }

    /// The account's order on `symbol`; by client id, the newest one.
    pub fn find(&self, market: Market, api_key: &str, symbol: &str, r: OrderRef) -> Option<usize> {
        self.mine(market, api_key)
            .rev()
            .filter(|(_, o)| o.rec.symbol == symbol)
            .find(|(_, o)| match r {
                OrderRef::Id(id) => o.rec.order_id == id,
                OrderRef::Client(cid) => o.rec.client_order_id == cid,
            })
            .map(|(i, _)| i)
    }

    pub fn open_orders<'a>(
        &'a self,
        market: Market,
        api_key: &'a str,
        symbol: Option<&str>,
    ) -> Vec<&'a Order> {
        self.mine(market, api_key)
            .map(|(_, o)| o)
            .filter(|o| o.is_open() && symbol.is_none_or(|s| o.rec.symbol == s))
            .collect()
    }

    /// Accept, count and match a new order; its index and the order counts.
    pub fn place(
        &mut self,
        p: Placement,
        now: i64,
        limits: &[OrderLimit],
    ) -> Result<(usize, Vec<(&'static str, u32)>)> {
        let market_price = self.symbol(&p.symbol).price;
        let duplicate = self
            .mine(p.market, &p.api_key)
            .any(|(_, o)| o.is_open() && o.rec.client_order_id == p.client_order_id);
        if duplicate {
            return Err(match p.market {
                Market::Spot => bad(-2010, "Duplicate order sent."),
                Market::Futures => bad(-4116, "ClientOrderId is duplicated."),
            });
        }
        let hold = match p.market {
            Market::Spot => Some(self.spot_hold(&p, market_price)?),
            Market::Futures => {
                self.check_futures(&p, market_price)?;
                None
            }
        };
        let counts = self.limits.take_order(p.market, &p.api_key, limits, now)?;
        let locked = hold.map_or(Decimal::ZERO, |(asset, amount)| {
            let account = self.account_mut(&p.api_key);
            let b = account.spot.entry(asset).or_default();
            b.free -= amount;
            b.locked += amount;
            account.updated_ms = now;
            amount
        });
        self.next_order_id += 1;
        self.orders.push(Order {
            rec: SimOrder {
                market: p.market,
                api_key: p.api_key,
                symbol: p.symbol,
                order_id: self.next_order_id,
                client_order_id: p.client_order_id,
                side: if p.buy { "BUY" } else { "SELL" }.into(),
                order_type: if p.limit_price.is_some() {
                    "LIMIT"
                } else {
                    "MARKET"
                }
                .into(),
                quantity: p.qty,
                price: p.limit_price,
                status: "NEW".into(),
                executed_qty: Decimal::ZERO,
                reduce_only: p.reduce_only,
                received_at_ms: now,
                received_at: Instant::now(),
            },
            time_in_force: p.time_in_force,
            orig_quote_qty: p.orig_quote_qty,
            cum_quote: Decimal::ZERO,
            fill_price: None,
            trade_id: None,
            realized_pnl: Decimal::ZERO,
            locked,
            update_ms: now,
        });
        let idx = self.orders.len() - 1;
        self.match_new(idx, market_price, now);
        Ok((idx, counts))
    }

    /// The spot asset and amount an order holds; refuses what the account lacks.
    fn spot_hold(&self, p: &Placement, market_price: Decimal) -> Result<(String, Decimal)> {
        let sym = self.symbol(&p.symbol);
        let (asset, amount) = if p.buy {
            let price = p.limit_price.unwrap_or(market_price);
            (sym.quote.clone(), p.qty * price)
        } else {
            (sym.base.clone(), p.qty)
        };
        if self.spot_balance(&p.api_key, &asset).free < amount {
            return Err(bad(
                -2010,
                "Account has insufficient balance for requested action.",
            ));
        }
        Ok((asset, amount))
    }

    fn check_futures(&self, p: &Placement, market_price: Decimal) -> Result<()> {
        let pos = self.position(&p.api_key, &p.symbol).amt;
        let delta = signed_qty(p.buy, p.qty);
        if reduces(pos, delta) {
            return Ok(());
        }
        if p.reduce_only {
            return Err(bad(-2022, "ReduceOnly Order is rejected."));
        }
        let margin = p.qty * p.limit_price.unwrap_or(market_price) / Decimal::from(LEVERAGE);
        if margin > self.futures_available(&p.api_key) {
            return Err(bad(-2019, "Margin is insufficient."));
        }
        Ok(())
    }

    pub fn unrealized(&self, symbol: &str, pos: &Position) -> Decimal {
        (self.symbol(symbol).price - pos.entry) * pos.amt
    }

    /// Initial margin of the account's futures positions.
    pub fn position_margin(&self, api_key: &str) -> Decimal {
        self.account(api_key).map_or(Decimal::ZERO, |a| {
            a.positions
                .iter()
                .map(|(s, p)| p.amt.abs() * self.symbol(s).price / Decimal::from(LEVERAGE))
                .sum()
        })
    }

    /// Initial margin of open futures orders (all symbols, or one).
    pub fn order_margin(&self, api_key: &str, symbol: Option<&str>) -> Decimal {
        self.open_orders(Market::Futures, api_key, symbol)
            .iter()
            .filter(|o| !o.rec.reduce_only)
            .map(|o| o.rec.quantity * o.rec.price.unwrap_or_default() / Decimal::from(LEVERAGE))
            .sum()
    }

    /// Wallet + unrealized PnL − position margin − open order margin.
    pub fn futures_available(&self, api_key: &str) -> Decimal {
        let wallet = self.account(api_key).map_or(Decimal::ZERO, |a| a.wallet);
        wallet + self.futures_unrealized(api_key)
            - self.position_margin(api_key)
            - self.order_margin(api_key, None)
    }

    /// Total unrealized PnL of the account's futures positions.
    pub fn futures_unrealized(&self, api_key: &str) -> Decimal {
        self.account(api_key).map_or(Decimal::ZERO, |a| {
            a.positions.iter().map(|(s, p)| self.unrealized(s, p)).sum()
        })
    }

    fn marketable(o: &Order, price: Decimal) -> bool {
        match o.rec.price {
            None => true,
            Some(limit) if o.is_buy() => limit >= price,
            Some(limit) => limit <= price,
        }
    }

    /// Fill a marketable new order at the market price, expire what its
    /// time in force forbids to rest (or, for GTX, to take), else rest it.
    fn match_new(&mut self, idx: usize, market_price: Decimal, now: i64) {
        let o = &self.orders[idx];
        let marketable = Self::marketable(o, market_price);
        match (marketable, o.time_in_force.as_str()) {
            (true, "GTX") | (false, "IOC" | "FOK") => self.close(idx, "EXPIRED", now),
            (true, _) => self.fill(idx, market_price, now),
            (false, _) => {}
        }
    }

    /// Cancel an open order, releasing what it held.
    pub fn cancel(&mut self, idx: usize, now: i64) -> Result<()> {
        if !self.orders[idx].is_open() {
            return Err(unknown_order());
        }
        self.close(idx, "CANCELED", now);
        Ok(())
    }

    fn close(&mut self, idx: usize, status: &str, now: i64) {
        self.release(idx, now);
        let o = &mut self.orders[idx];
        o.rec.status = status.into();
        o.update_ms = now;
    }

    /// Return an order's held spot funds to free.
    fn release(&mut self, idx: usize, now: i64) {
        let o = &self.orders[idx];
        let (held, buy, key) = (o.locked, o.is_buy(), o.rec.api_key.clone());
        if held.is_zero() {
            return;
        }
        let sym = self.symbol(&o.rec.symbol);
        let asset = if buy {
            sym.quote.clone()
        } else {
            sym.base.clone()
        };
        let account = self.account_mut(&key);
        let b = account.spot.entry(asset).or_default();
        b.locked -= held;
        b.free += held;
        account.updated_ms = now;
        self.orders[idx].locked = Decimal::ZERO;
    }

    fn fill(&mut self, idx: usize, price: Decimal, now: i64) {
        self.release(idx, now);
        let o = &self.orders[idx];
        let (market, key, buy, qty) = (
            o.rec.market,
            o.rec.api_key.clone(),
            o.is_buy(),
            o.rec.quantity,
        );
        let sym = self.symbol(&o.rec.symbol).clone();
        let realized = match market {
            Market::Spot => {
                self.settle_spot(&key, &sym, buy, qty, price, now);
                Decimal::ZERO
            }
            Market::Futures => {
                self.settle_futures(&key, &sym.symbol, signed_qty(buy, qty), price, now)
            }
        };
        self.next_trade_id += 1;
        let o = &mut self.orders[idx];
        o.rec.status = "FILLED".into();
        o.rec.executed_qty = qty;
        o.cum_quote = qty * price;
        o.fill_price = Some(price);
        o.trade_id = Some(self.next_trade_id);
        o.realized_pnl = realized;
        o.update_ms = now;
    }

    fn settle_spot(
        &mut self,
        key: &str,
        sym: &SimSymbol,
        buy: bool,
        qty: Decimal,
        price: Decimal,
        now: i64,
    ) {
        let account = self.account_mut(key);
        let (base, quote) = (signed_qty(buy, qty), -signed_qty(buy, qty * price));
        account.spot.entry(sym.base.clone()).or_default().free += base;
        account.spot.entry(sym.quote.clone()).or_default().free += quote;
        account.updated_ms = now;
    }

    fn settle_futures(
        &mut self,
        key: &str,
        symbol: &str,
        delta: Decimal,
        price: Decimal,
        now: i64,
    ) -> Decimal {
        let account = self.account_mut(key);
        let pos = account.positions.entry(symbol.to_string()).or_default();
        let mut realized = Decimal::ZERO;
        let old = pos.amt;
        let new = old + delta;
        if old.is_zero() || old.is_sign_negative() == delta.is_sign_negative() {
            pos.entry = (old.abs() * pos.entry + delta.abs() * price) / new.abs();
        } else {
            let closed = signed_qty(!old.is_sign_negative(), delta.abs().min(old.abs()));
            realized = (price - pos.entry) * closed;
            account.wallet += realized;
            if new.is_zero() {
                pos.entry = Decimal::ZERO;
            } else if new.is_sign_negative() != old.is_sign_negative() {
                pos.entry = price;
            }
        }
        pos.amt = new;
        pos.update_ms = now;
        account.updated_ms = now;
        realized
    }

    /// Base volume, quote volume and number of fills on `symbol` of `market`
    /// over the 24 hours before `now` (every account).
    pub fn volume_24h(&self, market: Market, symbol: &str, now: i64) -> (Decimal, Decimal, i64) {
        self.orders
            .iter()
            .filter(|o| o.rec.market == market && o.rec.symbol == symbol)
            .filter(|o| o.trade_id.is_some() && o.update_ms > now - 86_400_000)
            .fold((Decimal::ZERO, Decimal::ZERO, 0), |(v, q, n), o| {
                (v + o.rec.executed_qty, q + o.cum_quote, n + 1)
            })
    }

    /// The account's orders on `symbol` of `market`, oldest first.
    pub fn orders_of<'a>(
        &'a self,
        market: Market,
        api_key: &'a str,
        symbol: &'a str,
    ) -> impl Iterator<Item = &'a Order> + 'a {
        self.mine(market, api_key)
            .map(|(_, o)| o)
            .filter(move |o| o.rec.symbol == symbol)
    }

    /// Move a price; resting LIMIT orders it crosses fill at their own price
    /// (a futures reduce-only order that would no longer reduce expires).
    pub fn set_price(&mut self, symbol: &str, price: Decimal, now: i64) {
        let Some(sym) = self.symbols.iter_mut().find(|s| s.symbol == symbol) else {
            return;
        };
        sym.price = price;
        let crossed: Vec<usize> = (0..self.orders.len())
            .filter(|&i| {
                let o = &self.orders[i];
                o.is_open() && o.rec.symbol == symbol && Self::marketable(o, price)
            })
            .collect();
        for idx in crossed {
            let o = &self.orders[idx];
            let pos = self.position(&o.rec.api_key, symbol).amt;
            let delta = signed_qty(o.is_buy(), o.rec.quantity);
            if o.rec.market == Market::Futures && o.rec.reduce_only && !reduces(pos, delta) {
                self.close(idx, "EXPIRED", now);
            } else {
                let limit = o.rec.price.expect("resting orders are limit orders");
                self.fill(idx, limit, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_only_means_toward_zero_without_flipping() {
        let d = Decimal::from;
        assert!(reduces(d(2), d(-1)));
        assert!(reduces(d(2), d(-2)));
        assert!(!reduces(d(2), d(-3)));
        assert!(!reduces(d(2), d(1)));
        assert!(!reduces(d(0), d(-1)));
        assert!(reduces(d(-2), d(1)));
    }
}
