//! `binance_responses`: an HTTP answer from Binance through the adapter's
//! decoding and rate-limit bookkeeping. Input: byte 0 picks the call,
//! byte 1 the status, byte 2 flags (bit 0: an order call); then
//! `name: value` header lines and an empty line (optional), then the body.

use atomik_binance::parsing::{self as p, Effect, Failure, Limits, SymbolRules};
use atomik_binance::wire;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::input::{NOW_MS, STATUSES, byte, headers_and_body, text};

const KEY: &str = "fuzz-key";

pub fn binance_responses(data: &[u8]) {
    let (kind, data) = byte(data);
    let (status, data) = byte(data);
    let (flags, data) = byte(data);
    let status = STATUSES[status as usize % STATUSES.len()];
    let effect = if flags & 1 == 1 {
        Effect::Order
    } else {
        Effect::Read
    };
    let (headers, body) = headers_and_body(data);
    let body = text(body);

    let mut limits = Limits::new(6000, 50);
    let order_key = (effect == Effect::Order).then_some(KEY);
    p::observe_headers(
        &mut limits,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        order_key,
        NOW_MS,
    );
    let retry_after = headers
        .iter()
        .find(|(n, _)| n == "retry-after")
        .map(|(_, v)| v.as_str());
    let answer = p::read_answer(
        status,
        p::retry_after_header(retry_after),
        &body,
        effect,
        NOW_MS,
    );
    if let Some(stop) = answer.stop {
        assert!(
            stop.until >= NOW_MS,
            "a hold ending before it starts: {stop:?}"
        );
        if stop.banned {
            limits.ban(stop.until);
        } else {
            limits.back_off(stop.until);
        }
    }
    // The next call's reservation, after what this answer said.
    for now in [NOW_MS, NOW_MS + 1, NOW_MS + 61_000] {
        let _ = limits.reserve(1, order_key, 0.9, now);
    }
    match answer.result {
        Ok(value) => {
            assert!((200..300).contains(&status), "{status} read as success");
            decode(kind % 10, value, effect, &mut limits);
        }
        Err(Failure::Broker(e)) => {
            let _ = e.to_failure();
        }
        Err(Failure::Timestamp(_)) => {}
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, effect: Effect) -> Option<T> {
    p::typed(value, "/fuzz", effect).ok()
}

fn decode(kind: u8, value: Value, effect: Effect, limits: &mut Limits) {
    match kind {
        0 => {
            let _ = typed::<wire::ServerTime>(value, effect);
        }
        1 => {
            if let Some(info) = typed::<wire::ExchangeInfo>(value, effect) {
                limits.configure(&info.rate_limits);
                let _ = limits.reserve(1, Some(KEY), 0.9, NOW_MS);
                for s in &info.symbols {
                    symbol_rules(&SymbolRules::from_info(s));
                }
            }
        }
        2 => {
            if let Some(t) = typed::<wire::TickerPrice>(value, effect) {
                let _ = t.price.normalize();
            }
        }
        3 => {
            let _ = typed::<wire::SpotAccount>(value, effect);
        }
        4 => {
            let _ = typed::<wire::ApiRestrictions>(value, effect);
        }
        5 => {
            let _ = typed::<Vec<wire::FuturesBalance>>(value, effect);
        }
        6 => {
            if let Some(risks) = typed::<Vec<wire::PositionRisk>>(value, effect) {
                for r in &risks {
                    let _ = p::futures_position(&risks, &r.symbol);
                }
            }
        }
        7 => {
            if let Some(order) = typed::<wire::Order>(value, effect) {
                let _ = p::order_report(order);
            }
        }
        8 => {
            if let Some(e) = typed::<wire::ApiError>(value, effect) {
                let _ = p::classify(e, effect);
            }
        }
        _ => {
            if let Some(s) = value.as_str() {
                let _ = p::interval_ms(s);
                let _ = atomik_binance::parse_symbol(s);
                let _ = p::order_state(s);
            }
        }
    }
}

/// A symbol's filters: a prepared quantity is never rounded up, never
/// below the minimum or above the maximum, and sits on the step grid.
fn symbol_rules(r: &SymbolRules) {
    let _ = (r.market_step(), r.market_max());
    let wanted = [
        Decimal::new(1, 8),
        Decimal::new(12345, 4),
        Decimal::ONE,
        Decimal::from(1_000_000_000),
        Decimal::MAX,
    ];
    let prices = [Decimal::new(1, 2), Decimal::from(60_000), Decimal::MAX];
    for w in wanted {
        for price in prices {
            let _ = r.check_price(price);
            for market in [true, false] {
                if let Ok(q) = r.prepare(w, market, price) {
                    assert!(q > Decimal::ZERO && q <= w, "{w} prepared as {q}");
                    // The step `prepare` rounds to (`MARKET_LOT_SIZE` where it sets one).
                    let step = match r.market_lot {
                        Some(m) if market && !m.step.is_zero() => m.step,
                        _ => r.lot.step,
                    };
                    if !step.is_zero() {
                        assert!(
                            q.checked_rem(step).is_some_and(|m| m.is_zero()),
                            "{q} off step {step}"
                        );
                    }
                }
            }
        }
    }
}
