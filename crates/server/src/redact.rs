//! Redaction of text that may hold a secret, before it is stored or shown.
//!
//! A webhook body is logged even when it is not valid JSON, so redaction
//! cannot rely on parsing: it scans the raw text for
//! - the values of secret-like keys (`secret`, `password`, `passphrase`,
//!   `api_key`, `token`; JSON `"key": value` and form/query `key=value`),
//! - anything shaped like atomik's own secrets (`whs_…` webhook secrets,
//!   `atk_…` API tokens),
//! - the exact secrets the caller knows were sent (e.g. from the query).

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

const SECRET_KEYS: &[&str] = &["secret", "password", "passphrase", "api_key", "token"];
const SECRET_PREFIXES: &[&str] = &["whs_", "atk_"];

/// `text` with every secret-looking value replaced by [`MASK`].
pub fn redact(text: &str, known: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in known.iter().filter(|s| s.len() >= 8) {
        out = out.replace(secret, MASK);
    }
    out = mask_prefixed(&out);
    mask_key_values(&out)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `whs_…` / `atk_…` followed by token characters.
fn mask_prefixed(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let hit = SECRET_PREFIXES.iter().find(|p| {
            bytes[i..].starts_with(p.as_bytes()) && (i == 0 || !is_token_char(bytes[i - 1]))
        });
        match hit {
            Some(prefix) => {
                let mut end = i + prefix.len();
                while end < bytes.len() && is_token_char(bytes[end]) {
                    end += 1;
                }
                out.push_str(MASK);
                i = end;
            }
            None => {
                let ch = text[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The value after a secret-like key followed by `:` or `=`.
fn mask_key_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let Some(key) = SECRET_KEYS
            .iter()
            .find(|k| lower.as_bytes()[i..].starts_with(k.as_bytes()))
        else {
            i += 1;
            continue;
        };
        let mut j = i + key.len();
        // The rest of a longer key name (`webhook_secret`, `secret_key`) and
        // its closing quote.
        while j < bytes.len() && is_token_char(bytes[j]) {
            j += 1;
        }
        if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
            j += 1;
        }
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= bytes.len() || (bytes[j] != b':' && bytes[j] != b'=') {
            i = j.max(i + 1);
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let (start, end) = value_span(bytes, j);
        if end > start {
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        i = end.max(j);
    }
    out.push_str(&text[copied..]);
    out
}

/// The span of the value starting at `at`: inside quotes (escapes
/// honoured; an unterminated string runs to the end), or up to the next
/// delimiter.
fn value_span(bytes: &[u8], at: usize) -> (usize, usize) {
    if at >= bytes.len() {
        return (at, at);
    }
    if bytes[at] == b'"' || bytes[at] == b'\'' {
        let quote = bytes[at];
        let mut k = at + 1;
        while k < bytes.len() && bytes[k] != quote {
            k += if bytes[k] == b'\\' { 2 } else { 1 };
        }
        return (at + 1, k.min(bytes.len()));
    }
    let mut k = at;
    while k < bytes.len()
        && !matches!(
            bytes[k],
            b',' | b'}' | b']' | b'&' | b'\n' | b'\r' | b' ' | b'\t'
        )
    {
        k += 1;
    }
    (at, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_malformed_json_are_masked() {
        let body = r#"{"action":"buy","secret":"hunter2-s3cret",}"#;
        let out = redact(body, &[]);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains(r#""action":"buy""#));
        let arr = r#"[{"secret": "abc\"def", "x": 1}]"#;
        let out = redact(arr, &[]);
        assert!(!out.contains("abc") && !out.contains("def"), "{out}");
        assert!(out.contains(r#""x": 1"#));
    }

    #[test]
    fn form_bodies_prefixed_tokens_and_known_secrets_are_masked() {
        assert_eq!(
            redact("action=buy&secret=xyz&q=1", &[]),
            "action=buy&secret=[REDACTED]&q=1"
        );
        let out = redact("buy NQ whs_AbC-12_x9 now atk_Zz", &[]);
        assert_eq!(out, "buy NQ [REDACTED] now [REDACTED]");
        assert_eq!(
            redact("x my-long-secret y", &["my-long-secret"]),
            "x [REDACTED] y"
        );
        assert_eq!(
            redact("{'Webhook_Secret' : 'v'}", &[]),
            "{'Webhook_Secret' : '[REDACTED]'}"
        );
    }

    #[test]
    fn ordinary_text_and_odd_input_pass_unharmed() {
        for text in [
            "",
            "secret",
            "secret:",
            "\"secret\"",
            "no secrets here",
            "é secret=é",
            "token=\"unterminated",
        ] {
            let _ = redact(text, &[]);
        }
        assert_eq!(
            redact("secrets are fine to mention", &[]),
            "secrets are fine to mention"
        );
        assert_eq!(
            redact(r#"{"action":"buy","qty":"1"}"#, &[]),
            r#"{"action":"buy","qty":"1"}"#
        );
    }
}
