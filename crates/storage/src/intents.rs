//! Order intents: planned with their signal, read with everything executing
//! one needs, and moved through their lifecycle
//! ([`atomik_domain::lifecycle`]) by [`start_sending`] and [`apply`] — the
//! only two writes of an intent's status, used by the normal path and by
//! crash recovery alike. Each is atomic: an outcome's intent row, the
//! position a fill leaves and the note it leaves on the account are one
//! transaction. Per account, intents execute strictly in order, one at a
//! time, under an execution lease that holds across instances.

use std::str::FromStr;
use std::sync::LazyLock;

use atomik_domain::execution::{AccountNote, KillScope, Outcome, SignalFacts};
use atomik_domain::lifecycle::{IntentEvent, IntentStatus};
use atomik_domain::risk::StrategyRules;
use atomik_domain::signal::{Action, parse_comment};
use atomik_domain::sizing::{QuantityUnit, Side};
use rust_decimal::Decimal;

use crate::execution::{STRATEGY_COLUMNS, rules_from_prefixed};
use crate::sql::{Arg, Cols, FromRow, Scalar, Tx, args, prefixed_columns};
use crate::{Backend, Db, Result, StorageError};

/// `template` with `{open}` replaced by the open statuses' SQL list.
fn with_open_states(template: &str) -> String {
    template.replace("{open}", IntentStatus::OPEN_SQL)
}

/// A SQL text built once (statements are `&'static str`).
macro_rules! open_sql {
    ($template:expr) => {{
        static SQL: LazyLock<String> = LazyLock::new(|| with_open_states($template));
        SQL.as_str()
    }};
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
            IntentStatus::Pending.as_str(),
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
            open_sql!(
                "SELECT account_id FROM order_intents WHERE leader_intent_id = $1 AND status IN ({open})"
            ),
            args![leader_intent_id],
        )
        .await?;
    Ok(rows.into_iter().map(|s| s.0).collect())
}

/// What was (or is being) sent for an intent, once `sending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentOrder {
    pub instrument: String,
    pub side: Side,
    pub quantity: Decimal,
    /// What `quantity` counts.
    pub unit: QuantityUnit,
}

/// An intent with what executing it needs, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub signal_id: String,
    pub account_id: String,
    pub user_id: String,
    pub client_order_id: String,
    pub status: IntentStatus,
    /// Counted failed tries.
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the order last left for the broker (`sending`).
    pub sent_at: Option<i64>,
    pub not_before: i64,
    /// When the signal arrived.
    pub received_at: i64,
    /// For a copy-group follower: the leader's intent.
    pub leader_intent_id: Option<String>,
    pub sent: Option<SentOrder>,
    /// The broker's id for the order: known before sending where the broker
    /// prepares orders (Polymarket's order hash), else once it answered.
    pub broker_order_id: Option<String>,
    /// The price the alert carried.
    pub alert_price: Option<Decimal>,
    pub strategy_id: String,
    /// What the strategy trades, as the user named it.
    pub strategy_instrument: String,
    /// The strategy's rules, the signal and the follower's multiplier — or
    /// why they cannot be read (execution then fails closed).
    pub rules: std::result::Result<StrategyRules, String>,
    pub signal: std::result::Result<SignalFacts, String>,
    pub multiplier: std::result::Result<Decimal, String>,
    /// A follower's: its leader's intent status (it waits until final).
    pub leader_status: Option<IntentStatus>,
    /// The broadest engaged kill switch among global, the user's and the
    /// account's.
    pub kill_switch: Option<KillScope>,
    /// `None` if the account is gone.
    pub account: Option<crate::broker_accounts::BrokerAccount>,
    /// The account's sealed credential and its owner (`None` if none).
    pub credential: Option<(String, crate::broker_accounts::SealedCredential)>,
    /// Whether copy-group followers wait for this intent.
    pub has_followers: bool,
    /// The account's tracked positions: (instrument, quantity).
    pub tracked_positions: Vec<(String, Decimal)>,
}

impl Intent {
    /// The position atomik tracks for `symbol` on this account.
    pub fn tracked(&self, symbol: &str) -> Option<Decimal> {
        self.tracked_positions
            .iter()
            .find(|(s, _)| s == symbol)
            .map(|(_, q)| *q)
    }
}

