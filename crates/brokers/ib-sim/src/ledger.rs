//! The authoritative state: accounts' cash, positions with average cost,
//! every order placed, every execution, marks and the order ids each
//! client id has used. It outlives connections (and Gateway restarts).

use std::collections::HashMap;

use atomik_ib_proto::{Contract, Execution, Order};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::catalogue::Catalogue;
use crate::config::SimConfig;

/// An order as the simulator recorded it.
#[derive(Debug, Clone)]
pub struct SimOrder {
    pub account: String,
    pub client_id: i32,
    pub order_id: i32,
    pub perm_id: i64,
    pub order_ref: String,
    /// The catalogue's contract (with con id and local symbol).
    pub contract: Contract,
    /// `BUY` / `SELL`.
    pub action: String,
    pub quantity: Decimal,
    /// `MKT` / `LMT`.
    pub order_type: String,
    pub limit_price: Option<f64>,
    pub tif: String,
    /// `PreSubmitted`, `Submitted`, `Filled` or `Cancelled`.
    pub status: String,
    pub filled: Decimal,
    pub avg_price: f64,
    pub commission: f64,
    pub placed_at_ms: i64,
    /// Monotonic arrival time (benchmarks measure signal-to-broker latency
    /// against it; the sim clock may be a test clock).
    pub arrived: std::time::Instant,
    pub completed_at_ms: Option<i64>,
    /// The order as the client sent it (echoed back in OpenOrder).
    pub order: Order,
}

impl SimOrder {
    pub fn working(&self) -> bool {
        matches!(self.status.as_str(), "PreSubmitted" | "Submitted")
    }

    pub fn remaining(&self) -> Decimal {
        self.quantity - self.filled
    }
}

#[derive(Debug, Clone)]
pub struct SimPosition {
    pub account: String,
    pub contract: Contract,
    pub position: Decimal,
    /// Per unit, multiplier included (as IB reports `avgCost`).
    pub avg_cost: f64,
    pub realized_pnl: f64,
}

#[derive(Debug, Clone)]
pub struct SimExecution {
    pub contract: Contract,
    pub execution: Execution,
    pub commission: f64,
    /// Realized PnL of a closing fill (after commission).
    pub realized_pnl: Option<f64>,
    pub time_ms: i64,
}

#[derive(Debug, Clone)]
pub struct AccountState {
    pub id: String,
    pub cash: f64,
}

pub struct State {
    pub catalogue: Catalogue,
    pub accounts: Vec<AccountState>,
    pub positions: Vec<SimPosition>,
    pub orders: Vec<SimOrder>,
    pub executions: Vec<SimExecution>,
    pub marks: HashMap<i32, f64>,
    /// The highest order id each client id has used.
    pub max_order_id: HashMap<i32, i32>,
    next_perm_id: i64,
    next_exec: u64,
}

/// A fill's bookkeeping result.
pub struct Fill {
    pub execution: Execution,
    pub commission: f64,
    pub realized_pnl: Option<f64>,
}

pub fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// IB-like commissions in USD.
fn commission(sec_type: &str, qty: f64) -> f64 {
    match sec_type {
        "STK" => (0.005 * qty).max(1.0),
        "FUT" => 0.85 * qty,
        "OPT" => (0.65 * qty).max(1.0),
        _ => 2.0,
    }
}

/// `yyyymmdd hh:mm:ss` (UTC).
pub fn ib_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Milliseconds of a `yyyymmdd hh:mm:ss[ zone]` or `yyyymmdd-hh:mm:ss` time
/// (taken as UTC).
pub fn parse_ib_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(0..8)?;
    let rest = s.get(8..)?.trim_start_matches([' ', '-']);
    let hms = rest.get(0..8)?;
    let format = time::macros::format_description!("[year][month][day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(&format!("{date} {hms}"), format).ok()?;
    Some(t.assume_utc().unix_timestamp() * 1000)
}

impl State {
    pub fn new(config: &SimConfig, now_ms: i64) -> State {
        let catalogue = Catalogue::build(config, now_ms);
        let mut marks = HashMap::new();
        for e in &catalogue.entries {
            let c = e.contract();
            let mark = config
                .marks
                .iter()
                .rev()
                .find(|m| m.key == c.local_symbol)
                .or_else(|| {
                    config
                        .marks
                        .iter()
                        .rev()
                        .find(|m| m.key == c.symbol && c.sec_type != "OPT")
                })
                .map_or(100.0, |m| m.price);
            marks.insert(c.con_id, mark);
        }
        State {
            catalogue,
            accounts: config
                .accounts
                .iter()
                .map(|a| AccountState {
                    id: a.id.clone(),
                    cash: a.cash,
                })
                .collect(),
            positions: Vec::new(),
            orders: Vec::new(),
            executions: Vec::new(),
            marks,
            max_order_id: HashMap::new(),
            next_perm_id: 1_000_000_001,
            next_exec: 1,
        }
    }

