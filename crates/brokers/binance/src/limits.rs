//! Client-side rate limiting from what Binance reports: the request weight
//! used per IP (`X-MBX-USED-WEIGHT-<n><unit>`) and orders per account
//! (`X-MBX-ORDER-COUNT-<n><unit>`), in fixed windows aligned to the
//! server's clock, like Binance's own. atomik slows down before a limit
//! (waits for the next window) instead of collecting 429s, honours
//! `Retry-After` after a 429, and stops calling entirely during a 418 ban.

use std::collections::HashMap;

use crate::wire::RateLimit;

/// A fixed window counter.
#[derive(Debug, Clone)]
pub struct Window {
    pub limit: u32,
    pub len_ms: i64,
    used: u32,
    start_ms: i64,
}

impl Window {
    pub fn new(limit: u32, len_ms: i64) -> Self {
        Window {
            limit,
            len_ms: len_ms.max(1),
            used: 0,
            start_ms: 0,
        }
    }

    fn roll(&mut self, now: i64) {
        let start = now - now.rem_euclid(self.len_ms);
        if start != self.start_ms {
            self.start_ms = start;
            self.used = 0;
        }
    }

    /// Take `cost` if it fits under `headroom × limit`; else how long until
    /// the window resets.
    fn reserve(&mut self, cost: u32, headroom: f64, now: i64) -> Result<(), i64> {
        self.roll(now);
        let budget = ((self.limit as f64) * headroom).floor().max(1.0) as u32;
        // Saturating: the server's count (a header) may say anything.
        if self.used.saturating_add(cost) <= budget || self.used == 0 {
            self.used = self.used.saturating_add(cost);
            Ok(())
        } else {
            Err(self.start_ms + self.len_ms - now)
        }
    }

    /// The server's count for the current window wins when it is higher
    /// (other processes on the same IP use weight too).
    fn observe(&mut self, used: u32, now: i64) {
        self.roll(now);
        self.used = self.used.max(used);
    }

    pub fn used(&self) -> u32 {
        self.used
    }
}

/// `1M` → 60 000 ms, `10S` → 10 000 ms.
/// `None` for anything else, a count that is not positive, or one beyond `i64` ms.
pub fn interval_ms(spec: &str) -> Option<i64> {
    let spec = spec.trim();
    let unit = spec.chars().last()?;
    let n: i64 = spec[..spec.len() - unit.len_utf8()].parse().ok()?;
    let unit_ms = match unit.to_ascii_uppercase() {
        'S' => 1_000,
        'M' => 60_000,
        'H' => 3_600_000,
        'D' => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms).filter(|ms| *ms > 0)
}

fn rate_limit_ms(r: &RateLimit) -> Option<i64> {
    let unit = match r.interval.as_str() {
        "SECOND" => "S",
        "MINUTE" => "M",
        "HOUR" => "H",
        "DAY" => "D",
        _ => return None,
    };
    interval_ms(&format!("{}{unit}", r.interval_num))
}

#[derive(Debug)]
pub struct Limits {
    pub weight: Window,
    order_template: Window,
    /// Per API key (orders are counted per account).
    orders: HashMap<String, Window>,
    /// After a 429: nothing before this instant (server ms).
    backoff_until: i64,
    /// After a 418: banned until this instant (server ms).
    banned_until: i64,
}

/// Why a request may not go now.
#[derive(Debug, PartialEq, Eq)]
pub enum Hold {
    /// Wait this long, then try again.
    Wait(i64),
    /// Banned (418) for this long: do not call at all.
    Banned(i64),
}

impl Limits {
    pub fn new(weight_limit: u32, order_limit_10s: u32) -> Self {
        Limits {
            weight: Window::new(weight_limit, 60_000),
            order_template: Window::new(order_limit_10s, 10_000),
            orders: HashMap::new(),
            backoff_until: 0,
            banned_until: 0,
        }
    }

    /// Adopt the limits `exchangeInfo` publishes.
    pub fn configure(&mut self, limits: &[RateLimit]) {
        for r in limits {
            let Some(len) = rate_limit_ms(r) else {
                continue;
            };
            match r.rate_limit_type.as_str() {
                "REQUEST_WEIGHT"
                    if len <= 60_000
                        && (self.weight.limit != r.limit || self.weight.len_ms != len) =>
                {
                    self.weight = Window::new(r.limit, len);
                }
                "ORDERS" if len <= 60_000 => {
                    self.order_template = Window::new(r.limit, len);
                    self.orders.clear();
                }
                _ => {}
            }
        }
    }

