//! The faults a simulated Gateway injects, each counted when it fires.
//! simkit's harness is HTTP-shaped (a fault per HTTP call); a socket
//! Gateway's faults are modes and per-order events, so they live here in
//! the same spirit: set in-process or over `/_sim/faults`, counted by kind.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// The kinds faults are counted under.
pub mod kind {
    /// A connection dropped right after an order was accepted, before any status.
    pub const DROP_AFTER_ACCEPT: &str = "drop_after_accept";
    /// An order's status messages held back by the configured delay.
    pub const STATUS_DELAY: &str = "status_delay";
    /// A connection refused (refusal mode or during a restart).
    pub const REFUSED_CONNECTION: &str = "refused_connection";
    /// A Gateway restart.
    pub const RESTART: &str = "restart";
    /// A request refused with 321 in read-only mode.
    pub const READ_ONLY: &str = "read_only";
    /// A connectivity loss (1100, then 1102).
    pub const CONNECTIVITY_LOST: &str = "connectivity_lost";
    /// An order rejected (201) while connectivity was lost.
    pub const REJECTED_WHILE_LOST: &str = "rejected_while_lost";
    /// A message over the pacing limit (error 100, not executed).
    pub const PACING: &str = "pacing";
}

#[derive(Default)]
struct Inner {
    drop_next: u32,
    drop_random: Option<(f64, u64, StdRng)>,
    status_delay: Duration,
    refuse_connections: bool,
    refuse_until: Option<Instant>,
    read_only: bool,
    connectivity_lost: bool,
    fired: BTreeMap<&'static str, u64>,
}

/// The simulator's fault settings and counts.
#[derive(Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` accepted orders drop their connection before any status.
    pub fn drop_after_accept_next(&self, n: u32) {
        self.lock().drop_next += n;
    }

    /// A fraction of accepted orders drop their connection, drawn from a
    /// generator seeded with `seed` (rate 0 turns it off).
    pub fn drop_after_accept_randomly(&self, rate: f64, seed: u64) {
        self.lock().drop_random =
            (rate > 0.0).then(|| (rate.min(1.0), seed, StdRng::seed_from_u64(seed)));
    }

    /// Hold every order's status messages back this long (zero: off).
    pub fn set_status_delay(&self, delay: Duration) {
        self.lock().status_delay = delay;
    }

    /// Refuse (close at once) every new connection while on.
    pub fn set_refuse_connections(&self, on: bool) {
        self.lock().refuse_connections = on;
    }

    /// The API's Read-Only setting: orders and cancels answer 321.
    pub fn set_read_only(&self, on: bool) {
        self.lock().read_only = on;
    }

    pub fn read_only(&self) -> bool {
        self.lock().read_only
    }

    pub fn connectivity_lost(&self) -> bool {
        self.lock().connectivity_lost
    }

    pub(crate) fn set_connectivity_lost(&self, lost: bool) {
        self.lock().connectivity_lost = lost;
    }

    pub(crate) fn refuse_for(&self, d: Duration) {
        self.lock().refuse_until = Some(Instant::now() + d);
    }

    /// Whether a new connection is refused now (counted if so).
    pub(crate) fn refusing(&self) -> bool {
        let mut g = self.lock();
        let until = g.refuse_until.is_some_and(|t| Instant::now() < t);
        let refuse = g.refuse_connections || until;
        if refuse {
            *g.fired.entry(kind::REFUSED_CONNECTION).or_default() += 1;
        }
        refuse
    }

    /// Whether this accepted order drops its connection (counted if so).
    pub(crate) fn take_drop(&self) -> bool {
        let mut g = self.lock();
        let drop = if g.drop_next > 0 {
            g.drop_next -= 1;
            true
        } else if let Some((rate, _, rng)) = g.drop_random.as_mut() {
            let rate = *rate;
            rng.random::<f64>() < rate
        } else {
            false
        };
        if drop {
            *g.fired.entry(kind::DROP_AFTER_ACCEPT).or_default() += 1;
        }
        drop
    }

    /// The delay for this order's statuses, if any (counted if so).
    pub(crate) fn take_status_delay(&self) -> Option<Duration> {
        let mut g = self.lock();
        let d = g.status_delay;
        if d.is_zero() {
            return None;
        }
        *g.fired.entry(kind::STATUS_DELAY).or_default() += 1;
        Some(d)
    }

    pub(crate) fn count(&self, kind: &'static str) {
        *self.lock().fired.entry(kind).or_default() += 1;
    }

    /// How many times faults of `kind` (see [`kind`]) fired.
    pub fn fired(&self, kind: &str) -> u64 {
        self.lock().fired.get(kind).copied().unwrap_or(0)
    }

    pub fn fired_by_kind(&self) -> BTreeMap<&'static str, u64> {
        self.lock().fired.clone()
    }

    /// Every setting off (counts stay). A connectivity loss in progress
    /// still ends with its 1102.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.drop_next = 0;
        g.drop_random = None;
        g.status_delay = Duration::ZERO;
        g.refuse_connections = false;
        g.refuse_until = None;
        g.read_only = false;
    }

    /// `GET /_sim/faults`.
    pub fn to_json(&self) -> Value {
        let g = self.lock();
        let refusing_ms = g
            .refuse_until
            .and_then(|t| t.checked_duration_since(Instant::now()))
            .map_or(0, |d| d.as_millis() as u64);
        json!({
            "settings": {
                "drop_after_accept": {
                    "next": g.drop_next,
                    "rate": g.drop_random.as_ref().map(|r| r.0),
                    "seed": g.drop_random.as_ref().map(|r| r.1),
                },
                "status_delay_ms": g.status_delay.as_millis() as u64,
                "refuse_connections": g.refuse_connections,
                "restart_refusing_ms": refusing_ms,
                "read_only": g.read_only,
                "connectivity_lost": g.connectivity_lost,
            },
            "fired": g.fired.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "fired_total": g.fired.values().sum::<u64>(),
        })
    }
}

