//! Price and size → `makerAmount`/`takerAmount` in 6-decimal units
//! (BROKERS.md §4.4). BUY: the maker pays `size × price` USDC and receives
//! `size` shares; SELL the reverse.
//!
//! Rounding per tick size (price / size / amount decimals): 0.1 → 1/2/3,
//! 0.01 → 2/2/4, 0.001 → 3/2/5, 0.0001 → 4/2/6 (the V2 clients also know
//! 0.005 and 0.0025: 3/2/5 and 4/2/6). Prices are refused, never rounded:
//! they must lie on the tick within `[tick, 1 − tick]`. Sizes are rounded
//! down to 2 decimals like the official clients do; the size actually
//! ordered is returned in [`Amounts::size`].

use rust_decimal::{Decimal, RoundingStrategy};

use crate::Error;
use crate::order::Side;

/// Decimals of the on-chain amounts (USDC and outcome tokens).
pub const AMOUNT_DECIMALS: u32 = 6;
/// Decimals of a size (shares).
pub const SIZE_DECIMALS: u32 = 2;

/// A market's minimum price increment (`minimum_tick_size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSize {
    Tenth,
    Hundredth,
    HalfCent,
    QuarterCent,
    Thousandth,
    TenThousandth,
}

/// Decimal places allowed for price, size and notional amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundConfig {
    pub price: u32,
    pub size: u32,
    pub amount: u32,
}

impl TickSize {
    /// From the venue's value (`"0.01"`, `0.001`, …).
    pub fn from_decimal(tick: Decimal) -> Result<TickSize, Error> {
        const ALL: [TickSize; 6] = [
            TickSize::Tenth,
            TickSize::Hundredth,
            TickSize::HalfCent,
            TickSize::QuarterCent,
            TickSize::Thousandth,
            TickSize::TenThousandth,
        ];
        ALL.into_iter()
            .find(|t| t.as_decimal() == tick)
            .ok_or_else(|| {
                Error::Amount(format!(
                    "tick size {tick} is not one Polymarket uses (0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001)"
                ))
            })
    }

    pub fn as_decimal(self) -> Decimal {
        match self {
            TickSize::Tenth => Decimal::new(1, 1),
            TickSize::Hundredth => Decimal::new(1, 2),
            TickSize::HalfCent => Decimal::new(5, 3),
            TickSize::QuarterCent => Decimal::new(25, 4),
            TickSize::Thousandth => Decimal::new(1, 3),
            TickSize::TenThousandth => Decimal::new(1, 4),
        }
    }

    pub fn round_config(self) -> RoundConfig {
        let price = self.as_decimal().scale();
        RoundConfig {
            price,
            size: SIZE_DECIMALS,
            amount: price + SIZE_DECIMALS,
        }
    }
}

/// What the venue says about a market (from `/clob-markets/{condition_id}`:
/// `mts`, `mos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRules {
    pub tick: TickSize,
    /// Minimum order size in shares (0 if none).
    pub min_size: Decimal,
}

/// The signed amounts of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amounts {
    /// What the maker gives, 6-decimal units.
    pub maker_amount: u64,
    /// What the maker receives, 6-decimal units.
    pub taker_amount: u64,
    /// Shares actually ordered (after rounding down to 2 decimals).
    pub size: Decimal,
}

/// A limit order of `size` shares at `price`.
pub fn limit_amounts(
    side: Side,
    price: Decimal,
    size: Decimal,
    rules: &MarketRules,
) -> Result<Amounts, Error> {
    check_price(price, rules.tick)?;
    let size = round_size(size)?;
    if size < rules.min_size {
        return Err(Error::Amount(format!(
            "size {size} is below the market's minimum order size of {} shares",
            rules.min_size.normalize()
        )));
    }
    let cfg = rules.tick.round_config();
    let notional = size
        .checked_mul(price)
        .ok_or_else(too_large)?
        .round_dp_with_strategy(cfg.amount, RoundingStrategy::ToZero);
    let (shares, usdc) = (units(size)?, units(notional)?);
    if usdc == 0 {
        return Err(Error::Amount(format!(
            "size {size} at price {price} is worth nothing"
        )));
    }
    Ok(match side {
        Side::Buy => Amounts {
            maker_amount: usdc,
            taker_amount: shares,
            size,
        },
        Side::Sell => Amounts {
            maker_amount: shares,
            taker_amount: usdc,
            size,
        },
    })
}

/// A marketable BUY spending `usdc` (at most 6 decimals) up to the worst
/// acceptable `price`; the shares received are rounded down to the amount
/// decimals. (A market SELL is [`limit_amounts`] with the worst price.)
pub fn market_buy_amounts(usdc: Decimal, price: Decimal, tick: TickSize) -> Result<Amounts, Error> {
    check_price(price, tick)?;
    if usdc <= Decimal::ZERO {
        return Err(Error::Amount(format!(
            "amount {usdc} USDC must be positive"
        )));
    }
    if usdc.normalize().scale() > AMOUNT_DECIMALS {
        return Err(Error::Amount(format!(
            "amount {usdc} USDC has more than {AMOUNT_DECIMALS} decimals"
        )));
    }
    let shares = usdc
        .checked_div(price)
        .ok_or_else(too_large)?
        .round_dp_with_strategy(tick.round_config().amount, RoundingStrategy::ToZero);
    if shares.is_zero() {
        return Err(Error::Amount(format!(
            "amount {usdc} USDC buys no share at price {price}"
        )));
    }
    Ok(Amounts {
        maker_amount: units(usdc)?,
        taker_amount: units(shares)?,
        size: shares,
    })
}

/// On the tick and within `[tick, 1 − tick]`.
pub fn check_price(price: Decimal, tick: TickSize) -> Result<(), Error> {
    let t = tick.as_decimal();
    if price < t || price > Decimal::ONE - t {
        return Err(Error::Amount(format!(
            "price {price} is outside the allowed range [{t}, {}] for tick size {t}",
            Decimal::ONE - t
        )));
    }
    if !(price % t).is_zero() {
        return Err(Error::Amount(format!(
            "price {price} is not a multiple of the market's tick size {t}"
        )));
    }
    Ok(())
}

fn round_size(size: Decimal) -> Result<Decimal, Error> {
    if size <= Decimal::ZERO {
        return Err(Error::Amount(format!("size {size} must be positive")));
    }
    let rounded = size.round_dp_with_strategy(SIZE_DECIMALS, RoundingStrategy::ToZero);
    if rounded.is_zero() {
        return Err(Error::Amount(format!(
            "size {size} rounds down to 0 shares (sizes have {SIZE_DECIMALS} decimals)"
        )));
    }
    Ok(rounded.normalize())
}

/// `x` (≤ 6 decimals) in 6-decimal integer units.
fn units(x: Decimal) -> Result<u64, Error> {
    let scaled = x
        .checked_mul(Decimal::from(10u64.pow(AMOUNT_DECIMALS)))
        .ok_or_else(too_large)?
        .trunc();
    u64::try_from(scaled).map_err(|_| too_large())
}

fn too_large() -> Error {
    Error::Amount("order too large: the amount does not fit in 6-decimal units".into())
}
