//! Amount maths per tick size, and the words of every refusal.

use atomik_polymarket::Error;
use atomik_polymarket::amounts::{
    MarketRules, RoundConfig, TickSize, limit_amounts, market_buy_amounts,
};
use atomik_polymarket::order::Side;
use rust_decimal::Decimal;
use std::str::FromStr as _;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn rules(tick: &str, min: &str) -> MarketRules {
    MarketRules {
        tick: TickSize::from_decimal(d(tick)).unwrap(),
        min_size: d(min),
    }
}

#[test]
fn round_configs() {
    for (tick, price, size, amount) in [
        ("0.1", 1, 2, 3),
        ("0.01", 2, 2, 4),
        ("0.001", 3, 2, 5),
        ("0.0001", 4, 2, 6),
        ("0.005", 3, 2, 5),
        ("0.0025", 4, 2, 6),
    ] {
        let t = TickSize::from_decimal(d(tick)).unwrap();
        assert_eq!(t.as_decimal(), d(tick));
        assert_eq!(
            t.round_config(),
            RoundConfig {
                price,
                size,
                amount
            },
            "{tick}"
        );
    }
    // "0.010" from a JSON string is the same tick.
    assert_eq!(
        TickSize::from_decimal(d("0.010")).unwrap(),
        TickSize::Hundredth
    );
}

#[test]
fn limit_amount_table() {
    // tick, min size, price, size → BUY (maker, taker), effective size
    let table = [
        ("0.1", "5", "0.5", "10", 5_000_000, 10_000_000, "10"),
        ("0.1", "0", "0.1", "0.01", 1_000, 10_000, "0.01"),
        ("0.1", "0", "0.9", "3.33", 2_997_000, 3_330_000, "3.33"),
        (
            "0.01", "5", "0.56", "21.04", 11_782_400, 21_040_000, "21.04",
        ),
        ("0.01", "5", "0.99", "5", 4_950_000, 5_000_000, "5"),
        (
            "0.01",
            "0",
            "0.01",
            "100.999",
            1_009_900,
            100_990_000,
            "100.99",
        ),
        ("0.001", "0", "0.512", "100", 51_200_000, 100_000_000, "100"),
        (
            "0.001", "0", "0.777", "12.345", 9_588_180, 12_340_000, "12.34",
        ),
        ("0.0001", "0", "0.0001", "1", 100, 1_000_000, "1"),
        (
            "0.0001", "0", "0.9999", "99.99", 99_980_001, 99_990_000, "99.99",
        ),
        ("0.005", "0", "0.255", "3.01", 767_550, 3_010_000, "3.01"),
        ("0.0025", "0", "0.0025", "0.01", 25, 10_000, "0.01"),
    ];
    for (tick, min, price, size, usdc, shares, eff) in table {
        let r = rules(tick, min);
        let buy = limit_amounts(Side::Buy, d(price), d(size), &r).unwrap();
        assert_eq!(
            (buy.maker_amount, buy.taker_amount),
            (usdc, shares),
            "BUY {size} @ {price} tick {tick}"
        );
        assert_eq!(buy.size, d(eff));
        let sell = limit_amounts(Side::Sell, d(price), d(size), &r).unwrap();
        assert_eq!(
            (sell.maker_amount, sell.taker_amount),
            (shares, usdc),
            "SELL {size} @ {price} tick {tick}"
        );
    }
}

#[test]
fn market_buy_table() {
    for (tick, usdc, price, maker, taker) in [
        ("0.01", "10", "0.33", 10_000_000, 30_303_000),
        ("0.001", "1.5", "0.7", 1_500_000, 2_142_850),
        ("0.1", "100", "0.3", 100_000_000, 333_333_000),
        ("0.0001", "0.123456", "0.0007", 123_456, 176_365_714),
    ] {
        let t = TickSize::from_decimal(d(tick)).unwrap();
        let a = market_buy_amounts(d(usdc), d(price), t).unwrap();
        assert_eq!(
            (a.maker_amount, a.taker_amount),
            (maker, taker),
            "{usdc} @ {price}"
        );
    }
}

fn refusal(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Amount(why)) => why,
        other => panic!("expected an amount refusal, got {other:?}"),
    }
}

#[test]
fn refusals_say_why() {
    let r = rules("0.01", "5");
    let limit = |side, p: &str, s: &str| refusal(limit_amounts(side, d(p), d(s), &r));
    assert_eq!(
        limit(Side::Buy, "0.555", "10"),
        "price 0.555 is not a multiple of the market's tick size 0.01"
    );
    for p in ["0", "1", "0.995", "0.001", "1.5", "-0.1"] {
        assert_eq!(
            limit(Side::Sell, p, "10"),
            format!("price {p} is outside the allowed range [0.01, 0.99] for tick size 0.01")
        );
    }
    assert_eq!(limit(Side::Buy, "0.5", "0"), "size 0 must be positive");
    assert_eq!(limit(Side::Buy, "0.5", "-3"), "size -3 must be positive");
    let r0 = rules("0.01", "0");
    assert_eq!(
        refusal(limit_amounts(Side::Buy, d("0.5"), d("0.004"), &r0)),
        "size 0.004 rounds down to 0 shares (sizes have 2 decimals)"
    );
    assert_eq!(
        limit(Side::Buy, "0.5", "4.999"),
        "size 4.99 is below the market's minimum order size of 5 shares"
    );
    assert_eq!(
        refusal(limit_amounts(
            Side::Buy,
            d("0.5"),
            d("10000000000000000000000000"),
            &r0
        )),
        "order too large: the amount does not fit in 6-decimal units"
    );
    assert_eq!(
        refusal(TickSize::from_decimal(d("0.02"))),
        "tick size 0.02 is not one Polymarket uses (0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001)"
    );
    let t = TickSize::Hundredth;
    assert_eq!(
        refusal(market_buy_amounts(d("0.0000001"), d("0.5"), t)),
        "amount 0.0000001 USDC has more than 6 decimals"
    );
    assert_eq!(
        refusal(market_buy_amounts(d("0"), d("0.5"), t)),
        "amount 0 USDC must be positive"
    );
    assert_eq!(
        refusal(market_buy_amounts(d("0.000001"), d("0.99"), t)),
        "amount 0.000001 USDC buys no share at price 0.99"
    );
    assert_eq!(
        refusal(market_buy_amounts(d("5"), d("0.333"), t)),
        "price 0.333 is not a multiple of the market's tick size 0.01"
    );
}
