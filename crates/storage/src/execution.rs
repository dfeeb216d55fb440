//! Strategies, order intents, tracked positions and kill switches: the
//! durable state of turning signals into orders.
//!
//! An intent moves `pending` → `sending` (written before any network call)
//! → `accepted` | `rejected` | `skipped` | `failed`; a lost answer makes it
//! `ambiguous`, settled only by looking the order up by its client order id.
//! Per account, intents execute strictly in order, one at a time, under an
//! execution lease that holds across instances.

use atomik_domain::Resource;

use crate::sql::{Arg, Cols, FromRow, Scalar, Tx, args, prefixed_columns};
use crate::{Db, Result, StorageError, new_id, plans};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    pub id: String,
    pub user_id: String,
    pub webhook_id: Option<String>,
    pub broker_account_id: String,
    pub name: String,
    pub instrument: String,
    pub quantity: String,
    pub quantity_from_alert: bool,
    pub max_per_signal: String,
    pub max_position: Option<String>,
    /// `HH:MM-HH:MM` UTC; signals outside it are skipped.
    pub trading_hours: Option<String>,
    /// Largest single order; a larger one is refused (risk denial).
    pub max_order_quantity: Option<String>,
    /// Orders per UTC day and account.
    pub daily_order_cap: Option<i64>,
    pub active: bool,
}

const STRATEGY_COLUMNS: &str = "id, user_id, webhook_id, broker_account_id, name, instrument, quantity, \
     quantity_from_alert, max_per_signal, max_position, trading_hours, max_order_quantity, daily_order_cap, active";

fn strategy_from_row(row: &impl Cols) -> Result<Strategy> {
    strategy_from_prefixed(row, "")
}

/// A strategy from columns named `{prefix}{column}` (joined queries).
fn strategy_from_prefixed(row: &impl Cols, prefix: &str) -> Result<Strategy> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Strategy {
        id: row.try_get(&col("id"))?,
        user_id: row.try_get(&col("user_id"))?,
        webhook_id: row.try_get(&col("webhook_id"))?,
        broker_account_id: row.try_get(&col("broker_account_id"))?,
        name: row.try_get(&col("name"))?,
        instrument: row.try_get(&col("instrument"))?,
        quantity: row.try_get(&col("quantity"))?,
        quantity_from_alert: row.try_get::<i64>(&col("quantity_from_alert"))? != 0,
        max_per_signal: row.try_get(&col("max_per_signal"))?,
        max_position: row.try_get(&col("max_position"))?,
        trading_hours: row.try_get(&col("trading_hours"))?,
        max_order_quantity: row.try_get(&col("max_order_quantity"))?,
        daily_order_cap: row.try_get(&col("daily_order_cap"))?,
        active: row.try_get::<i64>(&col("active"))? != 0,
    })
}

pub struct NewStrategy<'a> {
    pub user_id: &'a str,
    pub webhook_id: &'a str,
    pub broker_account_id: &'a str,
    pub name: &'a str,
    pub instrument: &'a str,
    pub quantity: &'a str,
    pub quantity_from_alert: bool,
    pub max_per_signal: &'a str,
    pub max_position: Option<&'a str>,
    pub trading_hours: Option<&'a str>,
    pub max_order_quantity: Option<&'a str>,
    pub daily_order_cap: Option<i64>,
}

