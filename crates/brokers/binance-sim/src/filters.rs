//! Symbol filters (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL /
//! MIN_NOTIONAL) as exchangeInfo publishes them and as orders must meet them.

use rust_decimal::Decimal;

use crate::SimSymbol;
use crate::auth::Params;
use crate::reply::{Result, bad, decimals_of, filter_failure, illegal};

/// Spot amounts carry at most this many decimals (base/quote asset precision).
pub const SPOT_PRECISION: u32 = 8;
/// PRICE_FILTER maxPrice of every symbol.
pub const MAX_PRICE: i64 = 1_000_000;
/// Spot NOTIONAL maxNotional (applyMaxToMarket false).
pub const SPOT_MAX_NOTIONAL: i64 = 9_000_000;

const DECIMAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";

/// A DECIMAL parameter, if sent; malformed → `-1100`.
pub fn decimal(params: &Params, name: &str) -> Result<Option<Decimal>> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = match raw.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(raw),
    };
    if !well_formed {
        return Err(illegal(name, DECIMAL_RANGE));
    }
    raw.parse()
        .map(Some)
        .map_err(|_| illegal(name, DECIMAL_RANGE))
}

/// Spot's `-1111` for a value with more decimals than the asset precision.
pub fn spot_precision(name: &str, value: Decimal) -> Result<()> {
    if value.normalize().scale() > SPOT_PRECISION {
        return Err(bad(
            -1111,
            format!("Parameter '{name}' has too much precision."),
        ));
    }
    Ok(())
}

pub fn min_price(sym: &SimSymbol) -> Decimal {
    sym.tick_size
}

/// MARKET_LOT_SIZE stepSize as futures publishes it (never 0).
pub fn futures_market_step(sym: &SimSymbol) -> Decimal {
    if sym.market_step_size.is_zero() {
        sym.step_size
    } else {
        sym.market_step_size
    }
}

/// `(value − min) % step == 0`; a zero step disables the rule.
fn on_step(value: Decimal, min: Decimal, step: Decimal) -> bool {
    step.is_zero() || ((value - min) % step).is_zero()
}

/// Spot filters for a LIMIT (`limit_price`) or MARKET order.
pub fn spot(sym: &SimSymbol, qty: Decimal, limit_price: Option<Decimal>) -> Result<()> {
    if let Some(price) = limit_price {
        let in_range = price >= min_price(sym) && price <= Decimal::from(MAX_PRICE);
        if !in_range || !on_step(price, min_price(sym), sym.tick_size) {
            return Err(filter_failure("PRICE_FILTER"));
        }
    }
    if qty < sym.min_qty || qty > sym.max_qty {
        return Err(filter_failure("LOT_SIZE"));
    }
    let market_step = limit_price.is_none() && !sym.market_step_size.is_zero();
    if market_step && !on_step(qty, sym.min_qty, sym.market_step_size) {
        return Err(filter_failure("MARKET_LOT_SIZE"));
    }
    if !market_step && !on_step(qty, sym.min_qty, sym.step_size) {
        return Err(filter_failure("LOT_SIZE"));
    }
    let notional = qty * limit_price.unwrap_or(sym.price);
    let too_big = limit_price.is_some() && notional > Decimal::from(SPOT_MAX_NOTIONAL);
    if notional < sym.min_notional || too_big {
        return Err(filter_failure("NOTIONAL"));
    }
    Ok(())
}

/// The largest quantity on the market step that `quote` buys at the symbol price.
pub fn spot_qty_for_quote(sym: &SimSymbol, quote: Decimal) -> Decimal {
    let step = if sym.market_step_size.is_zero() {
        sym.step_size
    } else {
        sym.market_step_size
    };
    let raw = quote / sym.price;
    if step.is_zero() {
        return raw.round_dp_with_strategy(SPOT_PRECISION, rust_decimal::RoundingStrategy::ToZero);
    }
    (raw / step).floor() * step
}

