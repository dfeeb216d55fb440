//! "Any accepted strategy or alert value never panics the executor": rule
//! sets that `StrategyRules::parse` accepts, signals of any action, intent
//! and quantity (extremes included), and any position, market and clock,
//! through every step of the execution decision. Each outcome must respect
//! the rules: a Send never opens beyond the max order size or the max
//! position, never ignores the daily cap, and exits only reduce.

use atomik_domain::execution::{
    self, AccountState, Failure, Gate, KillScope, Lookup, MarketFacts, Order, Outcome, Policy,
    Sent, SignalFacts,
};
use atomik_domain::lifecycle::IntentStatus;
use atomik_domain::risk::{MAX_MULTIPLIER, MarketRules, RawRules, StrategyRules};
use atomik_domain::signal::{Action, Intent};
use atomik_domain::sizing::{OrderKind, QuantitySource, QuantityUnit, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Decimals from the ordinary to the extreme: whole, fractional, the
/// smallest and largest a Decimal holds.
fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0i64..1_000).prop_map(Decimal::from),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::new(1, 28)),
    ]
}

fn positive() -> impl Strategy<Value = Decimal> {
    decimal()
        .prop_map(|d| d.abs())
        .prop_filter("positive", |d| !d.is_zero())
}

fn text_of(d: Decimal) -> String {
    d.to_string()
}

/// Rule sets as a form or API body gives them; only accepted ones are kept.
fn rules() -> impl Strategy<Value = StrategyRules> {
    let opt = || proptest::option::of(positive().prop_map(text_of));
    let hours = proptest::option::of(
        (0u16..24, 0u16..60, 0u16..24, 0u16..60)
            .prop_map(|(a, b, c, d)| format!("{a:02}:{b:02}-{c:02}:{d:02}")),
    );
    (
        positive().prop_map(text_of),
        prop_oneof![Just(None), Just(Some("fixed")), Just(Some("alert"))],
        opt(),
        opt(),
        hours,
        opt(),
        proptest::option::of(prop_oneof![1i64..=1_000_000, any::<i64>()]),
        proptest::option::of(prop_oneof![1i64..=86_400, any::<i64>()]),
        prop_oneof![Just(None), Just(Some("units")), Just(Some("collateral"))],
    )
        .prop_filter_map(
            "accepted by StrategyRules::parse",
            |(quantity, source, per_signal, max_position, hours, max_order, cap, age, unit)| {
                StrategyRules::parse(&RawRules {
                    quantity: &quantity,
                    quantity_source: source,
                    quantity_unit: unit,
                    max_per_signal: per_signal.as_deref(),
                    max_position: max_position.as_deref(),
                    trading_hours: hours.as_deref(),
                    max_order_quantity: max_order.as_deref(),
                    daily_order_cap: cap,
                    max_signal_age_secs: age,
                })
                .ok()
            },
        )
}

fn signal() -> impl Strategy<Value = SignalFacts> {
    let action = prop_oneof![Just(Action::Buy), Just(Action::Sell), Just(Action::Exit)];
    let intent = prop_oneof![
        Just(Intent::Default),
        Just(Intent::Entry),
        (1u8..=100).prop_map(Intent::ExitPercent),
    ];
    (action, intent, proptest::option::of(positive())).prop_map(|(action, intent, quantity)| {
        SignalFacts {
            action,
            intent,
            quantity,
        }
    })
}

fn market() -> impl Strategy<Value = MarketFacts> {
    let step = prop_oneof![
        Just(Decimal::ONE),
        Just(Decimal::new(1, 3)),
        Just(Decimal::new(1, 8)),
        Just(Decimal::new(1, 28)),
        Just(Decimal::from(100)),
        positive(),
    ];
    let multiplier = prop_oneof![
        Just(Decimal::ONE),
        Just(MAX_MULTIPLIER),
        (1i64..=1_000_000).prop_map(|n| Decimal::new(n, 3)),
    ];
    (
        decimal(),
        any::<bool>(),
        step,
        proptest::option::of(positive()),
        multiplier,
        proptest::option::of(prop_oneof![0i64..10, any::<i64>()]),
        any::<bool>(),
    )
        .prop_map(
            |(
                position,
                can_short,
                quantity_step,
                venue_max_order,
                multiplier,
                orders_today,
                collateral_orders,
            )| {
                MarketFacts {
                    position,
                    can_short,
                    rules: MarketRules {
                        quantity_step,
                        venue_max_order,
                        collateral_orders,
                    },
                    multiplier,
                    orders_today,
                }
            },
        )
}

/// What an order opens or adds: all of an opening or an add, a reversal's
/// part beyond the close, nothing of an exit.
fn opening(o: &Order, position: Decimal) -> Decimal {
    match o.kind {
        OrderKind::Open | OrderKind::Add => o.quantity,
        OrderKind::Reverse => o.quantity - position.abs(),
        OrderKind::Reduce | OrderKind::Close => Decimal::ZERO,
    }
}

