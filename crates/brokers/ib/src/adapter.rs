//! The [`Broker`] for Interactive Brokers, over the connection manager.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atomik_broker::{
    AccountRef, Balance, Broker, BrokerAccountInfo, BrokerError, BrokerKind, Clock,
    ConnectionReport, Instrument, OrderAck, OrderReport, OrderRequest, OrderType, Position,
    Session, Side,
};
use atomik_ib_proto::{Contract, Event, Order, Request};
use rust_decimal::Decimal;

use crate::config::IbConfig;
use crate::conn::{Connection, Endpoint};
use crate::instruments::{self, Cache};
use crate::manager::{Connections, LinkStatus};
use crate::orders;

pub struct InteractiveBrokers {
    connections: Connections,
    instruments: Cache,
    clock: Arc<dyn Clock>,
}

fn endpoint(session: &Session) -> Result<(Endpoint, &str), BrokerError> {
    match session {
        Session::Socket {
            host,
            port,
            client_id,
            account,
        } => Ok((
            Endpoint {
                host: host.clone(),
                port: *port,
                client_id: *client_id,
            },
            account.as_str(),
        )),
        _ => Err(BrokerError::Misconfigured(
            "Interactive Brokers connects through a TWS / IB Gateway socket (host, port, client id), not keys or tokens".into(),
        )),
    }
}

impl InteractiveBrokers {
    pub fn new(config: IbConfig, clock: Arc<dyn Clock>) -> InteractiveBrokers {
        InteractiveBrokers {
            connections: Connections::new(config),
            instruments: Cache::default(),
            clock,
        }
    }

    fn config(&self) -> &IbConfig {
        self.connections.config()
    }

    async fn connection(
        &self,
        session: &Session,
    ) -> Result<(Arc<Connection>, String), BrokerError> {
        let (endpoint, account) = endpoint(session)?;
        let conn = self.connections.get(&endpoint).await?;
        if !conn.accounts.iter().any(|a| a == account) {
            return Err(BrokerError::Misconfigured(format!(
                "account {account} is not among the accounts IB Gateway {endpoint} manages ({}); \
                 check the Account ID, or the login running that Gateway",
                conn.accounts.join(", ")
            )));
        }
        Ok((conn, account.to_string()))
    }

    /// The Gateway connection's state and last error, for the account's status.
    pub fn link_status(&self, session: &Session) -> Option<LinkStatus> {
        endpoint(session)
            .ok()
            .map(|(e, _)| self.connections.status(&e))
    }

    async fn account_summary(
        &self,
        conn: &Connection,
        account: &str,
    ) -> Result<Vec<(String, String, String)>, BrokerError> {
        let req_id = conn.next_req_id();
        let mut rx = conn.subscribe();
        conn.send(Request::ReqAccountSummary {
            req_id,
            group: "All".into(),
            tags: "NetLiquidation,TotalCashValue,BuyingPower".into(),
        })?;
        let mut values = Vec::new();
        let done = conn
            .wait_for(
                &mut rx,
                self.config().request_timeout,
                |event| match event {
                    Event::AccountSummary {
                        req_id: r,
                        account: a,
                        tag,
                        value,
                        currency,
                    } if *r == req_id && a == account => {
                        values.push((tag.clone(), value.clone(), currency.clone()));
                        None
                    }
                    Event::AccountSummaryEnd { req_id: r } if *r == req_id => Some(()),
                    _ => None,
                },
            )
            .await;
        let _ = conn.send(Request::CancelAccountSummary { req_id });
        done.map_err(|_| {
            BrokerError::NotSent("IB Gateway did not send the account summary in time".into())
        })?;
        Ok(values)
    }

