//! `signal_body`: a webhook body as the ingress reads it (a UTF-8 BOM
//! stripped, JSON parsed once, then the signal).

use atomik_domain::signal::{self, Action, Intent, Signal};
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub fn signal_body(data: &[u8]) {
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let parsed = signal::from_json(&value);
    assert_eq!(parsed, signal::parse(body), "parse and from_json disagree");
    if let Ok(s) = parsed {
        check_bounds(&s);
        // The signal as atomik stores it reads back to the same signal.
        let stored = json!({
            "action": s.action.as_str(),
            "comment": s.intent.comment(),
            "quantity": s.quantity.map(|d| d.to_string()),
            "price": s.price.map(|d| d.to_string()),
            "ticker": s.ticker,
            "id": s.id,
        });
        assert_eq!(signal::from_json(&stored).as_ref(), Ok(&s), "stored form");
        assert_eq!(Action::from_stored(s.action.as_str()).ok(), Some(s.action));
    }
}

/// SPEC §3's bounds on an accepted signal.
fn check_bounds(s: &Signal) {
    for (field, v) in [("quantity", s.quantity), ("price", s.price)] {
        if let Some(v) = v {
            assert!(v > Decimal::ZERO, "{field} {v} accepted");
            assert_eq!(v, v.normalize(), "{field} {v} not normalized");
        }
    }
    if let Intent::ExitPercent(n) = s.intent {
        assert!((1..=100).contains(&n), "EXIT_{n} accepted");
    }
    let comment = s.intent.comment().unwrap_or_default();
    assert_eq!(signal::parse_comment(&comment).ok(), Some(s.intent));
    for (field, v) in [("ticker", &s.ticker), ("id", &s.id)] {
        if let Some(v) = v {
            assert!(!v.is_empty() && v.trim() == v, "{field} {v:?}");
        }
    }
}
