//! The authoritative state: API keys, balances per funder, the order ledger,
//! trades and the book; order placement, matching, settlement and cancels.

use std::collections::BTreeMap;

use alloy_primitives::{Address, keccak256};
use rust_decimal::Decimal;

use crate::book::{Book, Resting};
use crate::reply::ApiError;
use crate::{OrderStatus, Side, SimConfig, SimLevel, SimMarket, SimOrder, SimTrade};

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub key: String,
    pub secret: String,
    pub passphrase: String,
    pub address: Address,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Gtc,
    Gtd,
    Fok,
    Fak,
}

impl OrderType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "GTC" => OrderType::Gtc,
            "GTD" => OrderType::Gtd,
            "FOK" => OrderType::Fok,
            "FAK" => OrderType::Fak,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Gtd => "GTD",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }

    pub fn rests(self) -> bool {
        matches!(self, OrderType::Gtc | OrderType::Gtd)
    }
}

/// A validated, signed order about to be placed.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: String,
    pub owner: String,
    pub maker: Address,
    pub signer: Address,
    pub signature_type: u8,
    pub version: u8,
    pub market: SimMarket,
    pub token_id: String,
    pub outcome: String,
    pub side: Side,
    /// The limit (BUY: most paid, SELL: least received) per share.
    pub price: Decimal,
    /// Shares.
    pub size: Decimal,
    /// BUY: collateral the order may spend; SELL: shares it sells.
    pub maker_amount: Decimal,
    pub order_type: OrderType,
    pub post_only: bool,
    pub expiration: u64,
    /// When its `POST` reached the simulator.
    pub arrived: std::time::Instant,
}

#[derive(Debug, Clone)]
pub struct Placed {
    pub status: &'static str,
    pub making: Decimal,
    pub taking: Decimal,
    pub trade_ids: Vec<String>,
    pub tx_hashes: Vec<String>,
}

pub struct State {
    pub keys: Vec<ApiKey>,
    pub collateral: BTreeMap<Address, Decimal>,
    pub positions: BTreeMap<(Address, String), Decimal>,
    pub funders: BTreeMap<Address, Address>,
    pub orders: Vec<SimOrder>,
    pub trades: Vec<SimTrade>,
    pub book: Book,
    delayed: Vec<String>,
    house_seq: u64,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg)
}

impl State {
    pub fn new(config: &SimConfig) -> Self {
        let mut s = State {
            keys: Vec::new(),
            collateral: config.collateral.clone(),
            positions: config.positions.clone(),
            funders: config.funders.clone(),
            orders: Vec::new(),
            trades: Vec::new(),
            book: Book::default(),
            delayed: Vec::new(),
            house_seq: 0,
        };
        for level in &config.liquidity {
            s.add_house(level);
        }
        s
    }

    pub fn add_house(&mut self, level: &SimLevel) {
        self.house_seq += 1;
        self.book.rest(Resting {
            order_id: format!("house-{}", self.house_seq),
            token_id: level.token_id.clone(),
            side: level.side,
            price: level.price,
            remaining: level.size,
            owner: None,
            maker: None,
            seq: 0,
        });
    }

    pub fn collateral(&self, who: Address) -> Decimal {
        self.collateral.get(&who).copied().unwrap_or_default()
    }

    pub fn position(&self, who: Address, token: &str) -> Decimal {
        self.positions
            .get(&(who, token.to_string()))
            .copied()
            .unwrap_or_default()
    }

    fn open(o: &SimOrder) -> bool {
        matches!(o.status, OrderStatus::Live | OrderStatus::Delayed)
    }

    /// Collateral held by `who`'s open BUY orders.
    pub fn reserved_collateral(&self, who: Address) -> Decimal {
        self.orders
            .iter()
            .filter(|o| Self::open(o) && o.maker == who && o.side == Side::Buy)
            .map(|o| (o.original_size - o.size_matched) * o.price)
            .sum()
    }

    /// Shares of `token` held by `who`'s open SELL orders.
    pub fn reserved_position(&self, who: Address, token: &str) -> Decimal {
        self.orders
            .iter()
            .filter(|o| {
                Self::open(o) && o.maker == who && o.side == Side::Sell && o.token_id == token
            })
            .map(|o| o.original_size - o.size_matched)
            .sum()
    }