/// The invariants of a Send.
fn check_send(rules: &StrategyRules, s: &SignalFacts, m: &MarketFacts, o: &Order) {
    assert_eq!(o.position_before, m.position);
    if o.unit == QuantityUnit::Collateral {
        // Spends collateral on a buy that opens or adds; its shares (and so
        // the position after) are known only from the fill.
        assert!(rules.quantity_unit == QuantityUnit::Collateral && m.rules.collateral_orders);
        assert!(o.side == Side::Buy && matches!(o.kind, OrderKind::Open | OrderKind::Add));
        assert_eq!(o.position_after, None);
        if let Some(max) = rules.effective_max_order(&m.rules) {
            assert!(o.quantity <= max, "{o:?} spends above max order {max}");
        }
        return;
    }
    if rules.quantity_unit == QuantityUnit::Collateral {
        assert!(
            matches!(o.kind, OrderKind::Reduce | OrderKind::Close),
            "{o:?}"
        );
    }
    let (before, after) = (m.position, o.position_after.expect("known for units"));
    let signed = match o.side {
        Side::Buy => o.quantity,
        Side::Sell => -o.quantity,
    };
    assert!(o.quantity > Decimal::ZERO, "{o:?}");
    assert_eq!(before.checked_add(signed), Some(after));
    let same_sign = |a: Decimal, b: Decimal| a.is_sign_negative() == b.is_sign_negative();
    // The kind says truly what the order does to the position.
    match o.kind {
        OrderKind::Open => assert!(before.is_zero(), "{o:?} from {before}"),
        OrderKind::Add => assert!(!before.is_zero() && same_sign(signed, before), "{o:?}"),
        OrderKind::Reverse => assert!(
            !before.is_zero() && !same_sign(signed, before) && o.quantity > before.abs(),
            "{o:?} from {before}"
        ),
        OrderKind::Close => assert!(after.is_zero(), "{o:?} from {before}"),
        OrderKind::Reduce => assert!(
            !same_sign(signed, before) && o.quantity < before.abs(),
            "{o:?} from {before}"
        ),
    }
    let reduces = matches!(o.kind, OrderKind::Reduce | OrderKind::Close);
    assert_eq!(o.reduce_only, reduces, "{o:?}");
    if s.action == Action::Exit {
        assert!(reduces, "EXIT sent as {o:?}");
    }
    let opens = opening(o, before);
    if let Some(max) = rules.effective_max_order(&m.rules) {
        assert!(opens <= max, "{o:?} opens above max order {max}");
    }
    if let Some(max) = rules.max_position
        && !opens.is_zero()
    {
        // What it opens fits in the room the max position leaves.
        let held = if o.kind == OrderKind::Add {
            before.abs()
        } else {
            Decimal::ZERO
        };
        assert!(
            held + opens <= max,
            "{o:?} from {before} beyond max position {max}"
        );
    }
    let per_signal = match rules.quantity_source {
        QuantitySource::Fixed => rules.quantity,
        QuantitySource::FromAlert { cap } => cap,
    };
    if let Some(limit) = per_signal.checked_mul(m.multiplier) {
        assert!(opens <= limit, "{o:?} opens more than {limit}");
    }
    if let (Some(cap), Some(today)) = (rules.daily_order_cap, m.orders_today) {
        assert!(today < cap, "sent with {today} of {cap} orders today");
    }
    if !m.can_short && before >= Decimal::ZERO {
        assert!(
            o.side == Side::Buy || o.quantity <= before,
            "shorted on spot: {o:?} from {before}"
        );
    }
}

