//! The execution decision (SPEC §5): given the facts about one order intent,
//! what happens to it — one [`Outcome`]. Pure: the engine gathers the facts
//! (database, broker) and applies the outcome; every rule lives here.
//!
//! Three moments decide: [`admit`] before any broker call (leader, kill
//! switch, age, strategy, account, hours), [`decide`] once the market and the
//! position are known (sizing and risk), and [`after_send`] / [`after_lookup`]
//! with the broker's answer. A broker failure before the send goes through
//! [`unsent_failure`].

use rust_decimal::Decimal;

use crate::hours::TradingHours;
use crate::lifecycle::IntentStatus;
use crate::risk::{MarketRules, StrategyRules};
use crate::signal::{Action, Intent};
use crate::sizing::{self, Decision, OrderKind, QuantitySource, QuantityUnit, Side, Sizing};

/// How patient execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Counted failed tries before a never-sent intent is given up.
    pub max_attempts: i64,
    /// After an unknown outcome, how long a "not found" at the broker is not
    /// yet trusted (the broker may not show the order at once).
    pub resolve_grace_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 5,
            resolve_grace_ms: 2_000,
        }
    }
}

/// A note for the account (shown on its page), written with the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountNote {
    /// The last error, the account keeps trading.
    Error(String),
    /// The account is paused until a human acts.
    Pause(String),
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub side: Side,
    pub quantity: Decimal,
    pub kind: OrderKind,
    /// Exits only reduce (brokers that support it refuse a flip).
    pub reduce_only: bool,
    /// What `quantity` counts: units, or (a buy that opens or adds, on a
    /// strategy sized in collateral) the collateral to spend.
    pub unit: QuantityUnit,
    /// The position before the order.
    pub position_before: Decimal,
    /// The position once it fills, when known before it does (a buy by
    /// collateral learns its shares from its fill).
    pub position_after: Option<Decimal>,
    /// Said with the outcome (the alert's quantity was capped).
    pub note: Option<String>,
}

/// The position after a fill of `filled` units on `side`.
fn after_fill(before: Decimal, side: Side, filled: Decimal) -> Option<Decimal> {
    match side {
        Side::Buy => before.checked_add(filled),
        Side::Sell => before.checked_sub(filled),
    }
}

/// The one thing that happens to an intent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing yet (a copy-group follower whose leader's order is not final).
    Wait,
    /// Send this order (the intent becomes `sending` first).
    Send(Order),
    /// A terminal state: `skipped`, `rejected` or `failed`.
    Finish {
        status: IntentStatus,
        reason: String,
        note: Option<AccountNote>,
    },
    /// The broker accepted (or a lookup found it accepted).
    Accepted {
        reason: &'static str,
        /// The tracked position after the fill, when known.
        position_after: Option<Decimal>,
    },
    /// The send's answer was lost: settle by lookup.
    Ambiguous { reason: String },
    /// Not sent: pending again, tried at `at`.
    Retry {
        at: i64,
        reason: String,
        /// Counts as a failed try (rate limits never do).
        counted: bool,
        note: Option<AccountNote>,
    },
    /// May be at the broker: look it up again at `at`.
    LookUpAt { at: i64, reason: Option<String> },
}

fn finish(status: IntentStatus, reason: impl Into<String>) -> Outcome {
    Outcome::Finish {
        status,
        reason: reason.into(),
        note: None,
    }
}

/// Who engaged the kill switch that stops an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillScope {
    Global,
    User,
    Account,
}

impl KillScope {
    pub fn words(self) -> &'static str {
        match self {
            KillScope::Global => "the operator's global kill switch is engaged",
            KillScope::User => "your kill switch is engaged",
            KillScope::Account => "this account's kill switch is engaged",
        }
    }
}

/// The broker account as execution sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Paused or disconnected.
    Inactive,
    Missing,
}

/// Facts known before any broker call.
#[derive(Debug, Clone)]
pub struct Gate<'a> {
    pub now: i64,
    /// When the signal arrived.
    pub received_at: i64,
    /// A follower's: its leader's intent status.
    pub leader: Option<IntentStatus>,
    pub kill_switch: Option<KillScope>,
    /// The strategy's rules, or why they cannot be read.
    pub rules: Result<&'a StrategyRules, &'a str>,
    pub account: AccountState,
    pub adapter_configured: bool,
}

