use std::time::Duration;

/// Tuning of the IB adapter; the defaults are what production uses.
#[derive(Debug, Clone)]
pub struct IbConfig {
    /// TCP connect plus handshake.
    pub connect_timeout: Duration,
    /// How long an order or a query waits for its answer.
    pub request_timeout: Duration,
    /// Messages per second per connection (IB's limit is 50).
    pub messages_per_second: usize,
    /// Reconnect back-off after a dropped socket: first wait, and the cap.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// How long a resolved instrument is reused (a futures root's front
    /// month is re-resolved at least this often).
    pub instrument_ttl: Duration,
    /// Events buffered per waiter before it is considered to have fallen behind.
    pub event_buffer: usize,
    /// How long a market order's placement waits for IB's fill report after
    /// IB took it (for the log; the order is accepted either way).
    pub fill_wait: Duration,
}

impl Default for IbConfig {
    fn default() -> IbConfig {
        IbConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            messages_per_second: 45,
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            instrument_ttl: Duration::from_secs(3600),
            event_buffer: 16_384,
            fill_wait: Duration::from_millis(500),
        }
    }
}
