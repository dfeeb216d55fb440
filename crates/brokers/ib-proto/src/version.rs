//! Server versions (BROKERS.md §2.2–§2.3).
//!
//! The client sends the range it speaks; the server answers with one
//! version in it. Below [`MIN_PROTOBUF`] every message is NUL-separated
//! text; from [`PROTOBUF_ALL`] every message atomik uses is protobuf. The
//! band in between mixes both per message family and neither atomik nor its
//! simulator speaks it.

/// The first server version with binary message ids and protobuf messages.
pub const MIN_PROTOBUF: i32 = 201;
/// The first server version where every message family atomik uses is protobuf
/// (`PROTOBUF_REST_MESSAGES_3`; the `ibapi` crate's minimum).
pub const PROTOBUF_ALL: i32 = 213;

/// The oldest text-era server version atomik speaks.
pub const TEXT_MIN: i32 = 157;
/// The newest text-era server version atomik speaks.
pub const TEXT_MAX: i32 = 200;
/// The newest protobuf-era server version atomik speaks.
pub const PROTOBUF_MAX: i32 = 226;

/// The range atomik's adapter advertises in its hello.
pub const CLIENT_RANGE: (i32, i32) = (TEXT_MIN, PROTOBUF_MAX);

/// Versions atomik speaks: text 157–200 and protobuf 213–226.
pub fn supported(server_version: i32) -> bool {
    (TEXT_MIN..=TEXT_MAX).contains(&server_version)
        || (PROTOBUF_ALL..=PROTOBUF_MAX).contains(&server_version)
}

/// The server's choice from a client's `v<min>..<max>`, given the range the
/// server itself speaks: the highest common version, stepping down out of
/// the mixed band to 200 when the client's minimum allows. `None` when the
/// ranges share no version outside the band.
pub fn choose(client: (i32, i32), server: (i32, i32)) -> Option<i32> {
    let low = client.0.max(server.0);
    let high = client.1.min(server.1);
    if low > high {
        return None;
    }
    if !(MIN_PROTOBUF..PROTOBUF_ALL).contains(&high) {
        return Some(high);
    }
    // `high` is inside 201..=212: the best pure-text version, if allowed.
    (low < MIN_PROTOBUF).then_some(MIN_PROTOBUF - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_avoids_the_mixed_band() {
        // ibapi (v213..226) against a simulator speaking 157..226.
        assert_eq!(choose((213, 226), (157, 226)), Some(226));
        // ib_async (v157..178).
        assert_eq!(choose((157, 178), (157, 226)), Some(178));
        // A client straddling the band whose server stops inside it.
        assert_eq!(choose((100, 226), (157, 210)), Some(200));
        assert_eq!(choose((205, 226), (157, 210)), None);
        assert_eq!(choose((100, 150), (157, 226)), None);
    }

    #[test]
    fn supported_versions() {
        assert!(supported(178) && supported(200) && supported(213) && supported(226));
        assert!(!supported(201) && !supported(212) && !supported(156) && !supported(227));
    }
}
