//! Splitting one fuzz input into the parts of a request or answer.

/// A fixed "now" (2026-12-01T12:00:00Z): inputs must replay identically.
pub const NOW_MS: i64 = 1_796_126_400_000;

/// HTTP statuses an answer may carry, picked by one input byte.
pub const STATUSES: &[u16] = &[
    200, 201, 204, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503, 504, 302, 100, 599,
];

/// The first byte (0 when empty) and the rest.
pub fn byte(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, data),
    }
}

/// The text up to the first `\n` and what follows it (all of it is the
/// line when there is no newline).
pub fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// `name: value` header lines up to an empty line, then the body; input
/// without an empty line is all body.
pub fn headers_and_body(data: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let Some(end) = data.windows(2).position(|w| w == b"\n\n") else {
        return (Vec::new(), data);
    };
    let headers = String::from_utf8_lossy(&data[..end])
        .lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    (headers, &data[end + 2..])
}

/// A body as an HTTP client reads it (invalid UTF-8 replaced).
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}