    /// Reserve `weight` (and one order for `order_key`) or say how long to hold.
    pub fn reserve(
        &mut self,
        weight: u32,
        order_key: Option<&str>,
        headroom: f64,
        now: i64,
    ) -> Result<(), Hold> {
        if self.banned_until > now {
            return Err(Hold::Banned(self.banned_until - now));
        }
        if self.backoff_until > now {
            return Err(Hold::Wait(self.backoff_until - now));
        }
        if let Some(key) = order_key {
            let template = self.order_template.clone();
            let window = self.orders.entry(key.to_string()).or_insert(template);
            window.reserve(1, headroom, now).map_err(Hold::Wait)?;
        }
        self.weight
            .reserve(weight, headroom, now)
            .map_err(Hold::Wait)
    }

    /// Read `X-MBX-USED-WEIGHT-*` and `X-MBX-ORDER-COUNT-*` from an answer.
    pub fn observe_header(&mut self, name: &str, value: u32, order_key: Option<&str>, now: i64) {
        let name = name.to_ascii_lowercase();
        if let Some(spec) = name.strip_prefix("x-mbx-used-weight-") {
            if let Some(len) = interval_ms(spec)
                && len != self.weight.len_ms
                && len <= 60_000
            {
                // The venue's window differs from what we assumed: adopt it.
                self.weight = Window::new(self.weight.limit, len);
            }
            self.weight.observe(value, now);
        } else if let (Some(spec), Some(key)) = (name.strip_prefix("x-mbx-order-count-"), order_key)
            && interval_ms(spec) == Some(self.order_template.len_ms)
        {
            let template = self.order_template.clone();
            self.orders
                .entry(key.to_string())
                .or_insert(template)
                .observe(value, now);
        }
    }

    pub fn back_off(&mut self, until: i64) {
        self.backoff_until = self.backoff_until.max(until);
    }

    pub fn ban(&mut self, until: i64) {
        self.banned_until = self.banned_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(interval_ms("1M"), Some(60_000));
        assert_eq!(interval_ms("10s"), Some(10_000));
        assert_eq!(interval_ms("1d"), Some(86_400_000));
        assert_eq!(interval_ms("x"), None);
        // Header names and exchangeInfo say anything: never a panic, never a
        // window that is not positive (fuzz/regressions/binance_responses).
        for bad in ["", "1€", "€", "-5m", "0s", "99999999999999999d"] {
            assert_eq!(interval_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn requests_wait_for_the_next_window_before_the_limit() {
        let mut l = Limits::new(100, 50);
        let now = 60_000 * 1000 + 10_000;
        for _ in 0..9 {
            assert_eq!(l.reserve(10, None, 0.9, now), Ok(()));
        }
        // 90 of 100 used: the next 10 would pass the 90 % headroom.
        assert_eq!(l.reserve(10, None, 0.9, now), Err(Hold::Wait(50_000)));
        assert_eq!(l.reserve(10, None, 0.9, now + 50_000), Ok(()));
    }

    #[test]
    fn the_server_count_wins_and_its_window_is_adopted() {
        let mut l = Limits::new(100, 50);
        l.observe_header("X-MBX-USED-WEIGHT-2S", 95, None, 4_000);
        assert_eq!(l.weight.len_ms, 2_000);
        assert_eq!(l.reserve(1, None, 0.9, 4_500), Err(Hold::Wait(1_500)));
        assert_eq!(l.reserve(1, None, 0.9, 6_000), Ok(()));
    }

    #[test]
    fn orders_are_counted_per_key_and_bans_stop_everything() {
        let mut l = Limits::new(1000, 2);
        assert!(l.reserve(1, Some("a"), 1.0, 0).is_ok());
        assert!(l.reserve(1, Some("a"), 1.0, 0).is_ok());
        assert_eq!(l.reserve(1, Some("a"), 1.0, 0), Err(Hold::Wait(10_000)));
        assert!(l.reserve(1, Some("b"), 1.0, 0).is_ok());
        l.ban(120_000);
        assert_eq!(l.reserve(1, None, 1.0, 1_000), Err(Hold::Banned(119_000)));
    }
}
