//! Tradovate adapter and simulator (in progress).
