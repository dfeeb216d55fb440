//! Medians over runs and the table printed at the end.

use std::collections::BTreeMap;

use crate::Figures;

pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn median_figures(runs: &[Figures]) -> Figures {
    let mut keys: Vec<&String> = runs.iter().flat_map(|f| f.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let vals: Vec<f64> = runs.iter().filter_map(|f| f.get(k).copied()).collect();
            (k.clone(), median(&vals))
        })
        .collect()
}

/// (label, figure key, target, lower is better)
const TABLE: &[(&str, &str, Option<f64>, bool)] = &[
    ("ack p50 @100/s (ms)", "ack_100_p50_ms", None, true),
    ("ack p99 @100/s (ms)", "ack_100_p99_ms", None, true),
    ("ack p99.9 @100/s (ms)", "ack_100_p999_ms", None, true),
    ("ack p50 @1000/s (ms)", "ack_1000_p50_ms", Some(1.0), true),
    ("ack p99 @1000/s (ms)", "ack_1000_p99_ms", Some(5.0), true),
    ("ack p99.9 @1000/s (ms)", "ack_1000_p999_ms", None, true),
    (
        "  from due time p50 (ms)",
        "ack_from_due_1000_p50_ms",
        None,
        true,
    ),
    (
        "  from due time p99 (ms)",
        "ack_from_due_1000_p99_ms",
        None,
        true,
    ),
    (
        "max sustained rate (/s)",
        "max_sustained_per_s",
        Some(5000.0),
        false,
    ),
    ("  accepted /s at it", "max_achieved_per_s", None, false),
    ("  ack p50 at it (ms)", "ack_max_p50_ms", None, true),
    ("  ack p99 at it (ms)", "ack_max_p99_ms", None, true),
    ("  ack p99.9 at it (ms)", "ack_max_p999_ms", None, true),
    (
        "  orders executed /s at it",
        "exec_max_orders_per_s",
        None,
        false,
    ),
    (
        "signal→broker p50 @100/s (ms)",
        "s2b_100_p50_ms",
        Some(2.0),
        true,
    ),
    (
        "signal→broker p99 @100/s (ms)",
        "s2b_100_p99_ms",
        None,
        true,
    ),
    (
        "signal→broker p50 @1000/s (ms)",
        "s2b_1000_p50_ms",
        None,
        true,
    ),
    (
        "signal→broker p99 @1000/s (ms)",
        "s2b_1000_p99_ms",
        None,
        true,
    ),
    ("fan-out 10: last order (ms)", "fan_10_last_ms", None, true),
    (
        "fan-out 100: last order (ms)",
        "fan_100_last_ms",
        Some(50.0),
        true,
    ),
    (
        "fan-out 500: last order (ms)",
        "fan_500_last_ms",
        Some(250.0),
        true,
    ),
    ("RSS idle (MiB)", "idle_rss_mib", Some(64.0), true),
    ("RSS after load (MiB)", "rss_after_mib", None, true),
    (
        "  signals accepted by then",
        "rss_after_signals",
        None,
        false,
    ),
    // Interactive Brokers (`--broker ib`): one Gateway connection.
    ("IB signal→order p50 (ms)", "ib_s2b_p50_ms", None, true),
    ("IB signal→order p99 (ms)", "ib_s2b_p99_ms", None, true),
    (
        "IB fan-out 100: last order (ms)",
        "ib_fan_last_ms",
        None,
        true,
    ),
    ("  leader's order (ms)", "ib_fan_leader_ms", None, true),
    (
        "  first follower's (ms)",
        "ib_fan_first_follower_ms",
        None,
        true,
    ),
    (
        "  orders /s, 10th to last",
        "ib_fan_steady_per_s",
        None,
        false,
    ),
    ("IB RSS after (MiB)", "ib_rss_mib", None, true),
    // Polymarket (`--broker polymarket`): one CLOB, one wallet.
    ("PM signal→order p50 (ms)", "pm_s2b_p50_ms", None, true),
    ("PM signal→order p99 (ms)", "pm_s2b_p99_ms", None, true),
    ("  ack p50 (ms)", "pm_s2b_ack_p50_ms", None, true),
    (
        "PM fan-out 20: last order (ms)",
        "pm_fan_last_ms",
        None,
        true,
    ),
    ("  leader's order (ms)", "pm_fan_leader_ms", None, true),
    (
        "  first follower's (ms)",
        "pm_fan_first_follower_ms",
        None,
        true,
    ),
    ("PM RSS after (MiB)", "pm_rss_mib", None, true),
];

pub fn print_table(medians: &BTreeMap<String, Figures>, runs: usize) {
    let backends: Vec<&String> = medians.keys().collect();
    print!("\n{:<32}", format!("median of {runs} run(s)"));
    for b in &backends {
        print!("{:>12}", b);
    }
    println!("   target");
    for (label, key, target, lower) in TABLE {
        if !medians.values().any(|f| f.contains_key(*key)) {
            continue;
        }
        print!("{label:<32}");
        for b in &backends {
            let v = medians[*b].get(*key).copied().unwrap_or(f64::NAN);
            let cell = if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            };
            print!("{cell:>12}");
        }
        let t = match (target, key) {
            (Some(_), &"max_sustained_per_s") => "≥ 5000 SQLite, ≥ 3000 PG".to_string(),
            (Some(t), _) if *lower => format!("≤ {t}"),
            (Some(t), _) => format!("≥ {t}"),
            (None, _) => String::new(),
        };
        println!("   {t}");
    }
}