/// Before any broker call: `None` to go on, or the outcome.
pub fn admit(g: &Gate<'_>) -> Option<Outcome> {
    if g.leader.is_some_and(|s| !s.is_terminal()) {
        return Some(Outcome::Wait);
    }
    if let Some(scope) = g.kill_switch {
        return Some(finish(
            IntentStatus::Skipped,
            format!("{}: no order was sent", scope.words()),
        ));
    }
    let rules = match g.rules {
        Ok(r) => r,
        Err(why) => {
            return Some(finish(
                IntentStatus::Rejected,
                format!("strategy misconfigured: {why}; fix the strategy (nothing was sent)"),
            ));
        }
    };
    let age = g.now.saturating_sub(g.received_at);
    if age > rules.max_signal_age_ms() {
        return Some(finish(
            IntentStatus::Skipped,
            format!(
                "expired: not sent within {}s of the signal ({:.1}s old); skipped rather than sent late",
                rules.max_signal_age_ms() / 1000,
                age as f64 / 1000.0
            ),
        ));
    }
    match g.account {
        AccountState::Missing => {
            return Some(finish(
                IntentStatus::Skipped,
                "the account no longer exists",
            ));
        }
        AccountState::Inactive => {
            return Some(finish(
                IntentStatus::Skipped,
                "the account is paused or disconnected",
            ));
        }
        AccountState::Active => {}
    }
    if !g.adapter_configured {
        return Some(finish(
            IntentStatus::Failed,
            "no adapter is configured for this broker environment",
        ));
    }
    if let Some(hours) = rules.trading_hours
        && !hours.contains(g.now)
    {
        return Some(outside(hours));
    }
    None
}

fn outside(hours: TradingHours) -> Outcome {
    finish(
        IntentStatus::Skipped,
        format!("outside the strategy's trading hours ({hours})"),
    )
}

/// The signal as the intent carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalFacts {
    pub action: Action,
    pub intent: Intent,
    pub quantity: Option<Decimal>,
}

/// Facts once the broker's market and position are known.
#[derive(Debug, Clone, Copy)]
pub struct MarketFacts {
    pub position: Decimal,
    pub can_short: bool,
    pub rules: MarketRules,
    /// A copy-group follower's multiplier (1 otherwise).
    pub multiplier: Decimal,
    /// Orders accepted today for this strategy on this account (when the
    /// strategy has a daily cap).
    pub orders_today: Option<i64>,
}

/// Sizing and risk: the order to send, or why none is.
pub fn decide(rules: &StrategyRules, signal: &SignalFacts, m: &MarketFacts) -> Outcome {
    let misconfigured = |what: &str| {
        finish(
            IntentStatus::Rejected,
            format!("strategy misconfigured: {what}; nothing was sent"),
        )
    };
    let by_collateral = rules.quantity_unit == QuantityUnit::Collateral;
    if by_collateral && !m.rules.collateral_orders {
        return misconfigured(
            "this market cannot be bought by an amount of collateral; set the strategy's quantity unit to units",
        );
    }
    let Some(quantity) = rules.quantity.checked_mul(m.multiplier) else {
        return misconfigured("the quantity times the copy-group multiplier is out of range");
    };
    let source = match rules.quantity_source {
        QuantitySource::Fixed => QuantitySource::Fixed,
        QuantitySource::FromAlert { cap } => match cap.checked_mul(m.multiplier) {
            Some(cap) => QuantitySource::FromAlert { cap },
            None => {
                return misconfigured("the per-signal cap times the multiplier is out of range");
            }
        },
    };
    let alert = signal
        .quantity
        .map(|q| q.checked_mul(m.multiplier).unwrap_or(Decimal::MAX));
    let capped = match (source, alert) {
        (QuantitySource::FromAlert { cap }, Some(asked)) if asked > cap => Some(format!(
            "the alert asked for {}; capped to the strategy's max per signal {}",
            asked.normalize(),
            cap.normalize()
        )),
        _ => None,
    };
    let sizing = Sizing {
        action: signal.action,
        intent: signal.intent,
        position: m.position,
        quantity: sizing::order_quantity(quantity, source, alert),
        max_position: rules.max_position,
        can_short: m.can_short,
        step: m.rules.quantity_step,
    };
    let decision = sizing::decide(&sizing);
    let (side, quantity, kind) = match decision {
        Decision::Skip(reason) => return finish(IntentStatus::Skipped, reason.to_string()),
        Decision::Order {
            side,
            quantity,
            kind,
        } => (side, quantity, kind),
    };
    let reduces = matches!(kind, OrderKind::Reduce | OrderKind::Close);
    // By collateral: buys that open or add spend it; an exit sells units.
    let unit = match (by_collateral, kind, side) {
        (false, ..) | (true, OrderKind::Reduce | OrderKind::Close, _) => QuantityUnit::Units,
        (true, OrderKind::Open | OrderKind::Add, Side::Buy) => QuantityUnit::Collateral,
        (true, ..) => {
            return misconfigured(
                "a strategy sized in collateral only buys and sells what it holds; it cannot open a short or reverse",
            );
        }
    };
    // What the order opens or adds: all of it, or a reversal's part beyond
    // the close. An exit is never held back by the max order size.
    let opening = match kind {
        OrderKind::Open | OrderKind::Add => quantity,
        OrderKind::Reverse => quantity - m.position.abs(),
        OrderKind::Reduce | OrderKind::Close => Decimal::ZERO,
    };
    if let Some(max) = rules.effective_max_order(&m.rules)
        && opening > max
    {
        return finish(
            IntentStatus::Skipped,
            format!("risk: an order of {opening} exceeds the strategy's max order quantity {max}"),
        );
    }
    if let (Some(cap), Some(sent)) = (rules.daily_order_cap, m.orders_today)
        && sent >= cap
    {
        return finish(
            IntentStatus::Skipped,
            format!("risk: the strategy's daily order cap ({cap}) is reached on this account"),
        );
    }
    let position_after = match unit {
        QuantityUnit::Units => match sizing::position_after(m.position, &decision) {
            Some(p) => Some(p),
            None => return misconfigured("the position after the order is out of range"),
        },
        QuantityUnit::Collateral => None,
    };
    Outcome::Send(Order {
        side,
        quantity,
        kind,
        reduce_only: reduces,
        unit,
        position_before: m.position,
        position_after,
        // Only where the alert's quantity was the one used.
        note: capped
            .filter(|_| matches!(kind, OrderKind::Open | OrderKind::Add | OrderKind::Reverse)),
    })
}

