//! atomik's pure domain core: no I/O, no async, no clocks.
//!
//! Everything here is plain data and functions over it, so it can be tested
//! exhaustively and reused by every outer layer (storage, engine, server).

pub mod execution;
pub mod hours;
pub mod lifecycle;
pub mod plans;
pub mod risk;
pub mod signal;
pub mod sizing;

pub use plans::{
    ExecutionDenied, Limit, LimitReached, Plan, PlanId, Resource, SubscriptionStatus, WebhookRate,
    effective_status, may_execute,
};