/// USDⓈ-M rules, with the futures error codes.
pub fn futures(
    sym: &SimSymbol,
    qty: Decimal,
    limit_price: Option<Decimal>,
    reduce_only: bool,
) -> Result<()> {
    let precision = || {
        bad(
            -1111,
            "Precision is over the maximum defined for this asset.",
        )
    };
    if qty <= Decimal::ZERO {
        return Err(bad(-4003, "Quantity less than or equal to zero."));
    }
    if qty.normalize().scale() > decimals_of(sym.step_size) {
        return Err(precision());
    }
    if let Some(price) = limit_price {
        if price.normalize().scale() > decimals_of(sym.tick_size) {
            return Err(precision());
        }
        if price < min_price(sym) {
            return Err(bad(-4013, "Price less than min price."));
        }
        if price > Decimal::from(MAX_PRICE) {
            return Err(bad(
                -4016,
                format!("Limit price can't be higher than {MAX_PRICE}."),
            ));
        }
        if !on_step(price, min_price(sym), sym.tick_size) {
            return Err(bad(-4014, "Price not increased by tick size."));
        }
    }
    if qty < sym.min_qty {
        return Err(bad(-4004, "Quantity less than min quantity."));
    }
    if qty > sym.max_qty {
        return Err(bad(-4005, "Quantity greater than max quantity."));
    }
    let step = match limit_price {
        Some(_) => sym.step_size,
        None => futures_market_step(sym),
    };
    if !on_step(qty, sym.min_qty, step) {
        return Err(bad(-4023, "Qty not increased by step size."));
    }
    let notional = qty * limit_price.unwrap_or(sym.price);
    if !reduce_only && notional < sym.min_notional {
        return Err(bad(
            -4164,
            format!(
                "Order's notional must be no smaller than {} (unless you choose reduce only).",
                sym.min_notional.normalize()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> SimSymbol {
        let d = |s: &str| s.parse().unwrap();
        SimSymbol {
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            quote: "USDT".into(),
            price: d("60000"),
            tick_size: d("0.01"),
            min_qty: d("0.00001"),
            max_qty: d("9000"),
            step_size: d("0.00001"),
            market_step_size: d("0"),
            min_notional: d("5"),
            spot: true,
            futures: true,
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn code(r: Result<()>) -> Option<(i64, String)> {
        r.err().map(|e| (e.code, e.msg))
    }

    #[test]
    fn spot_filters_name_the_failing_filter() {
        let s = btc();
        assert_eq!(code(spot(&s, d("0.001"), Some(d("59000")))), None);
        let lot = Some((-1013, "Filter failure: LOT_SIZE".to_string()));
        assert_eq!(code(spot(&s, d("0.000015"), None)), lot);
        assert_eq!(code(spot(&s, d("9001"), None)), lot);
        assert_eq!(
            code(spot(&s, d("0.001"), Some(d("59000.005")))).unwrap().1,
            "Filter failure: PRICE_FILTER"
        );
        // 0.00005 × 60000 = 3 < 5.
        assert_eq!(
            code(spot(&s, d("0.00005"), None)).unwrap().1,
            "Filter failure: NOTIONAL"
        );
        let mut m = btc();
        m.market_step_size = d("0.001");
        assert_eq!(
            code(spot(&m, d("0.0011"), None)).unwrap().1,
            "Filter failure: MARKET_LOT_SIZE"
        );
        assert_eq!(code(spot(&m, d("0.0011"), Some(d("60000")))), None);
    }

    #[test]
    fn futures_filters_use_futures_codes() {
        let mut s = btc();
        s.step_size = d("0.001");
        s.min_qty = d("0.001");
        s.min_notional = d("100");
        assert_eq!(code(futures(&s, d("0.002"), None, false)), None);
        assert_eq!(
            code(futures(&s, d("0.0015"), None, false)).unwrap().0,
            -1111
        );
        assert_eq!(code(futures(&s, d("0"), None, false)).unwrap().0, -4003);
        let small = code(futures(&s, d("0.001"), None, false)).unwrap();
        assert_eq!(small.0, -4164);
        assert_eq!(
            small.1,
            "Order's notional must be no smaller than 100 (unless you choose reduce only)."
        );
        assert_eq!(code(futures(&s, d("0.001"), None, true)), None);
        assert_eq!(
            code(futures(&s, d("0.002"), Some(d("0.001")), false))
                .unwrap()
                .0,
            -1111
        );
    }

    #[test]
    fn decimals_must_look_like_decimals() {
        let p = Params::parse("a=1.50&b=-1&c=1e3&d=.5", b"");
        assert_eq!(decimal(&p, "a").unwrap(), Some(d("1.5")));
        assert_eq!(decimal(&p, "missing").unwrap(), None);
        for bad in ["b", "c", "d"] {
            assert_eq!(decimal(&p, bad).unwrap_err().code, -1100, "{bad}");
        }
        assert_eq!(
            spot_precision("quantity", d("0.123456789"))
                .unwrap_err()
                .code,
            -1111
        );
        assert!(spot_precision("quantity", d("0.12345678000")).is_ok());
    }

    #[test]
    fn quote_quantity_rounds_down_to_the_step() {
        assert_eq!(spot_qty_for_quote(&btc(), d("100")), d("0.00166"));
    }
}