/// Accounts with unfinished intents that may run now (a copy-group
/// follower waiting for its leader's order does not count yet).
pub async fn accounts_with_work(db: &Db, now: i64) -> Result<Vec<String>> {
    let rows: Vec<Scalar<String>> = db
        .fetch_all(
            open_sql!(
                "SELECT DISTINCT i.account_id FROM order_intents i WHERE i.status IN ({open}) \
                 AND i.not_before <= $1 AND (i.leader_intent_id IS NULL OR NOT EXISTS (SELECT 1 FROM order_intents l \
                 WHERE l.id = i.leader_intent_id AND l.status IN ({open})))"
            ),
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
fn next_intent_sql(backend: Backend) -> &'static str {
    static SQLITE: LazyLock<String> = LazyLock::new(|| next_intent_query("group_concat"));
    static POSTGRES: LazyLock<String> = LazyLock::new(|| next_intent_query("string_agg"));
    match backend {
        Backend::Sqlite => SQLITE.as_str(),
        Backend::Postgres => POSTGRES.as_str(),
    }
}

/// `concat`: the backend's string aggregate (`group_concat` / `string_agg`).
fn next_intent_query(concat: &str) -> String {
    let strategy_columns = prefixed_columns("s", STRATEGY_COLUMNS, "s_");
    let account_columns = prefixed_columns("a", crate::broker_accounts::COLUMNS, "a_");
    with_open_states(&format!(
        "SELECT i.id, i.signal_id, i.account_id, i.user_id, i.client_order_id, i.status, i.attempts, i.created_at, \
         i.updated_at, i.sent_at, i.not_before, i.leader_intent_id, i.multiplier, i.instrument, i.side, i.quantity, \
         i.quantity_unit, i.broker_order_id, g.action, g.comment, g.quantity AS alert_quantity, g.price AS alert_price, g.received_at, {strategy_columns}, {account_columns}, \
         (SELECT l.status FROM order_intents l WHERE l.id = i.leader_intent_id) AS leader_status, \
         (SELECT k.scope FROM kill_switches k WHERE k.scope IN ('global', 'user:' || i.user_id, \
          'account:' || i.account_id) ORDER BY CASE WHEN k.scope = 'global' THEN 0 \
          WHEN k.scope LIKE 'user:%' THEN 1 ELSE 2 END LIMIT 1) AS kill_switch, \
         CASE WHEN EXISTS (SELECT 1 FROM order_intents f WHERE f.leader_intent_id = i.id) THEN 1 ELSE 0 END \
          AS has_followers, \
         (SELECT {concat}(p.instrument || '=' || p.quantity, ';') FROM positions p \
          WHERE p.account_id = i.account_id) AS tracked_positions, \
         c.user_id AS c_user_id, c.kek_id AS c_kek_id, c.sealed AS c_sealed \
         FROM order_intents i JOIN signals g ON g.id = i.signal_id JOIN strategies s ON s.id = i.strategy_id \
         LEFT JOIN broker_accounts a ON a.id = i.account_id \
         LEFT JOIN broker_credentials c ON c.account_id = i.account_id \
         WHERE i.account_id = $1 AND i.status IN ({{open}}) \
         ORDER BY i.created_at, i.id LIMIT 2"
    ))
}

fn status(row: &impl Cols, column: &str) -> Result<IntentStatus> {
    IntentStatus::parse(&row.try_get::<String>(column)?)
        .map_err(|e| StorageError::Invalid(e.to_string()))
}

fn kill_scope(scope: &str) -> KillScope {
    if scope == "global" {
        KillScope::Global
    } else if scope.starts_with("user:") {
        KillScope::User
    } else {
        KillScope::Account
    }
}

/// The signal's columns, read back (written by `signals::record` from the
/// domain's [`atomik_domain::signal::Signal`]).
fn signal_facts(row: &impl Cols) -> Result<std::result::Result<SignalFacts, String>> {
    let action: String = row.try_get("action")?;
    let comment: Option<String> = row.try_get("comment")?;
    let quantity: Option<String> = row.try_get("alert_quantity")?;
    Ok((|| {
        Ok(SignalFacts {
            action: Action::from_stored(&action).map_err(|e| e.to_string())?,
            intent: match &comment {
                Some(c) => parse_comment(c).map_err(|e| e.to_string())?,
                None => atomik_domain::signal::Intent::Default,
            },
            quantity: quantity
                .as_deref()
                .map(Decimal::from_str)
                .transpose()
                .map_err(|_| "the signal's quantity is not a number".to_string())?,
        })
    })())
}

fn sent_order(row: &impl Cols) -> Result<Option<SentOrder>> {
    let (instrument, side, quantity): (Option<String>, Option<String>, Option<String>) = (
        row.try_get("instrument")?,
        row.try_get("side")?,
        row.try_get("quantity")?,
    );
    let unit: Option<String> = row.try_get("quantity_unit")?;
    let (Some(instrument), Some(side), Some(quantity)) = (instrument, side, quantity) else {
        return Ok(None);
    };
    let invalid = |e: String| StorageError::Invalid(format!("stored order: {e}"));
    Ok(Some(SentOrder {
        instrument,
        side: Side::parse(&side).map_err(|e| invalid(e.to_string()))?,
        quantity: Decimal::from_str(&quantity).map_err(|e| invalid(e.to_string()))?,
        unit: match unit {
            None => QuantityUnit::Units,
            Some(u) => QuantityUnit::parse(&u).map_err(|e| invalid(e.to_string()))?,
        },
    }))
}

impl FromRow for Intent {
    fn from_row(row: &impl Cols) -> Result<Self> {
        let multiplier: Option<String> = row.try_get("multiplier")?;
        // An alert price that cannot be read fails the signal (closed),
        // never an order sent as if the alert had none.
        let alert_price = row
            .try_get::<Option<String>>("alert_price")?
            .map(|p| Decimal::from_str(&p))
            .transpose()
            .map_err(|_| "the signal's price is not a number".to_string());
        let signal = match (&alert_price, signal_facts(row)?) {
            (Err(why), _) => Err(why.clone()),
            (Ok(_), facts) => facts,
        };
        Ok(Intent {
            id: row.try_get("id")?,
            signal_id: row.try_get("signal_id")?,
            account_id: row.try_get("account_id")?,
            user_id: row.try_get("user_id")?,
            client_order_id: row.try_get("client_order_id")?,
            status: status(row, "status")?,
            attempts: row.try_get("attempts")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            sent_at: row.try_get("sent_at")?,
            not_before: row.try_get("not_before")?,
            received_at: row.try_get("received_at")?,
            leader_intent_id: row.try_get("leader_intent_id")?,
            sent: sent_order(row)?,
            broker_order_id: row.try_get("broker_order_id")?,
            alert_price: alert_price.unwrap_or(None),
            strategy_id: row.try_get("s_id")?,
            strategy_instrument: row.try_get("s_instrument")?,
            rules: rules_from_prefixed(row, "s_")?,
            signal,
            multiplier: match multiplier {
                None => Ok(Decimal::ONE),
                Some(m) => atomik_domain::risk::multiplier(&m).map_err(|e| e.to_string()),
            },
            leader_status: match row.try_get::<Option<String>>("leader_status")? {
                Some(_) => Some(status(row, "leader_status")?),
                None => None,
            },
            kill_switch: row
                .try_get::<Option<String>>("kill_switch")?
                .as_deref()
                .map(kill_scope),
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
                .filter_map(|(instrument, quantity)| {
                    Some((instrument.to_string(), Decimal::from_str(quantity).ok()?))
                })
                .collect(),
        })
    }
}

/// The intent changed under us (another executor, or a stale read): the
/// caller reads it again.
fn stale(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StorageError::Conflict("a newer state of this intent"))
    }
}

