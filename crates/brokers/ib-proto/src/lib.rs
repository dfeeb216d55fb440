//! The TWS API wire protocol, shared by atomik's IB adapter and its IB
//! simulator so both ends agree by construction and third-party clients
//! prove the simulator (BROKERS.md §2).
//!
//! - [`frame`]: the 4-byte big-endian length prefix, the `API\0` hello and
//!   the server's version answer.
//! - [`version`]: server versions, and the choice of one from a client's
//!   `v<min>..<max>` that never lands in the mixed band 201–212.
//! - [`msg`]: every message atomik and its simulator exchange, era-neutral.
//! - [`text`] (server version < 201) and [`pb`] (≥ 213): the two encodings.
//!
//! [`encode_request`]/[`decode_request`] (client → server) and
//! [`encode_event`]/[`decode_event`] (server → client) pick the encoding
//! from the negotiated server version.

pub mod frame;
pub mod msg;
pub mod pb;
pub mod text;
pub mod version;

pub use msg::*;

/// A message that could not be read. The connection that sent it is not
/// trusted further by either end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message truncated: {0}")]
    Truncated(&'static str),
    #[error("field {field}: {value:?} is not valid")]
    BadField { field: &'static str, value: String },
    #[error("protobuf: {0}")]
    Protobuf(String),
    #[error(
        "server version {0} is in the band 201–212 that mixes both encodings; neither end speaks it"
    )]
    MixedBand(i32),
}

/// The era a negotiated server version speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Text,
    Protobuf,
}

impl Era {
    pub fn of(server_version: i32) -> Result<Era, DecodeError> {
        if server_version < version::MIN_PROTOBUF {
            Ok(Era::Text)
        } else if server_version >= version::PROTOBUF_ALL {
            Ok(Era::Protobuf)
        } else {
            Err(DecodeError::MixedBand(server_version))
        }
    }
}

/// A client → server message as the payload of one frame.
pub fn encode_request(req: &Request, server_version: i32) -> Result<Vec<u8>, DecodeError> {
    match Era::of(server_version)? {
        Era::Text => Ok(text::encode_request(req, server_version)),
        Era::Protobuf => Ok(pb::encode_request(req, server_version)),
    }
}

/// One frame's payload read by the server.
pub fn decode_request(payload: &[u8], server_version: i32) -> Result<Request, DecodeError> {
    match Era::of(server_version)? {
        Era::Text => text::decode_request(payload, server_version),
        Era::Protobuf => pb::decode_request(payload, server_version),
    }
}

/// A server → client message as the payload of one frame.
pub fn encode_event(event: &Event, server_version: i32) -> Result<Vec<u8>, DecodeError> {
    match Era::of(server_version)? {
        Era::Text => Ok(text::encode_event(event, server_version)),
        Era::Protobuf => Ok(pb::encode_event(event, server_version)),
    }
}

/// One frame's payload read by the client.
pub fn decode_event(payload: &[u8], server_version: i32) -> Result<Event, DecodeError> {
    match Era::of(server_version)? {
        Era::Text => text::decode_event(payload, server_version),
        Era::Protobuf => pb::decode_event(payload, server_version),
    }
}
