//! Rate limits: request weight per market and client IP (429, then a 418
//! ban for a client that keeps calling), and order counts per account.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::http::StatusCode;

use crate::Market;
use crate::reply::{ApiError, Result};

/// Calls made after a 429 in the same window before the IP is banned.
const CALLS_BEFORE_BAN: u32 = 3;
/// Bans double from twice the window up to Binance's maximum, 3 days.
const MAX_BAN_MS: i64 = 3 * 24 * 3600 * 1000;

#[derive(Default)]
struct IpMeter {
    window_start: i64,
    used: u32,
    /// Whether this window answered 429, and calls made since.
    locked: bool,
    calls_while_locked: u32,
    ban_until: i64,
    bans: u32,
}

/// An order-rate interval: its length, limit and header suffix.
#[derive(Debug, Clone, Copy)]
pub struct OrderLimit {
    pub interval_ms: i64,
    pub limit: u32,
    pub label: &'static str,
    /// For messages and exchangeInfo: (intervalNum, interval name).
    pub num: i64,
    pub unit: &'static str,
}

#[derive(Default)]
pub struct Limits {
    meters: HashMap<(Market, IpAddr), IpMeter>,
    /// (market, api key, interval) → (window start, count).
    orders: HashMap<(Market, String, i64), (i64, u32)>,
}

fn window_start(now: i64, window_ms: i64) -> i64 {
    now - now.rem_euclid(window_ms)
}

fn secs_until(now: i64, at: i64) -> u64 {
    ((at - now).max(0) as u64).div_ceil(1000)
}

/// `(intervalNum, intervalLetter, interval name)` of a window: 2 s → (2, "S", "SECOND").
pub fn interval(window_ms: i64) -> (i64, &'static str, &'static str) {
    const UNITS: [(i64, &str, &str); 4] = [
        (86_400_000, "D", "DAY"),
        (3_600_000, "H", "HOUR"),
        (60_000, "M", "MINUTE"),
        (1000, "S", "SECOND"),
    ];
    let (ms, letter, name) = UNITS
        .into_iter()
        .find(|(ms, _, _)| window_ms % ms == 0)
        .unwrap_or(UNITS[3]);
    (window_ms / ms, letter, name)
}

impl Limits {
    /// Charge `weight`; refuse while banned or over `limit`.
    pub fn admit(
        &mut self,
        market: Market,
        ip: IpAddr,
        weight: u32,
        limit: u32,
        window_ms: i64,
        now: i64,
    ) -> Result<()> {
        let m = self.meters.entry((market, ip)).or_default();
        if m.ban_until > now {
            return Err(banned(ip, m.ban_until, now));
        }
        let start = window_start(now, window_ms);
        if m.window_start != start {
            *m = IpMeter {
                window_start: start,
                ban_until: m.ban_until,
                bans: m.bans,
                ..IpMeter::default()
            };
        }
        if m.locked {
            m.calls_while_locked += 1;
            if m.calls_while_locked >= CALLS_BEFORE_BAN {
                let ban = (2 * window_ms)
                    .saturating_mul(1 << m.bans.min(20))
                    .min(MAX_BAN_MS);
                m.ban_until = now + ban;
                m.bans += 1;
                return Err(banned(ip, m.ban_until, now));
            }
        } else if m.used + weight <= limit {
            m.used += weight;
            return Ok(());
        }
        m.locked = true;
        Err(too_many(market, ip, limit, window_ms).retry_after(secs_until(now, start + window_ms)))
    }

    /// Weight used by `ip` on `market` in the current window.
    pub fn used(&self, market: Market, ip: IpAddr, now: i64, window_ms: i64) -> u32 {
        self.meters
            .get(&(market, ip))
            .filter(|m| m.window_start == window_start(now, window_ms))
            .map_or(0, |m| m.used)
    }

    pub fn total_used(&self, now: i64, window_ms: i64) -> u32 {
        let start = window_start(now, window_ms);
        self.meters
            .values()
            .filter(|m| m.window_start == start)
            .map(|m| m.used)
            .sum()
    }

