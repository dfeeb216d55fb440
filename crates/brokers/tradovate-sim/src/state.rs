//! The simulator's authoritative state: grants, tokens, the order ledger,
//! fills and positions.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::{SimConfig, SimUser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthCallKind {
    Exchange,
    Renew,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCall {
    pub at_ms: i64,
    pub kind: AuthCallKind,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrder {
    pub id: i64,
    pub account_id: i64,
    pub cl_ord_id: String,
    pub symbol: String,
    pub contract_id: i64,
    pub action: String,
    pub qty: i64,
    pub status: String,
    pub fill_price: Option<Decimal>,
    pub received_at_ms: i64,
    /// Monotonic arrival time (benchmarks measure signal-to-broker latency
    /// against it; the sim clock may be a test clock).
    pub arrived: std::time::Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPosition {
    pub account_id: i64,
    pub contract_id: i64,
    pub symbol: String,
    pub net_pos: i64,
}

/// An order as the simulator executes it.
pub struct Placement<'a> {
    pub account_id: i64,
    pub cl_ord_id: &'a str,
    pub symbol: &'a str,
    pub contract_id: i64,
    pub action: &'a str,
    pub qty: i64,
    pub market: bool,
}

pub struct Token {
    pub user_id: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub user_id: i64,
    pub expires_at: i64,
}

pub struct Command {
    pub id: i64,
    pub order_id: i64,
    pub cl_ord_id: String,
    pub kind: &'static str,
    pub at_ms: i64,
}

pub struct State {
    pub users: Vec<SimUser>,
    pub tokens: HashMap<String, Token>,
    pub codes: HashMap<String, Code>,
    pub orders: Vec<SimOrder>,
    pub commands: Vec<Command>,
    pub positions: Vec<SimPosition>,
    pub auth_calls: Vec<AuthCall>,
    next_id: i64,
}

/// Products the simulator lists, with the price market orders fill at.
pub const PRODUCTS: &[(&str, i64, &str)] = &[
    ("MNQ", 1, "21000.25"),
    ("MES", 2, "5900.50"),
    ("NQ", 3, "21000.25"),
    ("ES", 4, "5900.50"),
];

/// Initial (day-trade) margin per contract in USD, by product root.
pub const MARGINS: &[(&str, i64)] = &[("MNQ", 100), ("MES", 50), ("NQ", 1000), ("ES", 500)];

/// The initial margin of one contract of `symbol` (a listed contract name).
pub fn margin_of(symbol: &str) -> Decimal {
    MARGINS
        .iter()
        .find(|(root, _)| symbol.starts_with(root) && symbol.len() == root.len() + 2)
        .map_or(Decimal::ZERO, |(_, m)| Decimal::from(*m))
}

const MONTH_CODES: [(u8, char); 4] = [(3, 'H'), (6, 'M'), (9, 'U'), (12, 'Z')];

/// The front-month quarterly contract of `root` on the date of `now_ms`
/// (contracts are taken to expire on the 15th of their month).
pub fn front_month(root: &str, now_ms: i64) -> Option<(i64, String)> {
    let (_, idx, _) = PRODUCTS.iter().find(|(r, _, _)| *r == root)?;
    let date = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000).ok()?;
    let (mut year, month, day) = (date.year(), date.month() as u8, date.day());
    let pick = MONTH_CODES
        .iter()
        .find(|(m, _)| *m > month || (*m == month && day < 15))
        .copied()
        .unwrap_or_else(|| {
            year += 1;
            MONTH_CODES[0]
        });
    let name = format!("{root}{}{}", pick.1, year.rem_euclid(10));
    Some((idx * 1_000_000 + year as i64 * 100 + pick.0 as i64, name))
}

/// A contract by name (`MNQZ6`), if it names a listed product.
pub fn contract_by_name(name: &str, now_ms: i64) -> Option<(i64, String)> {
    let name = name.to_uppercase();
    PRODUCTS.iter().find_map(|(root, idx, _)| {
        let rest = name.strip_prefix(root)?;
        let mut chars = rest.chars();
        let code = chars.next()?;
        let (month, _) = MONTH_CODES.iter().find(|(_, c)| *c == code)?;
        let digit: i64 = chars.as_str().parse().ok()?;
        let now_year = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000)
            .ok()?
            .year() as i64;
        let year = now_year - now_year.rem_euclid(10) + digit;
        (rest.len() == 2).then(|| (idx * 1_000_000 + year * 100 + *month as i64, name.clone()))
    })
}

pub fn contract_name(id: i64, now_ms: i64) -> Option<String> {
    let idx = id / 1_000_000;
    let (root, _, _) = PRODUCTS.iter().find(|(_, i, _)| *i == idx)?;
    let year = (id % 1_000_000) / 100;
    let month = (id % 100) as u8;
    let (_, code) = MONTH_CODES.iter().find(|(m, _)| *m == month)?;
    let _ = now_ms;
    Some(format!("{root}{code}{}", year.rem_euclid(10)))
}

pub fn price_of(symbol: &str) -> Decimal {
    PRODUCTS
        .iter()
        .find(|(root, _, _)| symbol.starts_with(root) && symbol.len() == root.len() + 2)
        .map(|(_, _, p)| p.parse().expect("price"))
        .unwrap_or(Decimal::ONE)
}

