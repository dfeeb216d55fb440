//! The [`Broker`] implementation for Tradovate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use atomik_broker::{
    AccountRef, Balance, Broker, BrokerAccountInfo, BrokerError, BrokerKind, Clock,
    ConnectionReport, Instrument, OrderAck, OrderReport, OrderRequest, OrderState, OrderType,
    Position, Session, Side,
};
use atomik_secrets::Secret;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::json;

use crate::TradovateConfig;
use crate::client::{Client, Effect};
use crate::wire::{self, parse_time_ms};

/// How long a resolved contract is reused. The front month changes a few
/// times a year; a minute of reuse saves a broker round trip per order.
const RESOLVED_TTL_MS: i64 = 60_000;

pub struct Tradovate {
    client: Client,
    clock: Arc<dyn Clock>,
    /// Contract id → name, filled as positions are read.
    contract_names: Mutex<HashMap<i64, String>>,
    /// What a strategy's symbol resolved to, and when.
    resolved: Mutex<HashMap<String, (Instrument, i64)>>,
}

impl Tradovate {
    pub fn new(config: TradovateConfig, clock: Arc<dyn Clock>) -> Self {
        Tradovate {
            client: Client::new(config, clock.clone()),
            clock,
            contract_names: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    fn token(session: &Session) -> Result<&str, BrokerError> {
        match session {
            Session::OAuth { access_token, .. } => Ok(access_token.expose()),
            _ => Err(BrokerError::Misconfigured(
                "Tradovate needs an OAuth session".into(),
            )),
        }
    }

    fn account_id(account: &AccountRef) -> Result<i64, BrokerError> {
        account.id.parse().map_err(|_| {
            BrokerError::Misconfigured(format!(
                "Tradovate account id must be numeric, got {:?}",
                account.id
            ))
        })
    }

    async fn contract_name(&self, token: &str, id: i64) -> Result<String, BrokerError> {
        if let Some(name) = self.contract_names.lock().expect("lock").get(&id) {
            return Ok(name.clone());
        }
        let c: wire::Contract = self
            .client
            .call(
                Method::GET,
                &format!("/contract/item?id={id}"),
                token,
                None,
                Effect::Read,
            )
            .await?;
        self.contract_names
            .lock()
            .expect("lock")
            .insert(id, c.name.clone());
        Ok(c.name)
    }
}

/// `MNQ1!` / `MNQ!` (TradingView continuous) → `MNQ`.
pub fn continuous_root(symbol: &str) -> Option<&str> {
    let s = symbol.trim_end_matches('!');
    if s.len() == symbol.len() {
        return None;
    }
    Some(s.trim_end_matches(|c: char| c.is_ascii_digit()))
}

/// A specific contract looks like ROOT + month code + year digit(s): `MNQZ6`, `ESH27`.
pub fn is_specific_contract(symbol: &str) -> bool {
    let digits = symbol
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let rest = &symbol[..symbol.len() - digits];
    (1..=2).contains(&digits)
        && rest.len() >= 2
        && rest.ends_with(|c: char| "FGHJKMNQUVXZ".contains(c))
}

/// The contract count Tradovate's `orderQty` carries, exactly: a positive
/// whole number within its integer range. Anything else is refused before
/// sending, never rounded or clamped.
pub fn whole_contracts(quantity: Decimal) -> Result<i64, BrokerError> {
    let refuse = |reason: String| BrokerError::Rejected {
        code: Some("atomik".into()),
        reason,
    };
    if quantity <= Decimal::ZERO {
        return Err(refuse(format!(
            "the quantity must be a positive number of contracts; got {quantity}"
        )));
    }
    if !quantity.fract().is_zero() {
        return Err(refuse(format!(
            "futures quantities are whole contracts; got {quantity}"
        )));
    }
    i64::try_from(quantity).map_err(|_| {
        refuse(format!(
            "{quantity} contracts is more than Tradovate's order quantity can carry (at most {})",
            i64::MAX
        ))
    })
}

/// An order's filled quantity and average fill price from its fills;
/// sums beyond decimal range are an unreadable answer, never a panic.
pub fn fill_summary(fills: &[wire::Fill]) -> Result<(Decimal, Option<Decimal>), BrokerError> {
    let sums = fills
        .iter()
        .try_fold((Decimal::ZERO, Decimal::ZERO), |(qty, notional), f| {
            let q = Decimal::from(f.qty);
            Some((
                qty.checked_add(q)?,
                notional.checked_add(f.price.checked_mul(q)?)?,
            ))
        });
    let Some((filled, notional)) = sums else {
        return Err(BrokerError::NotSent(
            "Tradovate's fills for the order add up beyond any real quantity or value".into(),
        ));
    };
    let average_price = (filled > Decimal::ZERO)
        .then(|| notional.checked_div(filled))
        .flatten();
    Ok((filled, average_price))
}

pub fn order_state(ord_status: &str) -> OrderState {
    match ord_status {
        "Filled" | "Completed" => OrderState::Filled,
        "Working" | "PendingReplace" | "PendingCancel" | "Suspended" => OrderState::Working,
        "Canceled" | "Expired" => OrderState::Canceled,
        "Rejected" => OrderState::Rejected,
        _ => OrderState::Pending,
    }
}

#[async_trait]
impl Broker for Tradovate {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Tradovate
    }

    async fn test_connection(&self, session: &Session) -> Result<ConnectionReport, BrokerError> {
        let token = Self::token(session)?;
        let me: wire::Me = self
            .client
            .call(Method::GET, "/auth/me", token, None, Effect::Read)
            .await?;
        let accounts: Vec<wire::Account> = self
            .client
            .call(Method::GET, "/account/list", token, None, Effect::Read)
            .await?;
        let mut balances = Vec::new();
        if let Some(first) = accounts.iter().find(|a| a.active).or(accounts.first()) {
            let snap: wire::CashBalanceSnapshot = self
                .client
                .call(
                    Method::POST,
                    "/cashBalance/getcashbalancesnapshot",
                    token,
                    Some(json!({ "accountId": first.id })),
                    Effect::Read,
                )
                .await?;
            if let Some(amount) = snap.total_cash_value.or(snap.net_liq) {
                balances.push(Balance {
                    currency: "USD".into(),
                    amount,
                });
            }
        }
        let read_only = accounts.iter().all(|a| a.readonly.unwrap_or(false));
        Ok(ConnectionReport {
            user_id: me.user_id.to_string(),
            user_name: me.full_name.clone().unwrap_or(me.name.clone()),
            accounts: accounts
                .iter()
                .map(|a| BrokerAccountInfo {
                    id: a.id.to_string(),
                    name: a.name.clone(),
                    active: a.active,
                })
                .collect(),
            balances,
            can_trade: !accounts.is_empty() && !read_only,
            notes: if read_only {
                vec!["Every account is read-only at Tradovate: orders will be refused.".into()]
            } else {
                Vec::new()
            },
        })
    }

    async fn positions(
        &self,
        session: &Session,
        account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError> {
        let token = Self::token(session)?;
        let id = Self::account_id(account)?;
        let all: Vec<wire::Position> = self
            .client
            .call(Method::GET, "/position/list", token, None, Effect::Read)
            .await?;
        let mut out = Vec::new();
        for p in all
            .into_iter()
            .filter(|p| p.account_id == id && p.net_pos != 0)
        {
            out.push(Position {
                symbol: self.contract_name(token, p.contract_id).await?,
                quantity: Decimal::from(p.net_pos),
                average_price: p.net_price,
            });
        }
        Ok(out)
    }

    async fn place_order(
        &self,
        session: &Session,
        account: &AccountRef,
        order: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        order.units_only()?;
        let token = Self::token(session)?;
        let order_qty = whole_contracts(order.quantity)?;
        let (order_type, price) = match &order.order_type {
            OrderType::Market => ("Market", None),
            OrderType::Limit { price } => ("Limit", Some(*price)),
        };
        let body = wire::PlaceOrder {
            account_spec: account.name.clone(),
            account_id: Self::account_id(account)?,
            cl_ord_id: order.client_order_id.clone(),
            action: match order.side {
                Side::Buy => "Buy",
                Side::Sell => "Sell",
            }
            .into(),
            symbol: order.instrument.symbol.clone(),
            order_qty,
            order_type: order_type.into(),
            price,
            is_automated: true,
        };
        let body = serde_json::to_value(&body).expect("serializable");
        let result: wire::PlaceOrderResult = self
            .client
            .call(
                Method::POST,
                "/order/placeorder",
                token,
                Some(body),
                Effect::Write,
            )
            .await?;
        let id = result.order_id.ok_or_else(|| {
            BrokerError::Ambiguous("Tradovate accepted the order without an order id".into())
        })?;
        Ok(OrderAck {
            broker_order_id: id.to_string(),
            fill: None,
        })
    }

    async fn cancel_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        _instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        let token = Self::token(session)?;
        let order_id: i64 = broker_order_id.parse().map_err(|_| {
            BrokerError::Misconfigured(format!("not a Tradovate order id: {broker_order_id:?}"))
        })?;
        let body = serde_json::to_value(wire::CancelOrder {
            order_id,
            is_automated: true,
        })
        .expect("serializable");
        let _: wire::CommandResult = self
            .client
            .call(
                Method::POST,
                "/order/cancelorder",
                token,
                Some(body),
                Effect::Write,
            )
            .await?;
        Ok(())
    }

    /// Tradovate keeps `clOrdId` on the order's commands (`/command/list`),
    /// not on the order: find the command, then read the order and its fills.
    async fn order_by_client_id(
        &self,
        session: &Session,
        account: &AccountRef,
        _instrument: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let token = Self::token(session)?;
        let account_id = Self::account_id(account)?;
        let commands: Vec<wire::Command> = self
            .client
            .call(Method::GET, "/command/list", token, None, Effect::Read)
            .await?;
        let Some(command) = commands
            .into_iter()
            .find(|c| c.cl_ord_id.as_deref() == Some(client_order_id) && c.command_type == "New")
        else {
            return Ok(None);
        };
        let order: wire::Order = self
            .client
            .call(
                Method::GET,
                &format!("/order/item?id={}", command.order_id),
                token,
                None,
                Effect::Read,
            )
            .await?;
        if order.account_id != account_id {
            return Ok(None);
        }
        let fills: Vec<wire::Fill> = self
            .client
            .call(
                Method::GET,
                &format!("/fill/deps?masterid={}", order.id),
                token,
                None,
                Effect::Read,
            )
            .await?;
        let (filled, average_price) = fill_summary(&fills)?;
        Ok(Some(OrderReport {
            broker_order_id: order.id.to_string(),
            client_order_id: client_order_id.to_string(),
            state: order_state(&order.ord_status),
            filled_quantity: filled,
            average_price,
            reason: (order.ord_status == "Rejected").then(|| command.command_status.clone()),
        }))
    }

    async fn resolve_instrument(
        &self,
        session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError> {
        let symbol = symbol.trim().to_uppercase();
        let now = self.clock.now_ms();
        if let Some((instrument, at)) = self.resolved.lock().expect("lock").get(&symbol)
            && now - at < RESOLVED_TTL_MS
        {
            return Ok(instrument.clone());
        }
        let instrument = self.resolve_uncached(session, &symbol).await?;
        self.resolved
            .lock()
            .expect("lock")
            .insert(symbol, (instrument.clone(), now));
        Ok(instrument)
    }

    async fn refresh_credentials(&self, session: &Session) -> Result<Session, BrokerError> {
        self.refresh(session).await
    }

    /// Tradovate documents no token revocation endpoint: the token simply
    /// expires (≤ 90 minutes) once atomik stops renewing it and forgets it.
    async fn revoke(&self, _session: &Session) -> Result<(), BrokerError> {
        Ok(())
    }
}

impl Tradovate {
    /// A specific contract by name, or a root's front month via `rollcontract`.
    async fn resolve_uncached(
        &self,
        session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError> {
        let token = Self::token(session)?;
        let symbol = symbol.to_string();
        if is_specific_contract(&symbol) && continuous_root(&symbol).is_none() {
            let c: wire::Contract = self
                .client
                .call(
                    Method::GET,
                    &format!("/contract/find?name={symbol}"),
                    token,
                    None,
                    Effect::Read,
                )
                .await?;
            return Ok(Instrument {
                symbol: c.name,
                broker_id: Some(c.id.to_string()),
                quantity_step: Decimal::ONE,
                can_short: true,
                max_order_quantity: None,
                collateral_orders: false,
            });
        }
        let root = continuous_root(&symbol).unwrap_or(&symbol).to_string();
        let body = serde_json::to_value(wire::RollContract {
            name: root.clone(),
            forward: true,
            if_expired: true,
        })
        .expect("serializable");
        let rolled: wire::RollContractResult = self
            .client
            .call(
                Method::POST,
                "/contract/rollcontract",
                token,
                Some(body),
                Effect::Read,
            )
            .await?;
        let c = rolled.contract.ok_or_else(|| BrokerError::Rejected {
            code: Some("InvalidContract".into()),
            reason: format!("Tradovate has no front-month contract for {root}"),
        })?;
        Ok(Instrument {
            symbol: c.name,
            broker_id: Some(c.id.to_string()),
            quantity_step: Decimal::ONE,
            can_short: true,
            max_order_quantity: None,
            collateral_orders: false,
        })
    }

    async fn refresh(&self, session: &Session) -> Result<Session, BrokerError> {
        let token = Self::token(session)?;
        let url = format!("{}/auth/renewaccesstoken", self.client.config().rest_url);
        let value = match self
            .client
            .send(Method::GET, &url, Some(token), None, Effect::Read)
            .await
        {
            // An `errorText` on renewal means the token is no longer good.
            Err(BrokerError::Rejected { reason, .. }) => {
                return Err(BrokerError::AuthExpired(reason));
            }
            other => other?,
        };
        let r: wire::AccessTokenResponse = serde_json::from_value(value)
            .map_err(|_| BrokerError::NotSent("unexpected answer to renewaccesstoken".into()))?;
        match (
            r.access_token,
            r.expiration_time.as_deref().and_then(parse_time_ms),
        ) {
            (Some(token), Some(expires_at_ms)) => Ok(Session::OAuth {
                access_token: Secret::new(token),
                expires_at_ms,
            }),
            _ => Err(BrokerError::NotSent(
                "renewaccesstoken answered without a token or expiration time".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_classified() {
        assert_eq!(continuous_root("MNQ1!"), Some("MNQ"));
        assert_eq!(continuous_root("NQ!"), Some("NQ"));
        assert_eq!(continuous_root("MNQ"), None);
        assert!(is_specific_contract("MNQZ6"));
        assert!(is_specific_contract("ESH27"));
        assert!(!is_specific_contract("MNQ"));
        assert!(!is_specific_contract("ES"));
    }
}
