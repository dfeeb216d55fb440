//! Position-aware sizing (SPEC §4): what one signal means for one account,
//! given that account's own position. Pure: no I/O, no clock.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::signal::{Action, Intent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }

    /// The stored spelling (the only one).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    pub fn parse(s: &str) -> Result<Side, crate::lifecycle::UnknownValue> {
        match s {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            other => Err(crate::lifecycle::UnknownValue::new("side", other)),
        }
    }
}

/// Where a strategy's order quantity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantitySource {
    /// The strategy's configured quantity.
    Fixed,
    /// The alert's `quantity` (the strategy's quantity if it sent none),
    /// clipped to `cap` per signal.
    FromAlert { cap: Decimal },
}

/// What a strategy's quantity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantityUnit {
    /// The market's own units: contracts, shares, coins (every order).
    #[default]
    Units,
    /// Collateral to spend (Polymarket: pUSD): only buys that open or add
    /// are sized so; exits always sell units held.
    Collateral,
}

impl QuantityUnit {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            QuantityUnit::Units => "units",
            QuantityUnit::Collateral => "collateral",
        }
    }

    pub fn parse(s: &str) -> Result<QuantityUnit, crate::lifecycle::UnknownValue> {
        match s {
            "units" => Ok(QuantityUnit::Units),
            "collateral" => Ok(QuantityUnit::Collateral),
            other => Err(crate::lifecycle::UnknownValue::new("quantity unit", other)),
        }
    }
}

/// Default cap on a quantity taken from an alert.
pub const DEFAULT_MAX_PER_SIGNAL: u32 = 50;

