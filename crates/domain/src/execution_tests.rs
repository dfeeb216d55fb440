use super::*;
use crate::risk::{MAX_MULTIPLIER, MAX_QUANTITY, RawRules};
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn rules(quantity: &str) -> StrategyRules {
    StrategyRules::parse(&RawRules {
        quantity,
        ..Default::default()
    })
    .unwrap()
}

fn futures(position: &str) -> MarketFacts {
    MarketFacts {
        position: d(position),
        can_short: true,
        rules: MarketRules {
            quantity_step: Decimal::ONE,
            venue_max_order: None,
            collateral_orders: false,
        },
        multiplier: Decimal::ONE,
        orders_today: None,
    }
}

fn buy() -> SignalFacts {
    SignalFacts {
        action: Action::Buy,
        intent: Intent::Default,
        quantity: None,
    }
}

fn gate(rules: &StrategyRules) -> Gate<'_> {
    Gate {
        now: 10_000,
        received_at: 9_000,
        leader: None,
        kill_switch: None,
        rules: Ok(rules),
        account: AccountState::Active,
        adapter_configured: true,
    }
}

fn status_of(o: &Outcome) -> Option<IntentStatus> {
    match o {
        Outcome::Finish { status, .. } => Some(*status),
        _ => None,
    }
}

#[test]
fn admit_in_order_of_precedence() {
    let r = rules("1");
    assert_eq!(admit(&gate(&r)), None);
    let follower = Gate {
        leader: Some(IntentStatus::Ambiguous),
        kill_switch: Some(KillScope::Global),
        ..gate(&r)
    };
    assert_eq!(admit(&follower), Some(Outcome::Wait));
    let killed = Gate {
        kill_switch: Some(KillScope::User),
        ..gate(&r)
    };
    let Some(Outcome::Finish { status, reason, .. }) = admit(&killed) else {
        panic!()
    };
    assert_eq!(status, IntentStatus::Skipped);
    assert_eq!(reason, "your kill switch is engaged: no order was sent");
    let broken = Gate {
        rules: Err("max position \"x\" is not a number"),
        ..gate(&r)
    };
    assert_eq!(
        status_of(&admit(&broken).unwrap()),
        Some(IntentStatus::Rejected)
    );
    let inactive = Gate {
        account: AccountState::Inactive,
        ..gate(&r)
    };
    assert_eq!(
        status_of(&admit(&inactive).unwrap()),
        Some(IntentStatus::Skipped)
    );
    let no_adapter = Gate {
        adapter_configured: false,
        ..gate(&r)
    };
    assert_eq!(
        status_of(&admit(&no_adapter).unwrap()),
        Some(IntentStatus::Failed)
    );
}

#[test]
fn a_signal_too_old_is_skipped_not_sent_late() {
    let r = rules("1");
    let late = Gate {
        now: 9_000 + 61_000,
        ..gate(&r)
    };
    let Some(Outcome::Finish { status, reason, .. }) = admit(&late) else {
        panic!()
    };
    assert_eq!(status, IntentStatus::Skipped);
    assert!(
        reason.starts_with("expired: not sent within 60s"),
        "{reason}"
    );
    let in_time = Gate {
        now: 9_000 + 60_000,
        ..gate(&r)
    };
    assert_eq!(admit(&in_time), None);
}

#[test]
fn the_order_carries_the_position_it_leaves() {
    let o = decide(&rules("3"), &buy(), &futures("-2"));
    assert_eq!(
        o,
        Outcome::Send(Order {
            side: Side::Buy,
            quantity: d("2"),
            kind: OrderKind::Close,
            reduce_only: true,
            unit: QuantityUnit::Units,
            position_before: d("-2"),
            position_after: Some(Decimal::ZERO),
            note: None,
        })
    );
}

#[test]
fn max_order_size_holds_openings_never_exits() {
    let big = rules("150");
    assert_eq!(
        status_of(&decide(&big, &buy(), &futures("0"))),
        Some(IntentStatus::Skipped),
        "the default of 100 contracts applies"
    );
    let exit = SignalFacts {
        action: Action::Exit,
        intent: Intent::Default,
        quantity: None,
    };
    assert!(matches!(
        decide(&rules("1"), &exit, &futures("500")),
        Outcome::Send(Order { quantity, .. }) if quantity == d("500")
    ));
}

