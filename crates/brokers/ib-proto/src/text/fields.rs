//! One description per message serves both directions: a [`Walk`] either
//! writes each field from a value ([`Writer`]) or reads it into the value
//! ([`Reader`]). Fields atomik does not keep are walked as literals: the
//! writer sends the literal, the reader checks nothing and moves on.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::DecodeError;

/// IB's "unset" int and double on the wire.
pub const UNSET_INT: &str = "2147483647";
pub const UNSET_DOUBLE: &str = "1.7976931348623157E308";
/// `Decimal` unset: 2^127 − 1, too large for `rust_decimal`.
const UNSET_DECIMAL: &str = "170141183460469231731687303715884105727";

pub trait Walk {
    fn decoding(&self) -> bool;
    fn str(&mut self, v: &mut String);
    fn int(&mut self, v: &mut i32);
    fn int_opt(&mut self, v: &mut Option<i32>);
    fn long(&mut self, v: &mut i64);
    fn f64(&mut self, v: &mut f64);
    fn f64_opt(&mut self, v: &mut Option<f64>);
    fn bool(&mut self, v: &mut bool);
    fn dec(&mut self, v: &mut Decimal);
    fn dec_opt(&mut self, v: &mut Option<Decimal>);
    /// A field atomik does not keep: writes `lit`, reads anything. Returns
    /// what was written or read, for fields that decide what follows.
    fn skip(&mut self, lit: &str) -> String;
    /// A list atomik does not keep: writes a count of 0; reads the count and
    /// skips `per_item` fields for each entry.
    fn list(&mut self, per_item: usize) {
        let n = self.count();
        for _ in 0..n * per_item {
            self.skip("");
        }
    }
    /// A count field: writes 0; reads a count no larger than what is left.
    fn count(&mut self) -> usize;
    /// Marks the message malformed (reading only).
    fn fail(&mut self, field: &'static str, value: String);

    /// Free text IB sends ASCII-only from ENCODE_MSG_ASCII7 (153) on:
    /// other characters as `\uXXXX` (error messages, long names).
    fn text(&mut self, v: &mut String) {
        if self.decoding() {
            self.str(v);
            *v = unescape(v);
        } else {
            self.str(&mut escape(v));
        }
    }

    fn skips(&mut self, lits: &[&str]) {
        for lit in lits {
            self.skip(lit);
        }
    }
}

/// Writes fields, each NUL-terminated.
#[derive(Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn new(id: i32) -> Writer {
        let mut w = Writer::default();
        w.put(&id.to_string());
        w
    }

    pub fn put(&mut self, s: &str) {
        // A NUL inside a value would shift every later field.
        self.out.extend(s.bytes().filter(|&b| b != 0));
        self.out.push(0);
    }
}

fn fmt_f64(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        String::new()
    }
}

impl Walk for Writer {
    fn decoding(&self) -> bool {
        false
    }
    fn str(&mut self, v: &mut String) {
        self.put(v);
    }
    fn int(&mut self, v: &mut i32) {
        self.put(&v.to_string());
    }
    fn int_opt(&mut self, v: &mut Option<i32>) {
        self.put(&v.map(|v| v.to_string()).unwrap_or_default());
    }
    fn long(&mut self, v: &mut i64) {
        self.put(&v.to_string());
    }
    fn f64(&mut self, v: &mut f64) {
        self.put(&fmt_f64(*v));
    }
    fn f64_opt(&mut self, v: &mut Option<f64>) {
        self.put(&v.map(fmt_f64).unwrap_or_default());
    }
    fn bool(&mut self, v: &mut bool) {
        self.put(if *v { "1" } else { "0" });
    }
    fn dec(&mut self, v: &mut Decimal) {
        self.put(&v.normalize().to_string());
    }
    fn dec_opt(&mut self, v: &mut Option<Decimal>) {
        self.put(&v.map(|d| d.normalize().to_string()).unwrap_or_default());
    }
    fn skip(&mut self, lit: &str) -> String {
        self.put(lit);
        lit.to_string()
    }
    fn count(&mut self) -> usize {
        self.put("0");
        0
    }
    fn fail(&mut self, _field: &'static str, _value: String) {}
}

/// Reads fields from one payload. The first error sticks: later reads
/// return defaults and [`Reader::finish`] reports it.
pub struct Reader<'a> {
    fields: Vec<&'a str>,
    pos: usize,
    err: Option<DecodeError>,
}

