//! A TradingView-like sender: one alert per tick, each with a unique id;
//! a 5xx, a timeout or no connection is retried (up to 3 retries, the SAME
//! body, short backoff), anything else is final. It logs every alert.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Retries after the first try (so at most 4 tries).
pub const RETRIES: u32 = 3;

#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub alert_id: String,
    /// When the first try left (Unix ms).
    pub first_sent_ms: i64,
    pub tries: u32,
    /// The signal id of a 202 (the original's, for a duplicate).
    pub signal_id: Option<String>,
    pub duplicate: bool,
    /// The last answer that was not a 202 (status or error), if any.
    pub last_failure: Option<String>,
    /// A 429 ended it (not retried, as TradingView does not).
    pub rate_limited: bool,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The alert for index `i` of a run seeded `seed`.
pub fn alert(seed: u64, i: usize) -> (String, Value) {
    let id = format!("chaos-{seed}-{i}");
    let action = if i.is_multiple_of(2) { "buy" } else { "sell" };
    (id.clone(), json!({"action": action, "id": id}))
}

async fn deliver(http: reqwest::Client, url: String, seed: u64, i: usize) -> Sent {
    let (alert_id, body) = alert(seed, i);
    let mut sent = Sent {
        alert_id,
        first_sent_ms: now_ms(),
        ..Sent::default()
    };
    for attempt in 0..=RETRIES {
        if attempt > 0 {
            // Backoff between retries: 250 ms, 500 ms, 1 s.
            tokio::time::sleep(Duration::from_millis(250 << (attempt - 1))).await;
        }
        sent.tries += 1;
        match http.post(&url).json(&body).send().await {
            Ok(res) if res.status() == 202 => {
                match res.json::<Value>().await {
                    Ok(v) => {
                        sent.signal_id = v["signal_id"].as_str().map(String::from);
                        sent.duplicate = v["duplicate"] == true;
                        return sent;
                    }
                    // The answer broke off mid-body: as good as no answer.
                    Err(e) => sent.last_failure = Some(format!("202 body: {e}")),
                }
            }
            Ok(res) if res.status().is_server_error() => {
                sent.last_failure = Some(res.status().to_string());
            }
            Ok(res) => {
                sent.rate_limited = res.status() == 429;
                sent.last_failure = Some(res.status().to_string());
                return sent;
            }
            Err(e) => sent.last_failure = Some(e.to_string()),
        }
    }
    sent
}

/// Send `n` alerts to `url`, `per_second` a second; `progress` counts the
/// alerts started. Returns the log, in alert order.
pub async fn run(
    url: String,
    seed: u64,
    n: usize,
    per_second: f64,
    progress: Arc<AtomicUsize>,
) -> Vec<Sent> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("HTTP client");
    let log: Arc<Mutex<Vec<Sent>>> = Arc::new(Mutex::new(vec![Sent::default(); n]));
    let mut tasks = Vec::with_capacity(n);
    let pace = Duration::from_secs_f64(1.0 / per_second.max(0.1));
    let mut tick = tokio::time::interval(pace);
    for i in 0..n {
        tick.tick().await;
        progress.store(i + 1, Ordering::SeqCst);
        let (http, url, log) = (http.clone(), url.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let sent = deliver(http, url, seed, i).await;
            log.lock().expect("log")[i] = sent;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    std::mem::take(&mut *log.lock().expect("log"))
}