#[test]
fn attempts_count_the_same_way_at_every_stage() {
    let p = Policy::default();
    let f = Failure::NotSent("connection refused".into());
    for attempts in 0..6 {
        let before = unsent_failure(&p, attempts, 0, "cannot read the position", &f);
        let order = Order {
            side: Side::Buy,
            quantity: Decimal::ONE,
            kind: OrderKind::Open,
            reduce_only: false,
            unit: QuantityUnit::Units,
            position_before: Decimal::ZERO,
            position_after: Some(Decimal::ONE),
            note: None,
        };
        let after = after_send(&p, attempts, 0, &order, Err(&f));
        let gave_up = |o: &Outcome| status_of(o) == Some(IntentStatus::Failed);
        assert_eq!(gave_up(&before), attempts + 1 >= p.max_attempts);
        assert_eq!(gave_up(&after), gave_up(&before), "attempt {attempts}");
    }
    let limited = Failure::RateLimited {
        retry_after_ms: 3_000,
        reason: "slow down".into(),
    };
    assert!(matches!(
        unsent_failure(&p, 99, 10, "x", &limited),
        Outcome::Retry {
            at: 3_010,
            counted: false,
            ..
        }
    ));
}

#[test]
fn a_lookup_settles_on_evidence_only() {
    let p = Policy::default();
    let sent = Some(Sent {
        side: Side::Sell,
        quantity: d("2"),
        unit: QuantityUnit::Units,
        position_before: d("5"),
    });
    let found = Lookup::Found {
        rejected: None,
        filled: None,
    };
    assert_eq!(
        after_lookup(&p, 0, 10_000, sent, &found),
        Outcome::Accepted {
            reason: "found at the broker after an unknown outcome",
            position_after: Some(d("3")),
        }
    );
    assert!(matches!(
        after_lookup(&p, 0, 10, sent, &Lookup::NotFound),
        Outcome::LookUpAt { .. }
    ));
    assert!(matches!(
        after_lookup(&p, 0, 10_000, sent, &Lookup::NotFound),
        Outcome::Retry { counted: false, .. }
    ));
    assert!(matches!(
        after_lookup(&p, 0, 10_000, sent, &Lookup::Failed),
        Outcome::LookUpAt { .. }
    ));
}

/// The defect: quantity 10^27 on a market stepped 0.001 made sizing panic
/// ("Division overflowed") on every poll.
#[test]
fn an_enormous_quantity_is_refused_not_a_panic() {
    let s = Sizing {
        action: Action::Buy,
        intent: Intent::Default,
        position: Decimal::ZERO,
        quantity: d("1000000000000000000000000000"),
        max_position: None,
        can_short: true,
        step: d("0.001"),
    };
    assert_eq!(
        sizing::decide(&s),
        Decision::Skip(sizing::SkipReason::OutOfRange)
    );
}

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (1i64..1_000_000, 0u32..9).prop_map(|(m, scale)| Decimal::new(m, scale)),
        (1u32..=u32::MAX, 0u32..=u32::MAX, 0u32..=u32::MAX, 0u32..28)
            .prop_map(|(lo, mid, hi, scale)| Decimal::from_parts(lo, mid, hi, false, scale)),
        Just(Decimal::MAX),
        Just(MAX_QUANTITY),
    ]
}

fn rules_in_range() -> impl Strategy<Value = StrategyRules> {
    let q = (1i64..=1_000_000_000, 0u32..9).prop_map(|(m, s)| Decimal::new(m, s));
    (
        q.clone(),
        proptest::option::of(q.clone()),
        proptest::option::of(q.clone()),
        any::<bool>(),
        q,
    )
        .prop_map(
            |(quantity, max_position, max_order, alert, cap)| StrategyRules {
                quantity: quantity.min(MAX_QUANTITY),
                quantity_source: if alert {
                    QuantitySource::FromAlert {
                        cap: cap.min(MAX_QUANTITY),
                    }
                } else {
                    QuantitySource::Fixed
                },
                quantity_unit: QuantityUnit::Units,
                max_position: max_position.map(|m| m.min(MAX_QUANTITY)),
                trading_hours: None,
                max_order_quantity: max_order.map(|m| m.min(MAX_QUANTITY)),
                daily_order_cap: None,
                max_signal_age_secs: None,
            },
        )
}