/// `pending` → `sending`, written (durably) before the order leaves: from
/// here on only the broker can say whether it was placed.
///
/// `prepared_order_id` is the broker's id for the order when it is known
/// before sending (see `Broker::prepare_order`): stored in this same write,
/// so a lookup after a crash knows what to look for.
pub async fn start_sending(
    db: &Db,
    intent_id: &str,
    order: &SentOrder,
    prepared_order_id: Option<&str>,
    now: i64,
) -> Result<()> {
    atomik_domain::lifecycle::transition(IntentStatus::Pending, IntentEvent::Send)
        .map_err(|e| StorageError::Invalid(e.to_string()))?;
    let rows = db
        .write(
            "UPDATE order_intents SET status = $2, instrument = $3, side = $4, quantity = $5, \
             sent_at = $6, updated_at = $6, broker_order_id = COALESCE($8, broker_order_id), \
             quantity_unit = $9 WHERE id = $1 AND status = $7",
            args![
                intent_id,
                IntentStatus::Sending.as_str(),
                &order.instrument,
                order.side.as_str(),
                order.quantity.to_string(),
                now,
                IntentStatus::Pending.as_str(),
                prepared_order_id,
                (order.unit == QuantityUnit::Collateral).then_some(order.unit.as_str())
            ],
        )
        .await?;
    stale(rows)
}

