//! What traders type, read into what to ask IB for (BROKERS.md §2; SPEC §4).
//!
//! - `AAPL`, `BRK.B`, `NASDAQ:AAPL` → a stock or ETF: STK, SMART, USD.
//! - `ES`, `MNQ`, `NQ1!`, `NQ2!`, `CME_MINI:NQ1!` → a futures root: the
//!   front (or next) month among the contracts IB lists.
//! - `MNQZ6`, `ESH27` → one futures contract by its local symbol.
//! - `EURUSD`, `EUR.USD`, `EUR/USD`, `FX:EURUSD` → CASH on IDEALPRO.
//! - `AAPL  261218C00200000` (OCC) → one option.
//!
//! Pure: no I/O. A root that is also a stock ticker (`ES`) is the future;
//! an exchange prefix names the stock (`NYSE:ES`).

/// What a strategy's instrument asks IB for.
#[derive(Debug, Clone, PartialEq)]
pub enum Wanted {
    Stock {
        symbol: String,
        /// From an exchange prefix (`NASDAQ:AAPL`), to choose among listings.
        primary_exchange: Option<String>,
    },
    /// A futures root; `nth` 1 is the front month, 2 the next.
    FuturesRoot {
        root: String,
        exchange: &'static str,
        nth: usize,
    },
    /// One futures contract by its local symbol (`MNQZ6`).
    Future {
        local_symbol: String,
        root: String,
        exchange: &'static str,
    },
    Forex {
        base: String,
        quote: String,
    },
    Option {
        underlying: String,
        /// `YYYYMMDD`.
        expiry: String,
        right: char,
        strike: rust_decimal::Decimal,
    },
}

/// Futures roots atomik knows and their IB exchange.
const FUTURES: &[(&str, &str)] = &[
    ("ES", "CME"),
    ("MES", "CME"),
    ("NQ", "CME"),
    ("MNQ", "CME"),
    ("RTY", "CME"),
    ("M2K", "CME"),
    ("6E", "CME"),
    ("6B", "CME"),
    ("6J", "CME"),
    ("6A", "CME"),
    ("6C", "CME"),
    ("YM", "CBOT"),
    ("MYM", "CBOT"),
    ("ZB", "CBOT"),
    ("ZN", "CBOT"),
    ("ZF", "CBOT"),
    ("ZT", "CBOT"),
    ("ZC", "CBOT"),
    ("ZS", "CBOT"),
    ("ZW", "CBOT"),
    ("CL", "NYMEX"),
    ("MCL", "NYMEX"),
    ("NG", "NYMEX"),
    ("GC", "COMEX"),
    ("MGC", "COMEX"),
    ("SI", "COMEX"),
    ("HG", "COMEX"),
];

const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK", "DKK", "HKD", "SGD",
    "MXN", "CNH", "ZAR", "PLN", "CZK", "HUF", "ILS", "TRY",
];

/// TradingView exchange prefixes that name a futures venue or a forex feed.
const FUTURES_PREFIXES: &[&str] = &["CME", "CME_MINI", "CBOT", "CBOT_MINI", "NYMEX", "COMEX"];
const FOREX_PREFIXES: &[&str] = &["FX", "FX_IDC", "OANDA", "FOREXCOM", "IDEALPRO", "SAXO"];

const MONTH_CODES: &str = "FGHJKMNQUVXZ";

fn futures_exchange(root: &str) -> Option<&'static str> {
    FUTURES.iter().find(|(r, _)| *r == root).map(|(_, e)| *e)
}

