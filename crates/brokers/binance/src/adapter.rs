//! The [`Broker`] implementation for Binance spot and USDⓈ-M futures.
//!
//! Instruments name their market the way TradingView does: `BTCUSDT` is
//! spot, `BTCUSDT.P` (or `.PERP`) the USDⓈ-M perpetual; a `BINANCE:` prefix
//! is accepted. Quantities are rounded down to the symbol's lot step and
//! checked against its filters before anything is sent. Spot positions are
//! the free balance of the base asset (spot never shorts); futures
//! positions come from position risk (one-way mode).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use atomik_broker::{
    AccountRef, Balance, Broker, BrokerAccountInfo, BrokerError, BrokerKind, Clock,
    ConnectionReport, Instrument, OrderAck, OrderReport, OrderRequest, OrderState, OrderType,
    Position, Session, Side,
};
use reqwest::Method;
use rust_decimal::Decimal;

use crate::BinanceConfig;
use crate::client::{Call, Client, Credentials, Effect, Market};
use crate::filters::SymbolRules;
use crate::sign::Signer;
use crate::wire;

/// How long a ticker price is good for the pre-send notional check.
const PRICE_TTL_MS: i64 = 2_000;

pub struct Binance {
    client: Client,
    clock: Arc<dyn Clock>,
    ttl_ms: i64,
    rules: Mutex<HashMap<(Market, String), (SymbolRules, i64)>>,
    prices: Mutex<HashMap<(Market, String), (Decimal, i64)>>,
}

/// `BTCUSDT` → spot; `BTCUSDT.P` / `BTCUSDT.PERP` → futures; `BINANCE:` prefix allowed.
pub fn parse_symbol(text: &str) -> Result<(Market, String), BrokerError> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("BINANCE:").unwrap_or(&upper);
    let (market, symbol) = match bare
        .strip_suffix(".PERP")
        .or_else(|| bare.strip_suffix(".P"))
    {
        Some(s) => (Market::Futures, s),
        None => (Market::Spot, bare),
    };
    if !(2..=20).contains(&symbol.len()) || !symbol.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(BrokerError::Rejected {
            code: None,
            reason: format!(
                "{text:?} is not a Binance symbol: use e.g. BTCUSDT for spot or BTCUSDT.P for the USDⓈ-M perpetual"
            ),
        });
    }
    Ok((market, symbol.to_string()))
}

fn display(market: Market, symbol: &str) -> String {
    match market {
        Market::Spot => symbol.to_string(),
        Market::Futures => format!("{symbol}.P"),
    }
}

fn credentials(session: &Session) -> Result<Credentials, BrokerError> {
    match session {
        Session::ApiKey { key, secret, .. } => Ok(Credentials {
            api_key: key.expose().trim().to_string(),
            signer: Signer::from_secret(secret.expose())
                .map_err(|e| BrokerError::Misconfigured(e.to_string()))?,
        }),
        _ => Err(BrokerError::Misconfigured(
            "Binance needs an API key and a secret or Ed25519 private key".into(),
        )),
    }
}

