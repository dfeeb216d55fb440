//! The order intent's lifecycle as a typed state machine (SPEC §5).
//!
//! ```text
//!            ┌──────── Retry (not sent; back off) ────────┐
//!            ▼                                            │
//!  pending ──Send──▶ sending ──Accepted──▶ accepted       │
//!    │  ▲              │  ├────Rejected──▶ rejected       │
//!    │  │              │  ├────NotSent───────────────────-┘
//!    │  │              │  └────Lost──────▶ ambiguous
//!    │  │              │                     │
//!    │  └──NotFound────┴─────────────────────┤ (broker lookup: never placed)
//!    │                 Found{accepted|rejected}  (broker lookup: evidence)
//!    ├──Skip──▶ skipped
//!    ├──Reject─▶ rejected
//!    └──Fail──▶ failed
//! ```
//!
//! An intent that may be at the broker (`sending`, `ambiguous`) leaves that
//! state only on evidence from the broker (`Found`, `NotFound`) or an answer
//! to the send itself: never by a timeout or a give-up. Terminal states have
//! no way out. The database column holds [`IntentStatus::as_str`] and
//! nothing else (a CHECK constraint in both schemas).

use std::fmt;

/// Where an order intent is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntentStatus {
    /// Not sent yet (or certainly not placed: safe to send).
    Pending,
    /// Written before the network call: the order may be at the broker.
    Sending,
    /// The send's answer was lost: settled only by a lookup at the broker.
    Ambiguous,
    /// The broker accepted the order.
    Accepted,
    /// The broker (or a pre-send check on the broker's rules) refused it.
    Rejected,
    /// atomik decided not to send it (no position, kill switch, risk…).
    Skipped,
    /// It could not be sent (gave up, needs a human).
    Failed,
}

impl IntentStatus {
    pub const ALL: [IntentStatus; 7] = [
        IntentStatus::Pending,
        IntentStatus::Sending,
        IntentStatus::Ambiguous,
        IntentStatus::Accepted,
        IntentStatus::Rejected,
        IntentStatus::Skipped,
        IntentStatus::Failed,
    ];

    /// The stored spelling (the only one).
    pub const fn as_str(self) -> &'static str {
        match self {
            IntentStatus::Pending => "pending",
            IntentStatus::Sending => "sending",
            IntentStatus::Ambiguous => "ambiguous",
            IntentStatus::Accepted => "accepted",
            IntentStatus::Rejected => "rejected",
            IntentStatus::Skipped => "skipped",
            IntentStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<IntentStatus, UnknownValue> {
        IntentStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue::new("intent status", s))
    }

    /// No transition leaves a terminal state.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            IntentStatus::Accepted
                | IntentStatus::Rejected
                | IntentStatus::Skipped
                | IntentStatus::Failed
        )
    }

    /// The order may be at the broker: only the broker can say.
    pub const fn may_be_at_broker(self) -> bool {
        matches!(self, IntentStatus::Sending | IntentStatus::Ambiguous)
    }

    /// `'pending', 'sending', 'ambiguous'`: the open states, for SQL.
    pub const OPEN_SQL: &'static str = "'pending', 'sending', 'ambiguous'";
}

impl fmt::Display for IntentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored value that is not one of the type's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl UnknownValue {
    pub fn new(what: &'static str, value: &str) -> Self {
        UnknownValue {
            what,
            value: value.chars().take(40).collect(),
        }
    }
}

/// What happens to an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntentEvent {
    /// About to call the broker with the order.
    Send,
    /// The broker accepted the order.
    Accepted,
    /// The broker refused the order, or a check on its rules did before sending.
    Rejected,
    /// The send certainly did not reach the broker (or was refused before
    /// executing, e.g. rate-limited): back to pending.
    NotSent,
    /// The send's answer was lost: the order may or may not be placed.
    Lost,
    /// A lookup at the broker found the order (accepted or rejected there).
    Found { accepted: bool },
    /// A lookup at the broker says the order was never placed.
    NotFound,
    /// Try again later, unsent (a failure before anything left).
    Retry,
    /// atomik decides not to send it.
    Skip,
    /// It cannot be sent.
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an intent that is {from} cannot take the event {event:?}")]
pub struct IllegalTransition {
    pub from: IntentStatus,
    pub event: IntentEvent,
}

