//! Fuzz harnesses: one `pub fn <target>(data: &[u8])` per fuzz target. Each
//! must never panic on any input; a panic (including a failed invariant
//! assertion) is a defect. `fuzz/` (cargo-fuzz, nightly) calls them from
//! `fuzz_target!`, and `tests/regressions.rs` replays the committed corpus
//! and crash inputs through them on stable.

mod binance;
mod binance_sim;
mod ib;
mod input;
mod rules;
mod signal;
mod tradovate;
mod tradovate_sim;

pub use binance::binance_responses;
pub use binance_sim::binance_sim_requests;
pub use ib::{ib_events, ib_requests};
pub use rules::strategy_rules;
pub use signal::signal_body;
pub use tradovate::tradovate_responses;
pub use tradovate_sim::tradovate_sim_requests;

/// A harness: any bytes, never a panic.
pub type Harness = fn(&[u8]);

/// Every target by name (its folder under `fuzz/corpus/` and
/// `fuzz/regressions/`, and its `fuzz_target!` binary).
pub const TARGETS: &[(&str, Harness)] = &[
    ("signal_body", signal_body),
    ("strategy_rules", strategy_rules),
    ("tradovate_responses", tradovate_responses),
    ("binance_responses", binance_responses),
    ("tradovate_sim_requests", tradovate_sim_requests),
    ("binance_sim_requests", binance_sim_requests),
    ("ib_events", ib_events),
    ("ib_requests", ib_requests),
];