/// A change asked for over `POST /_sim/faults`.
#[derive(Debug, Default, PartialEq)]
pub struct Change {
    pub drop_next: Option<u32>,
    pub drop_random: Option<(f64, u64)>,
    pub status_delay_ms: Option<u64>,
    pub refuse_connections: Option<bool>,
    pub read_only: Option<bool>,
    pub restart_ms: Option<u64>,
    pub connectivity_lost_ms: Option<u64>,
}

const FIELDS: &str = "drop_after_accept ({\"next\": n} or {\"rate\": r, \"seed\": s}), \
                      status_delay_ms, refuse_connections, read_only, restart ({\"ms\": d}), \
                      connectivity_lost ({\"ms\": d})";

/// Parse a `POST /_sim/faults` body; the error names what is wrong.
pub fn parse_change(body: &[u8]) -> Result<Change, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let obj = v
        .as_object()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| format!("the body must be an object with any of: {FIELDS}"))?;
    let mut c = Change::default();
    let ms = |v: &Value, field: &str| {
        v.get("ms")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("\"{field}\" needs {{\"ms\": <non-negative integer>}}, got {v}"))
    };
    let flag = |v: &Value, field: &str| {
        v.as_bool()
            .ok_or_else(|| format!("\"{field}\" must be true or false, got {v}"))
    };
    for (k, v) in obj {
        match k.as_str() {
            "drop_after_accept" => {
                if let Some(n) = v.get("next") {
                    let n = n
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            format!("\"drop_after_accept.next\" must be a count, got {n}")
                        })?;
                    c.drop_next = Some(n);
                }
                if let Some(r) = v.get("rate") {
                    let rate = r
                        .as_f64()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| {
                            format!("\"drop_after_accept.rate\" must be 0 to 1, got {r}")
                        })?;
                    let seed = v
                        .get("seed")
                        .map_or(Some(0), Value::as_u64)
                        .ok_or_else(|| {
                            format!(
                                "\"drop_after_accept.seed\" must be a non-negative integer, got {v}"
                            )
                        })?;
                    c.drop_random = Some((rate, seed));
                }
                if c.drop_next.is_none() && c.drop_random.is_none() {
                    return Err(format!(
                        "\"drop_after_accept\" needs \"next\" or \"rate\" (with \"seed\"), got {v}"
                    ));
                }
            }
            "status_delay_ms" => {
                c.status_delay_ms = Some(v.as_u64().ok_or_else(|| {
                    format!("\"status_delay_ms\" must be a non-negative integer, got {v}")
                })?);
            }
            "refuse_connections" => c.refuse_connections = Some(flag(v, k)?),
            "read_only" => c.read_only = Some(flag(v, k)?),
            "restart" => c.restart_ms = Some(ms(v, k)?),
            "connectivity_lost" => c.connectivity_lost_ms = Some(ms(v, k)?),
            other => {
                return Err(format!(
                    "unknown field \"{other}\"; expected any of: {FIELDS}"
                ));
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_counted_and_a_seeded_rate_repeats() {
        let f = Faults::default();
        f.drop_after_accept_next(2);
        assert!(f.take_drop() && f.take_drop() && !f.take_drop());
        assert_eq!(f.fired(kind::DROP_AFTER_ACCEPT), 2);
        let draw = |seed| {
            let f = Faults::default();
            f.drop_after_accept_randomly(0.5, seed);
            (0..32).map(|_| f.take_drop()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert!(draw(7).contains(&true) && draw(7).contains(&false));
        f.set_read_only(true);
        f.clear();
        assert!(!f.read_only());
        assert_eq!(
            f.fired(kind::DROP_AFTER_ACCEPT),
            2,
            "counts survive a clear"
        );
    }

    #[test]
    fn bodies_parse_and_bad_ones_say_why() {
        let c = parse_change(
            br#"{"drop_after_accept":{"next":1},"read_only":true,"restart":{"ms":200}}"#,
        )
        .unwrap();
        assert_eq!(c.drop_next, Some(1));
        assert_eq!(c.read_only, Some(true));
        assert_eq!(c.restart_ms, Some(200));
        for (body, says) in [
            ("nope", "not JSON"),
            ("{}", "must be an object"),
            (r#"{"reed_only":true}"#, "unknown field \"reed_only\""),
            (r#"{"read_only":1}"#, "true or false"),
            (r#"{"restart":{}}"#, "needs {\"ms\""),
            (r#"{"drop_after_accept":{"rate":3}}"#, "0 to 1"),
            (r#"{"drop_after_accept":{}}"#, "needs \"next\""),
        ] {
            let err = parse_change(body.as_bytes()).unwrap_err();
            assert!(err.contains(says), "{body}: {err}");
        }
    }
}
