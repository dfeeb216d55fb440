//! The contracts the simulator lists and IB's matching of a request's
//! partial contract against them (`reqContractDetails`, and the contract of
//! a placed order).

use atomik_ib_proto::{Contract, ContractDetails};
use rust_decimal::Decimal;
use time::{Date, Month, Weekday};

use crate::config::SimConfig;

/// One listed contract.
#[derive(Debug, Clone)]
pub struct Entry {
    pub details: ContractDetails,
    /// Price × quantity × multiplier = cash.
    pub multiplier: f64,
    /// Futures and options: not listed after this day.
    pub last_trade: Option<Date>,
}

impl Entry {
    pub fn contract(&self) -> &Contract {
        &self.details.contract
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub entries: Vec<Entry>,
}

/// (symbol, primary exchange, con id, long name): IB's con ids for the stocks.
const STOCKS: &[(&str, &str, i32, &str)] = &[
    ("AAPL", "NASDAQ", 265598, "APPLE INC"),
    ("MSFT", "NASDAQ", 272093, "MICROSOFT CORP"),
    ("SPY", "ARCA", 756733, "SPDR S&P 500 ETF TRUST"),
    ("QQQ", "NASDAQ", 320227571, "INVESCO QQQ TRUST SERIES 1"),
    ("TSLA", "NASDAQ", 76792991, "TESLA INC"),
];

/// (root, multiplier, long name).
const FUTURES: &[(&str, f64, &str)] = &[
    ("ES", 50.0, "E-mini S&P 500"),
    ("MES", 5.0, "Micro E-mini S&P 500"),
    ("NQ", 20.0, "E-mini Nasdaq-100"),
    ("MNQ", 2.0, "Micro E-mini Nasdaq-100"),
];

/// (base, quote, con id).
const FOREX: &[(&str, &str, i32)] = &[
    ("EUR", "USD", 12087792),
    ("GBP", "USD", 12087797),
    ("USD", "JPY", 15016059),
];

const OPTION_EXPIRY: &str = "20261218";
const OPTION_STRIKES: &[f64] = &[200.0, 230.0, 250.0];

const QUARTER_CODES: &[(Month, char)] = &[
    (Month::March, 'H'),
    (Month::June, 'M'),
    (Month::September, 'U'),
    (Month::December, 'Z'),
];

pub fn date_of_ms(ms: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date()
}

pub fn third_friday(year: i32, month: Month) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_friday = (Weekday::Friday.number_days_from_monday() + 7
        - first.weekday().number_days_from_monday())
        % 7;
    Date::from_calendar_date(year, month, 1 + to_friday + 14).ok()
}

/// The next `n` quarterly contracts (month, code, last trading day) from
/// `today`; with `front_in_days` the first one's last day is moved there.
pub fn quarterly_expiries(
    today: Date,
    n: usize,
    front_in_days: Option<u32>,
) -> Vec<(i32, Month, char, Date)> {
    let mut out = Vec::new();
    let mut year = today.year();
    while out.len() < n && year < today.year() + 10 {
        for &(month, code) in QUARTER_CODES {
            let Some(day) = third_friday(year, month) else {
                continue;
            };
            if day >= today && out.len() < n {
                out.push((year, month, code, day));
            }
        }
        year += 1;
    }
    if let (Some(front), Some(days)) = (out.first_mut(), front_in_days) {
        front.3 = today
            .checked_add(time::Duration::days(days as i64))
            .unwrap_or(front.3);
    }
    out
}

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day())
}

fn details(contract: Contract, min_tick: f64, long_name: &str, tz: &str) -> ContractDetails {
    ContractDetails {
        market_name: if contract.trading_class.is_empty() {
            contract.symbol.clone()
        } else {
            contract.trading_class.clone()
        },
        min_tick,
        order_types: "LMT,MKT".into(),
        valid_exchanges: contract.exchange.clone(),
        long_name: long_name.into(),
        time_zone_id: tz.into(),
        min_size: Some(Decimal::ONE),
        size_increment: Some(Decimal::ONE),
        contract,
        ..ContractDetails::default()
    }
}

/// An option's OCC symbol: root padded to 6, yymmdd, right, strike × 1000 in 8 digits.
pub fn occ_symbol(root: &str, expiry: &str, right: char, strike: f64) -> String {
    let yymmdd = expiry.get(2..).unwrap_or(expiry);
    format!(
        "{root:<6}{yymmdd}{right}{:08}",
        (strike * 1000.0).round() as i64
    )
}

