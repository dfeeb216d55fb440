//! Resolution of what a strategy names to one IB contract, through contract
//! details, cached. A futures root resolves to its front (or next) month
//! among the listed expiries that have not passed; several stock listings
//! or none are refused with the candidates named.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use atomik_broker::{BrokerError, Instrument};
use atomik_ib_proto::{Contract, ContractDetails, Event, Request};
use rust_decimal::Decimal;
use tokio::time::Instant;

use crate::conn::{Connection, WaitError};
use crate::symbols::{self, Wanted};

/// `Instrument::broker_id` for IB: `<conId>@<exchange>`, all an order needs.
pub fn broker_id(con_id: i32, exchange: &str) -> String {
    format!("{con_id}@{exchange}")
}

/// The contract an order is placed for, from `Instrument::broker_id`.
pub fn order_contract(instrument: &Instrument) -> Result<Contract, BrokerError> {
    let bad = || {
        BrokerError::Misconfigured(format!(
            "instrument {} has no IB contract id; resolve it again",
            instrument.symbol
        ))
    };
    let id = instrument.broker_id.as_deref().ok_or_else(bad)?;
    let (con_id, exchange) = id.split_once('@').ok_or_else(bad)?;
    Ok(Contract {
        con_id: con_id.parse().map_err(|_| bad())?,
        exchange: exchange.to_string(),
        ..Contract::default()
    })
}

#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, (Instrument, Instant)>>,
}

impl Cache {
    pub fn get(&self, symbol: &str) -> Option<Instrument> {
        let entries = self.entries.lock().expect("instrument cache");
        entries
            .get(symbol)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(i, _)| i.clone())
    }

    pub fn put(&self, symbol: &str, instrument: &Instrument, ttl: Duration) {
        self.entries.lock().expect("instrument cache").insert(
            symbol.to_string(),
            (instrument.clone(), Instant::now() + ttl),
        );
    }
}

/// The query contract-details is asked with.
fn query(wanted: &Wanted) -> Contract {
    let mut c = Contract::default();
    match wanted {
        Wanted::Stock { symbol, .. } => {
            c.symbol = symbol.clone();
            c.sec_type = "STK".into();
            c.exchange = "SMART".into();
            c.currency = "USD".into();
        }
        Wanted::FuturesRoot { root, exchange, .. } => {
            c.symbol = root.clone();
            c.sec_type = "FUT".into();
            c.exchange = (*exchange).into();
        }
        Wanted::Future {
            local_symbol,
            exchange,
            ..
        } => {
            c.local_symbol = local_symbol.clone();
            c.sec_type = "FUT".into();
            c.exchange = (*exchange).into();
        }
        Wanted::Forex { base, quote } => {
            c.symbol = base.clone();
            c.currency = quote.clone();
            c.sec_type = "CASH".into();
            c.exchange = "IDEALPRO".into();
        }
        Wanted::Option {
            underlying,
            expiry,
            right,
            strike,
        } => {
            c.symbol = underlying.clone();
            c.sec_type = "OPT".into();
            c.exchange = "SMART".into();
            c.currency = "USD".into();
            c.last_trade_date_or_contract_month = expiry.clone();
            c.right = right.to_string();
            c.strike = strike.to_string().parse().ok();
            c.multiplier = "100".into();
        }
    }
    c
}

/// Every contract IB lists for `contract`.
async fn details(
    conn: &Connection,
    contract: Contract,
) -> Result<Vec<ContractDetails>, BrokerError> {
    let req_id = conn.next_req_id();
    let mut rx = conn.subscribe();
    conn.send(Request::ReqContractData { req_id, contract })?;
    let mut found = Vec::new();
    let timeout = Duration::from_secs(10);
    let end = conn
        .wait_for(&mut rx, timeout, |event| match event {
            Event::ContractData { req_id: r, details } if *r == req_id => {
                found.push(details.clone());
                None
            }
            Event::ContractDataEnd { req_id: r } if *r == req_id => Some(Ok(())),
            Event::Error {
                id, code, message, ..
            } if *id == req_id => Some(Err((*code, message.clone()))),
            _ => None,
        })
        .await;
    match end {
        Ok(Ok(())) => Ok(found),
        // 200: no security definition.
        Ok(Err((200, _))) => Ok(Vec::new()),
        Ok(Err((code, message))) => Err(BrokerError::Rejected {
            code: Some(code.to_string()),
            reason: format!("IB refused the contract lookup ({code}): {message}"),
        }),
        Err(WaitError::Timeout) | Err(WaitError::Lagged) => Err(BrokerError::NotSent(
            "IB Gateway did not answer the contract lookup in time".into(),
        )),
        Err(WaitError::Closed(why)) => Err(BrokerError::NotSent(format!(
            "the connection to IB Gateway dropped during a contract lookup: {why}"
        ))),
    }
}

