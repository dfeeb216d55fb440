//! Token buckets per webhook, in this instance's memory (SPEC §3).
//!
//! A bucket holds up to `burst` tokens and refills at `per_second`; each
//! request takes one. TradingView fires many alerts at a bar close and does
//! not resend a 4xx, so a burst must pass; a sustained flood must not. The
//! bucket is checked before anything touches the database: it is keyed by
//! the URL token, and remembers the webhook's own limits from the last
//! request that reached the database (until then, the defaults).

use std::collections::HashMap;
use std::sync::Mutex;

/// A webhook's limits: sustained rate and burst.
pub use atomik_domain::WebhookRate as Rate;

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
    rate: Rate,
    /// The webhook behind the key, once a request reached the database.
    webhook_id: Option<String>,
}

/// A refusal: when to come back, and whose webhook it was (if known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
    pub webhook_id: Option<String>,
}

impl Bucket {
    fn refill(&mut self, now_ms: i64) {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        self.tokens =
            (self.tokens + elapsed * f64::from(self.rate.per_second)).min(self.rate.burst.into());
        self.at_ms = self.at_ms.max(now_ms);
    }
}

/// Past this many buckets, full ones (idle webhooks) are forgotten.
const MAX_BUCKETS: usize = 50_000;

#[derive(Default)]
pub struct RateLimiter(Mutex<HashMap<String, Bucket>>);

impl RateLimiter {
    /// Take a token for `key`, or say when one is back.
    pub fn admit(&self, key: &str, now_ms: i64, default: Rate) -> Result<(), Limited> {
        let mut map = self.0.lock().expect("rate limiter");
        if map.len() >= MAX_BUCKETS && !map.contains_key(key) {
            map.retain(|_, b| {
                b.refill(now_ms);
                b.tokens < f64::from(b.rate.burst)
            });
        }
        let bucket = map.entry(key.to_string()).or_insert(Bucket {
            tokens: default.burst.into(),
            at_ms: now_ms,
            rate: default,
            webhook_id: None,
        });
        bucket.refill(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let per_second = f64::from(bucket.rate.per_second.max(1));
        Err(Limited {
            retry_after_secs: ((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64,
            webhook_id: bucket.webhook_id.clone(),
        })
    }

    /// The webhook's own limits, learned from the database: applied from
    /// the next request on (the tokens already there are kept, up to the
    /// new burst).
    pub fn configure(&self, key: &str, rate: Rate, webhook_id: &str) {
        if let Some(b) = self.0.lock().expect("rate limiter").get_mut(key) {
            b.rate = rate;
            b.tokens = b.tokens.min(rate.burst.into());
            if b.webhook_id.as_deref() != Some(webhook_id) {
                b.webhook_id = Some(webhook_id.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = RateLimiter::default();
        let rate = Rate::DEFAULT;
        assert!((0..50).all(|_| l.admit("w", 5_000, rate).is_ok()));
        assert_eq!(l.admit("w", 5_000, rate).unwrap_err().retry_after_secs, 1);
        // 10 per second refill: one token every 100 ms.
        assert!(l.admit("w", 5_100, rate).is_ok());
        assert!(l.admit("w", 5_100, rate).is_err());
        assert!((0..10).all(|_| l.admit("w", 6_100, rate).is_ok()));
        assert!(l.admit("w", 6_100, rate).is_err());
        assert!(l.admit("other", 6_100, rate).is_ok());
    }

    #[test]
    fn a_webhooks_own_limits_apply_once_known() {
        let l = RateLimiter::default();
        let tight = Rate {
            per_second: 1,
            burst: 2,
        };
        assert!(l.admit("w", 0, Rate::DEFAULT).is_ok());
        l.configure("w", tight, "wh-1");
        assert!(l.admit("w", 0, Rate::DEFAULT).is_ok());
        assert!(l.admit("w", 0, Rate::DEFAULT).is_ok());
        let limited = l.admit("w", 0, Rate::DEFAULT).unwrap_err();
        assert_eq!(limited.webhook_id.as_deref(), Some("wh-1"));
        assert!(l.admit("w", 1_000, Rate::DEFAULT).is_ok());
    }

    #[test]
    fn idle_buckets_are_forgotten_past_the_cap() {
        let l = RateLimiter::default();
        for i in 0..MAX_BUCKETS {
            l.admit(&format!("k{i}"), 0, Rate::DEFAULT).unwrap();
        }
        // Ten seconds later every bucket is full again: all are dropped.
        l.admit("new", 10_000, Rate::DEFAULT).unwrap();
        assert_eq!(l.0.lock().unwrap().len(), 1);
    }
}