/// The transition table: the state after `event`, or why it is refused.
pub fn transition(
    from: IntentStatus,
    event: IntentEvent,
) -> Result<IntentStatus, IllegalTransition> {
    use IntentEvent as E;
    use IntentStatus as S;
    let to = match (from, event) {
        (S::Pending, E::Send) => S::Sending,
        (S::Pending, E::Retry) => S::Pending,
        (S::Pending, E::Skip) => S::Skipped,
        (S::Pending, E::Rejected) => S::Rejected,
        (S::Pending, E::Fail) => S::Failed,
        (S::Sending, E::Accepted) => S::Accepted,
        (S::Sending, E::Rejected) => S::Rejected,
        (S::Sending, E::NotSent) => S::Pending,
        (S::Sending, E::Lost) => S::Ambiguous,
        // A send refused for a reason that needs a human (captcha, revoked
        // configuration) answered: it did not execute.
        (S::Sending, E::Fail) => S::Failed,
        (S::Sending | S::Ambiguous, E::Found { accepted: true }) => S::Accepted,
        (S::Sending | S::Ambiguous, E::Found { accepted: false }) => S::Rejected,
        (S::Sending | S::Ambiguous, E::NotFound) => S::Pending,
        // Looking again later keeps the state.
        (S::Ambiguous, E::Retry) => S::Ambiguous,
        (S::Sending, E::Retry) => S::Sending,
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = IntentEvent> {
        prop_oneof![
            Just(IntentEvent::Send),
            Just(IntentEvent::Accepted),
            Just(IntentEvent::Rejected),
            Just(IntentEvent::NotSent),
            Just(IntentEvent::Lost),
            any::<bool>().prop_map(|accepted| IntentEvent::Found { accepted }),
            Just(IntentEvent::NotFound),
            Just(IntentEvent::Retry),
            Just(IntentEvent::Skip),
            Just(IntentEvent::Fail),
        ]
    }

    #[test]
    fn spellings_round_trip_and_are_unique() {
        for s in IntentStatus::ALL {
            assert_eq!(IntentStatus::parse(s.as_str()), Ok(s));
        }
        assert!(IntentStatus::parse("Pending").is_err());
        let open: Vec<_> = IntentStatus::ALL
            .into_iter()
            .filter(|s| !s.is_terminal())
            .map(|s| format!("'{s}'"))
            .collect();
        assert_eq!(open.join(", "), IntentStatus::OPEN_SQL);
    }

    #[test]
    fn the_normal_paths() {
        use IntentEvent as E;
        use IntentStatus as S;
        let run = |events: &[E]| events.iter().try_fold(S::Pending, |s, e| transition(s, *e));
        assert_eq!(run(&[E::Send, E::Accepted]), Ok(S::Accepted));
        assert_eq!(
            run(&[E::Send, E::Lost, E::NotFound, E::Send, E::Accepted]),
            Ok(S::Accepted)
        );
        assert_eq!(
            run(&[E::Send, E::Lost, E::Found { accepted: false }]),
            Ok(S::Rejected)
        );
        assert!(run(&[E::Send, E::Lost, E::Skip]).is_err());
        assert!(run(&[E::Send, E::Lost, E::Fail]).is_err());
        assert!(run(&[E::Send, E::Accepted, E::Send]).is_err());
    }

    proptest! {
        /// Random event sequences: nothing leaves a terminal state, and an
        /// intent that may be at the broker becomes terminal only on the
        /// broker's evidence (an answer to the send or a lookup).
        #[test]
        fn terminal_is_final_and_ambiguity_ends_only_on_evidence(events in proptest::collection::vec(event(), 0..40)) {
            let mut state = IntentStatus::Pending;
            for e in events {
                match transition(state, e) {
                    Ok(next) => {
                        prop_assert!(!state.is_terminal(), "{state} left by {e:?}");
                        if state == IntentStatus::Ambiguous && next.is_terminal() {
                            prop_assert!(matches!(e, IntentEvent::Found { .. }), "ambiguous ended by {e:?}");
                        }
                        if state == IntentStatus::Ambiguous && next == IntentStatus::Pending {
                            prop_assert_eq!(e, IntentEvent::NotFound);
                        }
                        state = next;
                    }
                    Err(err) => prop_assert_eq!(err.from, state),
                }
            }
        }
    }
}