impl Catalogue {
    pub fn build(config: &SimConfig, now_ms: i64) -> Catalogue {
        let today = date_of_ms(now_ms);
        let mut entries = Vec::new();
        for &(symbol, primary, con_id, name) in STOCKS {
            let c = Contract {
                con_id,
                symbol: symbol.into(),
                sec_type: "STK".into(),
                exchange: "SMART".into(),
                primary_exchange: primary.into(),
                currency: "USD".into(),
                local_symbol: symbol.into(),
                trading_class: if primary == "ARCA" { symbol } else { "NMS" }.into(),
                ..Contract::default()
            };
            entries.push(Entry {
                details: details(c, 0.01, name, "US/Eastern"),
                multiplier: 1.0,
                last_trade: None,
            });
        }
        let expiries = quarterly_expiries(
            today,
            config.futures_expiries.max(1),
            config.front_expires_in_days,
        );
        for (idx, &(root, multiplier, name)) in FUTURES.iter().enumerate() {
            for &(year, month, code, last) in &expiries {
                let ym = year * 100 + month as i32;
                let c = Contract {
                    con_id: 500_000_000 + (idx as i32 + 1) * 1_000_000 + ym % 1_000_000,
                    symbol: root.into(),
                    sec_type: "FUT".into(),
                    last_trade_date_or_contract_month: yyyymmdd(last),
                    multiplier: format!("{multiplier}"),
                    exchange: "CME".into(),
                    currency: "USD".into(),
                    local_symbol: format!("{root}{code}{}", year.rem_euclid(10)),
                    trading_class: root.into(),
                    ..Contract::default()
                };
                let mut d = details(c, 0.25, name, "US/Central");
                d.contract_month = format!("{ym}");
                entries.push(Entry {
                    details: d,
                    multiplier,
                    last_trade: Some(last),
                });
            }
        }
        for &(base, quote, con_id) in FOREX {
            let c = Contract {
                con_id,
                symbol: base.into(),
                sec_type: "CASH".into(),
                exchange: "IDEALPRO".into(),
                currency: quote.into(),
                local_symbol: format!("{base}.{quote}"),
                trading_class: format!("{base}.{quote}"),
                ..Contract::default()
            };
            let tick = if quote == "JPY" { 0.005 } else { 0.00005 };
            entries.push(Entry {
                details: details(c, tick, &format!("{base}.{quote}"), "US/Eastern"),
                multiplier: 1.0,
                last_trade: None,
            });
        }
        let expiry = Date::parse(
            OPTION_EXPIRY,
            time::macros::format_description!("[year][month][day]"),
        )
        .ok();
        let mut con_id = 800_000_001;
        for &strike in OPTION_STRIKES {
            for right in ['C', 'P'] {
                let c = Contract {
                    con_id,
                    symbol: "AAPL".into(),
                    sec_type: "OPT".into(),
                    last_trade_date_or_contract_month: OPTION_EXPIRY.into(),
                    strike: Some(strike),
                    right: right.to_string(),
                    multiplier: "100".into(),
                    exchange: "SMART".into(),
                    currency: "USD".into(),
                    local_symbol: occ_symbol("AAPL", OPTION_EXPIRY, right, strike),
                    trading_class: "AAPL".into(),
                    ..Contract::default()
                };
                con_id += 1;
                let mut d = details(c, 0.01, "APPLE INC", "US/Eastern");
                d.under_con_id = 265598;
                entries.push(Entry {
                    details: d,
                    multiplier: 100.0,
                    last_trade: expiry,
                });
            }
        }
        Catalogue { entries }
    }

    pub fn by_con_id(&self, con_id: i32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.contract().con_id == con_id)
    }

    /// IB's matching: by con id, or by every field the request sets.
    /// Contracts past their last trading day only with `include_expired`.
    pub fn find(&self, q: &Contract, today: Date) -> Vec<&Entry> {
        if q.con_id > 0 {
            return self.by_con_id(q.con_id).into_iter().collect();
        }
        if q.symbol.is_empty() && q.local_symbol.is_empty() {
            return Vec::new();
        }
        self.entries
            .iter()
            .filter(|e| q.include_expired || e.last_trade.is_none_or(|d| d >= today))
            .filter(|e| matches(q, e.contract()))
            .collect()
    }
}

fn given_eq(q: &str, have: &str) -> bool {
    q.is_empty() || q.eq_ignore_ascii_case(have)
}

fn squash(s: &str) -> String {
    s.split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase()
}