/// Activate a strategy (plan limit on active strategies); the webhook and the
/// account must be the user's, and the account connected.
pub async fn create_strategy(db: &Db, s: NewStrategy<'_>, now: i64) -> Result<Strategy> {
    let id = new_id();
    let (user_id, webhook_id, account_id) = (
        s.user_id.to_string(),
        s.webhook_id.to_string(),
        s.broker_account_id.to_string(),
    );
    let row = args![
        &id,
        s.user_id,
        s.webhook_id,
        s.broker_account_id,
        s.name,
        s.instrument,
        s.quantity,
        s.quantity_from_alert,
        s.max_per_signal,
        s.max_position,
        s.trading_hours,
        s.max_order_quantity,
        s.daily_order_cap,
        now
    ];
    db.batched(move |tx| {
        Box::pin(async move {
            let owned: Option<(i64, Option<String>)> = tx
                .fetch_optional(
                    "SELECT (SELECT COUNT(*) FROM webhooks WHERE id = $1 AND user_id = $3), \
                     (SELECT status FROM broker_accounts WHERE id = $2 AND user_id = $3)",
                    args![&webhook_id, &account_id, &user_id],
                )
                .await?;
            match owned {
                Some((1, Some(status))) if status != "disconnected" => {}
                Some((1, Some(_))) => return Err(account_disconnected()),
                _ => {
                    return Err(StorageError::Invalid(
                        "choose one of your webhooks and one of your broker accounts".into(),
                    ));
                }
            }
            plans::reserve_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            tx.execute(
                "INSERT INTO strategies (id, user_id, webhook_id, broker_account_id, name, instrument, quantity, \
                 quantity_from_alert, max_per_signal, max_position, trading_hours, max_order_quantity, daily_order_cap, \
                 active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14)",
                row,
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    strategy(db, &id)
        .await?
        .ok_or(StorageError::NotFound("strategy"))
}

pub async fn strategy(db: &Db, id: &str) -> Result<Option<Strategy>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {STRATEGY_COLUMNS} FROM strategies WHERE id = $1")
    });
    db.fetch_optional(SQL.as_str(), args![id]).await
}

pub async fn strategies(db: &Db, user_id: &str) -> Result<Vec<Strategy>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {STRATEGY_COLUMNS} FROM strategies WHERE user_id = $1 ORDER BY created_at, id"
        )
    });
    db.fetch_all(SQL.as_str(), args![user_id]).await
}

