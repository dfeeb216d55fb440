//! `strategy_rules`: a strategy's rules as an API body gives them (JSON),
//! through `StrategyRules::parse`, then the canonical text storage keeps
//! and reads back (`atomik_storage::execution::create_strategy` writes
//! these columns; every read parses them through the same function).

use atomik_domain::execution::{self, MarketFacts, Outcome, SignalFacts};
use atomik_domain::risk::{MAX_QUANTITY, MarketRules, RawRules, StrategyRules};
use atomik_domain::signal::{Action, Intent};
use atomik_domain::sizing::{DEFAULT_MAX_PER_SIGNAL, QuantitySource};
use rust_decimal::Decimal;
use serde_json::Value;

/// The columns a strategy's rules are stored in.
struct Stored {
    quantity: String,
    from_alert: bool,
    max_per_signal: String,
    quantity_unit: &'static str,
    max_position: Option<String>,
    trading_hours: Option<String>,
    max_order_quantity: Option<String>,
    daily_order_cap: Option<i64>,
    max_signal_age_secs: Option<i64>,
}

fn stored(r: &StrategyRules) -> Stored {
    Stored {
        quantity: r.quantity.to_string(),
        from_alert: matches!(r.quantity_source, QuantitySource::FromAlert { .. }),
        max_per_signal: r
            .max_per_signal()
            .unwrap_or(Decimal::from(DEFAULT_MAX_PER_SIGNAL))
            .to_string(),
        quantity_unit: r.quantity_unit.as_str(),
        max_position: r.max_position.map(|d| d.to_string()),
        trading_hours: r.trading_hours.map(|h| h.stored()),
        max_order_quantity: r.max_order_quantity.map(|d| d.to_string()),
        daily_order_cap: r.daily_order_cap,
        max_signal_age_secs: r.max_signal_age_secs,
    }
}

fn reread(s: &Stored) -> StrategyRules {
    StrategyRules::parse(&RawRules {
        quantity: &s.quantity,
        quantity_source: Some(if s.from_alert { "alert" } else { "fixed" }),
        max_per_signal: Some(&s.max_per_signal),
        quantity_unit: Some(s.quantity_unit),
        max_position: s.max_position.as_deref(),
        trading_hours: s.trading_hours.as_deref(),
        max_order_quantity: s.max_order_quantity.as_deref(),
        daily_order_cap: s.daily_order_cap,
        max_signal_age_secs: s.max_signal_age_secs,
    })
    .expect("stored rules read back")
}

pub fn strategy_rules(data: &[u8]) {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // Strings as the API's `Option<String>` fields take them; integers as `Option<i64>`.
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let int = |k: &str| body.get(k).and_then(Value::as_i64);
    let raw = RawRules {
        quantity: text("quantity").unwrap_or(""),
        quantity_source: text("quantity_source"),
        max_per_signal: text("max_per_signal"),
        quantity_unit: text("quantity_unit"),
        max_position: text("max_position"),
        trading_hours: text("trading_hours"),
        max_order_quantity: text("max_order_quantity"),
        daily_order_cap: int("daily_order_cap"),
        max_signal_age_secs: int("max_signal_age_secs"),
    };
    let Ok(rules) = StrategyRules::parse(&raw) else {
        return;
    };
    let quantities = [
        Some(rules.quantity),
        rules.max_per_signal(),
        rules.max_position,
        rules.max_order_quantity,
    ];
    for q in quantities.into_iter().flatten() {
        assert!(q > Decimal::ZERO && q <= MAX_QUANTITY, "{q} accepted");
    }
    assert_eq!(reread(&stored(&rules)), rules, "canonical text");
    assert!(rules.max_signal_age_ms() > 0);
    execute(&rules, int("position"));
}

/// A BUY on a futures-like and a crypto-like market: the order sent never
/// exceeds the max order size, and never opens beyond the max position.
fn execute(rules: &StrategyRules, position: Option<i64>) {
    let position = Decimal::from(position.unwrap_or(0));
    for step in [Decimal::ONE, Decimal::new(1, 3)] {
        let market = MarketRules {
            quantity_step: step,
            venue_max_order: None,
            collateral_orders: false,
        };
        let _ = rules.check_market(&market, "X");
        let facts = MarketFacts {
            position,
            can_short: true,
            rules: market,
            multiplier: Decimal::ONE,
            orders_today: Some(0),
        };
        for (action, intent) in [
            (Action::Buy, Intent::Default),
            (Action::Sell, Intent::Entry),
        ] {
            let signal = SignalFacts {
                action,
                intent,
                quantity: None,
            };
            if let Outcome::Send(order) = execution::decide(rules, &signal, &facts) {
                let Some(after) = order.position_after else {
                    // A buy by collateral: what it spends is held to the max order.
                    if let Some(max) = rules.effective_max_order(&market) {
                        assert!(
                            order.quantity <= max,
                            "{order:?} spends above max order {max}"
                        );
                    }
                    continue;
                };
                let opened = opened(position, after);
                if let Some(max) = rules.effective_max_order(&market) {
                    assert!(opened <= max, "{order:?} above max order {max}");
                }
                if let (Some(max), true) = (rules.max_position, opened > Decimal::ZERO) {
                    assert!(after.abs() <= max, "{order:?} beyond {max}");
                }
            }
        }
    }
}

/// What an order from `before` to `after` opens or adds (a reversal's part
/// beyond the close).
pub fn opened(before: Decimal, after: Decimal) -> Decimal {
    if after.is_zero() {
        Decimal::ZERO
    } else if before.is_zero() || before.is_sign_negative() != after.is_sign_negative() {
        after.abs()
    } else {
        (after.abs() - before.abs()).max(Decimal::ZERO)
    }
}