impl<'a> Reader<'a> {
    /// Splits a payload into fields. Every field ends in NUL; a payload
    /// that does not end in one, or is not ASCII/UTF-8, is malformed.
    pub fn new(payload: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
        let text = std::str::from_utf8(payload).map_err(|_| DecodeError::BadField {
            field: "payload",
            value: String::from_utf8_lossy(payload).into_owned(),
        })?;
        let body = text
            .strip_suffix('\0')
            .ok_or(DecodeError::Truncated("payload does not end in NUL"))?;
        Ok(Reader {
            fields: body.split('\0').collect(),
            pos: 0,
            err: None,
        })
    }

    pub fn remaining(&self) -> usize {
        self.fields.len().saturating_sub(self.pos)
    }

    fn next(&mut self) -> &'a str {
        if self.err.is_some() {
            return "";
        }
        match self.fields.get(self.pos) {
            Some(s) => {
                self.pos += 1;
                s
            }
            None => {
                self.err = Some(DecodeError::Truncated("too few fields"));
                ""
            }
        }
    }

    /// A number; empty or one of the `unset` sentinels is the default. The
    /// sentinels are compared by value, so `02147483647` is unset too (else
    /// it would be written back as the sentinel and read back as unset).
    fn parse<T: FromStr + Default + PartialEq>(
        &mut self,
        field: &'static str,
        unset: &[&str],
    ) -> T {
        let s = self.next().trim();
        if s.is_empty() {
            return T::default();
        }
        match s.parse::<T>() {
            Ok(v) if unset.iter().any(|u| u.parse::<T>().is_ok_and(|u| u == v)) => T::default(),
            Ok(v) => v,
            Err(_) => {
                self.fail(field, s.to_string());
                T::default()
            }
        }
    }

    fn parse_f64(&mut self) -> Option<f64> {
        let s = self.next().trim();
        if s.is_empty() || s == UNSET_DOUBLE {
            return None;
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v != f64::MAX => Some(v),
            // "Infinite" and the like: unset as far as atomik is concerned.
            Ok(_) => None,
            Err(_) if s.eq_ignore_ascii_case("infinite") => None,
            Err(_) => {
                self.fail("double", s.to_string());
                None
            }
        }
    }

    fn parse_dec(&mut self) -> Option<Decimal> {
        let s = self.next().trim();
        if s.is_empty() || s == UNSET_DECIMAL || s == UNSET_DOUBLE {
            return None;
        }
        match Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)) {
            Ok(d) => Some(d),
            Err(_) => {
                self.fail("decimal", s.to_string());
                None
            }
        }
    }

    /// The message id (first field) as text.
    pub fn id(&mut self) -> Result<i32, DecodeError> {
        let s = self.next();
        s.trim()
            .parse()
            .map_err(|_| DecodeError::BadField {
                field: "message id",
                value: s.to_string(),
            })
            .and_then(|id| self.err.take().map_or(Ok(id), Err))
    }

    pub fn finish<T>(self, v: T) -> Result<T, DecodeError> {
        match self.err {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }
}

impl Walk for Reader<'_> {
    fn decoding(&self) -> bool {
        true
    }
    fn str(&mut self, v: &mut String) {
        *v = self.next().to_string();
    }
    fn int(&mut self, v: &mut i32) {
        *v = self.parse("int", &[UNSET_INT]);
    }
    fn int_opt(&mut self, v: &mut Option<i32>) {
        let s = self.next().trim();
        *v = if s.is_empty() {
            None
        } else {
            match s.parse::<i32>() {
                // The sentinel by value (`02147483647` too).
                Ok(i32::MAX) => None,
                Ok(v) => Some(v),
                Err(_) => {
                    self.fail("int", s.to_string());
                    None
                }
            }
        };
    }
    fn long(&mut self, v: &mut i64) {
        *v = self.parse("long", &[UNSET_INT, "9223372036854775807"]);
    }
    fn f64(&mut self, v: &mut f64) {
        *v = self.parse_f64().unwrap_or(0.0);
    }
    fn f64_opt(&mut self, v: &mut Option<f64>) {
        *v = self.parse_f64();
    }
    fn bool(&mut self, v: &mut bool) {
        let s = self.next().trim();
        *v = match s {
            "" | "0" | "false" | "False" => false,
            "1" | "true" | "True" => true,
            _ => match s.parse::<i64>() {
                Ok(n) => n != 0,
                Err(_) => {
                    self.fail("bool", s.to_string());
                    false
                }
            },
        };
    }
    fn dec(&mut self, v: &mut Decimal) {
        *v = self.parse_dec().unwrap_or_default();
    }
    fn dec_opt(&mut self, v: &mut Option<Decimal>) {
        *v = self.parse_dec();
    }
    fn skip(&mut self, _lit: &str) -> String {
        self.next().to_string()
    }
    fn count(&mut self) -> usize {
        let n: i64 = self.parse("count", &[UNSET_INT]);
        if n < 0 || n as u64 > self.remaining() as u64 {
            self.fail("count", n.to_string());
            return 0;
        }
        n as usize
    }
    fn fail(&mut self, field: &'static str, value: String) {
        if self.err.is_none() {
            self.err = Some(DecodeError::BadField { field, value });
        }
    }
}