    /// Count one order against every interval, or refuse with `-1015`.
    /// Returns the counts per header suffix.
    pub fn take_order(
        &mut self,
        market: Market,
        api_key: &str,
        limits: &[OrderLimit],
        now: i64,
    ) -> Result<Vec<(&'static str, u32)>> {
        for l in limits {
            let start = window_start(now, l.interval_ms);
            let count = self.order_count(market, api_key, l.interval_ms, start);
            if count >= l.limit {
                let msg = format!(
                    "Too many new orders; current limit is {} orders per {} {}.",
                    l.limit, l.num, l.unit
                );
                return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, -1015, msg)
                    .retry_after(secs_until(now, start + l.interval_ms)));
            }
        }
        Ok(limits
            .iter()
            .map(|l| {
                let start = window_start(now, l.interval_ms);
                let key = (market, api_key.to_string(), l.interval_ms);
                let slot = self.orders.entry(key).or_insert((start, 0));
                if slot.0 != start {
                    *slot = (start, 0);
                }
                slot.1 += 1;
                (l.label, slot.1)
            })
            .collect())
    }

    fn order_count(&self, market: Market, api_key: &str, interval_ms: i64, start: i64) -> u32 {
        self.orders
            .get(&(market, api_key.to_string(), interval_ms))
            .filter(|(s, _)| *s == start)
            .map_or(0, |(_, n)| *n)
    }
}

fn too_many(market: Market, ip: IpAddr, limit: u32, window_ms: i64) -> ApiError {
    let (num, _, unit) = interval(window_ms);
    let msg = match market {
        Market::Spot => format!(
            "Too many requests; current limit of IP({ip}) request weight per {num} {unit} is {limit}. \
             Please use WebSocket Streams for live updates to avoid polling the API."
        ),
        Market::Futures => format!(
            "Too many requests; current limit of IP({ip}) is {limit} requests per {num} {unit}. \
             Please use the websocket for live updates to avoid polling the API."
        ),
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, -1003, msg)
}

fn banned(ip: IpAddr, until: i64, now: i64) -> ApiError {
    let msg = format!(
        "Way too many requests; IP({ip}) banned until {until}. \
         Please use the websocket for live updates to avoid bans."
    );
    ApiError::new(StatusCode::IM_A_TEAPOT, -1003, msg).retry_after(secs_until(now, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn intervals_are_named_like_binance() {
        assert_eq!(interval(60_000), (1, "M", "MINUTE"));
        assert_eq!(interval(2000), (2, "S", "SECOND"));
        assert_eq!(interval(90_000), (90, "S", "SECOND"));
        assert_eq!(interval(86_400_000), (1, "D", "DAY"));
    }

    #[test]
    fn over_the_limit_429_then_ban_that_doubles() {
        let mut l = Limits::default();
        let w = 10_000;
        let t = 1_000_000; // a window boundary
        let admit = |l: &mut Limits, now| l.admit(Market::Spot, IP, 4, 10, w, now);
        assert!(admit(&mut l, t).is_ok());
        assert!(admit(&mut l, t + 1).is_ok());
        let e = admit(&mut l, t + 2).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code, e.retry_after_secs),
            (429, -1003, Some(10))
        );
        assert_eq!(admit(&mut l, t + 3).unwrap_err().status.as_u16(), 429);
        assert_eq!(admit(&mut l, t + 4).unwrap_err().status.as_u16(), 429);
        let ban = admit(&mut l, t + 5).unwrap_err();
        assert_eq!((ban.status.as_u16(), ban.retry_after_secs), (418, Some(20)));
        assert!(
            ban.msg
                .contains(&format!("banned until {}", t + 5 + 20_000))
        );
        assert_eq!(admit(&mut l, t + 19_000).unwrap_err().status.as_u16(), 418);
        // Ban over: a fresh window; the next ban lasts twice as long.
        let t2 = t + 20_005;
        assert!(admit(&mut l, t2).is_ok());
        assert_eq!(l.used(Market::Spot, IP, t2, w), 4);
        assert_eq!(l.used(Market::Futures, IP, t2, w), 0);
        assert!(admit(&mut l, t2).is_ok());
        let codes: Vec<u16> = (0..4)
            .map(|_| admit(&mut l, t2).unwrap_err().status.as_u16())
            .collect();
        assert_eq!(codes, [429, 429, 429, 418]);
        let ban = admit(&mut l, t2).unwrap_err();
        assert_eq!(ban.retry_after_secs, Some(40));
    }

    #[test]
    fn order_counts_refuse_over_the_limit() {
        let mut l = Limits::default();
        let ten = [OrderLimit {
            interval_ms: 10_000,
            limit: 2,
            label: "10S",
            num: 10,
            unit: "SECOND",
        }];
        assert_eq!(
            l.take_order(Market::Spot, "k", &ten, 0).unwrap(),
            [("10S", 1)]
        );
        assert_eq!(
            l.take_order(Market::Spot, "k", &ten, 1).unwrap(),
            [("10S", 2)]
        );
        let e = l.take_order(Market::Spot, "k", &ten, 2_500).unwrap_err();
        assert_eq!((e.code, e.retry_after_secs), (-1015, Some(8)));
        assert!(l.take_order(Market::Futures, "k", &ten, 3).is_ok());
        assert_eq!(
            l.take_order(Market::Spot, "k", &ten, 10_000).unwrap(),
            [("10S", 1)]
        );
    }
}