/// A broker failure, in the terms execution acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Certainly not at the broker; safe to retry.
    NotSent(String),
    /// Refused: terminal.
    Rejected(String),
    /// May have executed.
    Ambiguous(String),
    /// Refused credentials: shown on the account, retried a few times.
    AuthExpired(String),
    /// Wait as told; never counts as a failed try.
    RateLimited { retry_after_ms: i64, reason: String },
    /// A human must act: the account is paused.
    NeedsAttention(String),
    /// The setup cannot work.
    Misconfigured(String),
}

impl Failure {
    fn text(&self) -> &str {
        match self {
            Failure::NotSent(s)
            | Failure::Rejected(s)
            | Failure::Ambiguous(s)
            | Failure::AuthExpired(s)
            | Failure::NeedsAttention(s)
            | Failure::Misconfigured(s) => s,
            Failure::RateLimited { reason, .. } => reason,
        }
    }
}

/// A counted failed try: again at `at`, or given up once it is the
/// `max_attempts`-th. `attempts`: failed tries counted so far.
pub fn counted_retry(
    policy: &Policy,
    attempts: i64,
    at: i64,
    reason: String,
    note: Option<AccountNote>,
) -> Outcome {
    let tries = attempts.saturating_add(1);
    if tries >= policy.max_attempts {
        return Outcome::Finish {
            status: IntentStatus::Failed,
            reason: format!("gave up after {tries} attempts: {reason}"),
            note,
        };
    }
    Outcome::Retry {
        at,
        reason,
        counted: true,
        note,
    }
}

/// A failure before the order left (session, instrument, position).
/// `context`: what was being done, for the reason.
pub fn unsent_failure(
    policy: &Policy,
    attempts: i64,
    now: i64,
    context: &str,
    failure: &Failure,
) -> Outcome {
    let reason = format!("{context}: {}", failure.text());
    match failure {
        Failure::RateLimited { retry_after_ms, .. } => Outcome::Retry {
            at: now.saturating_add(*retry_after_ms),
            reason,
            counted: false,
            note: None,
        },
        Failure::Rejected(r) => finish(IntentStatus::Rejected, r.clone()),
        Failure::NeedsAttention(msg) => Outcome::Finish {
            status: IntentStatus::Failed,
            reason,
            note: Some(AccountNote::Pause(msg.clone())),
        },
        Failure::Misconfigured(_) => Outcome::Finish {
            status: IntentStatus::Failed,
            note: Some(AccountNote::Error(reason.clone())),
            reason,
        },
        Failure::AuthExpired(_) => counted_retry(
            policy,
            attempts,
            now.saturating_add(500),
            reason.clone(),
            Some(AccountNote::Error(reason)),
        ),
        Failure::NotSent(_) | Failure::Ambiguous(_) => {
            counted_retry(policy, attempts, now.saturating_add(1_000), reason, None)
        }
    }
}

