//! The text era (server version < 201): each payload is NUL-terminated
//! ASCII fields, the first the message id. Which fields a message carries
//! depends on the server version, as in IB's own clients.

use crate::{DecodeError, Event, Request};

pub fn encode_request(_req: &Request, _server_version: i32) -> Vec<u8> {
    Vec::new()
}

pub fn decode_request(_payload: &[u8], _server_version: i32) -> Result<Request, DecodeError> {
    Err(DecodeError::Truncated(
        "text requests are not implemented yet",
    ))
}

pub fn encode_event(_event: &Event, _server_version: i32) -> Vec<u8> {
    Vec::new()
}

pub fn decode_event(_payload: &[u8], _server_version: i32) -> Result<Event, DecodeError> {
    Err(DecodeError::Truncated(
        "text events are not implemented yet",
    ))
}
