//! IB allows 50 messages per second per connection (error 100 past it).
//! The writer keeps a sliding one-second window of its sends and waits
//! before the message that would exceed the budget: the limit is respected,
//! never hit.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

pub struct Pacer {
    per_second: usize,
    sent: VecDeque<Instant>,
}

impl Pacer {
    pub fn new(per_second: usize) -> Pacer {
        Pacer {
            per_second: per_second.max(1),
            sent: VecDeque::new(),
        }
    }

    /// How long to wait before the next message may go, at `now`.
    pub fn delay(&mut self, now: Instant) -> Duration {
        let window = Duration::from_secs(1);
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.per_second {
            return Duration::ZERO;
        }
        let oldest = self.sent[self.sent.len() - self.per_second];
        window.saturating_sub(now.duration_since(oldest))
    }

    /// Record a message sent at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.sent.push_back(now);
        if self.sent.len() > self.per_second {
            self.sent.pop_front();
        }
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
        for _ in 0..200 {
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
        // …and it does not crawl: 200 messages in a little over 4 s.
        assert!(now.duration_since(start) < Duration::from_millis(4500));
    }
}
