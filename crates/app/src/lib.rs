//! The atomik application as a library: configuration, the credential vault,
//! the composition of broker adapters ([`wiring`]) and the one assembly of a
//! running instance ([`assemble`]), shared by the `atomik` binary and the
//! in-process tests.

pub mod assemble;
pub mod config;
pub mod instance;
pub mod vault;
pub mod wiring;

pub use assemble::{Parts, Runtime, assemble};
