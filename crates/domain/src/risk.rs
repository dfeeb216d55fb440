//! A strategy's order rules, parsed and validated once, when the strategy is
//! saved (SPEC §4): what it trades per signal and the limits every order
//! must pass. Checks fail closed: a rule that cannot be read refuses the
//! order, it never lets it through.

use rust_decimal::Decimal;

use crate::hours::TradingHours;
use crate::sizing::{DEFAULT_MAX_PER_SIGNAL, QuantitySource, QuantityUnit};

/// The largest value any quantity setting may take (a strategy's quantity,
/// per-signal cap, max position, max order). Far above any real order and
/// far below where decimal arithmetic overflows, so sizing can never fail.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// Largest copy-group multiplier.
pub const MAX_MULTIPLIER: Decimal = Decimal::from_parts(1_000, 0, 0, false, 0);
/// On markets traded in whole units (futures contracts, shares), the
/// largest single order unless the strategy raises it deliberately.
pub const DEFAULT_MAX_ORDER_WHOLE_UNITS: Decimal = Decimal::from_parts(100, 0, 0, false, 0);
/// A signal not sent within this long is skipped rather than sent late
/// (market orders: the price has moved on). Per strategy.
pub const DEFAULT_MAX_SIGNAL_AGE_SECS: i64 = 60;
pub const MAX_SIGNAL_AGE_SECS: i64 = 86_400;

/// A strategy's rules, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyRules {
    /// Quantity to open or add per signal.
    pub quantity: Decimal,
    pub quantity_source: QuantitySource,
    /// What `quantity` (and the per-signal cap and max order) count.
    pub quantity_unit: QuantityUnit,
    pub max_position: Option<Decimal>,
    pub trading_hours: Option<TradingHours>,
    /// Largest single order that opens or adds; `None`: the market's
    /// default ([`default_max_order`]).
    pub max_order_quantity: Option<Decimal>,
    /// Orders per UTC day on one account.
    pub daily_order_cap: Option<i64>,
    /// `None`: [`DEFAULT_MAX_SIGNAL_AGE_SECS`].
    pub max_signal_age_secs: Option<i64>,
}

/// The rules as a form or API body gives them.
#[derive(Debug, Clone, Default)]
pub struct RawRules<'a> {
    pub quantity: &'a str,
    /// `fixed` (default) or `alert`.
    pub quantity_source: Option<&'a str>,
    pub max_per_signal: Option<&'a str>,
    /// `units` (default) or `collateral`.
    pub quantity_unit: Option<&'a str>,
    pub max_position: Option<&'a str>,
    pub trading_hours: Option<&'a str>,
    pub max_order_quantity: Option<&'a str>,
    pub daily_order_cap: Option<i64>,
    pub max_signal_age_secs: Option<i64>,
}

/// What is wrong with a rule, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// A positive quantity no larger than [`MAX_QUANTITY`].
pub fn quantity(field: &str, value: &str) -> Result<Decimal, RuleError> {
    let parsed = value
        .trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO);
    match parsed {
        Some(d) if d <= MAX_QUANTITY => Ok(d.normalize()),
        Some(_) => Err(RuleError(format!(
            "{field} {} is too large: the most atomik accepts is {MAX_QUANTITY}",
            value.trim()
        ))),
        None => Err(RuleError(format!(
            "{field} must be a positive number, got {value:?}"
        ))),
    }
}

/// A copy-group multiplier: positive, at most [`MAX_MULTIPLIER`].
pub fn multiplier(value: &str) -> Result<Decimal, RuleError> {
    match value.trim().parse::<Decimal>() {
        Ok(d) if d > Decimal::ZERO && d <= MAX_MULTIPLIER => Ok(d.normalize()),
        _ => Err(RuleError(format!(
            "multiplier must be a number above 0 and at most {MAX_MULTIPLIER}, got {value:?}"
        ))),
    }
}