impl State {
    pub fn new(config: &SimConfig) -> Self {
        State {
            users: config.users.clone(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            orders: Vec::new(),
            commands: Vec::new(),
            positions: Vec::new(),
            auth_calls: Vec::new(),
            next_id: 700_000,
        }
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn issue_token(&mut self, user_id: i64, now: i64, lifetime_ms: i64) -> (String, i64) {
        let token = format!("sim-{}", uuid::Uuid::new_v4().simple());
        let expires_at = now + lifetime_ms;
        self.tokens.insert(
            token.clone(),
            Token {
                user_id,
                expires_at,
                revoked: false,
            },
        );
        (token, expires_at)
    }

    /// The user a bearer token acts for, if it is live.
    pub fn user_of(&self, token: &str, now: i64) -> Option<i64> {
        self.tokens
            .get(token)
            .filter(|t| !t.revoked && t.expires_at > now)
            .map(|t| t.user_id)
    }

    pub fn user(&self, id: i64) -> Option<&SimUser> {
        self.users.iter().find(|u| u.user_id == id)
    }

    pub fn revoke_all(&mut self) {
        for t in self.tokens.values_mut() {
            t.revoked = true;
        }
    }

    pub fn owns_account(&self, user_id: i64, account_id: i64) -> bool {
        self.user(user_id)
            .is_some_and(|u| u.accounts.iter().any(|a| a.id == account_id))
    }

    /// The account's net position in a contract.
    pub fn net_pos(&self, account_id: i64, contract_id: i64) -> i64 {
        self.positions
            .iter()
            .find(|p| p.account_id == account_id && p.contract_id == contract_id)
            .map_or(0, |p| p.net_pos)
    }

    /// The account's cash (the simulator books no PnL, so cash stays as configured).
    pub fn cash(&self, account_id: i64) -> Option<Decimal> {
        self.users
            .iter()
            .flat_map(|u| &u.accounts)
            .find(|a| a.id == account_id)
            .map(|a| a.cash)
    }

    /// Margin the account's positions in other contracts tie up.
    fn margin_elsewhere(&self, account_id: i64, contract_id: i64) -> Decimal {
        self.positions
            .iter()
            .filter(|p| p.account_id == account_id && p.contract_id != contract_id)
            .map(|p| Decimal::from(p.net_pos.unsigned_abs()) * margin_of(&p.symbol))
            .sum()
    }

    /// Buying power: an order that grows the position must have the initial
    /// margin of the position it leads to (plus what other positions hold)
    /// within the account's cash. An order that only reduces is always
    /// allowed. `Err((required, available))` when it is not.
    pub fn check_margin(&self, p: &Placement<'_>) -> Result<(), (Decimal, Decimal)> {
        let before = self.net_pos(p.account_id, p.contract_id);
        let delta = if p.action == "Buy" { p.qty } else { -p.qty };
        let after = i128::from(before) + i128::from(delta);
        if after.unsigned_abs() <= u128::from(before.unsigned_abs())
            && after.signum() * i128::from(before.signum()) >= 0
        {
            return Ok(());
        }
        let cash = self.cash(p.account_id).unwrap_or_default();
        let available = cash - self.margin_elsewhere(p.account_id, p.contract_id);
        let contracts = Decimal::try_from_i128_with_scale(after.abs(), 0).unwrap_or(Decimal::MAX);
        let required = contracts
            .checked_mul(margin_of(p.symbol))
            .unwrap_or(Decimal::MAX);
        if required > available {
            return Err((required, available));
        }
        Ok(())
    }

    /// Execute a market order (fill at once) or rest a limit order.
    pub fn place(&mut self, p: Placement<'_>, now: i64) -> i64 {
        let Placement {
            account_id,
            cl_ord_id,
            symbol,
            contract_id,
            action,
            qty,
            market,
        } = p;
        let id = self.next_id();
        let fill = market.then(|| price_of(symbol));
        self.orders.push(SimOrder {
            id,
            account_id,
            cl_ord_id: cl_ord_id.to_string(),
            symbol: symbol.to_string(),
            contract_id,
            action: action.to_string(),
            qty,
            status: if market { "Filled" } else { "Working" }.into(),
            fill_price: fill,
            received_at_ms: now,
            arrived: std::time::Instant::now(),
        });
        let command_id = self.next_id();
        self.commands.push(Command {
            id: command_id,
            order_id: id,
            cl_ord_id: cl_ord_id.to_string(),
            kind: "New",
            at_ms: now,
        });
        if market {
            let signed = if action == "Buy" { qty } else { -qty };
            match self
                .positions
                .iter_mut()
                .find(|p| p.account_id == account_id && p.contract_id == contract_id)
            {
                Some(p) => p.net_pos += signed,
                None => self.positions.push(SimPosition {
                    account_id,
                    contract_id,
                    symbol: symbol.to_string(),
                    net_pos: signed,
                }),
            }
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_month_rolls_quarterly() {
        // 2026-11-24 → December 2026.
        let nov = 1_795_500_000_000;
        let (id, name) = front_month("MNQ", nov).unwrap();
        assert_eq!(name, "MNQZ6");
        assert_eq!(contract_by_name("MNQZ6", nov).unwrap().0, id);
        assert_eq!(contract_name(id, nov).unwrap(), "MNQZ6");
        // 2026-12-20 (after the 15th) → March 2027.
        let dec = 1_797_700_000_000;
        assert_eq!(front_month("ES", dec).unwrap().1, "ESH7");
        assert!(front_month("XYZ", nov).is_none());
    }
}
