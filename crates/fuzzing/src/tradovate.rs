//! `tradovate_responses`: an HTTP answer from Tradovate through the
//! adapter's decoding. Input: byte 0 picks the call (what the body is
//! decoded as), byte 1 the status, byte 2 flags (bit 0: a write; bit 1: a
//! `Retry-After` header, the next line); the rest is the body.

use std::time::Duration;

use atomik_broker::{BrokerError, Session};
use atomik_tradovate::parsing::{self as p, Effect, Penalty};
use atomik_tradovate::wire;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::input::{NOW_MS, STATUSES, byte, line, text};

const MAX_PENALTY_WAIT: Duration = Duration::from_secs(10);

pub fn tradovate_responses(data: &[u8]) {
    let (kind, data) = byte(data);
    let (status, data) = byte(data);
    let (flags, data) = byte(data);
    let status = STATUSES[status as usize % STATUSES.len()];
    let effect = if flags & 1 == 1 {
        Effect::Write
    } else {
        Effect::Read
    };
    let (retry_after, body) = if flags & 2 == 2 {
        let (l, rest) = line(data);
        (Some(text(l)), rest)
    } else {
        (None, data)
    };
    let body = text(body);
    if kind % 16 == 15 {
        return oauth(status, &body);
    }
    let retry_after = p::retry_after_header(retry_after.as_deref());
    let answer = p::read_answer(status, retry_after, &body, effect);
    match &answer {
        Err(BrokerError::RateLimited { retry_after, .. }) if status == 429 => {
            let until = p::lockout_until(NOW_MS, *retry_after);
            assert!(
                until >= NOW_MS,
                "a lock-out ending before it starts: {until}"
            );
        }
        Err(e) => {
            let _ = e.to_failure();
            if status / 100 == 2 && effect == Effect::Write {
                // A 2xx that cannot be read may hide an execution.
                assert!(!matches!(e, BrokerError::NotSent(_)), "{e:?}");
            }
        }
        Ok(_) => assert!((200..300).contains(&status), "{status} read as success"),
    }
    let Ok(value) = answer else { return };
    match p::penalty(&value, MAX_PENALTY_WAIT) {
        Ok(Penalty::Wait { wait, .. }) => assert!(wait <= MAX_PENALTY_WAIT),
        Ok(Penalty::None) => {}
        Err(e) => {
            let _ = e.to_failure();
        }
    }
    decode(kind % 16, value, effect);
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, effect: Effect) -> Option<T> {
    p::typed(value, "/fuzz", effect).ok()
}

/// The body as the adapter's call of that kind reads it.
fn decode(kind: u8, value: Value, effect: Effect) {
    match kind {
        0 => {
            let _ = typed::<wire::Me>(value, effect);
        }
        1 => {
            let _ = typed::<Vec<wire::Account>>(value, effect);
        }
        2 => {
            let _ = typed::<wire::CashBalanceSnapshot>(value, effect);
        }
        3 => {
            if let Some(list) = typed::<Vec<wire::Position>>(value, effect) {
                for pos in list {
                    let _ = Decimal::from(pos.net_pos);
                }
            }
        }
        4 | 5 => {
            let name = if kind == 4 {
                typed::<wire::Contract>(value, effect).map(|c| c.name)
            } else {
                typed::<wire::RollContractResult>(value, effect)
                    .and_then(|r| r.contract)
                    .map(|c| c.name)
            };
            if let Some(name) = name {
                symbol(&name);
            }
        }
        6 => {
            let _ = typed::<wire::PlaceOrderResult>(value, effect);
        }
        7 => {
            let _ = typed::<wire::CommandResult>(value, effect);
        }
        8 => {
            if let Some(list) = typed::<Vec<wire::Command>>(value, effect) {
                for c in list {
                    let _ = wire::parse_time_ms(&c.timestamp);
                }
            }
        }
        9 => {
            if let Some(o) = typed::<wire::Order>(value, effect) {
                let _ = p::order_state(&o.ord_status);
                let _ = wire::parse_time_ms(&o.timestamp);
            }
        }
        10 => {
            if let Some(fills) = typed::<Vec<wire::Fill>>(value, effect) {
                fills_summary(&fills);
            }
        }
        11 => {
            if let Some(r) = typed::<wire::AccessTokenResponse>(value, effect) {
                let _ = r.expiration_time.as_deref().and_then(wire::parse_time_ms);
            }
        }
        _ => {
            if let Some(s) = value.as_str() {
                symbol(s);
                if let Ok(q) = s.parse::<Decimal>()
                    && let Ok(n) = p::whole_contracts(q)
                {
                    assert!(n > 0 && Decimal::from(n) == q, "{q} sent as {n}");
                }
            }
        }
    }
}

fn symbol(s: &str) {
    let _ = p::continuous_root(s);
    let _ = p::is_specific_contract(s);
}

fn fills_summary(fills: &[wire::Fill]) {
    if let Ok((filled, average)) = p::fill_summary(fills) {
        let qty: i128 = fills.iter().map(|f| i128::from(f.qty)).sum();
        assert_eq!(filled.to_string(), qty.to_string(), "filled quantity");
        if average.is_some() {
            assert!(filled > Decimal::ZERO);
        }
    }
}

/// The token endpoint's answer (`POST /auth/oauthtoken`).
fn oauth(status: u16, body: &str) {
    let Ok(code) = reqwest_status(status) else {
        return;
    };
    let Ok(parsed) = serde_json::from_str::<wire::OAuthTokenResponse>(body) else {
        return;
    };
    let expires_in = parsed.expires_in;
    if let Ok(Session::OAuth { expires_at_ms, .. }) = p::granted_session(code, parsed, NOW_MS)
        && expires_in.is_some_and(|s| s > 0)
    {
        assert!(expires_at_ms > NOW_MS, "a fresh token already expired");
    }
}

fn reqwest_status(status: u16) -> Result<p::StatusCode, ()> {
    p::StatusCode::from_u16(status).map_err(|_| ())
}