impl StrategyRules {
    /// Parse and validate every rule; the first problem is the error.
    pub fn parse(raw: &RawRules<'_>) -> Result<StrategyRules, RuleError> {
        let quantity = quantity("quantity", raw.quantity)?;
        let quantity_source = match present(raw.quantity_source).unwrap_or("fixed") {
            "fixed" => QuantitySource::Fixed,
            "alert" => QuantitySource::FromAlert {
                cap: match present(raw.max_per_signal) {
                    Some(m) => self::quantity("max_per_signal", m)?,
                    None => Decimal::from(DEFAULT_MAX_PER_SIGNAL),
                },
            },
            other => {
                return Err(RuleError(format!(
                    "quantity_source must be fixed or alert, got {other:?}"
                )));
            }
        };
        let quantity_unit = match present(raw.quantity_unit) {
            None => QuantityUnit::Units,
            Some(u) => QuantityUnit::parse(u).map_err(|_| {
                RuleError(format!(
                    "quantity_unit must be units or collateral, got {u:?}"
                ))
            })?,
        };
        let optional = |field: &str, v: Option<&str>| present(v).map(|m| self::quantity(field, m));
        let max_position = optional("max_position", raw.max_position).transpose()?;
        if quantity_unit == QuantityUnit::Collateral && max_position.is_some() {
            // A buy's shares are known only once it fills: a cap in shares
            // could not be held before sending.
            return Err(RuleError(
                "max_position cannot be combined with a quantity in collateral (the shares a buy \
                 gets are known only once it fills); leave max_position empty and cap each buy \
                 with max_order_quantity, in collateral"
                    .into(),
            ));
        }
        let max_order_quantity =
            optional("max_order_quantity", raw.max_order_quantity).transpose()?;
        let trading_hours = present(raw.trading_hours)
            .map(TradingHours::parse)
            .transpose()
            .map_err(RuleError)?;
        if raw
            .daily_order_cap
            .is_some_and(|c| !(1..=1_000_000).contains(&c))
        {
            return Err(RuleError(
                "daily_order_cap must be between 1 and 1000000.".into(),
            ));
        }
        if raw
            .max_signal_age_secs
            .is_some_and(|s| !(1..=MAX_SIGNAL_AGE_SECS).contains(&s))
        {
            return Err(RuleError(format!(
                "max_signal_age_secs must be between 1 and {MAX_SIGNAL_AGE_SECS} seconds."
            )));
        }
        Ok(StrategyRules {
            quantity,
            quantity_source,
            quantity_unit,
            max_position,
            trading_hours,
            max_order_quantity,
            daily_order_cap: raw.daily_order_cap,
            max_signal_age_secs: raw.max_signal_age_secs,
        })
    }

    /// The per-signal cap when the quantity comes from the alert.
    pub fn max_per_signal(&self) -> Option<Decimal> {
        match self.quantity_source {
            QuantitySource::FromAlert { cap } => Some(cap),
            QuantitySource::Fixed => None,
        }
    }

    pub fn max_signal_age_ms(&self) -> i64 {
        self.max_signal_age_secs
            .unwrap_or(DEFAULT_MAX_SIGNAL_AGE_SECS)
            .saturating_mul(1000)
    }

    /// The largest order that opens or adds, on a market with this
    /// quantity step and venue maximum.
    pub fn effective_max_order(&self, market: &MarketRules) -> Option<Decimal> {
        self.max_order_quantity
            .or_else(|| default_max_order(market))
    }

    /// Checks at save against the resolved market: the strategy's own
    /// quantity must fit its max order size (a larger quantity from an
    /// alert is refused when it comes).
    pub fn check_market(&self, market: &MarketRules, symbol: &str) -> Result<(), RuleError> {
        if self.quantity_unit == QuantityUnit::Collateral && !market.collateral_orders {
            return Err(RuleError(format!(
                "{symbol} cannot be bought by an amount of collateral on this broker: set the \
                 quantity unit to units"
            )));
        }
        let Some(max) = self.effective_max_order(market) else {
            return Ok(());
        };
        let biggest = self.quantity;
        if biggest > max {
            let which = if self.max_order_quantity.is_some() {
                "the strategy's max order quantity"
            } else {
                "the default max order quantity for this market"
            };
            return Err(RuleError(format!(
                "an order of {biggest} {symbol} is above {which} ({max}): lower the quantity, \
                 or set max_order_quantity deliberately if you mean it"
            )));
        }
        Ok(())
    }
}

/// What a market itself says about order sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRules {
    /// Smallest tradable increment.
    pub quantity_step: Decimal,
    /// The venue's own largest single order, where it publishes one.
    pub venue_max_order: Option<Decimal>,
    /// Buys may be sized by the collateral they spend (Polymarket).
    pub collateral_orders: bool,
}

