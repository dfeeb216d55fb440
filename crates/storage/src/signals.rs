//! Signals and webhook deliveries. A signal is recorded with its delivery in
//! one transaction, after the duplicate checks, serialized per webhook so
//! that concurrent identical deliveries race safely (exactly one accepted).

use atomik_domain::signal::Signal;

use crate::sql::{Arg, Inserts, Scalar, Tx, args};
use crate::{Backend, Db, Result, new_id};

pub struct NewSignal<'a> {
    pub webhook_id: &'a str,
    pub user_id: &'a str,
    /// SHA-256 of the normalized payload (sorted keys, secret removed).
    pub payload_hash: &'a str,
    /// The signal as ingress parsed it (once).
    pub signal: &'a Signal,
}

/// One delivery attempt, as the Logs tab shows it.
pub struct Delivery<'a> {
    pub webhook_id: &'a str,
    pub source_ip: Option<&'a str>,
    pub status: u16,
    /// Redacted and size-capped by the caller.
    pub payload: &'a str,
    pub reason: &'a str,
    pub processing_us: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded with one order intent per target account.
    Accepted {
        signal_id: String,
        intents: usize,
        /// Accounts whose intents may execute now (copy-group followers
        /// wait for their leader's order, so they are not among them).
        ready_accounts: Vec<String>,
    },
    /// Same payload within the window, or the same sender `id` within 24 h.
    Duplicate { original_signal_id: String },
}

/// How far back a repeated sender `id` counts as a duplicate.
pub const SENDER_ID_WINDOW_MS: i64 = 24 * 3600 * 1000;

pub async fn record(
    db: &Db,
    signal: NewSignal<'_>,
    delivery: Delivery<'_>,
    now: i64,
    window_ms: i64,
) -> Result<Recorded> {
    // Group-committed: concurrent deliveries share one durable commit, and
    // each is answered only once that commit is done.
    let signal = OwnedSignal::from(signal);
    let delivery = OwnedDelivery::from(delivery);
    let backend = db.backend();
    db.batched(move |conn| {
        Box::pin(async move { record_in(conn, backend, &signal, &delivery, now, window_ms).await })
    })
    .await
}

struct OwnedSignal {
    webhook_id: String,
    user_id: String,
    payload_hash: String,
    sender_id: Option<String>,
    action: String,
    comment: Option<String>,
    quantity: Option<String>,
    ticker: Option<String>,
    price: Option<String>,
}

impl From<NewSignal<'_>> for OwnedSignal {
    fn from(s: NewSignal<'_>) -> Self {
        // The one mapping of a signal to its columns (read back by
        // `execution::Intent`'s row mapping).
        let signal = s.signal;
        OwnedSignal {
            webhook_id: s.webhook_id.to_string(),
            user_id: s.user_id.to_string(),
            payload_hash: s.payload_hash.to_string(),
            sender_id: signal.id.clone(),
            action: signal.action.as_str().to_string(),
            comment: signal.intent.comment(),
            quantity: signal.quantity.map(|q| q.to_string()),
            ticker: signal.ticker.clone(),
            price: signal.price.map(|p| p.to_string()),
        }
    }
}

struct OwnedDelivery {
    webhook_id: String,
    source_ip: Option<String>,
    status: u16,
    payload: String,
    reason: String,
    processing_us: i64,
}

impl From<Delivery<'_>> for OwnedDelivery {
    fn from(d: Delivery<'_>) -> Self {
        OwnedDelivery {
            webhook_id: d.webhook_id.to_string(),
            source_ip: d.source_ip.map(String::from),
            status: d.status,
            payload: d.payload.to_string(),
            reason: d.reason.to_string(),
            processing_us: d.processing_us,
        }
    }
}

impl OwnedDelivery {
    fn borrowed(&self) -> Delivery<'_> {
        Delivery {
            webhook_id: &self.webhook_id,
            source_ip: self.source_ip.as_deref(),
            status: self.status,
            payload: &self.payload,
            reason: &self.reason,
            processing_us: self.processing_us,
        }
    }
}

