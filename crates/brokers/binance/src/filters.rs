//! A symbol's trading rules from `exchangeInfo` (BROKERS.md §3.4 filters),
//! and the pure check that turns a wanted quantity into one Binance will
//! accept — or says, before anything is sent, why no valid order exists.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::wire::SymbolInfo;

/// `LOT_SIZE` / `MARKET_LOT_SIZE`: quantities in [min, max] on a step grid
/// (a zero disables that rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lot {
    pub min: Decimal,
    pub max: Decimal,
    pub step: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRules {
    pub symbol: String,
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub lot: Lot,
    pub market_lot: Option<Lot>,
    pub tick_size: Decimal,
    /// Smallest notional (quantity × price) and whether it applies to market orders.
    pub min_notional: Option<(Decimal, bool)>,
    pub max_notional: Option<(Decimal, bool)>,
}

fn dec(v: &Value, key: &str) -> Option<Decimal> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn flag(v: &Value, key: &str, default: bool) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn lot(f: &Value) -> Option<Lot> {
    Some(Lot {
        min: dec(f, "minQty")?,
        max: dec(f, "maxQty")?,
        step: dec(f, "stepSize")?,
    })
}

impl SymbolRules {
    pub fn from_info(info: &SymbolInfo) -> SymbolRules {
        let mut rules = SymbolRules {
            symbol: info.symbol.clone(),
            status: info.status.clone(),
            base_asset: info.base_asset.clone(),
            quote_asset: info.quote_asset.clone(),
            lot: Lot {
                min: Decimal::ZERO,
                max: Decimal::ZERO,
                step: Decimal::ZERO,
            },
            market_lot: None,
            tick_size: Decimal::ZERO,
            min_notional: None,
            max_notional: None,
        };
        for f in &info.filters {
            match f.get("filterType").and_then(Value::as_str) {
                Some("LOT_SIZE") => rules.lot = lot(f).unwrap_or(rules.lot),
                Some("MARKET_LOT_SIZE") => rules.market_lot = lot(f),
                Some("PRICE_FILTER") => rules.tick_size = dec(f, "tickSize").unwrap_or_default(),
                // Spot: MIN_NOTIONAL {minNotional, applyToMarket}; futures: MIN_NOTIONAL {notional}.
                Some("MIN_NOTIONAL") => {
                    rules.min_notional = dec(f, "minNotional")
                        .or_else(|| dec(f, "notional"))
                        .map(|n| (n, flag(f, "applyToMarket", true)))
                }
                Some("NOTIONAL") => {
                    rules.min_notional =
                        dec(f, "minNotional").map(|n| (n, flag(f, "applyMinToMarket", true)));
                    rules.max_notional =
                        dec(f, "maxNotional").map(|n| (n, flag(f, "applyMaxToMarket", false)));
                }
                _ => {}
            }
        }
        rules
    }

    /// The lot rules for a market or a limit order (`MARKET_LOT_SIZE` only
    /// tightens market orders where it sets a step).
    fn lot_for(&self, market: bool) -> Lot {
        match self.market_lot {
            Some(m) if market => Lot {
                min: m.min.max(self.lot.min),
                max: if m.max.is_zero() { self.lot.max } else { m.max },
                step: if m.step.is_zero() {
                    self.lot.step
                } else {
                    m.step
                },
            },
            _ => self.lot,
        }
    }

    /// The quantity step sizing should use for market orders.
    pub fn market_step(&self) -> Decimal {
        let step = self.lot_for(true).step;
        if step.is_zero() { Decimal::ONE } else { step }
    }

    /// The largest market order the venue accepts (`None`: no maximum).
    pub fn market_max(&self) -> Option<Decimal> {
        let max = self.lot_for(true).max;
        (!max.is_zero()).then_some(max)
    }