/// Non-ASCII characters and NUL as `\uXXXX` (UTF-16 units), and a backslash that
/// would read as the start of such an escape as `\u005c`, so that
/// [`unescape`] gives back exactly `s`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if c == '\\' && looks_escaped(&s[i..]) {
            out.push_str("\\u005c");
        } else if c == '\0' {
            // A NUL would end the field; `\u0000` read it in.
            out.push_str("\\u0000");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Whether `s` starts with `\u` and four hex digits.
fn looks_escaped(s: &str) -> bool {
    s.strip_prefix("\\u")
        .and_then(|r| r.get(..4))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `\uXXXX` sequences back to characters (pairs of them for characters
/// outside the BMP); anything else, malformed escapes included, is kept.
fn unescape(s: &str) -> String {
    if !s.contains("\\u") {
        return s.to_string();
    }
    let mut units = Vec::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let hex = rest
            .strip_prefix("\\u")
            .and_then(|r| r.get(..4))
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex.and_then(|h| u16::from_str_radix(h, 16).ok()) {
            Some(unit) => {
                units.push(unit);
                rest = &rest[6..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                let mut buf = [0u16; 2];
                units.extend_from_slice(c.encode_utf16(&mut buf));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_numbers_are_errors_or_unset() {
        let payload = b"1e400\x001E+28\x00-1e100\x001e-400\x00NaN\x00inf\x00\x00";
        let mut r = Reader::new(payload).unwrap();
        let (mut d, mut f) = (Decimal::ZERO, None);
        for _ in 0..4 {
            r.dec(&mut d);
        }
        r.f64_opt(&mut f);
        assert_eq!(f, None);
        r.f64_opt(&mut f);
        assert_eq!(f, None);
        assert!(r.finish(()).is_err(), "1e400 is no decimal");
    }

    #[test]
    fn sentinels_are_unset_however_spelt() {
        // Found by the ib_requests fuzz target
        // (fuzz/regressions/ib_requests/crash-c7356ef8…): a zero-padded
        // sentinel was read as a value and written back as the sentinel.
        let payload = b"02147483647\x00+2147483647\x00 2147483647\x0009223372036854775807\x00";
        let mut r = Reader::new(payload).unwrap();
        let (mut a, mut b, mut c) = (Some(1), 1, 1i64);
        r.int_opt(&mut a);
        r.int(&mut b);
        r.long(&mut c);
        assert_eq!((a, b, c), (None, 0, 0));
        r.long(&mut c);
        assert_eq!(c, 0);
        assert!(r.finish(()).is_ok());
    }

    #[test]
    fn text_escapes_round_trip() {
        for s in [
            "plain",
            "Société Générale",
            "日本 🚀",
            "\\u00",
            "a\\uzzzzb",
            // A literal escape in the text itself: sent as \u005c + u0041,
            // else it would read back as `A` (the ib_events fuzz target
            // asserts decode(encode(x)) == x; fuzz/regressions/ib_events/).
            "\\u0041",
            "\\\\u00e9",
            // An escaped NUL (fuzz/regressions/ib_events/crash-dd0e1bbc…).
            "a\0b",
        ] {
            assert_eq!(unescape(&escape(s)), s);
        }
        assert_eq!(escape("é"), "\\u00e9");
        assert_eq!(escape("\\u0041"), "\\u005cu0041");
        assert_eq!(escape("a\\b"), "a\\b", "a lone backslash is itself");
        assert_eq!(unescape("caf\\u00E9 \\ud83d\\ude80"), "café 🚀");
    }
}