/// The duplicate check and the inserts, inside the caller's transaction:
/// on PostgreSQL four statements (lock, duplicate check, targets, one insert
/// of everything), whatever the number of intents.
async fn record_in(
    tx: &mut Tx<'_>,
    backend: Backend,
    signal: &OwnedSignal,
    delivery: &OwnedDelivery,
    now: i64,
    window_ms: i64,
) -> Result<Recorded> {
    if backend == Backend::Postgres {
        // Serialize deliveries per webhook (SQLite's BEGIN IMMEDIATE already
        // does); the next statement then sees any signal committed meanwhile.
        tx.execute(
            "SELECT id FROM webhooks WHERE id = $1 FOR UPDATE",
            args![&signal.webhook_id],
        )
        .await?;
    }
    // The same sender `id` within 24 h counts first, then the same payload
    // within the window.
    let original: Option<Scalar<String>> = tx
        .fetch_optional(
            "SELECT id FROM signals WHERE webhook_id = $1 \
             AND ((sender_id = $2 AND received_at > $3) OR (payload_hash = $4 AND received_at > $5)) \
             ORDER BY CASE WHEN sender_id = $2 THEN 0 ELSE 1 END, received_at LIMIT 1",
            args![
                &signal.webhook_id,
                &signal.sender_id,
                now - SENDER_ID_WINDOW_MS,
                &signal.payload_hash,
                now - window_ms
            ],
        )
        .await?;
    let mut inserts = Inserts::default();
    let outcome = match original {
        Some(Scalar(original_signal_id)) => Recorded::Duplicate { original_signal_id },
        None => {
            let id = new_id();
            let intents = crate::intents::plan_intents(tx, &signal.webhook_id, &id, now).await?;
            inserts.row(
                "signals (id, webhook_id, user_id, payload_hash, sender_id, action, comment, quantity, \
                 ticker, price, received_at)",
                args![
                    &id,
                    &signal.webhook_id,
                    &signal.user_id,
                    &signal.payload_hash,
                    &signal.sender_id,
                    &signal.action,
                    &signal.comment,
                    &signal.quantity,
                    &signal.ticker,
                    &signal.price,
                    now
                ],
            );
            for intent in &intents {
                inserts.row(crate::intents::NewIntent::COLUMNS, intent.row());
            }
            Recorded::Accepted {
                signal_id: id,
                intents: intents.len(),
                ready_accounts: intents
                    .into_iter()
                    .filter(|i| i.leader_intent_id.is_none())
                    .map(|i| i.account_id)
                    .collect(),
            }
        }
    };
    let (signal_id, duplicate) = match &outcome {
        Recorded::Accepted { signal_id, .. } => (signal_id.as_str(), false),
        Recorded::Duplicate { original_signal_id } => (original_signal_id.as_str(), true),
    };
    inserts.row(
        DELIVERY_COLUMNS,
        delivery_row(&delivery.borrowed(), Some(signal_id), duplicate, now),
    );
    inserts.execute(tx).await?;
    Ok(outcome)
}

const DELIVERY_COLUMNS: &str = "webhook_deliveries (id, webhook_id, received_at, source_ip, status, \
     payload, reason, signal_id, duplicate, processing_us)";

fn delivery_row(d: &Delivery<'_>, signal_id: Option<&str>, duplicate: bool, now: i64) -> Vec<Arg> {
    args![
        new_id(),
        d.webhook_id,
        now,
        d.source_ip,
        d.status as i64,
        d.payload,
        d.reason,
        signal_id,
        duplicate,
        d.processing_us
    ]
}

/// A refused delivery (no signal recorded), queued by the server and
/// written in batches.
#[derive(Debug, Clone)]
pub struct RefusedDelivery {
    pub webhook_id: String,
    pub source_ip: Option<String>,
    pub status: u16,
    /// Redacted and size-capped by the caller.
    pub payload: String,
    pub reason: String,
    pub processing_us: i64,
    pub received_at: i64,
}

/// Log refused deliveries in one transaction. Best effort by design: on
/// PostgreSQL the commit does not wait for its WAL flush
/// (`synchronous_commit = off`: a crash may lose the last refusals, never a
/// signal); on SQLite the batch joins the group commit, one fsync however
/// many rows it holds.
pub async fn log_refusals(db: &Db, refused: Vec<RefusedDelivery>) -> Result<()> {
    if refused.is_empty() {
        return Ok(());
    }
    let relaxed = db.backend() == crate::Backend::Postgres;
    db.batched(move |tx| {
        Box::pin(async move {
            if relaxed {
                tx.execute("SET LOCAL synchronous_commit TO OFF", args![])
                    .await?;
            }
            let mut inserts = Inserts::default();
            for r in &refused {
                let d = Delivery {
                    webhook_id: &r.webhook_id,
                    source_ip: r.source_ip.as_deref(),
                    status: r.status,
                    payload: &r.payload,
                    reason: &r.reason,
                    processing_us: r.processing_us,
                };
                inserts.row(
                    DELIVERY_COLUMNS,
                    delivery_row(&d, None, false, r.received_at),
                );
            }
            inserts.execute(tx).await
        })
    })
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub received_at: i64,
    pub source_ip: Option<String>,
    pub status: i64,
    pub payload: String,
    pub reason: String,
    pub signal_id: Option<String>,
    pub duplicate: bool,
    pub processing_us: i64,
}

impl crate::sql::FromRow for DeliveryRow {
    fn from_row(row: &impl crate::sql::Cols) -> Result<Self> {
        Ok(DeliveryRow {
            received_at: row.try_get("received_at")?,
            source_ip: row.try_get("source_ip")?,
            status: row.try_get("status")?,
            payload: row.try_get("payload")?,
            reason: row.try_get("reason")?,
            signal_id: row.try_get("signal_id")?,
            duplicate: row.try_get::<i64>("duplicate")? != 0,
            processing_us: row.try_get("processing_us")?,
        })
    }
}

/// The newest deliveries of a webhook (the Logs tab).
pub async fn deliveries(db: &Db, webhook_id: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
    db.fetch_all(
        "SELECT received_at, source_ip, status, payload, reason, signal_id, duplicate, processing_us \
         FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
        args![webhook_id, limit],
    )
    .await
}

pub async fn count(db: &Db, webhook_id: &str) -> Result<i64> {
    Ok(db
        .fetch_optional::<Scalar<i64>>(
            "SELECT COUNT(*) FROM signals WHERE webhook_id = $1",
            args![webhook_id],
        )
        .await?
        .map_or(0, |s| s.0))
}