    /// Whether orders are refused as read-only: a what-if order (never
    /// executed) answered 321. `None` when the Gateway gave no clear answer.
    async fn read_only(&self, conn: &Connection, account: &str) -> Option<bool> {
        let contract = Contract {
            symbol: "AAPL".into(),
            sec_type: "STK".into(),
            exchange: "SMART".into(),
            currency: "USD".into(),
            ..Contract::default()
        };
        let order = Order {
            action: "BUY".into(),
            total_quantity: Decimal::ONE,
            order_type: "MKT".into(),
            tif: "DAY".into(),
            account: account.to_string(),
            order_ref: "atomik-read-only-check".into(),
            what_if: true,
            ..Order::default()
        };
        match orders::place(
            conn,
            contract,
            order,
            Duration::from_secs(5),
            Duration::ZERO,
        )
        .await
        {
            Ok(_) => Some(false),
            Err(BrokerError::NeedsAttention(_)) => Some(true),
            Err(_) => None,
        }
    }

    /// A read of the position book once it is settled; if a fill's update
    /// is late or the first list never came, positions are asked for again.
    async fn settled<T>(
        &self,
        conn: &Connection,
        read: impl Fn(&crate::book::PositionBook) -> crate::book::Read<T>,
    ) -> Result<T, BrokerError> {
        let half = self.config().request_timeout / 2;
        if let Some(value) = conn.positions.settled(half, &read).await {
            return Ok(value);
        }
        conn.send(Request::ReqPositions)?;
        conn.positions
            .settled(half, &read)
            .await
            .ok_or_else(|| BrokerError::NotSent("IB Gateway did not send positions in time".into()))
    }
}

fn decimal(text: &str) -> Option<Decimal> {
    text.parse().ok()
}

#[async_trait]
impl Broker for InteractiveBrokers {
    fn kind(&self) -> BrokerKind {
        BrokerKind::InteractiveBrokers
    }

    async fn test_connection(&self, session: &Session) -> Result<ConnectionReport, BrokerError> {
        let (conn, account) = self.connection(session).await?;
        let summary = self.account_summary(&conn, &account).await?;
        let value = |tag: &str| summary.iter().find(|(t, _, _)| t == tag);
        let mut balances = Vec::new();
        let mut notes = vec![format!(
            "IB Gateway / TWS API server version {} ({} protocol), connected since {}",
            conn.server_version,
            if conn.server_version >= atomik_ib_proto::version::MIN_PROTOBUF {
                "protobuf"
            } else {
                "text"
            },
            conn.connection_time
        )];
        for (tag, label) in [
            ("TotalCashValue", "Cash"),
            ("NetLiquidation", "Net liquidation"),
        ] {
            if let Some((_, v, currency)) = value(tag)
                && let Some(amount) = decimal(v)
            {
                balances.push(Balance {
                    currency: currency.clone(),
                    amount,
                });
                notes.push(format!("{label}: {currency} {v}"));
            }
        }
        let read_only = self.read_only(&conn, &account).await;
        match read_only {
            Some(true) => notes.push(
                "The API is read-only (IB 321): in TWS / IB Gateway, API › Settings, untick \"Read-Only API\" so atomik can place orders".into(),
            ),
            None => notes.push("Could not tell whether the API is read-only.".into()),
            Some(false) => {}
        }
        Ok(ConnectionReport {
            user_id: account.clone(),
            user_name: account.clone(),
            accounts: conn
                .accounts
                .iter()
                .map(|a| BrokerAccountInfo {
                    id: a.clone(),
                    name: a.clone(),
                    active: *a == account,
                })
                .collect(),
            balances,
            can_trade: read_only != Some(true),
            notes,
        })
    }

    async fn positions(
        &self,
        session: &Session,
        _account: &AccountRef,
    ) -> Result<Vec<Position>, BrokerError> {
        let (conn, account) = self.connection(session).await?;
        Ok(self
            .settled(&conn, |b| b.account(&account))
            .await?
            .into_iter()
            .map(|h| Position {
                symbol: if h.contract.local_symbol.is_empty() {
                    h.contract.symbol.clone()
                } else {
                    h.contract.local_symbol.clone()
                },
                quantity: h.quantity,
                average_price: Decimal::try_from(h.average_cost).ok(),
            })
            .collect())
    }

    async fn position(
        &self,
        session: &Session,
        _account: &AccountRef,
        instrument: &Instrument,
    ) -> Result<Decimal, BrokerError> {
        let (conn, account) = self.connection(session).await?;
        let con_id = instruments::order_contract(instrument)?.con_id;
        self.settled(&conn, |b| b.one(&account, con_id)).await
    }

