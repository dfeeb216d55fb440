//! Webhook signal payloads (SPEC §3): parsing and validation, with errors
//! that say what is wrong and what to send instead.

use rust_decimal::Decimal;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Buy,
    Sell,
    Exit,
}

impl Action {
    /// The stored and displayed spelling (the only one).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Buy => "BUY",
            Action::Sell => "SELL",
            Action::Exit => "EXIT",
        }
    }

    /// A stored action (exactly [`Self::as_str`]).
    pub fn from_stored(s: &str) -> Result<Action, crate::lifecycle::UnknownValue> {
        [Action::Buy, Action::Sell, Action::Exit]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| crate::lifecycle::UnknownValue::new("action", s))
    }
}

/// What the alert's `comment` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// No comment: open, add, or (on the opposite side) exit 100%.
    Default,
    /// `ENTRY`: open, add, or reverse.
    Entry,
    /// `EXIT_n`, `EXIT_HALF`, `EXIT_ALL`…: reduce by n percent (1–100).
    ExitPercent(u8),
}

impl Intent {
    /// The stored comment (`None` for the default), read back by
    /// [`parse_comment`].
    pub fn comment(self) -> Option<String> {
        match self {
            Intent::Default => None,
            Intent::Entry => Some("ENTRY".into()),
            Intent::ExitPercent(n) => Some(format!("EXIT_{n}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub action: Action,
    pub intent: Intent,
    /// The alert's quantity, if it sent one (> 0).
    pub quantity: Option<Decimal>,
    pub ticker: Option<String>,
    pub price: Option<Decimal>,
    /// The sender's idempotency key.
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("the body is not JSON ({0}); send a JSON object like {{\"action\":\"BUY\"}}")]
    NotJson(String),
    #[error("the body must be a JSON object like {{\"action\":\"BUY\"}}")]
    NotObject,
    #[error("missing \"action\": send BUY, SELL or EXIT")]
    MissingAction,
    #[error("unknown action {0:?}: send BUY, SELL or EXIT")]
    BadAction(String),
    #[error("unknown comment {0:?}: use ENTRY, EXIT_ALL, EXIT_HALF or EXIT_<1-100>")]
    BadComment(String),
    #[error("invalid {field} {value:?}: send a positive number")]
    BadNumber { field: &'static str, value: String },
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(
    obj: &serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<Option<Decimal>, SignalError> {
    let Some(raw) = obj.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let s = text(raw).unwrap_or_else(|| raw.to_string());
    if s.is_empty() {
        return Ok(None);
    }
    let parsed = s
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&s))
        .map_err(|_| SignalError::BadNumber {
            field,
            value: s.clone(),
        })?;
    if parsed <= Decimal::ZERO {
        return Err(SignalError::BadNumber { field, value: s });
    }
    Ok(Some(parsed.normalize()))
}

pub fn parse_comment(comment: &str) -> Result<Intent, SignalError> {
    let c = comment.trim().to_ascii_uppercase();
    Ok(match c.as_str() {
        "" => Intent::Default,
        "ENTRY" => Intent::Entry,
        "EXIT_FINAL" | "EXIT_ALL" => Intent::ExitPercent(100),
        "EXIT_HALF" => Intent::ExitPercent(50),
        _ => {
            let n = c
                .strip_prefix("EXIT_")
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| SignalError::BadComment(comment.trim().to_string()))?;
            Intent::ExitPercent(n)
        }
    })
}

/// Parse a webhook body (JSON, possibly sent as `text/plain`).
pub fn parse(body: &[u8]) -> Result<Signal, SignalError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| SignalError::NotJson(e.to_string()))?;
    from_json(&value)
}

/// The signal in an already parsed body (ingress parses it once).
pub fn from_json(value: &Value) -> Result<Signal, SignalError> {
    let obj = value.as_object().ok_or(SignalError::NotObject)?;
    let action = obj
        .get("action")
        .and_then(text)
        .ok_or(SignalError::MissingAction)?;
    let action = match action.to_ascii_uppercase().as_str() {
        "BUY" => Action::Buy,
        "SELL" => Action::Sell,
        "EXIT" => Action::Exit,
        _ => return Err(SignalError::BadAction(action)),
    };
    let intent = match obj.get("comment").and_then(text) {
        Some(c) => parse_comment(&c)?,
        None => Intent::Default,
    };
    Ok(Signal {
        action,
        intent,
        quantity: number(obj, "quantity")?,
        ticker: obj.get("ticker").and_then(text).filter(|t| !t.is_empty()),
        price: number(obj, "price")?,
        id: obj.get("id").and_then(text).filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_fields() {
        let s = parse(br#"{"action":"sell","comment":"exit_50","quantity":"2","ticker":"MNQ1!","price":21000.5,"id":"t1","x":1}"#).unwrap();
        assert_eq!(s.action, Action::Sell);
        assert_eq!(s.intent, Intent::ExitPercent(50));
        assert_eq!(s.quantity, Some(Decimal::from(2)));
        assert_eq!(s.ticker.as_deref(), Some("MNQ1!"));
        assert_eq!(s.price, Some("21000.5".parse().unwrap()));
        assert_eq!(s.id.as_deref(), Some("t1"));
        for (c, n) in [
            ("EXIT_FINAL", 100),
            ("EXIT_ALL", 100),
            ("EXIT_100", 100),
            ("EXIT_HALF", 50),
            ("EXIT_25", 25),
            ("exit_1", 1),
        ] {
            assert_eq!(parse_comment(c).unwrap(), Intent::ExitPercent(n), "{c}");
        }
        assert_eq!(parse_comment("Entry").unwrap(), Intent::Entry);
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert!(matches!(parse(b"BUY"), Err(SignalError::NotJson(_))));
        assert_eq!(parse(b"[1]"), Err(SignalError::NotObject));
        assert_eq!(parse(b"{}"), Err(SignalError::MissingAction));
        assert_eq!(
            parse(br#"{"action":"HOLD"}"#),
            Err(SignalError::BadAction("HOLD".into()))
        );
        assert_eq!(
            parse(br#"{"action":"BUY","comment":"EXIT_101"}"#),
            Err(SignalError::BadComment("EXIT_101".into()))
        );
        assert_eq!(
            parse(br#"{"action":"BUY","comment":"EXIT_0"}"#),
            Err(SignalError::BadComment("EXIT_0".into()))
        );
        let e = parse(br#"{"action":"BUY","quantity":"-3"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid quantity \"-3\": send a positive number"
        );
        assert!(parse(br#"{"action":"BUY","quantity":"abc"}"#).is_err());
    }
}
