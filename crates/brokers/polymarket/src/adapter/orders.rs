//! Orders: a FOK order priced from the book within a bounded worst price,
//! signed before it is sent (its hash is its id), posted, cancelled, and
//! found again by that hash.

use atomik_broker::{
    BrokerError, Fill, OrderAck, OrderReport, OrderRequest, OrderState, PreparedOrder,
    QuantityUnit, Session, Side,
};
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::wire::{Book, OpenOrder, Page, PostAnswer, Trade, order_state, rejected};
use super::{Account, Polymarket};
use crate::amounts::{self, TickSize};
use crate::contracts::Exchange;
use crate::http::{Auth, Effect};
use crate::identity::OrderIdentity;
use crate::markets::{self, decimal};
use crate::order::{self, OrderSpec, OrderV2};
use crate::{B256, U256};

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
    pub(super) async fn prepare(
        &self,
        session: &Session,
        request: &OrderRequest,
    ) -> Result<Option<PreparedOrder>, BrokerError> {
        let account = self.account(session)?;
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
        let amounts = match (request.quantity_unit, side) {
            (QuantityUnit::Units, _) => {
                amounts::limit_amounts(side, worst, request.quantity, &market.rules)
            }
            // Spend this much collateral: at the worst price it buys the
            // fewest shares; better prices cost less of it.
            (QuantityUnit::Collateral, order::Side::Buy) => {
                amounts::market_buy_amounts(request.quantity, worst, market.rules.tick)
            }
            (QuantityUnit::Collateral, order::Side::Sell) => {
                return Err(rejected(
                    "a sell on Polymarket is sized in shares held, never in collateral; nothing was sent"
                        .into(),
                ));
            }
        }
        .map_err(|e| rejected(format!("{e}; nothing was sent")))?;
        let available = depth(&book, side, worst);
        if available < amounts.size {
            return Err(rejected(format!(
                "the book holds {} shares to {} at {worst} or better, short of the {} ordered; nothing was sent (a fill-or-kill order would be killed)",
                available.normalize(),
                if side == order::Side::Buy {
                    "buy"
                } else {
                    "sell"
                },
                amounts.size.normalize()
            )));
        }
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

    pub(super) async fn place(
        &self,
        session: &Session,
        request: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        let prepared = match &request.prepared {
            Some(p) => p.clone(),
            None => self
                .prepare(session, request)
                .await?
                .expect("Polymarket always prepares"),
        };
        let account = self.account(session)?;
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

    pub(super) async fn cancel(
        &self,
        session: &Session,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        let account = self.account(session)?;
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

    pub(super) async fn find(
        &self,
        session: &Session,
        instrument: &str,
        client_order_id: &str,
        prepared_order_id: Option<&str>,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let Some(hash) = prepared_order_id else {
            return Err(BrokerError::NotSent(format!(
                "the order of {client_order_id} has no stored order hash: a Polymarket order is found only by its hash"
            )));
        };
        let account = self.account(session)?;
        // Trades are filtered by the outcome token where the symbol names it.
        let token = markets::parse(instrument).ok().and_then(|n| match n {
            markets::Named::Token(t) => Some(t),
            _ => None,
        });
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
                    report.average_price = match self.trades_of(&account, token, hash).await? {
                        Some(t) => t.average_price,
                        None => o.price.as_ref().and_then(decimal),
                    };
                }
                Ok(Some(report))
            }
            Err(BrokerError::Rejected { code, .. }) if code.as_deref() == Some("404") => {
                // Not (or no longer) listed: a matched order is in the trades.
                Ok(self.trades_of(&account, token, hash).await?.map(|mut r| {
                    r.client_order_id = client_order_id.to_string();
                    r
                }))
            }
            Err(e) => Err(e),
        }
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