fn failure() -> impl Strategy<Value = Failure> {
    let s = || "[a-z ]{0,12}";
    prop_oneof![
        s().prop_map(Failure::NotSent),
        s().prop_map(Failure::Rejected),
        s().prop_map(Failure::Ambiguous),
        s().prop_map(Failure::AuthExpired),
        (any::<i64>(), s()).prop_map(|(retry_after_ms, reason)| Failure::RateLimited {
            retry_after_ms,
            reason
        }),
        s().prop_map(Failure::NeedsAttention),
        s().prop_map(Failure::Misconfigured),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop_oneof![1i64..10, any::<i64>()],
        prop_oneof![0i64..5_000, any::<i64>()],
    )
        .prop_map(|(max_attempts, resolve_grace_ms)| Policy {
            max_attempts,
            resolve_grace_ms,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn admit_lets_through_only_what_every_rule_allows(
        rules in rules(),
        now in any::<i64>(),
        age in prop_oneof![0i64..120_000, any::<i64>()],
        leader in proptest::option::of(proptest::sample::select(IntentStatus::ALL.to_vec())),
        kill in proptest::option::of(prop_oneof![Just(KillScope::Global), Just(KillScope::User), Just(KillScope::Account)]),
        account in prop_oneof![Just(AccountState::Active), Just(AccountState::Inactive), Just(AccountState::Missing)],
        configured in any::<bool>(),
        unreadable in any::<bool>(),
    ) {
        let gate = Gate {
            now,
            received_at: now.saturating_sub(age),
            leader,
            kill_switch: kill,
            rules: if unreadable { Err("unreadable") } else { Ok(&rules) },
            account,
            adapter_configured: configured,
        };
        if execution::admit(&gate).is_none() {
            prop_assert!(leader.is_none_or(|s| s.is_terminal()));
            prop_assert!(kill.is_none() && !unreadable && configured);
            prop_assert_eq!(account, AccountState::Active);
            prop_assert!(now.saturating_sub(gate.received_at) <= rules.max_signal_age_ms());
            prop_assert!(rules.trading_hours.is_none_or(|h| h.contains(now)));
        }
    }

    #[test]
    fn decide_never_panics_and_a_send_respects_the_rules(
        rules in rules(), signal in signal(), market in market(),
    ) {
        match execution::decide(&rules, &signal, &market) {
            Outcome::Send(order) => check_send(&rules, &signal, &market, &order),
            Outcome::Finish { status, .. } => {
                prop_assert!(matches!(status, IntentStatus::Skipped | IntentStatus::Rejected));
            }
            other => prop_assert!(false, "decide answered {other:?}"),
        }
    }

    #[test]
    fn the_broker_answer_and_lookups_never_panic(
        rules in rules(), signal in signal(), market in market(),
        policy in policy(), attempts in prop_oneof![0i64..10, any::<i64>()],
        now in any::<i64>(), since in any::<i64>(),
        failure in failure(), ok in any::<bool>(),
    ) {
        let Outcome::Send(order) = execution::decide(&rules, &signal, &market) else {
            return Ok(());
        };
        let answer = if ok { Ok(None) } else { Err(&failure) };
        match execution::after_send(&policy, attempts, now, &order, answer) {
            Outcome::Accepted { position_after, .. } => {
                prop_assert!(ok);
                prop_assert_eq!(position_after, order.position_after);
            }
            Outcome::Retry { counted, .. } => {
                prop_assert_eq!(!counted, matches!(failure, Failure::RateLimited { .. }));
            }
            Outcome::Send(_) | Outcome::Wait | Outcome::LookUpAt { .. } => prop_assert!(false),
            _ => prop_assert!(!ok),
        }
        let _ = execution::unsent_failure(&policy, attempts, now, "placing", &failure);
        let _ = execution::no_session(&policy, attempts, now, "expired");
        let sent = Sent { side: order.side, quantity: order.quantity, unit: order.unit, position_before: market.position };
        let found = Lookup::Found { rejected: None, filled: None };
        for lookup in [found.clone(), Lookup::Found { rejected: Some("no".into()), filled: None }, Lookup::NotFound, Lookup::Failed] {
            let outcome = execution::after_lookup(&policy, now, since, Some(sent), &lookup);
            if lookup == found {
                prop_assert_eq!(outcome, Outcome::Accepted {
                    reason: "found at the broker after an unknown outcome",
                    position_after: order.position_after,
                });
            }
        }
    }
}

/// Found by `the_broker_answer_and_lookups_never_panic`: a late clock or a
/// long configured grace overflowed `now + …` (a panic in the executor).
#[test]
fn retry_instants_saturate_instead_of_overflowing() {
    let policy = Policy {
        max_attempts: 5,
        resolve_grace_ms: i64::MAX,
    };
    let now = i64::MAX - 10;
    assert_eq!(
        execution::after_lookup(&policy, now, 0, None, &Lookup::NotFound),
        Outcome::LookUpAt {
            at: i64::MAX,
            reason: None
        }
    );
    let failed = execution::after_lookup(&policy, now, 0, None, &Lookup::Failed);
    assert!(matches!(failed, Outcome::LookUpAt { at: i64::MAX, .. }));
    let auth = Failure::AuthExpired("revoked".into());
    let retry = execution::unsent_failure(&policy, 0, now, "placing", &auth);
    assert!(
        matches!(retry, Outcome::Retry { at: i64::MAX, .. }),
        "{retry:?}"
    );
}

/// Found by `decide_never_panics_and_a_send_respects_the_rules`: reversing
/// a position at the edge of decimal precision rounded the opening away and
/// sent a plain close labelled a reversal (not reduce-only).
#[test]
fn a_reversal_beyond_decimal_precision_is_out_of_range() {
    let rules = StrategyRules::parse(&RawRules {
        quantity: "0.00000000000000000001",
        max_order_quantity: Some("1"),
        ..Default::default()
    })
    .unwrap();
    let signal = SignalFacts {
        action: Action::Buy,
        intent: Intent::Entry,
        quantity: None,
    };
    let market = MarketFacts {
        // A full 96-bit mantissa: adding 1e-20 rounds back to the same value.
        position: "-7922816251426.4337593543950335".parse().unwrap(),
        can_short: true,
        rules: MarketRules {
            quantity_step: Decimal::new(1, 28),
            venue_max_order: None,
            collateral_orders: false,
        },
        multiplier: Decimal::ONE,
        orders_today: None,
    };
    match execution::decide(&rules, &signal, &market) {
        Outcome::Finish { status, reason, .. } => {
            assert_eq!(status, IntentStatus::Skipped);
            assert!(reason.contains("out of range"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