/// Turn a strategy on (takes a slot; its account must be connected) or off
/// (frees it).
pub async fn set_strategy_active(db: &Db, user_id: &str, id: &str, active: bool) -> Result<()> {
    let (user_id, id) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let current: (i64, Option<String>) = tx
                .fetch_optional(
                    "SELECT s.active, a.status FROM strategies s \
                     LEFT JOIN broker_accounts a ON a.id = s.broker_account_id \
                     WHERE s.id = $1 AND s.user_id = $2",
                    args![&id, &user_id],
                )
                .await?
                .ok_or(StorageError::NotFound("strategy"))?;
            if (current.0 != 0) == active {
                return Ok(());
            }
            if active {
                if current.1.as_deref().is_none_or(|s| s == "disconnected") {
                    return Err(account_disconnected());
                }
                plans::reserve_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            } else {
                plans::release_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            }
            tx.execute(
                "UPDATE strategies SET active = $3 WHERE id = $1 AND user_id = $2",
                args![&id, &user_id, active],
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// The intents a signal creates: one per active strategy of `webhook_id`
/// whose account is active, and after each, one per active follower of the
/// copy groups that account leads (waiting for the leader's). One query,
/// inside the signal's transaction; ids are chosen here, nothing is written.
pub(crate) async fn plan_intents(
    tx: &mut Tx<'_>,
    webhook_id: &str,
    signal_id: &str,
    now: i64,
) -> Result<Vec<NewIntent>> {
    type Row = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<Row> = tx
        .fetch_all(
            // Driven by the webhook's strategies, each account looked up by
            // its key: a plan that stays right whatever the statistics say.
            "SELECT s.id, s.broker_account_id, s.user_id, m.account_id, m.multiplier FROM strategies s \
             LEFT JOIN copy_groups g ON g.leader_account_id = s.broker_account_id \
             LEFT JOIN copy_group_members m ON m.group_id = g.id AND m.active = 1 AND EXISTS ( \
              SELECT 1 FROM broker_accounts f WHERE f.id = m.account_id AND f.status = 'connected' AND f.paused = 0) \
             WHERE s.webhook_id = $1 AND s.active = 1 AND EXISTS (SELECT 1 FROM broker_accounts a \
              WHERE a.id = s.broker_account_id AND a.status = 'connected' AND a.paused = 0) \
             ORDER BY s.created_at, s.id, m.account_id",
            args![webhook_id],
        )
        .await?;
    let mut planned: Vec<NewIntent> = Vec::with_capacity(rows.len());
    let mut leader: Option<(String, String)> = None; // (strategy id, its intent id)
    for (strategy_id, account_id, user_id, follower, multiplier) in rows {
        let leader_intent = match &leader {
            Some((strategy, intent)) if *strategy == strategy_id => intent.clone(),
            _ => {
                let intent = NewIntent::new(
                    signal_id,
                    &strategy_id,
                    &account_id,
                    &user_id,
                    None,
                    None,
                    now,
                );
                let id = intent.id.clone();
                planned.push(intent);
                leader = Some((strategy_id.clone(), id.clone()));
                id
            }
        };
        if let Some(follower) = follower {
            planned.push(NewIntent::new(
                signal_id,
                &strategy_id,
                &follower,
                &user_id,
                Some(leader_intent),
                multiplier,
                now,
            ));
        }
    }
    Ok(planned)
}

/// An intent about to be inserted.
pub(crate) struct NewIntent {
    pub id: String,
    pub account_id: String,
    /// `None` unless a copy-group follower.
    pub leader_intent_id: Option<String>,
    row: Vec<Arg>,
}

impl NewIntent {
    /// The columns of [`Self::row`].
    pub(crate) const COLUMNS: &str = "order_intents (id, signal_id, strategy_id, account_id, user_id, \
         client_order_id, status, leader_intent_id, multiplier, created_at, updated_at)";

    fn new(
        signal_id: &str,
        strategy_id: &str,
        account_id: &str,
        user_id: &str,
        leader_intent_id: Option<String>,
        multiplier: Option<String>,
        now: i64,
    ) -> NewIntent {
        let uuid = uuid::Uuid::now_v7();
        let id = uuid.to_string();
        // Stable for the intent's life; ≤ 36 characters (Binance's limit).
        let client_order_id = format!("atk{}", uuid.simple());
        let row = args![
            &id,
            signal_id,
            strategy_id,
            account_id,
            user_id,
            client_order_id,
            "pending",
            leader_intent_id.as_deref(),
            multiplier,
            now,
            now
        ];
        NewIntent {
            id,
            account_id: account_id.to_string(),
            leader_intent_id,
            row,
        }
    }

    /// The values, in the order of [`Self::COLUMNS`].
    pub(crate) fn row(&self) -> Vec<Arg> {
        self.row.clone()
    }
}

/// Accounts of the copy-group followers of a leader's intent that are still
/// to execute.
pub async fn follower_accounts(db: &Db, leader_intent_id: &str) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT account_id FROM order_intents WHERE leader_intent_id = $1 \
             AND status IN ('pending', 'sending', 'ambiguous')",
            args![leader_intent_id],
        )
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}

/// An intent with what executing it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub signal_id: String,
    pub account_id: String,
    pub user_id: String,
    pub client_order_id: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub not_before: i64,
    /// For a copy-group follower: the leader's intent, and the multiplier.
    pub leader_intent_id: Option<String>,
    pub multiplier: Option<String>,
    /// What was (or is being) sent, once `sending`.
    pub instrument: Option<String>,
    pub side: Option<String>,
    pub quantity: Option<String>,
    pub strategy: Strategy,
    pub action: String,
    pub comment: Option<String>,
    pub alert_quantity: Option<String>,
    /// A follower's: its leader's intent status (it waits until final).
    pub leader_status: Option<String>,
    /// The first engaged kill switch among global, the user's and the
    /// account's.
    pub kill_switch: Option<String>,
    /// `None` if the account is gone.
    pub account: Option<crate::broker_accounts::BrokerAccount>,
    /// The account's sealed credential and its owner (`None` if none).
    pub credential: Option<(String, crate::broker_accounts::SealedCredential)>,
    /// Whether copy-group followers wait for this intent.
    pub has_followers: bool,
    /// The account's tracked positions: (instrument, quantity).
    pub tracked_positions: Vec<(String, String)>,
}

