//! The verdict, from three independent sources: the sender's log, the
//! brokers' ledgers (`/_sim/orders`) and the server's database (read only).
//! Definitions (docs/CHAOS.md): per (alert, account) pair an order is due
//! when the alert was acknowledged (202) or its signal was recorded;
//! - lost: a due pair with no order at the broker;
//! - duplicate: every order beyond the first for one alert on one account
//!   (including orders of a second signal recorded for the same alert);
//! - phantom: an order at a broker whose client order id belongs to no
//!   intent of a signal from a sent alert;
//! - stuck: an intent still open after the settle deadline.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::sender::Sent;

#[derive(Debug, Clone)]
pub struct IntentRow {
    pub signal_id: String,
    pub account_id: String,
    pub client_order_id: String,
    pub status: String,
    pub reason: String,
}

pub struct Facts {
    pub sent: Vec<Sent>,
    /// (signal id, sender id) of every signal on the checker's webhook.
    pub signals: Vec<(String, Option<String>)>,
    pub intents: Vec<IntentRow>,
    /// Client order ids in both ledgers, with repeats.
    pub orders: Vec<String>,
    pub accounts: Vec<String>,
    /// Client order id → when a proxy last forwarded it (Unix ms).
    pub forwarded: HashMap<String, i64>,
    pub open_statuses: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Verdict {
    pub sent: usize,
    pub acked: usize,
    pub duplicate_acks: usize,
    pub rate_limited: usize,
    pub unacked_executed: usize,
    pub unacked_absent: usize,
    pub lost: usize,
    pub duplicate: usize,
    pub phantom: usize,
    pub stuck: usize,
    pub orders: usize,
    pub statuses: BTreeMap<String, usize>,
    /// A few examples of what went wrong, for the human summary.
    pub examples: Vec<String>,
    pub delay_ms: Vec<i64>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.lost + self.duplicate + self.phantom + self.stuck == 0
    }

    fn example(&mut self, what: String) {
        if self.examples.len() < 10 {
            self.examples.push(what);
        }
    }

    /// p50, p99, max of the signal→order delay (ms), if any order.
    pub fn delays(&self) -> Option<(i64, i64, i64)> {
        let mut d = self.delay_ms.clone();
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize];
        Some((at(0.5), at(0.99), d[d.len() - 1]))
    }

    pub fn json(&self) -> Value {
        let delay = self
            .delays()
            .map(|(p50, p99, max)| json!({"p50": p50, "p99": p99, "max": max}));
        json!({
            "sent": self.sent, "acked": self.acked, "duplicate_acks": self.duplicate_acks,
            "rate_limited": self.rate_limited, "unacked_executed": self.unacked_executed,
            "unacked_absent": self.unacked_absent, "orders": self.orders,
            "lost": self.lost, "duplicate": self.duplicate, "phantom": self.phantom, "stuck": self.stuck,
            "intents": self.statuses, "delay_ms": delay,
        })
    }
}

pub fn judge(f: &Facts) -> Verdict {
    let mut v = Verdict {
        sent: f.sent.len(),
        orders: f.orders.len(),
        ..Verdict::default()
    };
    let mut at_broker: HashMap<&str, usize> = HashMap::new();
    for id in &f.orders {
        *at_broker.entry(id.as_str()).or_default() += 1;
    }
    let mut by_sender: HashMap<&str, Vec<&str>> = HashMap::new();
    for (signal, sender) in &f.signals {
        if let Some(sender) = sender {
            by_sender.entry(sender).or_default().push(signal);
        }
    }
    let mut intents: HashMap<(&str, &str), Vec<&IntentRow>> = HashMap::new();
    for i in &f.intents {
        intents
            .entry((i.signal_id.as_str(), i.account_id.as_str()))
            .or_default()
            .push(i);
        *v.statuses.entry(i.status.clone()).or_default() += 1;
        if f.open_statuses.contains(&i.status) {
            v.stuck += 1;
            v.example(format!(
                "stuck: intent {} is {}",
                i.client_order_id, i.status
            ));
        }
    }
    let mut ours: std::collections::HashSet<&str> = Default::default();
    for s in &f.sent {
        let acked = s.signal_id.is_some();
        v.acked += usize::from(acked);
        v.duplicate_acks += usize::from(s.duplicate);
        v.rate_limited += usize::from(s.rate_limited);
        let mut signals = by_sender
            .get(s.alert_id.as_str())
            .cloned()
            .unwrap_or_default();
        if let Some(id) = &s.signal_id
            && !signals.contains(&id.as_str())
        {
            v.lost += f.accounts.len();
            v.example(format!(
                "lost: {} was acked as {id}, which is not in the database",
                s.alert_id
            ));
            continue;
        }
        if signals.is_empty() {
            v.unacked_absent += 1;
            continue;
        }
        // The acknowledged signal first; any other for this alert is a duplicate.
        signals.sort_by_key(|id| Some(*id) != s.signal_id.as_deref());
        let mut complete = true;
        for (nth, signal) in signals.iter().enumerate() {
            for account in &f.accounts {
                let rows = intents
                    .get(&(*signal, account.as_str()))
                    .cloned()
                    .unwrap_or_default();
                let mut orders = 0;
                for row in &rows {
                    ours.insert(row.client_order_id.as_str());
                    orders += at_broker
                        .get(row.client_order_id.as_str())
                        .copied()
                        .unwrap_or(0);
                    if let Some(at) = f.forwarded.get(&row.client_order_id)
                        && nth == 0
                        && at_broker.contains_key(row.client_order_id.as_str())
                    {
                        v.delay_ms.push(at - s.first_sent_ms);
                    }
                }
                let extra = if nth == 0 {
                    orders.saturating_sub(1)
                } else {
                    orders
                };
                if extra > 0 {
                    v.duplicate += extra;
                    v.example(format!(
                        "duplicate: {} has {extra} extra order(s) on account {account}",
                        s.alert_id
                    ));
                }
                if nth == 0 && orders == 0 {
                    complete = false;
                    v.lost += 1;
                    let why = rows.first().map_or("no intent".to_string(), |r| {
                        format!("intent {}: {}", r.status, r.reason)
                    });
                    v.example(format!("lost: {} on account {account}: {why}", s.alert_id));
                }
            }
        }
        if !acked && complete {
            v.unacked_executed += 1;
        }
    }
    for id in &f.orders {
        if !ours.contains(id.as_str()) {
            v.phantom += 1;
            v.example(format!(
                "phantom: order {id} at a broker traces to no sent alert"
            ));
        }
    }
    v
}