    async fn place_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        order: &OrderRequest,
    ) -> Result<OrderAck, BrokerError> {
        order.units_only()?;
        let (conn, account) = self.connection(session).await?;
        let contract = instruments::order_contract(&order.instrument)?;
        let (order_type, limit_price) = match &order.order_type {
            OrderType::Market => ("MKT", None),
            OrderType::Limit { price } => (
                "LMT",
                Some(f64::try_from(*price).map_err(|_| {
                    BrokerError::Misconfigured(format!("limit price {price} is not representable"))
                })?),
            ),
        };
        let ib_order = Order {
            action: match order.side {
                Side::Buy => "BUY",
                Side::Sell => "SELL",
            }
            .into(),
            total_quantity: order.quantity,
            order_type: order_type.into(),
            limit_price,
            tif: "DAY".into(),
            account: account.clone(),
            order_ref: order.client_order_id.clone(),
            ..Order::default()
        };
        let fill_wait = match order.order_type {
            OrderType::Market => self.config().fill_wait,
            OrderType::Limit { .. } => Duration::ZERO,
        };
        let placed = orders::place(
            &conn,
            contract,
            ib_order,
            self.config().request_timeout,
            fill_wait,
        )
        .await?;
        Ok(OrderAck {
            broker_order_id: placed.order_id.to_string(),
            fill: placed.fill,
        })
    }

    async fn cancel_order(
        &self,
        session: &Session,
        _account: &AccountRef,
        _instrument: &str,
        broker_order_id: &str,
    ) -> Result<(), BrokerError> {
        let (conn, _) = self.connection(session).await?;
        let order_id: i32 = broker_order_id.parse().map_err(|_| BrokerError::Rejected {
            code: None,
            reason: format!(
                "IB order {broker_order_id} can only be cancelled in TWS (it has no API order id)"
            ),
        })?;
        orders::cancel(&conn, order_id, self.config().request_timeout).await
    }

    async fn order_by_client_id(
        &self,
        session: &Session,
        _account: &AccountRef,
        _instrument: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, BrokerError> {
        let (conn, account) = self.connection(session).await?;
        orders::find(
            &conn,
            &account,
            client_order_id,
            self.config().request_timeout,
        )
        .await
    }

    async fn resolve_instrument(
        &self,
        session: &Session,
        symbol: &str,
    ) -> Result<Instrument, BrokerError> {
        if let Some(hit) = self.instruments.get(symbol) {
            return Ok(hit);
        }
        let (conn, _) = self.connection(session).await?;
        let found = instruments::resolve(&conn, symbol, self.clock.now_ms()).await?;
        self.instruments.put(
            symbol,
            &found,
            instruments::ttl_for(symbol, self.config().instrument_ttl),
        );
        tracing::info!(symbol, resolved = %found.symbol, contract = ?found.broker_id, "IB instrument resolved");
        Ok(found)
    }

    /// The Gateway's login is the credential; nothing expires here.
    async fn refresh_credentials(&self, session: &Session) -> Result<Session, BrokerError> {
        Ok(session.clone())
    }

    fn keeps_connections(&self) -> bool {
        true
    }

    fn connection_state(&self, session: &Session) -> Option<String> {
        let (endpoint, _) = endpoint(session).ok()?;
        let status = self.connections.status(&endpoint);
        let mut text = format!("IB Gateway {endpoint}: {}", status.state.label());
        if let Some(v) = status
            .server_version
            .filter(|_| status.state == crate::LinkState::Connected)
        {
            text.push_str(&format!(" (server version {v})"));
        }
        if let Some(e) = status.last_error {
            text.push_str(&format!("; last error: {e}"));
        }
        Some(text)
    }

    /// Nothing to revoke at IB: the socket needs no key. Logging out of the
    /// Gateway (or removing this server from its trusted IPs) ends access.
    async fn revoke(&self, _session: &Session) -> Result<(), BrokerError> {
        Ok(())
    }
}