fn side_param(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub fn order_state(status: &str) -> OrderState {
    match status {
        "FILLED" => OrderState::Filled,
        "NEW" | "PARTIALLY_FILLED" | "PENDING_NEW" | "PENDING_CANCEL" => OrderState::Working,
        "CANCELED" | "EXPIRED" | "EXPIRED_IN_MATCH" => OrderState::Canceled,
        "REJECTED" => OrderState::Rejected,
        _ => OrderState::Pending,
    }
}

/// An order as `GET …/order` reports it, in the trait's terms.
pub fn order_report(order: wire::Order) -> OrderReport {
    let filled = order.executed_qty.unwrap_or_default();
    let average_price = order.avg_price.filter(|p| !p.is_zero()).or_else(|| {
        let quote = order.cummulative_quote_qty?;
        (!filled.is_zero())
            .then(|| quote.checked_div(filled))
            .flatten()
    });
    let status = order.status.clone().unwrap_or_default();
    OrderReport {
        broker_order_id: order.order_id.to_string(),
        client_order_id: order.client_order_id,
        state: order_state(&status),
        filled_quantity: filled,
        average_price,
        reason: (status == "REJECTED").then_some(status),
    }
}

/// The futures position in `symbol` (one-way mode) from `positionRisk`; a
/// sum beyond decimal range is an unreadable answer, never a panic.
pub fn futures_position(
    risks: &[wire::PositionRisk],
    symbol: &str,
) -> Result<Decimal, BrokerError> {
    risks
        .iter()
        .filter(|p| p.symbol == symbol)
        .try_fold(Decimal::ZERO, |sum, p| sum.checked_add(p.position_amt))
        .ok_or_else(|| {
            BrokerError::NotSent(format!(
                "Binance's positionRisk for {symbol} adds up beyond any real position"
            ))
        })
}

impl Binance {
    pub fn new(config: BinanceConfig, clock: Arc<dyn Clock>) -> Self {
        Binance {
            ttl_ms: config.exchange_info_ttl.as_millis() as i64,
            client: Client::new(config, clock.clone()),
            clock,
            rules: Mutex::new(HashMap::new()),
            prices: Mutex::new(HashMap::new()),
        }
    }

    /// Request weight used in the current window (spot), as far as atomik knows.
    pub fn spot_weight_used(&self) -> u32 {
        self.client.weight_used(Market::Spot)
    }

    fn signed<'a>(
        market: Market,
        method: Method,
        path: &'a str,
        params: Vec<(&'a str, String)>,
        weight: u32,
        creds: &'a Credentials,
    ) -> Call<'a> {
        Call {
            market,
            method,
            path,
            params,
            weight,
            effect: Effect::Read,
            credentials: Some(creds),
        }
    }

    /// The symbol's filters from `exchangeInfo`, cached for the TTL.
    async fn rules(&self, market: Market, symbol: &str) -> Result<SymbolRules, BrokerError> {
        let now = self.clock.now_ms();
        let key = (market, symbol.to_string());
        if let Some((rules, at)) = self.rules.lock().expect("rules").get(&key)
            && now - at < self.ttl_ms
        {
            return Ok(rules.clone());
        }
        let (path, params, weight) = match market {
            Market::Spot => (
                "/api/v3/exchangeInfo",
                vec![("symbol", symbol.to_string())],
                20,
            ),
            // Futures exchangeInfo takes no symbol filter: it lists every symbol.
            Market::Futures => ("/fapi/v1/exchangeInfo", Vec::new(), 1),
        };
        let info: wire::ExchangeInfo = match self
            .client
            .call(Call {
                market,
                method: Method::GET,
                path,
                params,
                weight,
                effect: Effect::Read,
                credentials: None,
            })
            .await
        {
            Err(BrokerError::Rejected { code, .. }) if code.as_deref() == Some("-1121") => {
                return Err(unknown_symbol(market, symbol));
            }
            other => other?,
        };
        self.client.configure_limits(market, &info.rate_limits);
        let mut cache = self.rules.lock().expect("rules");
        for s in &info.symbols {
            cache.insert((market, s.symbol.clone()), (SymbolRules::from_info(s), now));
        }
        cache
            .get(&key)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| unknown_symbol(market, symbol))
    }

    async fn price(&self, market: Market, symbol: &str) -> Result<Decimal, BrokerError> {
        let now = self.clock.now_ms();
        let key = (market, symbol.to_string());
        if let Some((p, at)) = self.prices.lock().expect("prices").get(&key)
            && now - at < PRICE_TTL_MS
        {
            return Ok(*p);
        }
        let path = match market {
            Market::Spot => "/api/v3/ticker/price",
            Market::Futures => "/fapi/v1/ticker/price",
        };
        let t: wire::TickerPrice = self
            .client
            .call(Call {
                market,
                method: Method::GET,
                path,
                params: vec![("symbol", symbol.to_string())],
                weight: 2,
                effect: Effect::Read,
                credentials: None,
            })
            .await?;
        self.prices
            .lock()
            .expect("prices")
            .insert(key, (t.price, now));
        Ok(t.price)
    }

    async fn spot_account(&self, creds: &Credentials) -> Result<wire::SpotAccount, BrokerError> {
        self.client
            .call(Self::signed(
                Market::Spot,
                Method::GET,
                "/api/v3/account",
                vec![("omitZeroBalances", "true".into())],
                20,
                creds,
            ))
            .await
    }

    async fn position_risk(
        &self,
        creds: &Credentials,
        symbol: Option<&str>,
    ) -> Result<Vec<wire::PositionRisk>, BrokerError> {
        let params = symbol
            .map(|s| vec![("symbol", s.to_string())])
            .unwrap_or_default();
        self.client
            .call(Self::signed(
                Market::Futures,
                Method::GET,
                "/fapi/v3/positionRisk",
                params,
                5,
                creds,
            ))
            .await
    }
}