    pub fn account_ids(&self) -> Vec<String> {
        self.accounts.iter().map(|a| a.id.clone()).collect()
    }

    pub fn mark(&self, con_id: i32) -> f64 {
        self.marks.get(&con_id).copied().unwrap_or(100.0)
    }

    /// The next order id a client id may use.
    pub fn next_order_id(&self, client_id: i32) -> i32 {
        self.max_order_id
            .get(&client_id)
            .map_or(1, |m| m.saturating_add(1))
    }

    pub fn new_perm_id(&mut self) -> i64 {
        let p = self.next_perm_id;
        self.next_perm_id += 1;
        p
    }

    pub fn find_order(&self, client_id: i32, order_id: i32) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.client_id == client_id && o.order_id == order_id)
    }

    fn multiplier(&self, con_id: i32) -> f64 {
        self.catalogue
            .by_con_id(con_id)
            .map_or(1.0, |e| e.multiplier)
    }

    /// Fill the rest of order `idx` at `price`: cash, position, execution.
    pub fn fill(&mut self, idx: usize, price: f64, now_ms: i64) -> Fill {
        let o = self.orders[idx].clone();
        let qty = o.remaining();
        let q = f(qty);
        let mult = self.multiplier(o.contract.con_id);
        let buy = o.action.eq_ignore_ascii_case("BUY");
        let fee = commission(&o.contract.sec_type, q);
        let signed = if buy { qty } else { -qty };
        if let Some(a) = self.accounts.iter_mut().find(|a| a.id == o.account) {
            a.cash -= f(signed) * price * mult + fee;
        }
        let realized = self.book_position(&o.account, &o.contract, signed, price * mult);
        {
            let order = &mut self.orders[idx];
            let before = f(order.filled);
            order.filled += qty;
            let after = f(order.filled);
            order.avg_price = if after > 0.0 {
                (order.avg_price * before + price * q) / after
            } else {
                price
            };
            order.commission += fee;
            order.status = "Filled".into();
            order.completed_at_ms = Some(now_ms);
        }
        let order = &self.orders[idx];
        let exec_id = format!("0000e1a7.{:08x}.01.01", self.next_exec);
        self.next_exec += 1;
        let execution = Execution {
            order_id: order.order_id,
            client_id: order.client_id,
            exec_id,
            time: format!("{} UTC", ib_time(now_ms)),
            account: order.account.clone(),
            exchange: if order.contract.exchange == "SMART" {
                order.contract.primary_exchange.clone()
            } else {
                order.contract.exchange.clone()
            },
            side: if buy { "BOT" } else { "SLD" }.into(),
            shares: qty,
            price,
            perm_id: order.perm_id,
            liquidation: 0,
            cum_qty: order.filled,
            avg_price: order.avg_price,
            order_ref: order.order_ref.clone(),
        };
        let realized_pnl = realized.map(|r| r - fee);
        self.executions.push(SimExecution {
            contract: order.contract.clone(),
            execution: execution.clone(),
            commission: fee,
            realized_pnl,
            time_ms: now_ms,
        });
        Fill {
            execution,
            commission: fee,
            realized_pnl,
        }
    }

    /// Apply a signed quantity at `unit_cost` (price × multiplier) to a
    /// position; the realized PnL when it reduces one.
    fn book_position(
        &mut self,
        account: &str,
        contract: &Contract,
        signed: Decimal,
        unit_cost: f64,
    ) -> Option<f64> {
        let idx = match self
            .positions
            .iter()
            .position(|p| p.account == account && p.contract.con_id == contract.con_id)
        {
            Some(i) => i,
            None => {
                self.positions.push(SimPosition {
                    account: account.into(),
                    contract: contract.clone(),
                    position: Decimal::ZERO,
                    avg_cost: 0.0,
                    realized_pnl: 0.0,
                });
                self.positions.len() - 1
            }
        };
        let p = &mut self.positions[idx];
        let old = p.position;
        let new = old + signed;
        if old.is_zero() || old.is_sign_positive() == signed.is_sign_positive() {
            let (o, s) = (f(old.abs()), f(signed.abs()));
            p.avg_cost = (o * p.avg_cost + s * unit_cost) / (o + s);
            p.position = new;
            return None;
        }
        let closed = f(old.abs().min(signed.abs()));
        let direction = if old.is_sign_positive() { 1.0 } else { -1.0 };
        let realized = closed * (unit_cost - p.avg_cost) * direction;
        p.realized_pnl += realized;
        p.position = new;
        if new.is_zero() {
            p.avg_cost = 0.0;
        } else if new.is_sign_positive() != old.is_sign_positive() {
            p.avg_cost = unit_cost;
        }
        Some(realized)
    }

    pub fn market_value(&self, p: &SimPosition) -> f64 {
        f(p.position) * self.mark(p.contract.con_id) * self.multiplier(p.contract.con_id)
    }

    pub fn unrealized(&self, p: &SimPosition) -> f64 {
        self.market_value(p) - f(p.position) * p.avg_cost
    }

    pub fn cash(&self, account: &str) -> f64 {
        self.accounts
            .iter()
            .find(|a| a.id == account)
            .map_or(0.0, |a| a.cash)
    }

    /// Cash + positions at mark.
    pub fn net_liquidation(&self, account: &str) -> f64 {
        self.cash(account)
            + self
                .positions
                .iter()
                .filter(|p| p.account == account)
                .map(|p| self.market_value(p))
                .sum::<f64>()
    }

    /// Account values as `(key, value, currency)`, summary tags included.
    pub fn account_values(&self, account: &str) -> Vec<(String, String, String)> {
        let cash = self.cash(account);
        let nlv = self.net_liquidation(account);
        let gross: f64 = self
            .positions
            .iter()
            .filter(|p| p.account == account)
            .map(|p| self.market_value(p).abs())
            .sum();
        // `+ 0.0` turns the -0.0 of an empty sum into 0.0 (no "-0.00").
        let money = |v: f64| format!("{:.2}", v + 0.0);
        let mut out = vec![
            ("AccountCode".into(), account.to_string(), String::new()),
            ("AccountType".into(), "INDIVIDUAL".into(), String::new()),
        ];
        for (key, value) in [
            ("NetLiquidation", nlv),
            ("TotalCashValue", cash),
            ("SettledCash", cash),
            ("EquityWithLoanValue", nlv),
            ("GrossPositionValue", gross),
            ("AvailableFunds", nlv),
            ("ExcessLiquidity", nlv),
            ("BuyingPower", nlv * 4.0),
            ("InitMarginReq", 0.0),
            ("MaintMarginReq", 0.0),
        ] {
            out.push((key.into(), money(value), "USD".into()));
        }
        out.push(("CashBalance".into(), money(cash), "USD".into()));
        out.push(("CashBalance".into(), money(cash), "BASE".into()));
        out.push(("TotalCashBalance".into(), money(cash), "BASE".into()));
        out.push(("NetLiquidationByCurrency".into(), money(nlv), "BASE".into()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atomik_broker::ManualClock;
    use std::sync::Arc;

    #[test]
    fn times_round_trip() {
        let ms = 1_796_139_000_000;
        assert_eq!(ib_time(ms), "20261201 15:30:00");
        assert_eq!(parse_ib_time("20261201 15:30:00"), Some(ms));
        assert_eq!(parse_ib_time("20261201-15:30:00"), Some(ms));
        assert_eq!(parse_ib_time("20261201 15:30:00 US/Eastern"), Some(ms));
        assert_eq!(parse_ib_time("nope"), None);
    }

    #[test]
    fn fills_move_cash_positions_and_realize_pnl() {
        let config = SimConfig::demo(Arc::new(ManualClock::new(0)));
        let mut s = State::new(&config, 0);
        let aapl = s.catalogue.by_con_id(265598).unwrap().contract().clone();
        let place = |s: &mut State, action: &str, qty: i64| {
            let perm_id = s.new_perm_id();
            s.orders.push(SimOrder {
                account: "DU1234567".into(),
                client_id: 1,
                order_id: s.orders.len() as i32 + 1,
                perm_id,
                order_ref: String::new(),
                contract: aapl.clone(),
                action: action.into(),
                quantity: Decimal::from(qty),
                order_type: "MKT".into(),
                limit_price: None,
                tif: "DAY".into(),
                status: "Submitted".into(),
                filled: Decimal::ZERO,
                avg_price: 0.0,
                commission: 0.0,
                placed_at_ms: 0,
                arrived: std::time::Instant::now(),
                completed_at_ms: None,
                order: Order::default(),
            });
            s.orders.len() - 1
        };
        let i = place(&mut s, "BUY", 10);
        let fill = s.fill(i, 230.0, 0);
        assert_eq!(fill.execution.side, "BOT");
        assert_eq!(fill.realized_pnl, None);
        assert_eq!(s.cash("DU1234567"), 1_000_000.0 - 2300.0 - 1.0);
        assert_eq!(s.net_liquidation("DU1234567"), 1_000_000.0 - 1.0);
        let i = place(&mut s, "SELL", 4);
        let fill = s.fill(i, 240.0, 0);
        assert_eq!(fill.execution.side, "SLD");
        assert_eq!(fill.realized_pnl, Some(4.0 * 10.0 - 1.0));
        let p = &s.positions[0];
        assert_eq!((p.position, p.avg_cost), (Decimal::from(6), 230.0));
        assert_ne!(
            s.executions[0].execution.exec_id,
            s.executions[1].execution.exec_id
        );
    }
}