    /// Cancel GTD orders whose expiration passed.
    pub fn sweep(&mut self, now_ms: i64) {
        let now_s = (now_ms / 1000).max(0) as u64;
        let expired: Vec<String> = self
            .orders
            .iter()
            .filter(|o| Self::open(o) && o.expiration != 0 && o.expiration <= now_s)
            .map(|o| o.id.clone())
            .collect();
        for id in expired {
            self.close(&id);
        }
    }

    fn close(&mut self, id: &str) {
        self.book.remove(id);
        self.delayed.retain(|d| d != id);
        if let Some(o) = self.orders.iter_mut().find(|o| o.id == id) {
            o.status = OrderStatus::Canceled;
        }
    }

    pub fn place(&mut self, o: NewOrder, delayed: bool, now_ms: i64) -> Result<Placed, ApiError> {
        self.sweep(now_ms);
        if self.orders.iter().any(|x| x.id == o.id) {
            return Err(bad(format!("order {} is invalid. Duplicated.", o.id)));
        }
        match o.side {
            Side::Buy => {
                let free = self.collateral(o.maker) - self.reserved_collateral(o.maker);
                if free < o.maker_amount {
                    return Err(bad("not enough balance / allowance"));
                }
            }
            Side::Sell => {
                let free = self.position(o.maker, &o.token_id)
                    - self.reserved_position(o.maker, &o.token_id);
                if free < o.size {
                    return Err(bad("not enough balance / allowance"));
                }
            }
        }
        let can_fill = self.book.available(&o.token_id, o.side, o.price);
        if o.post_only && !can_fill.is_zero() {
            return Err(bad("invalid post-only order: order crosses book"));
        }
        if !delayed {
            match o.order_type {
                OrderType::Fok if can_fill < o.size => {
                    return Err(bad(
                        "order couldn't be fully filled. FOK orders are fully filled or killed.",
                    ));
                }
                OrderType::Fak if can_fill.is_zero() => {
                    return Err(bad(
                        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.",
                    ));
                }
                _ => {}
            }
        }
        let id = o.id.clone();
        self.orders.push(SimOrder {
            id: o.id,
            owner: o.owner,
            maker: o.maker,
            signer: o.signer,
            signature_type: o.signature_type,
            version: o.version,
            token_id: o.token_id,
            condition_id: o.market.condition_id,
            outcome: o.outcome,
            side: o.side,
            price: o.price,
            original_size: o.size,
            size_matched: Decimal::ZERO,
            status: if delayed {
                OrderStatus::Delayed
            } else {
                OrderStatus::Live
            },
            order_type: o.order_type.as_str().into(),
            expiration: o.expiration,
            created_at_ms: now_ms,
            arrived: o.arrived,
            trade_ids: Vec::new(),
        });
        if delayed {
            self.delayed.push(id);
            return Ok(Placed {
                status: "delayed",
                making: Decimal::ZERO,
                taking: Decimal::ZERO,
                trade_ids: Vec::new(),
                tx_hashes: Vec::new(),
            });
        }
        Ok(self.execute(&id, now_ms))
    }