proptest! {
    /// Any value the API accepts (strategy limits up to MAX_QUANTITY,
    /// multipliers up to MAX_MULTIPLIER) and any positive alert quantity or
    /// position: deciding never panics.
    #[test]
    fn deciding_never_panics(
        rules in rules_in_range(),
        alert in proptest::option::of(decimal()),
        position in decimal(),
        short in any::<bool>(),
        step in prop_oneof![Just(Decimal::ONE), Just(d("0.001")), Just(d("0.00000001")), Just(Decimal::new(1, 28))],
        multiplier in (1i64..=1000, 0u32..4).prop_map(|(m, s)| Decimal::new(m, s).min(MAX_MULTIPLIER)),
        action in prop_oneof![Just(Action::Buy), Just(Action::Sell), Just(Action::Exit)],
        intent in prop_oneof![Just(Intent::Default), Just(Intent::Entry), (1u8..=100).prop_map(Intent::ExitPercent)],
    ) {
        let market = MarketFacts {
            position: if short { -position } else { position },
            can_short: short,
            rules: MarketRules { quantity_step: step, venue_max_order: None, collateral_orders: false },
            multiplier,
            orders_today: Some(0),
        };
        let signal = SignalFacts { action, intent, quantity: alert };
        let outcome = decide(&rules, &signal, &market);
        if let Outcome::Send(order) = outcome {
            prop_assert!(order.quantity > Decimal::ZERO);
        }
    }
}

fn prediction_market(position: &str) -> MarketFacts {
    MarketFacts {
        position: d(position),
        can_short: false,
        rules: MarketRules {
            quantity_step: d("0.01"),
            venue_max_order: None,
            collateral_orders: true,
        },
        multiplier: Decimal::ONE,
        orders_today: None,
    }
}

fn by_collateral(amount: &str) -> StrategyRules {
    StrategyRules::parse(&RawRules {
        quantity: amount,
        quantity_unit: Some("collateral"),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_buy_by_collateral_spends_it_and_learns_its_shares_from_the_fill() {
    let Outcome::Send(order) = decide(&by_collateral("25"), &buy(), &prediction_market("10"))
    else {
        panic!("a buy by collateral is sent");
    };
    assert_eq!(
        (order.unit, order.quantity, order.kind, order.position_after),
        (QuantityUnit::Collateral, d("25"), OrderKind::Add, None)
    );
    let p = Policy::default();
    assert_eq!(
        after_send(&p, 0, 0, &order, Ok(Some(d("50")))),
        Outcome::Accepted {
            reason: "accepted by the broker",
            position_after: Some(d("60")),
        }
    );
    assert_eq!(
        after_send(&p, 0, 0, &order, Ok(None)),
        Outcome::Accepted {
            reason: "accepted by the broker",
            position_after: None,
        },
        "no fill reported: the position is read from the broker next time"
    );
    let sent = Some(Sent {
        side: Side::Buy,
        quantity: d("25"),
        unit: QuantityUnit::Collateral,
        position_before: d("10"),
    });
    let found = Lookup::Found {
        rejected: None,
        filled: Some(d("40")),
    };
    assert!(matches!(
        after_lookup(&p, 0, 10_000, sent, &found),
        Outcome::Accepted { position_after: Some(x), .. } if x == d("50")
    ));
}

#[test]
fn an_exit_by_collateral_strategy_sells_shares_held() {
    let exit_half = SignalFacts {
        action: Action::Sell,
        intent: Intent::ExitPercent(50),
        quantity: None,
    };
    let Outcome::Send(order) = decide(&by_collateral("25"), &exit_half, &prediction_market("7"))
    else {
        panic!("the exit is sent");
    };
    assert_eq!(
        (order.unit, order.side, order.quantity, order.position_after),
        (QuantityUnit::Units, Side::Sell, d("3.5"), Some(d("3.5")))
    );
}

#[test]
fn collateral_sizing_fails_closed_on_a_market_without_it() {
    let outcome = decide(&by_collateral("25"), &buy(), &futures("0"));
    assert_eq!(status_of(&outcome), Some(IntentStatus::Rejected));
}

#[test]
fn an_alert_quantity_beyond_the_cap_is_capped_and_says_so() {
    let rules = StrategyRules::parse(&RawRules {
        quantity: "1",
        quantity_source: Some("alert"),
        max_per_signal: Some("5"),
        ..Default::default()
    })
    .unwrap();
    let asks = |q: &str| SignalFacts {
        quantity: Some(d(q)),
        ..buy()
    };
    let Outcome::Send(order) = decide(&rules, &asks("8"), &futures("0")) else {
        panic!("sent");
    };
    assert_eq!(order.quantity, d("5"));
    assert_eq!(
        order.note.as_deref(),
        Some("the alert asked for 8; capped to the strategy's max per signal 5")
    );
    let Outcome::Send(order) = decide(&rules, &asks("3"), &futures("0")) else {
        panic!("sent");
    };
    assert_eq!((order.quantity, order.note), (d("3"), None));
}