/// Accounts with unfinished intents that may run now (a copy-group
/// follower waiting for its leader's order does not count yet).
pub async fn accounts_with_work(db: &Db, now: i64) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all(
            "SELECT DISTINCT i.account_id FROM order_intents i WHERE i.status IN ('pending', 'sending', 'ambiguous') \
             AND i.not_before <= $1 AND (i.leader_intent_id IS NULL OR NOT EXISTS (SELECT 1 FROM order_intents l \
             WHERE l.id = i.leader_intent_id AND l.status IN ('pending', 'sending', 'ambiguous')))",
            args![now],
        )
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}

/// The account's oldest unfinished intent, and whether another follows it.
pub async fn next_intents(db: &Db, account_id: &str) -> Result<(Option<Intent>, bool)> {
    let mut two: Vec<Intent> = db
        .fetch_all(next_intent_sql(db.backend()), args![account_id])
        .await?;
    let more = two.len() > 1;
    two.truncate(1);
    Ok((two.pop(), more))
}

/// The intent with its signal, strategy, account, sealed credential,
/// leader's status, kill switch and the account's tracked positions:
/// everything executing it reads from the database, in one read (and the
/// next intent, to know whether there is one).
fn next_intent_sql(backend: crate::Backend) -> &'static str {
    static SQLITE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| next_intent_query("group_concat"));
    static POSTGRES: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| next_intent_query("string_agg"));
    match backend {
        crate::Backend::Sqlite => SQLITE.as_str(),
        crate::Backend::Postgres => POSTGRES.as_str(),
    }
}

/// `concat`: the backend's string aggregate (`group_concat` / `string_agg`).
fn next_intent_query(concat: &str) -> String {
    let strategy_columns = prefixed_columns("s", STRATEGY_COLUMNS, "s_");
    let account_columns = prefixed_columns("a", crate::broker_accounts::COLUMNS, "a_");
    format!(
        "SELECT i.id, i.signal_id, i.account_id, i.user_id, i.client_order_id, i.status, i.attempts, i.created_at, \
         i.updated_at, i.not_before, i.leader_intent_id, i.multiplier, i.instrument, i.side, i.quantity, \
         g.action, g.comment, g.quantity AS alert_quantity, {strategy_columns}, {account_columns}, \
         (SELECT l.status FROM order_intents l WHERE l.id = i.leader_intent_id) AS leader_status, \
         (SELECT k.scope FROM kill_switches k WHERE k.scope IN ('global', 'user:' || i.user_id, \
          'account:' || i.account_id) ORDER BY k.scope LIMIT 1) AS kill_switch, \
         CASE WHEN EXISTS (SELECT 1 FROM order_intents f WHERE f.leader_intent_id = i.id) THEN 1 ELSE 0 END \
          AS has_followers, \
         (SELECT {concat}(p.instrument || '=' || p.quantity, ';') FROM positions p \
          WHERE p.account_id = i.account_id) AS tracked_positions, \
         c.user_id AS c_user_id, c.kek_id AS c_kek_id, c.sealed AS c_sealed \
         FROM order_intents i JOIN signals g ON g.id = i.signal_id JOIN strategies s ON s.id = i.strategy_id \
         LEFT JOIN broker_accounts a ON a.id = i.account_id \
         LEFT JOIN broker_credentials c ON c.account_id = i.account_id \
         WHERE i.account_id = $1 AND i.status IN ('pending', 'sending', 'ambiguous') \
         ORDER BY i.created_at, i.id LIMIT 2"
    )
}