    /// Match an accepted order against the book, settle, then rest or kill the rest.
    fn execute(&mut self, id: &str, now_ms: i64) -> Placed {
        let Some(i) = self.orders.iter().position(|o| o.id == id) else {
            return Placed {
                status: "unmatched",
                making: Decimal::ZERO,
                taking: Decimal::ZERO,
                trade_ids: vec![],
                tx_hashes: vec![],
            };
        };
        let o = self.orders[i].clone();
        let kind = OrderType::parse(&o.order_type).unwrap_or(OrderType::Gtc);
        let want = o.original_size - o.size_matched;
        let fok_short =
            kind == OrderType::Fok && self.book.available(&o.token_id, o.side, o.price) < want;
        let fills = if fok_short {
            Vec::new()
        } else {
            self.book.take(&o.token_id, o.side, o.price, want)
        };
        let (mut shares, mut value) = (Decimal::ZERO, Decimal::ZERO);
        let (mut trade_ids, mut tx_hashes) = (Vec::new(), Vec::new());
        for f in fills {
            let n = self.trades.len() + 1;
            let trade_id = format!("trade-{n}");
            let tx = keccak256(format!("{trade_id}:{id}")).to_string();
            self.settle(o.maker, &o.token_id, o.side, f.size, f.price);
            if let Some(maker) = f.maker {
                let other = match o.side {
                    Side::Buy => Side::Sell,
                    Side::Sell => Side::Buy,
                };
                self.settle(maker, &o.token_id, other, f.size, f.price);
                if let Some(m) = self.orders.iter_mut().find(|x| x.id == f.maker_order_id) {
                    m.size_matched += f.size;
                    m.trade_ids.push(trade_id.clone());
                    if m.size_matched >= m.original_size {
                        m.status = OrderStatus::Matched;
                    }
                }
            }
            self.trades.push(SimTrade {
                id: trade_id.clone(),
                taker_order_id: id.to_string(),
                maker_order_id: f.maker_order_id,
                token_id: o.token_id.clone(),
                condition_id: o.condition_id.clone(),
                outcome: o.outcome.clone(),
                side: o.side,
                price: f.price,
                size: f.size,
                taker_owner: o.owner.clone(),
                taker_address: o.maker,
                maker_owner: f.owner,
                maker_address: f.maker,
                match_time_ms: now_ms,
                transaction_hash: tx.clone(),
            });
            shares += f.size;
            value += f.size * f.price;
            trade_ids.push(trade_id);
            tx_hashes.push(tx);
        }
        let order = &mut self.orders[i];
        order.size_matched += shares;
        order.trade_ids.extend(trade_ids.iter().cloned());
        let filled = order.size_matched >= order.original_size;
        order.status = if filled {
            OrderStatus::Matched
        } else if kind.rests() {
            OrderStatus::Live
        } else if order.size_matched.is_zero() {
            OrderStatus::Canceled
        } else {
            OrderStatus::Matched
        };
        if order.status == OrderStatus::Live {
            let r = Resting {
                order_id: order.id.clone(),
                token_id: order.token_id.clone(),
                side: order.side,
                price: order.price,
                remaining: order.original_size - order.size_matched,
                owner: Some(order.owner.clone()),
                maker: Some(order.maker),
                seq: 0,
            };
            self.book.rest(r);
        }
        let (making, taking) = match o.side {
            Side::Buy => (value, shares),
            Side::Sell => (shares, value),
        };
        Placed {
            status: if shares.is_zero() {
                if kind.rests() { "live" } else { "unmatched" }
            } else {
                "matched"
            },
            making,
            taking,
            trade_ids,
            tx_hashes,
        }
    }

    fn settle(&mut self, who: Address, token: &str, side: Side, size: Decimal, price: Decimal) {
        let value = size * price;
        let coll = self.collateral.entry(who).or_default();
        let pos = self.positions.entry((who, token.to_string())).or_default();
        match side {
            Side::Buy => {
                *coll -= value;
                *pos += size;
            }
            Side::Sell => {
                *coll += value;
                *pos -= size;
            }
        }
    }

    pub fn release_delayed(&mut self, now_ms: i64) -> usize {
        self.sweep(now_ms);
        let ids = std::mem::take(&mut self.delayed);
        for id in &ids {
            self.execute(id, now_ms);
        }
        ids.len()
    }

    /// Cancel `owner`'s open order `id`; the error is the reason it was not.
    pub fn cancel(&mut self, owner: &str, id: &str, now_ms: i64) -> Result<(), String> {
        self.sweep(now_ms);
        match self.orders.iter().find(|o| o.id == id && o.owner == owner) {
            None => Err("order not found".into()),
            Some(o) if !Self::open(o) => {
                Err("order can't be canceled: already canceled or matched".into())
            }
            Some(_) => {
                self.close(id);
                Ok(())
            }
        }
    }

    /// Every open order of `owner`, optionally of one market or token.
    pub fn open_ids(&self, owner: &str, market: Option<&str>, token: Option<&str>) -> Vec<String> {
        self.orders
            .iter()
            .filter(|o| Self::open(o) && o.owner == owner)
            .filter(|o| market.is_none_or(|m| m.eq_ignore_ascii_case(&o.condition_id)))
            .filter(|o| token.is_none_or(|t| t == o.token_id))
            .map(|o| o.id.clone())
            .collect()
    }
}
