//! Fault injection. Faults apply to the calls that change something or
//! authenticate (place/cancel order, token exchange, renewal); reads are
//! never disturbed, so a test can always look the truth up.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer after this extra delay (the call still executes normally).
    Latency(Duration),
    /// HTTP 500 before executing: nothing happened.
    ServerErrorBefore,
    /// Execute, then answer HTTP 500.
    ServerErrorAfter,
    /// Hang this long before executing (past the client's timeout).
    TimeoutBefore(Duration),
    /// Execute, then hang this long before answering.
    TimeoutAfter(Duration),
    /// Execute, then drop the connection mid-answer.
    DropAfter,
    /// HTTP 200 `{"p-ticket", "p-time", "p-captcha"}` without executing.
    Penalty { p_time_secs: u64, captcha: bool },
    /// HTTP 429 with this `Retry-After`, without executing.
    TooManyRequests { retry_after_secs: u64 },
}

#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Fault>>,
    /// Fraction (0..1) of write calls that get `ServerErrorAfter`/`TimeoutAfter`-style faults.
    random: Mutex<Option<(f64, Fault)>>,
}

impl Faults {
    /// The next `n` write/auth calls get `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut q = self.queue.lock().expect("faults");
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// A fraction of every later write/auth call gets `fault`.
    pub fn fail_randomly(&self, fraction: f64, fault: Fault) {
        *self.random.lock().expect("faults") = Some((fraction, fault));
    }

    pub fn clear(&self) {
        self.queue.lock().expect("faults").clear();
        *self.random.lock().expect("faults") = None;
    }

    pub(crate) fn next(&self) -> Option<Fault> {
        if let Some(f) = self.queue.lock().expect("faults").pop_front() {
            return Some(f);
        }
        let random = self.random.lock().expect("faults").clone();
        match random {
            Some((p, f)) if rand::random::<f64>() < p => Some(f),
            _ => None,
        }
    }
}