fn matches(q: &Contract, c: &Contract) -> bool {
    let exchange_ok = q.exchange.is_empty()
        || q.exchange.eq_ignore_ascii_case(&c.exchange)
        || q.exchange.eq_ignore_ascii_case(&c.primary_exchange)
        // IB accepts futures at their exchange's old names (GLOBEX for CME).
        || (c.exchange == "CME" && q.exchange.eq_ignore_ascii_case("GLOBEX"));
    let expiry_ok = q.last_trade_date_or_contract_month.is_empty()
        || c.last_trade_date_or_contract_month == q.last_trade_date_or_contract_month
        || (q.last_trade_date_or_contract_month.len() == 6
            && c.sec_type == "FUT"
            && contract_month_of(c) == q.last_trade_date_or_contract_month)
        || (q.last_trade_date_or_contract_month.len() == 6
            && c.last_trade_date_or_contract_month
                .starts_with(&q.last_trade_date_or_contract_month));
    let right_ok = q.right.is_empty()
        || q.right.chars().next().map(|r| r.to_ascii_uppercase()) == c.right.chars().next();
    let strike_ok = match q.strike {
        Some(s) if s != 0.0 => c.strike.is_some_and(|k| (k - s).abs() < 1e-6),
        _ => true,
    };
    let multiplier_ok = q.multiplier.is_empty()
        || q.multiplier.parse::<f64>().ok() == c.multiplier.parse::<f64>().ok();
    given_eq(&q.symbol, &c.symbol)
        && given_eq(&q.sec_type, &c.sec_type)
        && exchange_ok
        && given_eq(&q.primary_exchange, &c.primary_exchange)
        && given_eq(&q.currency, &c.currency)
        && expiry_ok
        && right_ok
        && strike_ok
        && multiplier_ok
        && (q.local_symbol.is_empty() || squash(&q.local_symbol) == squash(&c.local_symbol))
        && given_eq(&q.trading_class, &c.trading_class)
}

/// A future's contract month, from its con id (`…yyyymm`).
fn contract_month_of(c: &Contract) -> String {
    format!("{}", c.con_id % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use atomik_broker::ManualClock;
    use std::sync::Arc;

    // 2026-12-01 00:00 UTC.
    const DEC_1: i64 = 1_796_083_200_000;

    fn cat(front: Option<u32>) -> Catalogue {
        let mut config = SimConfig::demo(Arc::new(ManualClock::new(DEC_1)));
        config.front_expires_in_days = front;
        Catalogue::build(&config, DEC_1)
    }

    fn q(symbol: &str, sec_type: &str) -> Contract {
        Contract {
            symbol: symbol.into(),
            sec_type: sec_type.into(),
            ..Contract::default()
        }
    }

    #[test]
    fn futures_list_quarterly_third_fridays_and_the_front_can_be_near() {
        let today = date_of_ms(DEC_1);
        let c = cat(None);
        let mnq: Vec<_> = c
            .find(&q("MNQ", "FUT"), today)
            .iter()
            .map(|e| {
                (
                    e.contract().local_symbol.clone(),
                    e.contract().last_trade_date_or_contract_month.clone(),
                )
            })
            .collect();
        assert_eq!(
            mnq,
            [
                ("MNQZ6", "20261218"),
                ("MNQH7", "20270319"),
                ("MNQM7", "20270618"),
                ("MNQU7", "20270917")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let near = cat(Some(2));
        let front = near.find(&q("MNQ", "FUT"), today)[0].clone();
        assert_eq!(
            front.contract().last_trade_date_or_contract_month,
            "20261203"
        );
        // Two days later it has expired and the next contract is the front.
        let later = today + time::Duration::days(3);
        assert_eq!(
            near.find(&q("MNQ", "FUT"), later)[0]
                .contract()
                .local_symbol,
            "MNQH7"
        );
        let mut by_month = q("ES", "FUT");
        by_month.last_trade_date_or_contract_month = "202703".into();
        let es = c.find(&by_month, today);
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].contract().local_symbol, "ESH7");
        assert_eq!(es[0].multiplier, 50.0);
    }

    #[test]
    fn matching_like_ib() {
        let today = date_of_ms(DEC_1);
        let c = cat(None);
        let mut aapl = q("AAPL", "STK");
        aapl.exchange = "SMART".into();
        aapl.currency = "USD".into();
        let found = c.find(&aapl, today);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].contract().con_id, 265598);
        assert_eq!(found[0].contract().primary_exchange, "NASDAQ");
        // By con id alone.
        let by_id = Contract {
            con_id: 265598,
            ..Contract::default()
        };
        assert_eq!(c.find(&by_id, today).len(), 1);
        // Options: every AAPL option, or one by its OCC local symbol.
        assert_eq!(c.find(&q("AAPL", "OPT"), today).len(), 6);
        let mut call = q("AAPL", "OPT");
        call.right = "CALL".into();
        call.strike = Some(200.0);
        call.last_trade_date_or_contract_month = "20261218".into();
        let found = c.find(&call, today);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].contract().local_symbol, "AAPL  261218C00200000");
        let by_local = Contract {
            local_symbol: "AAPL  261218P00250000".into(),
            ..Contract::default()
        };
        assert_eq!(c.find(&by_local, today)[0].contract().right, "P");
        let mut eur = q("EUR", "CASH");
        eur.currency = "USD".into();
        eur.exchange = "IDEALPRO".into();
        assert_eq!(c.find(&eur, today)[0].contract().local_symbol, "EUR.USD");
        assert!(c.find(&q("NOPE", "STK"), today).is_empty());
        let mut wrong_exchange = q("AAPL", "STK");
        wrong_exchange.exchange = "CME".into();
        assert!(c.find(&wrong_exchange, today).is_empty());
    }
}