fn unknown_symbol(market: Market, symbol: &str) -> BrokerError {
    BrokerError::Rejected {
        code: Some("-1121".into()),
        reason: format!(
            "Binance lists no {} symbol {symbol}: check the strategy's instrument (e.g. BTCUSDT, or BTCUSDT.P for futures)",
            market.label()
        ),
    }
}

#[async_trait]
impl Broker for Binance {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Binance
    }

    /// Who the key belongs to, balances, and what it may do: spot trading
    /// (`canTrade`), futures (a futures balance call), IP restriction and
    /// withdrawals (`apiRestrictions`, which Testnet lacks).
    async fn test_connection(&self, session: &Session) -> Result<ConnectionReport, BrokerError> {
        let creds = credentials(session)?;
        let account = self.spot_account(&creds).await?;
        let restrictions: Option<wire::ApiRestrictions> = self
            .client
            .call(Self::signed(
                Market::Spot,
                Method::GET,
                "/sapi/v1/account/apiRestrictions",
                Vec::new(),
                1,
                &creds,
            ))
            .await
            .ok();
        let futures: Result<Vec<wire::FuturesBalance>, BrokerError> = self
            .client
            .call(Self::signed(
                Market::Futures,
                Method::GET,
                "/fapi/v2/balance",
                Vec::new(),
                5,
                &creds,
            ))
            .await;
        let spot_trade = account.can_trade
            && restrictions
                .as_ref()
                .is_none_or(|r| r.enable_spot_and_margin_trading);
        let futures_trade =
            futures.is_ok() && restrictions.as_ref().is_none_or(|r| r.enable_futures);
        let mut notes = vec![
            format!(
                "Spot trading: {}.",
                if spot_trade { "enabled" } else { "not enabled" }
            ),
            format!(
                "USDⓈ-M futures trading: {}.",
                if futures_trade {
                    "enabled".to_string()
                } else {
                    match &futures {
                        Err(e) => format!("not available ({e})"),
                        Ok(_) => "not enabled".to_string(),
                    }
                }
            ),
        ];
        match &restrictions {
            Some(r) if r.ip_restrict => notes.push("The key is restricted to trusted IPs.".into()),
            Some(_) => notes.push(
                "The key is not IP-restricted: Binance recommends restricting trading keys to your server's IP."
                    .into(),
            ),
            None => notes.push("IP restriction unknown (this environment has no apiRestrictions endpoint).".into()),
        }
        if restrictions.as_ref().is_some_and(|r| r.enable_withdrawals) {
            notes.push(
                "The key can withdraw funds. atomik never needs that: create a key without withdrawals.".into(),
            );
        }
        let mut balances: Vec<Balance> = account
            .balances
            .iter()
            .filter(|b| !(b.free + b.locked).is_zero())
            .map(|b| Balance {
                currency: b.asset.clone(),
                amount: b.free + b.locked,
            })
            .collect();
        balances.sort_by_key(|b| !matches!(b.currency.as_str(), "USDT" | "USDC" | "FDUSD"));
        if let Ok(list) = &futures {
            balances.extend(
                list.iter()
                    .filter(|b| !b.balance.is_zero())
                    .map(|b| Balance {
                        currency: format!("{} (futures)", b.asset),
                        amount: b.balance,
                    }),
            );
        }
        let uid = account
            .uid
            .map(|u| u.to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ConnectionReport {
            user_id: uid.clone(),
            user_name: format!("Binance account {uid}"),
            accounts: vec![BrokerAccountInfo {
                id: uid.clone(),
                name: uid,
                active: true,
            }],
            balances,
            can_trade: spot_trade || futures_trade,
            notes,
        })
    }

    /// Futures positions (one-way mode). Spot holdings are balances: see
    /// [`Broker::position`].
    async fn positions(
        &self,
        session: &Session,
        _account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError> {
        let creds = credentials(session)?;
        Ok(self
            .position_risk(&creds, None)
            .await?
            .into_iter()
            .filter(|p| !p.position_amt.is_zero())
            .map(|p| Position {
                symbol: display(Market::Futures, &p.symbol),
                quantity: p.position_amt,
                average_price: p.entry_price,
            })
            .collect())
    }

    async fn position(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &Instrument,
    ) -> Result<Decimal, BrokerError> {
        let creds = credentials(session)?;
        let (market, symbol) = parse_symbol(&instrument.symbol)?;
        match market {
            Market::Spot => {
                let base = self.rules(market, &symbol).await?.base_asset;
                Ok(self
                    .spot_account(&creds)
                    .await?
                    .balances
                    .into_iter()
                    .find(|b| b.asset == base)
                    .map(|b| b.free)
                    .unwrap_or_default())
            }
            Market::Futures => {
                futures_position(&self.position_risk(&creds, Some(&symbol)).await?, &symbol)
            }
        }
    }

    async fn place_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        order: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        order.units_only()?;
        let creds = credentials(session)?;
        let (market, symbol) = parse_symbol(&order.instrument.symbol)?;
        let rules = self.rules(market, &symbol).await?;
        let refuse = |reason: String| BrokerError::Rejected {
            code: Some("atomik".into()),
            reason,
        };
        let (is_market, price) = match &order.order_type {
            OrderType::Market => (true, self.price(market, &symbol).await?),
            OrderType::Limit { price } => {
                rules.check_price(*price).map_err(refuse)?;
                (false, *price)
            }
        };
        let quantity = rules
            .prepare(order.quantity, is_market, price)
            .map_err(refuse)?;
        let mut params = vec![
            ("symbol", symbol.clone()),
            ("side", side_param(order.side).to_string()),
            (
                "type",
                if is_market { "MARKET" } else { "LIMIT" }.to_string(),
            ),
            ("quantity", quantity.normalize().to_string()),
            ("newClientOrderId", order.client_order_id.clone()),
            ("newOrderRespType", "RESULT".to_string()),
        ];
        if !is_market {
            params.push(("timeInForce", "GTC".into()));
            params.push(("price", price.normalize().to_string()));
        }
        if market == Market::Futures && order.reduce_only {
            params.push(("reduceOnly", "true".into()));
        }
        let path = match market {
            Market::Spot => "/api/v3/order",
            Market::Futures => "/fapi/v1/order",
        };
        let mut call = Self::signed(market, Method::POST, path, params, 1, &creds);
        call.effect = Effect::Order;
        let placed: wire::Order = self.client.call(call).await?;
        if is_market && matches!(placed.status.as_deref(), Some("EXPIRED" | "REJECTED")) {
            return Err(BrokerError::Rejected {
                code: placed.status.clone(),
                reason: format!(
                    "Binance {} the market order without a fill",
                    placed.status.as_deref().unwrap_or("").to_lowercase()
                ),
            });
        }
        Ok(OrderAck {
            broker_order_id: placed.order_id.to_string(),
            fill: None,
        })
    }

    async fn cancel_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        let creds = credentials(session)?;
        let (market, symbol) = parse_symbol(instrument)?;
        let path = match market {
            Market::Spot => "/api/v3/order",
            Market::Futures => "/fapi/v1/order",
        };
        let params = vec![("symbol", symbol), ("orderId", broker_order_id.to_string())];
        let mut call = Self::signed(market, Method::DELETE, path, params, 1, &creds);
        call.effect = Effect::Order;
        let _: wire::Order = self.client.call(call).await?;
        Ok(())
    }

    /// `GET …/order?origClientOrderId=`: Binance keys lookups by symbol.
    /// `-2013` (no such order) means it was never placed.
    async fn order_by_client_id(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let creds = credentials(session)?;
        let (market, symbol) = parse_symbol(instrument)?;
        let (path, weight) = match market {
            Market::Spot => ("/api/v3/order", 4),
            Market::Futures => ("/fapi/v1/order", 1),
        };
        let params = vec![
            ("symbol", symbol),
            ("origClientOrderId", client_order_id.to_string()),
        ];
        let order: wire::Order = match self
            .client
            .call(Self::signed(
                market,
                Method::GET,
                path,
                params,
                weight,
                &creds,
            ))
            .await
        {
            Err(BrokerError::Rejected { code, .. }) if code.as_deref() == Some("-2013") => {
                return Ok(None);
            }
            other => other?,
        };
        Ok(Some(order_report(order)))
    }

    async fn resolve_instrument(
        &self,
        _session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError> {
        let (market, symbol) = parse_symbol(symbol)?;
        let rules = self.rules(market, &symbol).await?;
        if rules.status != "TRADING" {
            return Err(BrokerError::Rejected {
                code: None,
                reason: format!(
                    "{symbol} is not trading on Binance {} now (status {})",
                    market.label(),
                    rules.status
                ),
            });
        }
        Ok(Instrument {
            symbol: display(market, &symbol),
            broker_id: Some(symbol),
            quantity_step: rules.market_step(),
            can_short: market == Market::Futures,
            max_order_quantity: rules.market_max(),
            collateral_orders: false,
        })
    }

    /// API keys do not expire.
    async fn refresh_credentials(&self, session: &Session) -> Result<Session, BrokerError> {
        Ok(session.clone())
    }

    /// Binance offers no API to delete a key: atomik forgets it; the user
    /// deletes it in Binance API Management.
    async fn revoke(&self, _session: &Session) -> Result<(), BrokerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_name_their_market_like_tradingview() {
        assert_eq!(
            parse_symbol("btcusdt").unwrap(),
            (Market::Spot, "BTCUSDT".into())
        );
        assert_eq!(
            parse_symbol("BINANCE:BTCUSDT.P").unwrap(),
            (Market::Futures, "BTCUSDT".into())
        );
        assert_eq!(
            parse_symbol("ETHUSDT.PERP").unwrap(),
            (Market::Futures, "ETHUSDT".into())
        );
        assert!(parse_symbol("BTC/USDT").is_err());
        assert_eq!(display(Market::Futures, "BTCUSDT"), "BTCUSDT.P");
    }

    #[test]
    fn order_statuses_map() {
        assert_eq!(order_state("FILLED"), OrderState::Filled);
        assert_eq!(order_state("NEW"), OrderState::Working);
        assert_eq!(order_state("EXPIRED"), OrderState::Canceled);
        assert_eq!(order_state("REJECTED"), OrderState::Rejected);
    }
}