impl FromRow for Intent {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok(Intent {
            id: row.try_get("id")?,
            signal_id: row.try_get("signal_id")?,
            account_id: row.try_get("account_id")?,
            user_id: row.try_get("user_id")?,
            client_order_id: row.try_get("client_order_id")?,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            not_before: row.try_get("not_before")?,
            leader_intent_id: row.try_get("leader_intent_id")?,
            multiplier: row.try_get("multiplier")?,
            instrument: row.try_get("instrument")?,
            side: row.try_get("side")?,
            quantity: row.try_get("quantity")?,
            strategy: strategy_from_prefixed(row, "s_")?,
            action: row.try_get("action")?,
            comment: row.try_get("comment")?,
            alert_quantity: row.try_get("alert_quantity")?,
            leader_status: row.try_get("leader_status")?,
            kill_switch: row.try_get("kill_switch")?,
            account: match row.try_get::<Option<String>>("a_id")? {
                Some(_) => Some(crate::broker_accounts::from_prefixed(row, "a_")?),
                None => None,
            },
            credential: match row.try_get::<Option<String>>("c_user_id")? {
                Some(user_id) => Some((
                    user_id,
                    crate::broker_accounts::SealedCredential {
                        kek_id: row.try_get("c_kek_id")?,
                        sealed: row.try_get("c_sealed")?,
                    },
                )),
                None => None,
            },
            has_followers: row.try_get::<i64>("has_followers")? != 0,
            tracked_positions: row
                .try_get::<Option<String>>("tracked_positions")?
                .unwrap_or_default()
                // `instrument=quantity;…`: quantities are decimals, and no
                // broker's symbol contains `;`.
                .split(';')
                .filter_map(|entry| entry.rsplit_once('='))
                .map(|(instrument, quantity)| (instrument.to_string(), quantity.to_string()))
                .collect(),
        })
    }
}

/// Record the order about to be sent, before sending it.
pub async fn mark_sending(
    db: &Db,
    id: &str,
    instrument: &str,
    side: &str,
    quantity: &str,
    now: i64,
) -> Result<()> {
    db.write(
        "UPDATE order_intents SET status = 'sending', instrument = $2, side = $3, quantity = $4, \
         attempts = attempts + 1, updated_at = $5 WHERE id = $1",
        args![id, instrument, side, quantity, now],
    )
    .await?;
    Ok(())
}

/// Move an intent to `status` with `reason` (and the broker's order id).
pub async fn mark(
    db: &Db,
    id: &str,
    status: &str,
    reason: Option<&str>,
    broker_order_id: Option<&str>,
    latency_us: Option<i64>,
    now: i64,
) -> Result<()> {
    db.write("UPDATE order_intents SET status = $2, reason = COALESCE($3, reason), \
         broker_order_id = COALESCE($4, broker_order_id), latency_us = COALESCE($5, latency_us), updated_at = $6 \
         WHERE id = $1", args![id, status, reason, broker_order_id, latency_us, now])
    .await?;
    Ok(())
}

/// The broker accepted the order: the intent and the position it leaves,
/// in one transaction.
pub async fn mark_accepted(db: &Db, accepted: Accepted<'_>, now: i64) -> Result<()> {
    let (id, order_id, latency) = (
        accepted.intent_id.to_string(),
        accepted.broker_order_id.to_string(),
        accepted.latency_us,
    );
    let position = [
        accepted.account_id.to_string(),
        accepted.instrument.to_string(),
        accepted.position_after.to_string(),
    ];
    if db.backend() == crate::Backend::Postgres {
        // One statement, one round trip (a data-modifying CTE).
        let [account, instrument, quantity] = position;
        db.write(
            "WITH intent AS (UPDATE order_intents SET status = 'accepted', reason = 'accepted by the broker', \
             broker_order_id = $2, latency_us = $3, updated_at = $4 WHERE id = $1) \
             INSERT INTO positions (account_id, instrument, quantity, updated_at) VALUES ($5, $6, $7, $4) \
             ON CONFLICT (account_id, instrument) DO UPDATE SET quantity = $7, updated_at = $4",
            args![id, order_id, latency, now, account, instrument, quantity],
        )
        .await?;
        return Ok(());
    }
    db.batched(move |tx| {
        Box::pin(async move {
            tx.execute(
                "UPDATE order_intents SET status = 'accepted', reason = 'accepted by the broker', \
                 broker_order_id = $2, latency_us = $3, updated_at = $4 WHERE id = $1",
                args![id, order_id, latency, now],
            )
            .await?;
            let [account, instrument, quantity] = position;
            tx.execute(SET_POSITION_SQL, args![account, instrument, quantity, now])
                .await?;
            Ok(())
        })
    })
    .await
}