/// What an outcome is applied to.
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    pub intent_id: &'a str,
    /// The state the outcome was decided in (the write is refused if the
    /// intent moved meanwhile).
    pub from: IntentStatus,
    pub account_id: &'a str,
    /// The instrument a fill's position belongs to.
    pub instrument: Option<&'a str>,
    pub broker_order_id: Option<&'a str>,
    pub latency_us: Option<i64>,
    /// What the broker reported filled when it took the order:
    /// (quantity, average price).
    pub fill: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    /// Added to an acceptance's reason (the order's note).
    pub note: Option<&'a str>,
}

/// The event an outcome is, from `from` (for the transition table).
fn event_of(from: IntentStatus, outcome: &Outcome) -> Option<IntentEvent> {
    let evidence = from.may_be_at_broker();
    Some(match outcome {
        Outcome::Wait | Outcome::Send(_) => return None,
        Outcome::Finish { status, .. } => match status {
            IntentStatus::Skipped => IntentEvent::Skip,
            IntentStatus::Failed => IntentEvent::Fail,
            IntentStatus::Rejected if from == IntentStatus::Ambiguous => {
                IntentEvent::Found { accepted: false }
            }
            IntentStatus::Rejected => IntentEvent::Rejected,
            _ => return None,
        },
        Outcome::Accepted { .. } if from == IntentStatus::Ambiguous => {
            IntentEvent::Found { accepted: true }
        }
        Outcome::Accepted { .. } => IntentEvent::Accepted,
        Outcome::Ambiguous { .. } => IntentEvent::Lost,
        Outcome::Retry { .. } if evidence && from == IntentStatus::Ambiguous => {
            IntentEvent::NotFound
        }
        Outcome::Retry { .. } if evidence => IntentEvent::NotSent,
        Outcome::Retry { .. } | Outcome::LookUpAt { .. } => IntentEvent::Retry,
    })
}

const SET_POSITION_SQL: &str = "INSERT INTO positions (account_id, instrument, quantity, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, instrument) DO UPDATE SET quantity = $3, updated_at = $4";