pub fn order_quantity(
    strategy_quantity: Decimal,
    source: QuantitySource,
    alert_quantity: Option<Decimal>,
) -> Decimal {
    match source {
        QuantitySource::Fixed => strategy_quantity,
        QuantitySource::FromAlert { cap } => alert_quantity.unwrap_or(strategy_quantity).min(cap),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub action: Action,
    pub intent: Intent,
    /// The account's position: positive long, negative short.
    pub position: Decimal,
    /// Quantity to open or add (from [`order_quantity`]), > 0.
    pub quantity: Decimal,
    /// Largest absolute position the strategy may hold.
    pub max_position: Option<Decimal>,
    /// Futures and margin markets can short; spot crypto and prediction markets cannot.
    pub can_short: bool,
    /// Smallest tradable increment (1 for futures contracts).
    pub step: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Open,
    Add,
    Reduce,
    Close,
    Reverse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Order {
        side: Side,
        quantity: Decimal,
        kind: OrderKind,
    },
    Skip(SkipReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("no position to exit")]
    NoPosition,
    #[error("this market cannot be shorted")]
    CannotShort,
    #[error("the strategy's max position is reached")]
    MaxPosition,
    #[error("an exit on the same side as the position has nothing to reduce")]
    ExitSameSide,
    #[error("EXIT cannot be combined with the ENTRY comment")]
    ExitWithEntry,
    #[error("the order quantity rounds to zero")]
    ZeroQuantity,
    #[error("the order size is out of range")]
    OutOfRange,
}

/// Round up to a multiple of `step` (ceil, as SPEC §4 asks for exits);
/// `None` when out of decimal range.
fn ceil_to_step(x: Decimal, step: Decimal) -> Option<Decimal> {
    if step <= Decimal::ZERO {
        return Some(x);
    }
    x.checked_div(step)?
        .round_dp_with_strategy(0, RoundingStrategy::ToPositiveInfinity)
        .checked_mul(step)
}

/// Round down to a multiple of `step` (openings never exceed what was asked).
fn floor_to_step(x: Decimal, step: Decimal) -> Option<Decimal> {
    if step <= Decimal::ZERO {
        return Some(x);
    }
    x.checked_div(step)?.floor().checked_mul(step)
}

fn order(side: Side, quantity: Decimal, kind: OrderKind) -> Decision {
    if quantity <= Decimal::ZERO {
        Decision::Skip(SkipReason::ZeroQuantity)
    } else {
        Decision::Order {
            side,
            // Step arithmetic leaves trailing zeros (0.01000): drop them.
            quantity: quantity.normalize(),
            kind,
        }
    }
}

/// Reduce `held` (absolute) by `percent`, never more than held.
fn reduction(held: Decimal, percent: u8, step: Decimal) -> Option<(Decimal, OrderKind)> {
    let share = held.checked_mul(Decimal::from(percent))? / Decimal::ONE_HUNDRED;
    let qty = ceil_to_step(share, step)?.min(held);
    Some((
        qty,
        if qty == held {
            OrderKind::Close
        } else {
            OrderKind::Reduce
        },
    ))
}

/// What the signal means for this account. Never panics: sizes beyond
/// decimal range are skipped as [`SkipReason::OutOfRange`].
pub fn decide(s: &Sizing) -> Decision {
    try_decide(s).unwrap_or(Decision::Skip(SkipReason::OutOfRange))
}

fn try_decide(s: &Sizing) -> Option<Decision> {
    let held = s.position.abs();
    let open_qty = |already: Decimal| -> Option<Decimal> {
        let room = s.max_position.map(|m| (m - already).max(Decimal::ZERO));
        floor_to_step(room.map_or(s.quantity, |r| s.quantity.min(r)), s.step)
    };
    let side = match s.action {
        Action::Exit => {
            if held.is_zero() {
                return Some(Decision::Skip(SkipReason::NoPosition));
            }
            let percent = match s.intent {
                Intent::Entry => return Some(Decision::Skip(SkipReason::ExitWithEntry)),
                Intent::Default => 100,
                Intent::ExitPercent(n) => n,
            };
            let side = if s.position > Decimal::ZERO {
                Side::Sell
            } else {
                Side::Buy
            };
            let (qty, kind) = reduction(held, percent, s.step)?;
            return Some(order(side, qty, kind));
        }
        Action::Buy => Side::Buy,
        Action::Sell => Side::Sell,
    };
    if held.is_zero() {
        if matches!(s.intent, Intent::ExitPercent(_)) {
            return Some(Decision::Skip(SkipReason::NoPosition));
        }
        if side == Side::Sell && !s.can_short {
            return Some(Decision::Skip(SkipReason::CannotShort));
        }
        let qty = open_qty(Decimal::ZERO)?;
        if qty.is_zero() {
            return Some(Decision::Skip(if s.max_position.is_some() {
                SkipReason::MaxPosition
            } else {
                SkipReason::ZeroQuantity
            }));
        }
        return Some(order(side, qty, OrderKind::Open));
    }
    let same_side = (s.position > Decimal::ZERO) == (side == Side::Buy);
    Some(match (same_side, s.intent) {
        (true, Intent::ExitPercent(_)) => Decision::Skip(SkipReason::ExitSameSide),
        (true, _) => {
            let qty = open_qty(held)?;
            if qty.is_zero() {
                Decision::Skip(SkipReason::MaxPosition)
            } else {
                order(side, qty, OrderKind::Add)
            }
        }
        (false, Intent::ExitPercent(n)) => {
            let (qty, kind) = reduction(held, n, s.step)?;
            order(side, qty, kind)
        }
        (false, Intent::Default) => order(side, held, OrderKind::Close),
        (false, Intent::Entry) => {
            if side == Side::Sell && !s.can_short {
                return Some(order(side, held, OrderKind::Close));
            }
            let qty = open_qty(Decimal::ZERO)?;
            if qty.is_zero() {
                return Some(order(side, held, OrderKind::Close));
            }
            // Beyond 28 significant digits the sum rounds: the order would
            // not open what it says (out of range, not a silent close).
            let total = held.checked_add(qty)?;
            if total - held != qty {
                return None;
            }
            order(side, total, OrderKind::Reverse)
        }
    })
}

/// The position after `decision` fills completely (`None` out of range):
/// the one place a fill's effect on a position is computed.
pub fn position_after(position: Decimal, decision: &Decision) -> Option<Decimal> {
    match decision {
        Decision::Order { side, quantity, .. } => position.checked_add(side.sign() * quantity),
        Decision::Skip(_) => Some(position),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn futures(action: Action, intent: Intent, position: i64, quantity: i64) -> Sizing {
        Sizing {
            action,
            intent,
            position: d(position),
            quantity: d(quantity),
            max_position: None,
            can_short: true,
            step: Decimal::ONE,
        }
    }

    #[test]
    fn spec_examples() {
        // 7 long + SELL EXIT_50 → sell 4.
        let x = decide(&futures(Action::Sell, Intent::ExitPercent(50), 7, 1));
        assert_eq!(
            x,
            Decision::Order {
                side: Side::Sell,
                quantity: d(4),
                kind: OrderKind::Reduce
            }
        );
        // A holds 4, B holds 2, EXIT_50 → 2 on A, 1 on B.
        assert_eq!(
            position_after(
                d(4),
                &decide(&futures(Action::Exit, Intent::ExitPercent(50), 4, 1))
            ),
            Some(d(2))
        );
        assert_eq!(
            position_after(
                d(2),
                &decide(&futures(Action::Exit, Intent::ExitPercent(50), 2, 1))
            ),
            Some(d(1))
        );
        // Flat + BUY opens; flat + exit skips; reverse closes and opens.
        assert_eq!(
            decide(&futures(Action::Buy, Intent::Default, 0, 3)),
            Decision::Order {
                side: Side::Buy,
                quantity: d(3),
                kind: OrderKind::Open
            }
        );
        assert_eq!(
            decide(&futures(Action::Exit, Intent::Default, 0, 3)),
            Decision::Skip(SkipReason::NoPosition)
        );
        assert_eq!(
            decide(&futures(Action::Sell, Intent::ExitPercent(25), 0, 3)),
            Decision::Skip(SkipReason::NoPosition)
        );
        assert_eq!(
            decide(&futures(Action::Sell, Intent::Entry, 2, 3)),
            Decision::Order {
                side: Side::Sell,
                quantity: d(5),
                kind: OrderKind::Reverse
            }
        );
        assert_eq!(
            decide(&futures(Action::Sell, Intent::Default, 2, 3)),
            Decision::Order {
                side: Side::Sell,
                quantity: d(2),
                kind: OrderKind::Close
            }
        );
        assert_eq!(SkipReason::NoPosition.to_string(), "no position to exit");
    }

    #[test]
    fn max_position_and_spot_rules() {
        let mut s = futures(Action::Buy, Intent::Entry, 4, 3);
        s.max_position = Some(d(5));
        assert_eq!(
            decide(&s),
            Decision::Order {
                side: Side::Buy,
                quantity: d(1),
                kind: OrderKind::Add
            }
        );
        s.position = d(5);
        assert_eq!(decide(&s), Decision::Skip(SkipReason::MaxPosition));
        let mut spot = futures(Action::Sell, Intent::Default, 0, 1);
        spot.can_short = false;
        assert_eq!(decide(&spot), Decision::Skip(SkipReason::CannotShort));
        spot.position = d(2);
        spot.intent = Intent::Entry;
        assert_eq!(
            decide(&spot),
            Decision::Order {
                side: Side::Sell,
                quantity: d(2),
                kind: OrderKind::Close
            }
        );
    }

    #[test]
    fn alert_quantities_are_capped() {
        let cap = QuantitySource::FromAlert { cap: d(50) };
        assert_eq!(order_quantity(d(2), cap, Some(d(80))), d(50));
        assert_eq!(order_quantity(d(2), cap, None), d(2));
        assert_eq!(
            order_quantity(d(2), QuantitySource::Fixed, Some(d(9))),
            d(2)
        );
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![Just(Action::Buy), Just(Action::Sell), Just(Action::Exit)]
    }

    fn intent() -> impl Strategy<Value = Intent> {
        prop_oneof![
            Just(Intent::Default),
            Just(Intent::Entry),
            (1u8..=100).prop_map(Intent::ExitPercent)
        ]
    }

    proptest! {
        #[test]
        fn exits_never_flip_and_reduce_by_the_ceiling(pos in -500i64..500, n in 1u8..=100, qty in 1i64..100) {
            for action in [Action::Buy, Action::Sell, Action::Exit] {
                let s = futures(action, Intent::ExitPercent(n), pos, qty);
                let decision = decide(&s);
                let after = position_after(d(pos), &decision).unwrap();
                prop_assert!(after.is_zero() || (after > Decimal::ZERO) == (pos > 0), "{pos} → {after}");
                if let Decision::Order { quantity, .. } = decision {
                    let expected = (d(pos.abs()) * Decimal::from(n) / Decimal::ONE_HUNDRED).ceil().min(d(pos.abs()));
                    prop_assert_eq!(quantity, expected);
                }
            }
        }

        #[test]
        fn spot_never_goes_short(pos in 0i64..500, qty in 1i64..100, action in action(), intent in intent()) {
            let mut s = futures(action, intent, pos, qty);
            s.can_short = false;
            prop_assert!(position_after(d(pos), &decide(&s)).unwrap() >= Decimal::ZERO);
        }

        #[test]
        fn openings_and_adds_respect_max_position(pos in -20i64..20, qty in 1i64..30, max in 1i64..25, action in action(), intent in intent()) {
            let mut s = futures(action, intent, pos, qty);
            s.max_position = Some(d(max));
            let decision = decide(&s);
            let after = position_after(d(pos), &decision).unwrap();
            if pos.abs() <= max {
                prop_assert!(after.abs() <= d(max), "{pos} with max {max} → {after} via {decision:?}");
            }
            if let Decision::Order { quantity, .. } = decision {
                prop_assert!(quantity > Decimal::ZERO);
            }
        }
    }
}
