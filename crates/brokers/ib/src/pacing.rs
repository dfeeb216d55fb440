//! IB allows 50 messages per second per connection (error 100 past it).
//! The writer paces with a token bucket whose burst plus one second's
//! refill stays within the budget, so no one-second window — wherever the
//! Gateway starts counting, however its reading lags — holds more than the
//! budget: the limit is respected, never hit. After a short burst messages
//! go evenly spaced, which also keeps a slow reader from seeing them bunched.

use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl Pacer {
    /// At most `budget` messages in any one second.
    pub fn new(budget: usize) -> Pacer {
        let budget = budget.max(2) as f64;
        let burst = (budget / 9.0).floor().max(1.0);
        Pacer {
            burst,
            per_second: budget - burst,
            tokens: burst,
            at: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let gained = now.saturating_duration_since(at).as_secs_f64() * self.per_second;
            self.tokens = (self.tokens + gained).min(self.burst);
        }
        self.at = Some(now);
    }

    /// How long to wait before the next message may go, at `now`.
    pub fn delay(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - self.tokens) / self.per_second)
    }

    /// Record a message sent at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_budget_in_any_second() {
        let mut pacer = Pacer::new(45);
        let start = Instant::now();
        let mut now = start;
        let mut times = Vec::new();
        for i in 0..300 {
            // Idle pauses now and then, so bursts recur.
            if i % 70 == 0 {
                now += Duration::from_millis(1500);
            }
            now += pacer.delay(now);
            pacer.sent(now);
            times.push(now);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count();
            assert!(in_window <= 45, "{in_window} messages within one second");
        }
        // …and it does not crawl: 70 messages take under 1.8 s of pacing.
        let first = times[1] - Duration::ZERO;
        let seventieth = times[69];
        assert!(seventieth.duration_since(first) < Duration::from_millis(1800));
    }
}