/// `YYYYMMDD` of today, UTC.
fn today(now_ms: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn expiry(d: &ContractDetails) -> &str {
    let c = &d.contract.last_trade_date_or_contract_month;
    if c.is_empty() { &d.contract_month } else { c }
}

/// Resolve `name` through IB.
pub async fn resolve(
    conn: &Connection,
    name: &str,
    now_ms: i64,
) -> Result<Instrument, BrokerError> {
    let wanted = symbols::parse(name).map_err(|why| BrokerError::Rejected {
        code: Some("instrument".into()),
        reason: why,
    })?;
    let mut listed = details(conn, query(&wanted)).await?;
    let chosen = match &wanted {
        Wanted::FuturesRoot { root, nth, .. } => {
            let today = today(now_ms);
            // Only the root's own contracts, unexpired, nearest first.
            listed.retain(|d| d.contract.symbol == *root && expiry(d) > today.as_str());
            listed.sort_by(|a, b| expiry(a).cmp(expiry(b)));
            listed
                .into_iter()
                .nth(nth - 1)
                .ok_or_else(|| BrokerError::Rejected {
                    code: Some("instrument".into()),
                    reason: format!(
                        "IB lists no unexpired {root} futures contract (asked for {name})"
                    ),
                })?
        }
        Wanted::Stock {
            primary_exchange: Some(primary),
            ..
        } if listed.len() > 1 => {
            listed.retain(|d| d.contract.primary_exchange.eq_ignore_ascii_case(primary));
            only_one(name, listed)?
        }
        _ => only_one(name, listed)?,
    };
    Ok(instrument(&wanted, &chosen))
}

fn only_one(name: &str, mut listed: Vec<ContractDetails>) -> Result<ContractDetails, BrokerError> {
    match listed.len() {
        0 => Err(BrokerError::Rejected {
            code: Some("200".into()),
            reason: format!("IB has no contract for {name:?} (no security definition found)"),
        }),
        1 => Ok(listed.remove(0)),
        _ => Err(BrokerError::Rejected {
            code: Some("ambiguous".into()),
            reason: format!(
                "{name:?} matches {} IB contracts: {}; name one (e.g. with its exchange, NASDAQ:{})",
                listed.len(),
                listed
                    .iter()
                    .map(|d| format!(
                        "{} {} on {} (conId {})",
                        d.contract.local_symbol,
                        d.contract.sec_type,
                        if d.contract.primary_exchange.is_empty() {
                            &d.contract.exchange
                        } else {
                            &d.contract.primary_exchange
                        },
                        d.contract.con_id
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                listed[0].contract.symbol
            ),
        }),
    }
}

fn instrument(wanted: &Wanted, d: &ContractDetails) -> Instrument {
    let c = &d.contract;
    let symbol = match wanted {
        Wanted::Stock { .. } => c.symbol.replace(' ', "."),
        Wanted::Forex { base, quote } => format!("{base}.{quote}"),
        Wanted::Option {
            underlying,
            expiry,
            right,
            strike,
        } => symbols::occ_symbol(underlying, expiry, *right, *strike),
        _ if !c.local_symbol.is_empty() => c.local_symbol.clone(),
        _ => c.symbol.clone(),
    };
    // Orders route SMART for stocks and options, to the listing exchange otherwise.
    let exchange = if c.exchange.is_empty() {
        "SMART"
    } else {
        c.exchange.as_str()
    };
    Instrument {
        symbol,
        broker_id: Some(broker_id(c.con_id, exchange)),
        quantity_step: d
            .size_increment
            .filter(|s| *s > Decimal::ZERO)
            .unwrap_or(Decimal::ONE),
        can_short: true,
        max_order_quantity: None,
        collateral_orders: false,
    }
}

/// How long a resolution may be reused: a futures root's at most until the
/// day ends (the front month may roll), everything else for `ttl`.
pub fn ttl_for(name: &str, ttl: Duration) -> Duration {
    match symbols::parse(name) {
        Ok(Wanted::FuturesRoot { .. }) => ttl.min(Duration::from_secs(15 * 60)),
        _ => ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(con_id: i32, primary: &str) -> ContractDetails {
        ContractDetails {
            contract: Contract {
                con_id,
                symbol: "XYZ".into(),
                sec_type: "STK".into(),
                exchange: "SMART".into(),
                primary_exchange: primary.into(),
                local_symbol: "XYZ".into(),
                ..Contract::default()
            },
            ..ContractDetails::default()
        }
    }

    #[test]
    fn several_listings_are_refused_with_the_candidates_named() {
        let err = only_one("XYZ", vec![listing(1, "NASDAQ"), listing(2, "NYSE")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("matches 2 IB contracts"), "{text}");
        assert!(
            text.contains("on NASDAQ (conId 1)") && text.contains("on NYSE (conId 2)"),
            "{text}"
        );
        assert!(text.contains("NASDAQ:XYZ"), "{text}");
        let none = only_one("XYZ", Vec::new()).unwrap_err();
        assert!(
            none.to_string().contains("no contract for \"XYZ\""),
            "{none}"
        );
        assert_eq!(
            only_one("XYZ", vec![listing(3, "ARCA")])
                .unwrap()
                .contract
                .con_id,
            3
        );
    }

    #[test]
    fn today_is_utc() {
        assert_eq!(today(0), "19700101");
        assert_eq!(today(1_796_083_200_000), "20261201");
    }
}