    /// Round `wanted` down to the step and check it against the lot and
    /// notional rules at `price`. Returns the quantity to send.
    pub fn prepare(
        &self,
        wanted: Decimal,
        market: bool,
        price: Decimal,
    ) -> Result<Decimal, String> {
        let lot = self.lot_for(market);
        let sym = &self.symbol;
        let too_large = || {
            format!(
                "{wanted} {sym} is too large a quantity for any Binance order: lower the strategy's quantity"
            )
        };
        let qty = if lot.step.is_zero() {
            wanted
        } else {
            wanted
                .checked_div(lot.step)
                .and_then(|steps| steps.floor().checked_mul(lot.step))
                .ok_or_else(too_large)?
                .normalize()
        };
        if qty <= Decimal::ZERO || (!lot.min.is_zero() && qty < lot.min) {
            return Err(format!(
                "{wanted} {sym} is below Binance's minimum order quantity {} (LOT_SIZE, step {}): raise the strategy's quantity",
                lot.min.normalize(),
                lot.step.normalize()
            ));
        }
        if !lot.max.is_zero() && qty > lot.max {
            return Err(format!(
                "{qty} {sym} is above Binance's maximum order quantity {} (LOT_SIZE): lower the strategy's quantity",
                lot.max.normalize()
            ));
        }
        let notional = qty.checked_mul(price).ok_or_else(too_large)?;
        if let Some((min, applies)) = self.min_notional
            && (applies || !market)
            && !min.is_zero()
            && notional < min
        {
            return Err(format!(
                "{qty} {sym} at {price} is worth {} {}, below Binance's minimum order value {} (NOTIONAL): raise the quantity",
                notional.round_dp(8).normalize(),
                self.quote_asset,
                min.normalize()
            ));
        }
        if let Some((max, applies)) = self.max_notional
            && (applies || !market)
            && !max.is_zero()
            && notional > max
        {
            return Err(format!(
                "{qty} {sym} at {price} is worth {}, above Binance's maximum order value {} (NOTIONAL)",
                notional.round_dp(8).normalize(),
                max.normalize()
            ));
        }
        Ok(qty)
    }

    /// A limit price must sit on the tick grid.
    pub fn check_price(&self, price: Decimal) -> Result<(), String> {
        let on_grid = self.tick_size.is_zero()
            || price
                .checked_rem(self.tick_size)
                .is_some_and(|r| r.is_zero());
        if !on_grid {
            return Err(format!(
                "price {price} is not a multiple of {}'s tick size {} (PRICE_FILTER)",
                self.symbol,
                self.tick_size.normalize()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn btcusdt() -> SymbolRules {
        let info: SymbolInfo = serde_json::from_value(json!({
            "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "120.00000000", "stepSize": "0.00000000"},
                {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}
            ]
        }))
        .unwrap();
        SymbolRules::from_info(&info)
    }

    #[test]
    fn quantities_round_down_to_the_step() {
        let r = btcusdt();
        assert_eq!(r.market_step(), d("0.00001"));
        assert_eq!(
            r.prepare(d("0.0012345"), true, d("60000")),
            Ok(d("0.00123"))
        );
    }

    #[test]
    fn market_lot_size_caps_market_orders_only() {
        let r = btcusdt();
        assert!(
            r.prepare(d("150"), true, d("60000"))
                .unwrap_err()
                .contains("maximum")
        );
        assert_eq!(r.prepare(d("150"), false, d("60000")), Ok(d("150")));
    }

    #[test]
    fn too_small_orders_are_refused_with_the_rule_named() {
        let r = btcusdt();
        let tiny = r.prepare(d("0.000004"), true, d("60000")).unwrap_err();
        assert!(tiny.contains("LOT_SIZE"), "{tiny}");
        let cheap = r.prepare(d("0.00005"), true, d("60000")).unwrap_err();
        assert!(
            cheap.contains("NOTIONAL") && cheap.contains("3 USDT"),
            "{cheap}"
        );
    }

    #[test]
    fn futures_min_notional_field_is_read() {
        let info: SymbolInfo = serde_json::from_value(json!({
            "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
            "filters": [
                {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
                {"filterType": "MIN_NOTIONAL", "notional": "100"}
            ]
        }))
        .unwrap();
        let r = SymbolRules::from_info(&info);
        assert_eq!(r.min_notional, Some((d("100"), true)));
        assert!(r.prepare(d("0.001"), true, d("60000")).is_err());
        assert_eq!(r.prepare(d("0.0025"), true, d("60000")), Ok(d("0.002")));
    }

    #[test]
    fn quantities_beyond_decimal_arithmetic_are_refused_not_panicking() {
        let r = btcusdt();
        // 7.9e28 / 0.00001 overflows a Decimal: refused, never rounded or clamped.
        let huge = r.prepare(Decimal::MAX, false, d("60000")).unwrap_err();
        assert!(huge.contains("too large"), "{huge}");
        // A quantity the step grid takes, whose notional overflows.
        let steps = Decimal::MAX / d("100000");
        let r2 = SymbolRules::from_info(
            &serde_json::from_value(json!({
                "symbol": "X", "status": "TRADING", "baseAsset": "X", "quoteAsset": "USDT",
                "filters": [{"filterType": "LOT_SIZE", "minQty": "0", "maxQty": "0", "stepSize": "0"},
                            {"filterType": "NOTIONAL", "minNotional": "1", "applyMinToMarket": true}]
            }))
            .unwrap(),
        );
        let worth = r2.prepare(steps, false, d("1000000")).unwrap_err();
        assert!(worth.contains("too large"), "{worth}");
    }

    #[test]
    fn limit_prices_sit_on_the_tick_grid() {
        let r = btcusdt();
        assert!(r.check_price(d("60000.01")).is_ok());
        assert!(r.check_price(d("60000.005")).is_err());
    }
}
