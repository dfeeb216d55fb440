//! atomik's pure domain core: no I/O, no async, no clocks.
//!
//! Everything here is plain data and functions over it, so it can be tested
//! exhaustively and reused by every outer layer (storage, engine, server).

pub mod hours;
pub mod plans;
pub mod signal;
pub mod sizing;

pub use plans::{
    ExecutionDenied, Limit, LimitReached, Plan, PlanId, Resource, SubscriptionStatus,
    effective_status, may_execute,
};