/// Read a strategy's instrument. `Err` says what is wrong with it.
pub fn parse(input: &str) -> Result<Wanted, String> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err("no instrument given".into());
    }
    if let Some(option) = occ_option(raw) {
        return Ok(option);
    }
    let upper = raw.to_ascii_uppercase();
    let (prefix, name) = match upper.split_once(':') {
        Some((p, n)) => (Some(p.trim()), n.trim()),
        None => (None, upper.as_str()),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("{raw:?} is not an instrument atomik can read"));
    }
    let futures_prefix = prefix.is_some_and(|p| FUTURES_PREFIXES.contains(&p));
    let stock_prefix = prefix.filter(|p| !futures_prefix && !FOREX_PREFIXES.contains(p));
    if stock_prefix.is_none() {
        if let Some(wanted) = futures(name, futures_prefix) {
            return Ok(wanted);
        }
        if let Some(wanted) = forex(name) {
            return Ok(wanted);
        }
    }
    if futures_prefix {
        return Err(format!(
            "{raw:?}: atomik knows no futures root {name:?}; known roots: {}",
            FUTURES
                .iter()
                .map(|(r, _)| *r)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let valid = name.len() <= 12
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if !valid {
        return Err(format!(
            "{raw:?} is not a stock, futures, forex or OCC option symbol"
        ));
    }
    Ok(Wanted::Stock {
        // IB writes share classes with a space: BRK B.
        symbol: name.replace('.', " "),
        primary_exchange: stock_prefix.map(|p| match p {
            "NYSEARCA" | "AMEX" => "ARCA".to_string(),
            other => other.to_string(),
        }),
    })
}

fn futures(name: &str, prefixed: bool) -> Option<Wanted> {
    if let Some(root) = name.strip_suffix('!') {
        let (root, nth) = root.split_at(root.len().checked_sub(1)?);
        let nth: usize = nth.parse().ok().filter(|n| (1..=2).contains(n))?;
        let exchange = futures_exchange(root)?;
        return Some(Wanted::FuturesRoot {
            root: root.to_string(),
            exchange,
            nth,
        });
    }
    if let Some(exchange) = futures_exchange(name) {
        return Some(Wanted::FuturesRoot {
            root: name.to_string(),
            exchange,
            nth: 1,
        });
    }
    // A month code and a one- or two-digit year after a known root.
    let year_digits = name.chars().rev().take_while(char::is_ascii_digit).count();
    if !(1..=2).contains(&year_digits) || name.len() < year_digits + 2 {
        return None;
    }
    let head = &name[..name.len() - year_digits];
    let (root, month) = head.split_at(head.len() - 1);
    if !MONTH_CODES.contains(month) {
        return None;
    }
    let exchange = futures_exchange(root)?;
    let _ = prefixed;
    Some(Wanted::Future {
        local_symbol: name.to_string(),
        root: root.to_string(),
        exchange,
    })
}

fn forex(name: &str) -> Option<Wanted> {
    let compact: String = name.chars().filter(|c| !matches!(c, '.' | '/')).collect();
    if compact.len() != 6 || !compact.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let (base, quote) = compact.split_at(3);
    (CURRENCIES.contains(&base) && CURRENCIES.contains(&quote) && base != quote).then(|| {
        Wanted::Forex {
            base: base.to_string(),
            quote: quote.to_string(),
        }
    })
}

/// `AAPL  261218C00200000`: root (padded to 6), YYMMDD, C/P, strike × 1000.
fn occ_option(raw: &str) -> Option<Wanted> {
    let upper = raw.to_ascii_uppercase();
    let tail_start = upper.len().checked_sub(15)?;
    let (root, tail) = upper.split_at(tail_start);
    let root = root.trim();
    if root.is_empty() || root.len() > 6 || !root.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let (date, rest) = tail.split_at(6);
    let (right, strike) = rest.split_at(1);
    if !date.chars().all(|c| c.is_ascii_digit()) || !strike.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let right = right.chars().next().filter(|r| matches!(r, 'C' | 'P'))?;
    let strike = rust_decimal::Decimal::new(strike.parse().ok()?, 3).normalize();
    Some(Wanted::Option {
        underlying: root.to_string(),
        expiry: format!("20{date}"),
        right,
        strike,
    })
}

/// The OCC symbol of an option (`AAPL  261218C00200000`).
pub fn occ_symbol(
    underlying: &str,
    expiry: &str,
    right: char,
    strike: rust_decimal::Decimal,
) -> String {
    let yymmdd = expiry.get(2..8).unwrap_or(expiry);
    let thousandths = (strike * rust_decimal::Decimal::from(1000)).trunc();
    format!("{underlying:<6}{yymmdd}{right}{thousandths:0>8}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn stock(s: &str, p: Option<&str>) -> Wanted {
        Wanted::Stock {
            symbol: s.into(),
            primary_exchange: p.map(Into::into),
        }
    }

    #[test]
    fn what_traders_type() {
        assert_eq!(parse("AAPL"), Ok(stock("AAPL", None)));
        assert_eq!(parse("brk.b"), Ok(stock("BRK B", None)));
        assert_eq!(parse("NASDAQ:AAPL"), Ok(stock("AAPL", Some("NASDAQ"))));
        assert_eq!(parse("NYSE:ES"), Ok(stock("ES", Some("NYSE"))));
        let root = |r: &str, e, nth| Wanted::FuturesRoot {
            root: r.into(),
            exchange: e,
            nth,
        };
        assert_eq!(parse("ES"), Ok(root("ES", "CME", 1)));
        assert_eq!(parse("MNQ1!"), Ok(root("MNQ", "CME", 1)));
        assert_eq!(parse("CME_MINI:NQ1!"), Ok(root("NQ", "CME", 1)));
        assert_eq!(parse("NQ2!"), Ok(root("NQ", "CME", 2)));
        assert_eq!(parse("YM1!"), Ok(root("YM", "CBOT", 1)));
        assert_eq!(
            parse("MNQZ6"),
            Ok(Wanted::Future {
                local_symbol: "MNQZ6".into(),
                root: "MNQ".into(),
                exchange: "CME"
            })
        );
        let fx = Wanted::Forex {
            base: "EUR".into(),
            quote: "USD".into(),
        };
        assert_eq!(parse("EURUSD"), Ok(fx.clone()));
        assert_eq!(parse("EUR.USD"), Ok(fx.clone()));
        assert_eq!(parse("FX:EUR/USD"), Ok(fx));
        assert_eq!(
            parse("AAPL  261218C00200000"),
            Ok(Wanted::Option {
                underlying: "AAPL".into(),
                expiry: "20261218".into(),
                right: 'C',
                strike: Decimal::from(200),
            })
        );
        assert_eq!(
            parse("SPY261218P00450500").map(|w| match w {
                Wanted::Option { strike, .. } => strike,
                _ => Decimal::ZERO,
            }),
            Ok(Decimal::new(4505, 1))
        );
    }

    #[test]
    fn what_is_refused_says_why() {
        assert!(parse("").unwrap_err().contains("no instrument"));
        assert!(parse("CME:FOO1!").unwrap_err().contains("known roots"));
        assert!(parse("AA PL").is_err());
        assert!(parse("12AB").is_err());
        assert!(parse("XX1!").is_err(), "unknown root, not a stock either");
    }

    #[test]
    fn occ_symbols_round_trip() {
        let s = occ_symbol("AAPL", "20261218", 'C', Decimal::from(200));
        assert_eq!(s, "AAPL  261218C00200000");
        assert!(matches!(parse(&s), Ok(Wanted::Option { .. })));
    }
}
