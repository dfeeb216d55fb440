//! The protobuf era (server version ≥ 213): each payload starts with the
//! message id as a 4-byte big-endian int; ids above 200 carry a protobuf
//! message of type id − 200, the others NUL-separated text fields.

use crate::{DecodeError, Event, Request};

pub fn encode_request(_req: &Request, _server_version: i32) -> Vec<u8> {
    Vec::new()
}

pub fn decode_request(_payload: &[u8], _server_version: i32) -> Result<Request, DecodeError> {
    Err(DecodeError::Truncated(
        "protobuf requests are not implemented yet",
    ))
}

pub fn encode_event(_event: &Event, _server_version: i32) -> Vec<u8> {
    Vec::new()
}

pub fn decode_event(_payload: &[u8], _server_version: i32) -> Result<Event, DecodeError> {
    Err(DecodeError::Truncated(
        "protobuf events are not implemented yet",
    ))
}