/// The default max order size of a market: 100 units where it trades in
/// whole units (contracts, shares), the venue's own maximum otherwise (a
/// crypto quantity's scale differs per coin; the account's buying power,
/// enforced by the venue, bounds it further).
pub fn default_max_order(market: &MarketRules) -> Option<Decimal> {
    let whole = (market.quantity_step >= Decimal::ONE).then_some(DEFAULT_MAX_ORDER_WHOLE_UNITS);
    match (whole, market.venue_max_order) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(quantity: &str) -> RawRules<'_> {
        RawRules {
            quantity,
            ..Default::default()
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let e = |r: RawRules<'_>| StrategyRules::parse(&r).unwrap_err().0;
        assert!(e(raw("0")).contains("positive"));
        assert!(e(raw("abc")).contains("positive"));
        assert!(e(raw("1000000000000000000000000000")).contains("too large"));
        assert!(
            e(RawRules {
                trading_hours: Some("9-17"),
                ..raw("1")
            })
            .contains("HH:MM")
        );
        assert!(
            e(RawRules {
                max_order_quantity: Some("-1"),
                ..raw("1")
            })
            .contains("max_order_quantity")
        );
        assert!(
            e(RawRules {
                quantity_source: Some("magic"),
                ..raw("1")
            })
            .contains("fixed or alert")
        );
        assert!(
            e(RawRules {
                daily_order_cap: Some(0),
                ..raw("1")
            })
            .contains("daily_order_cap")
        );
        assert!(
            e(RawRules {
                max_signal_age_secs: Some(0),
                ..raw("1")
            })
            .contains("max_signal_age_secs")
        );
        assert!(multiplier("0").is_err() && multiplier("1001").is_err());
        assert_eq!(multiplier("2.50").unwrap().to_string(), "2.5");
    }

    #[test]
    fn an_absurd_quantity_needs_a_deliberate_max_order() {
        let futures = MarketRules {
            quantity_step: Decimal::ONE,
            venue_max_order: None,
            collateral_orders: false,
        };
        let rules = StrategyRules::parse(&raw("1000000")).unwrap();
        let err = rules.check_market(&futures, "MNQZ6").unwrap_err().0;
        assert!(err.contains("default max order quantity"), "{err}");
        let raised = StrategyRules::parse(&RawRules {
            max_order_quantity: Some("1000000"),
            ..raw("1000000")
        })
        .unwrap();
        assert!(raised.check_market(&futures, "MNQZ6").is_ok());
        let crypto = MarketRules {
            quantity_step: "0.001".parse().unwrap(),
            venue_max_order: Some(Decimal::from(120)),
            collateral_orders: false,
        };
        assert_eq!(default_max_order(&crypto), Some(Decimal::from(120)));
        assert!(
            StrategyRules::parse(&raw("0.5"))
                .unwrap()
                .check_market(&crypto, "BTCUSDT.P")
                .is_ok()
        );
    }

    #[test]
    fn a_quantity_in_collateral_is_only_for_markets_that_take_it() {
        let collateral = RawRules {
            quantity_unit: Some("collateral"),
            ..raw("25")
        };
        let rules = StrategyRules::parse(&collateral).unwrap();
        assert_eq!(rules.quantity_unit, QuantityUnit::Collateral);
        let mut market = MarketRules {
            quantity_step: "0.01".parse().unwrap(),
            venue_max_order: None,
            collateral_orders: false,
        };
        let err = rules.check_market(&market, "MNQZ6").unwrap_err().0;
        assert!(err.contains("set the quantity unit to units"), "{err}");
        market.collateral_orders = true;
        assert!(rules.check_market(&market, "will-it:YES").is_ok());
        let capped = StrategyRules::parse(&RawRules {
            max_position: Some("100"),
            ..collateral
        });
        assert!(
            capped
                .unwrap_err()
                .0
                .contains("max_position cannot be combined")
        );
        let unknown = StrategyRules::parse(&RawRules {
            quantity_unit: Some("dollars"),
            ..raw("1")
        });
        assert!(unknown.unwrap_err().0.contains("units or collateral"));
    }
}