/// What [`mark_accepted`] records.
pub struct Accepted<'a> {
    pub intent_id: &'a str,
    pub broker_order_id: &'a str,
    pub latency_us: i64,
    pub account_id: &'a str,
    pub instrument: &'a str,
    /// The tracked position once the order is filled.
    pub position_after: &'a str,
}

/// Keep the status, look again at `not_before` (e.g. an ambiguous outcome
/// the broker cannot confirm yet).
pub async fn defer(db: &Db, id: &str, not_before: i64, now: i64) -> Result<()> {
    db.write(
        "UPDATE order_intents SET not_before = $2, updated_at = $3 WHERE id = $1",
        args![id, not_before, now],
    )
    .await?;
    Ok(())
}

/// A failure before anything was sent (no session, instrument or position):
/// try again at `not_before`, counting the attempt.
pub async fn retry_unsent(
    db: &Db,
    id: &str,
    reason: &str,
    not_before: i64,
    now: i64,
) -> Result<()> {
    db.write(
        "UPDATE order_intents SET status = 'pending', reason = $2, not_before = $3, updated_at = $4, \
         attempts = attempts + 1 WHERE id = $1",
        args![id, reason, not_before, now],
    )
    .await?;
    Ok(())
}

/// Not sent: try again at `not_before`.
pub async fn retry_later(db: &Db, id: &str, reason: &str, not_before: i64, now: i64) -> Result<()> {
    db.write("UPDATE order_intents SET status = 'pending', reason = $2, not_before = $3, updated_at = $4 WHERE id = $1", args![id, reason, not_before, now])
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentView {
    pub account_id: String,
    pub client_order_id: String,
    pub status: String,
    pub instrument: Option<String>,
    pub side: Option<String>,
    pub quantity: Option<String>,
    pub broker_order_id: Option<String>,
    pub reason: Option<String>,
    pub latency_us: Option<i64>,
}

/// The intents of a signal (the Logs tab's per-account outcome).
pub async fn intents_of_signal(db: &Db, signal_id: &str) -> Result<Vec<IntentView>> {
    db.fetch_all(
        "SELECT account_id, client_order_id, status, instrument, side, quantity, broker_order_id, reason, latency_us \
         FROM order_intents WHERE signal_id = $1 ORDER BY created_at, id",
        args![signal_id],
    )
    .await
}

/// Single executor per account across instances; the holder renews its own.
pub async fn try_exec_lease(
    db: &Db,
    account_id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    Ok(db
        .write("UPDATE broker_accounts SET exec_lease_owner = $2, exec_lease_until = $4 \
         WHERE id = $1 AND (exec_lease_until IS NULL OR exec_lease_until < $3 OR exec_lease_owner = $2)", args![account_id, owner, now, until])
        .await?
        == 1)
}

pub async fn release_exec_lease(db: &Db, account_id: &str, owner: &str) -> Result<()> {
    db.write("UPDATE broker_accounts SET exec_lease_owner = NULL, exec_lease_until = NULL WHERE id = $1 AND exec_lease_owner = $2", args![account_id, owner])
    .await?;
    Ok(())
}

/// The position atomik tracks for an account and instrument.
pub async fn position(db: &Db, account_id: &str, instrument: &str) -> Result<Option<String>> {
    Ok(db
        .fetch_optional::<Scalar<String>>(
            "SELECT quantity FROM positions WHERE account_id = $1 AND instrument = $2",
            args![account_id, instrument],
        )
        .await?
        .map(|s| s.0))
}

const SET_POSITION_SQL: &str = "INSERT INTO positions (account_id, instrument, quantity, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, instrument) DO UPDATE SET quantity = $3, updated_at = $4";

pub async fn set_position(
    db: &Db,
    account_id: &str,
    instrument: &str,
    quantity: &str,
    now: i64,
) -> Result<()> {
    db.write(
        SET_POSITION_SQL,
        args![account_id, instrument, quantity, now],
    )
    .await?;
    Ok(())
}

/// Orders accepted for a strategy on an account since `since` (daily cap).
pub async fn accepted_since(
    db: &Db,
    strategy_id: &str,
    account_id: &str,
    since: i64,
) -> Result<i64> {
    Ok(db
        .fetch_optional::<Scalar<i64>>(
            "SELECT COUNT(*) FROM order_intents WHERE strategy_id = $1 AND account_id = $2 \
             AND status = 'accepted' AND created_at >= $3",
            args![strategy_id, account_id, since],
        )
        .await?
        .map_or(0, |s| s.0))
}

/// Every tracked position of an account (non-zero).
pub async fn positions_of(db: &Db, account_id: &str) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = db
        .fetch_all(
            "SELECT instrument, quantity FROM positions WHERE account_id = $1 ORDER BY instrument",
            args![account_id],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, q)| q.parse::<f64>().map(|v| v != 0.0).unwrap_or(true))
        .collect())
}