/// No usable session for the account (refresh failing, no credential).
pub fn no_session(policy: &Policy, attempts: i64, now: i64, why: &str) -> Outcome {
    counted_retry(
        policy,
        attempts,
        now.saturating_add(2_000),
        format!("no usable session: {why}"),
        None,
    )
}

/// The broker's answer to the send: `Ok` with the units it reported
/// filled, if it did.
pub fn after_send(
    policy: &Policy,
    attempts: i64,
    now: i64,
    order: &Order,
    answer: Result<Option<Decimal>, &Failure>,
) -> Outcome {
    let failure = match answer {
        Ok(filled) => {
            return Outcome::Accepted {
                reason: "accepted by the broker",
                position_after: order.position_after.or_else(|| {
                    filled.and_then(|f| after_fill(order.position_before, order.side, f))
                }),
            };
        }
        Err(f) => f,
    };
    let words = || describe(failure);
    match failure {
        Failure::Rejected(reason) => finish(IntentStatus::Rejected, reason.clone()),
        Failure::Ambiguous(reason) => Outcome::Ambiguous {
            reason: reason.clone(),
        },
        Failure::NeedsAttention(msg) => Outcome::Finish {
            status: IntentStatus::Failed,
            reason: msg.clone(),
            note: Some(AccountNote::Pause(msg.clone())),
        },
        Failure::RateLimited {
            retry_after_ms,
            reason,
        } => Outcome::Retry {
            at: now.saturating_add(*retry_after_ms),
            reason: reason.clone(),
            counted: false,
            note: None,
        },
        Failure::NotSent(_) => {
            counted_retry(policy, attempts, now.saturating_add(500), words(), None)
        }
        Failure::AuthExpired(_) => counted_retry(
            policy,
            attempts,
            now.saturating_add(500),
            words(),
            Some(AccountNote::Error(words())),
        ),
        Failure::Misconfigured(_) => Outcome::Finish {
            status: IntentStatus::Failed,
            reason: words(),
            note: Some(AccountNote::Error(words())),
        },
    }
}

/// How a failure reads in an intent's reason.
fn describe(f: &Failure) -> String {
    match f {
        Failure::NotSent(s) => format!("not sent: {s}"),
        Failure::AuthExpired(s) => format!("authorization expired or revoked: {s}"),
        Failure::Misconfigured(s) => format!("misconfigured: {s}"),
        other => other.text().to_string(),
    }
}

/// What a lookup by client order id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found {
        rejected: Option<String>,
        /// Units filled, when the broker says.
        filled: Option<Decimal>,
    },
    NotFound,
    /// The lookup itself failed (or no session to make it).
    Failed,
}

/// What was sent, for a lookup's settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub side: Side,
    pub quantity: Decimal,
    /// What `quantity` counts.
    pub unit: QuantityUnit,
    /// The tracked position before the order.
    pub position_before: Decimal,
}

/// Settle an intent that may be at the broker (`sending` after a crash, or
/// `ambiguous`) on what the broker says. `since_ms`: since its last change.
pub fn after_lookup(
    policy: &Policy,
    now: i64,
    since_ms: i64,
    sent: Option<Sent>,
    lookup: &Lookup,
) -> Outcome {
    match lookup {
        Lookup::Found {
            rejected: Some(r), ..
        } => finish(IntentStatus::Rejected, r.clone()),
        Lookup::Found {
            rejected: None,
            filled,
        } => Outcome::Accepted {
            reason: "found at the broker after an unknown outcome",
            position_after: sent.and_then(|s| match s.unit {
                QuantityUnit::Units => after_fill(s.position_before, s.side, s.quantity),
                QuantityUnit::Collateral => {
                    filled.and_then(|f| after_fill(s.position_before, s.side, f))
                }
            }),
        },
        Lookup::NotFound if since_ms < policy.resolve_grace_ms => Outcome::LookUpAt {
            at: now.saturating_add(policy.resolve_grace_ms),
            reason: None,
        },
        // Never placed: safe to send again with the same client order id.
        Lookup::NotFound => Outcome::Retry {
            at: 0,
            reason: "not placed at the broker; sending again".into(),
            counted: false,
            note: None,
        },
        Lookup::Failed => Outcome::LookUpAt {
            at: now.saturating_add(1_000),
            reason: None,
        },
    }
}

#[cfg(test)]
#[path = "execution_tests.rs"]
mod tests;