/// Apply an execution outcome: one write per outcome kind, atomic with the
/// position a fill leaves and the note for the account. Refused (and
/// nothing written) if the transition is illegal or the intent moved.
pub async fn apply(db: &Db, a: Applied<'_>, outcome: &Outcome, now: i64) -> Result<()> {
    let event = event_of(a.from, outcome)
        .ok_or_else(|| StorageError::Invalid(format!("{outcome:?} is not an outcome to store")))?;
    let to = atomik_domain::lifecycle::transition(a.from, event)
        .map_err(|e| StorageError::Invalid(e.to_string()))?;
    let (id, from, to) = (a.intent_id.to_string(), a.from.as_str(), to.as_str());
    let mut statements: Vec<(&'static str, Vec<Arg>)> = Vec::with_capacity(3);
    let mut note = None;
    match outcome {
        Outcome::Finish {
            reason, note: n, ..
        } => {
            statements.push((
                "UPDATE order_intents SET status = $2, reason = $3, updated_at = $4 WHERE id = $1 AND status = $5",
                args![&id, to, reason.as_str(), now, from],
            ));
            note = n.as_ref();
        }
        Outcome::Accepted {
            reason,
            position_after,
        } => {
            let position = match (a.instrument, position_after) {
                (Some(instrument), Some(quantity)) => Some((instrument, *quantity)),
                _ => None,
            };
            let reason = match a.note {
                Some(note) => format!("{reason}; {note}"),
                None => reason.to_string(),
            };
            let fill_quantity = a.fill.map(|(q, _)| q.normalize().to_string());
            let fill_price = a.fill.map(|(_, p)| p.normalize().to_string());
            if let (Backend::Postgres, Some((instrument, quantity))) = (db.backend(), position) {
                // One statement, one round trip; the position only if the
                // intent moved.
                let rows = db
                    .write(
                        "WITH intent AS (UPDATE order_intents SET status = $2, reason = $3, \
                         broker_order_id = COALESCE($4, broker_order_id), latency_us = COALESCE($5, latency_us), \
                         updated_at = $6, fill_quantity = COALESCE($11, fill_quantity), \
                         fill_price = COALESCE($12, fill_price) WHERE id = $1 AND status = $7 RETURNING id) \
                         INSERT INTO positions (account_id, instrument, quantity, updated_at) \
                         SELECT $8, $9, $10, $6 FROM intent \
                         ON CONFLICT (account_id, instrument) DO UPDATE SET quantity = $10, updated_at = $6",
                        args![
                            &id,
                            to,
                            reason.as_str(),
                            a.broker_order_id,
                            a.latency_us,
                            now,
                            from,
                            a.account_id,
                            instrument,
                            quantity.to_string(),
                            fill_quantity.as_deref(),
                            fill_price.as_deref()
                        ],
                    )
                    .await?;
                return stale(rows);
            }
            statements.push((
                "UPDATE order_intents SET status = $2, reason = $3, broker_order_id = COALESCE($4, broker_order_id), \
                 latency_us = COALESCE($5, latency_us), updated_at = $6, fill_quantity = COALESCE($8, fill_quantity), \
                 fill_price = COALESCE($9, fill_price) WHERE id = $1 AND status = $7",
                args![
                    &id,
                    to,
                    reason.as_str(),
                    a.broker_order_id,
                    a.latency_us,
                    now,
                    from,
                    fill_quantity.as_deref(),
                    fill_price.as_deref()
                ],
            ));
            if let Some((instrument, quantity)) = position {
                statements.push((
                    SET_POSITION_SQL,
                    args![a.account_id, instrument, quantity.to_string(), now],
                ));
            }
        }
        Outcome::Ambiguous { reason } => statements.push((
            "UPDATE order_intents SET status = $2, reason = $3, updated_at = $4 WHERE id = $1 AND status = $5",
            args![&id, to, reason.as_str(), now, from],
        )),
        Outcome::Retry {
            at,
            reason,
            counted,
            note: n,
        } => {
            statements.push((
                "UPDATE order_intents SET status = $2, reason = $3, not_before = $4, updated_at = $5, \
                 attempts = attempts + $6 WHERE id = $1 AND status = $7",
                args![&id, to, reason.as_str(), *at, now, *counted as i64, from],
            ));
            note = n.as_ref();
        }
        Outcome::LookUpAt { at, reason } => statements.push((
            "UPDATE order_intents SET reason = COALESCE($2, reason), not_before = $3, updated_at = $4 \
             WHERE id = $1 AND status = $5",
            args![&id, reason.as_deref(), *at, now, from],
        )),
        Outcome::Wait | Outcome::Send(_) => {
            return Err(StorageError::Invalid("not an outcome to store".into()));
        }
    }
    match note {
        Some(AccountNote::Error(text)) => statements.push((
            "UPDATE broker_accounts SET last_error = $2, last_error_at = $3 WHERE id = $1",
            args![a.account_id, text.as_str(), now],
        )),
        Some(AccountNote::Pause(text)) => statements.push((
            "UPDATE broker_accounts SET paused = 1, last_error = $2, last_error_at = $3 WHERE id = $1",
            args![a.account_id, text.as_str(), now],
        )),
        None => {}
    }
    if let [(sql, args)] = statements.as_mut_slice() {
        let rows = db.write(sql, std::mem::take(args)).await?;
        return stale(rows);
    }
    db.batched(move |tx| {
        Box::pin(async move {
            // The intent's own write first: if it moved, nothing is written.
            for (i, (sql, args)) in statements.into_iter().enumerate() {
                let rows = tx.execute(sql, args).await?;
                if i == 0 {
                    stale(rows)?;
                }
            }
            Ok(())
        })
    })
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentView {
    pub account_id: String,
    pub client_order_id: String,
    pub status: IntentStatus,
    pub instrument: Option<String>,
    pub side: Option<Side>,
    pub quantity: Option<String>,
    /// `collateral` when `quantity` is the collateral a buy spends.
    pub quantity_unit: Option<String>,
    /// The strategy's name (gone if the strategy was deleted).
    pub strategy: Option<String>,
    pub broker_order_id: Option<String>,
    pub reason: Option<String>,
    pub latency_us: Option<i64>,
    /// From the signal's arrival to the order leaving for the broker.
    pub delay_ms: Option<i64>,
    /// What the broker reported filled when it took the order.
    pub fill_quantity: Option<String>,
    pub fill_price: Option<String>,
}

impl FromRow for IntentView {
    fn from_row(row: &impl Cols) -> Result<Self> {
        let side: Option<String> = row.try_get("side")?;
        Ok(IntentView {
            account_id: row.try_get("account_id")?,
            client_order_id: row.try_get("client_order_id")?,
            status: status(row, "status")?,
            instrument: row.try_get("instrument")?,
            side: side
                .as_deref()
                .map(Side::parse)
                .transpose()
                .map_err(|e| StorageError::Invalid(e.to_string()))?,
            quantity: row.try_get("quantity")?,
            quantity_unit: row.try_get("quantity_unit")?,
            strategy: row.try_get("strategy_name")?,
            broker_order_id: row.try_get("broker_order_id")?,
            reason: row.try_get("reason")?,
            latency_us: row.try_get("latency_us")?,
            delay_ms: row.try_get("delay_ms")?,
            fill_quantity: row.try_get("fill_quantity")?,
            fill_price: row.try_get("fill_price")?,
        })
    }
}

/// The intents of a signal (the Logs tab's per-account outcome).
pub async fn intents_of_signal(db: &Db, signal_id: &str) -> Result<Vec<IntentView>> {
    db.fetch_all(
        "SELECT i.account_id, i.client_order_id, i.status, i.instrument, i.side, i.quantity, i.quantity_unit, i.broker_order_id, \
         i.reason, i.latency_us, i.sent_at - g.received_at AS delay_ms, i.fill_quantity, i.fill_price, \
         s.name AS strategy_name \
         FROM order_intents i JOIN signals g ON g.id = i.signal_id LEFT JOIN strategies s ON s.id = i.strategy_id \
         WHERE i.signal_id = $1 ORDER BY i.created_at, i.id",
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
             AND status = $3 AND created_at >= $4",
            args![
                strategy_id,
                account_id,
                IntentStatus::Accepted.as_str(),
                since
            ],
        )
        .await?
        .map_or(0, |s| s.0))
}

/// The broker's position for `symbol` replaces the tracked one; `note`
/// (a difference worth telling the user) goes on the account in the same
/// transaction.
pub async fn reconcile_position(
    db: &Db,
    account_id: &str,
    symbol: &str,
    broker: Decimal,
    note: Option<String>,
    now: i64,
) -> Result<()> {
    let position = args![account_id, symbol, broker.to_string(), now];
    let Some(note) = note else {
        db.write(SET_POSITION_SQL, position).await?;
        return Ok(());
    };
    let account = account_id.to_string();
    db.batched(move |tx| {
        Box::pin(async move {
            tx.execute(SET_POSITION_SQL, position).await?;
            tx.execute(
                "UPDATE broker_accounts SET last_error = $2, last_error_at = $3 WHERE id = $1",
                args![account, note, now],
            )
            .await?;
            Ok(())
        })
    })
    .await
}