/// Kill switch scopes: `global`, `user:<id>`, `account:<id>`.
pub async fn set_kill_switch(db: &Db, scope: &str, engaged: bool, now: i64) -> Result<()> {
    if engaged {
        db.write(
            "INSERT INTO kill_switches (scope, engaged_at) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING",
            args![scope, now],
        )
        .await?;
    } else {
        db.write("DELETE FROM kill_switches WHERE scope = $1", args![scope])
            .await?;
    }
    Ok(())
}

/// Delete one of the user's strategies, freeing its slot if it was active.
/// Refused while orders it created are unfinished (turn it off first and
/// let them settle); finished orders keep their history.
pub async fn delete_strategy(db: &Db, user_id: &str, id: &str) -> Result<()> {
    let (user_id, id) = (user_id.to_string(), id.to_string());
    db.batched(move |tx| {
        Box::pin(async move {
            let (active, unfinished): (i64, i64) = tx
                .fetch_optional(
                    "SELECT s.active, (SELECT COUNT(*) FROM order_intents i WHERE i.strategy_id = s.id \
                     AND i.status IN ('pending', 'sending', 'ambiguous')) FROM strategies s \
                     WHERE s.id = $1 AND s.user_id = $2",
                    args![&id, &user_id],
                )
                .await?
                .ok_or(StorageError::NotFound("strategy"))?;
            if unfinished > 0 {
                return Err(StorageError::Invalid(format!(
                    "this strategy has {unfinished} unfinished order(s): turn it off and delete it \
                     once they have settled"
                )));
            }
            tx.execute(
                "DELETE FROM strategies WHERE id = $1 AND user_id = $2",
                args![&id, &user_id],
            )
            .await?;
            if active != 0 {
                plans::release_slot(tx, &user_id, Resource::ActiveStrategies).await?;
            }
            Ok(())
        })
    })
    .await
}

fn account_disconnected() -> StorageError {
    StorageError::Invalid(
        "this strategy's broker account is disconnected: reconnect the account first".into(),
    )
}

impl FromRow for Strategy {
    fn from_row(row: &impl Cols) -> Result<Self> {
        strategy_from_row(row)
    }
}

impl FromRow for IntentView {
    fn from_row(row: &impl Cols) -> Result<Self> {
        Ok(IntentView {
            account_id: row.try_get("account_id")?,
            client_order_id: row.try_get("client_order_id")?,
            status: row.try_get("status")?,
            instrument: row.try_get("instrument")?,
            side: row.try_get("side")?,
            quantity: row.try_get("quantity")?,
            broker_order_id: row.try_get("broker_order_id")?,
            reason: row.try_get("reason")?,
            latency_us: row.try_get("latency_us")?,
        })
    }
}
