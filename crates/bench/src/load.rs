//! The open-loop load generator: request `i` of a run is due at
//! `start + i / rate`, whatever happened to earlier requests, and its
//! latency is measured from that due time (no coordinated omission). Each
//! request is its own task on a pool of keep-alive connections that grows
//! as needed (many connections under load).
//!
//! Latency is kept two ways: from the moment the request was sent (what the
//! server costs: the acknowledgement figure) and from its due time (adds
//! the generator's own lateness — Tokio's timer fires on 1 ms ticks — and
//! any queueing before the send; reported beside it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use crate::fixture::Hook;

/// Requests in flight beyond this are not sent (counted as `shed`): the
/// rate is then not sustainable anyway.
const MAX_IN_FLIGHT: usize = 8_192;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Distinct signal ids across every run of one bench process.
static SEQ: AtomicU64 = AtomicU64::new(0);

pub fn signal_body(action: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(r#"{{"action":"{action}","ticker":"MNQ1!","id":"b{n}"}}"#)
}

struct Outcome {
    due: Instant,
    sent: Instant,
    done: Instant,
    status: Option<u16>,
    signal_id: Option<String>,
}

pub struct RunResult {
    pub planned: u64,
    pub ok: u64,
    /// Answers other than 202, by status (0 = transport error or timeout).
    pub failed: BTreeMap<u16, u64>,
    pub shed: u64,
    /// Acknowledgement latency in microseconds, from each request's send.
    pub ack: Histogram<u64>,
    /// The same from each request's due time (includes `lag`).
    pub ack_from_due: Histogram<u64>,
    /// How late the generator sent each request (send − due), microseconds.
    pub lag: Histogram<u64>,
    /// Wall time from the first due time to the last answer.
    pub elapsed: Duration,
    /// Accepted signals with the moment their request was sent.
    pub accepted: Vec<(String, Instant)>,
}

impl RunResult {
    pub fn achieved(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn errors(&self) -> u64 {
        self.failed.values().sum::<u64>() + self.shed
    }

    pub fn pct_ms(&self, q: f64) -> f64 {
        self.ack.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Post `rate` signals per second for `duration`, round-robin over `hooks`.
pub async fn open_loop(
    http: &reqwest::Client,
    hooks: &[Hook],
    rate: f64,
    duration: Duration,
) -> RunResult {
    let planned = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(20);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut shed = 0;
    let collector = tokio::spawn(async move {
        let mut out = Vec::with_capacity(planned as usize);
        while let Some(o) = rx.recv().await {
            out.push(o);
        }
        out
    });
    for i in 0..planned {
        let due = start + interval.mul_f64(i as f64);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due.into()).await;
        }
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            shed += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let hook = &hooks[(i as usize) % hooks.len()];
        // Alternate per webhook so positions stay small.
        let action = if (i as usize / hooks.len()).is_multiple_of(2) {
            "buy"
        } else {
            "sell"
        };
        let req = http
            .post(&hook.url)
            .header("content-type", "application/json")
            .body(signal_body(action));
        let (tx, in_flight) = (tx.clone(), in_flight.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let (status, signal_id) = match req.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.bytes().await.unwrap_or_default();
                    let id = (status == 202)
                        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
                        .flatten()
                        .and_then(|v| v["signal_id"].as_str().map(String::from));
                    (Some(status), id)
                }
                Err(_) => (None, None),
            };
            let done = Instant::now();
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(Outcome {
                due,
                sent,
                done,
                status,
                signal_id,
            });
        });
    }
    drop(tx);
    let outcomes = collector.await.unwrap_or_default();
    let histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let (mut ack, mut ack_from_due, mut lag) = (histogram(), histogram(), histogram());
    let mut failed = BTreeMap::new();
    let mut ok = 0;
    let mut accepted = Vec::with_capacity(outcomes.len());
    let mut last = start;
    for o in outcomes {
        last = last.max(o.done);
        match (o.status, o.signal_id) {
            (Some(202), Some(id)) => {
                ok += 1;
                ack.saturating_record(o.done.duration_since(o.sent).as_micros() as u64);
                ack_from_due.saturating_record(o.done.duration_since(o.due).as_micros() as u64);
                lag.saturating_record(o.sent.saturating_duration_since(o.due).as_micros() as u64);
                accepted.push((id, o.sent));
            }
            (status, _) => *failed.entry(status.unwrap_or(0)).or_insert(0) += 1,
        }
    }
    RunResult {
        planned,
        ok,
        failed,
        shed,
        ack,
        ack_from_due,
        lag,
        elapsed: last.saturating_duration_since(start),
        accepted,
    }
}

/// One signal, closed loop: its 202's signal id and when it was sent.
pub async fn one(http: &reqwest::Client, hook: &Hook) -> anyhow::Result<(String, Instant)> {
    let sent = Instant::now();
    let res = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .body(signal_body("buy"))
        .send()
        .await?;
    let status = res.status();
    let v: serde_json::Value = res.json().await?;
    anyhow::ensure!(status == 202, "signal refused: {status} {v}");
    Ok((
        v["signal_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no signal id"))?
            .to_string(),
        sent,
    ))
}
