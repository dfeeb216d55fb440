//! The protobuf era (server version ≥ 213): each payload starts with the
//! message id as a 4-byte big-endian int; ids above 200 carry a protobuf
//! message of type id − 200, the others NUL-separated text fields.
//!
//! Every message atomik uses travels as protobuf in both directions at
//! 213–226 (ibapi 5.5 sends and decodes nothing else, and none of these
//! messages changes shape inside the band). A request or event that arrives
//! in the text form (binary id ≤ 200) is read by the text codec, at the last
//! text-era version.

mod convert;
mod events;
mod requests;
mod types;

#[cfg(test)]
mod tests;

use crate::{DecodeError, Event, Request, text, version};

/// Added to a message id carried as protobuf.
pub const PROTOBUF_ID_OFFSET: i32 = 200;

fn framed(id: i32, body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&id.wrapping_add(PROTOBUF_ID_OFFSET).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// The binary message id and the rest. Ids are positive: a message under
/// id ≤ 0 is no message (and its `Other` could not be written back, as the
/// protobuf form of an unknown id is the id + 200).
fn split(payload: &[u8]) -> Result<(i32, &[u8]), DecodeError> {
    let (id, body) = payload
        .split_first_chunk::<4>()
        .ok_or(DecodeError::Truncated("message id"))?;
    let id = i32::from_be_bytes(*id);
    if id <= 0 {
        return Err(DecodeError::BadField {
            field: "message id",
            value: id.to_string(),
        });
    }
    Ok((id, body))
}

/// The text form under a binary id, as the text codec reads it: the id as
/// the first text field.
fn as_text_payload(id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{id}\0").into_bytes();
    out.extend_from_slice(body);
    out
}

pub fn encode_request(req: &Request, _server_version: i32) -> Vec<u8> {
    let (id, body) = requests::encode(req);
    framed(id, body)
}

pub fn decode_request(payload: &[u8], _server_version: i32) -> Result<Request, DecodeError> {
    let (id, body) = split(payload)?;
    if id > PROTOBUF_ID_OFFSET {
        return requests::decode(id - PROTOBUF_ID_OFFSET, body);
    }
    if !requests::known(id) {
        return Ok(Request::Other { id });
    }
    text::decode_request(&as_text_payload(id, body), version::TEXT_MAX)
}

pub fn encode_event(event: &Event, _server_version: i32) -> Vec<u8> {
    let (id, body) = events::encode(event);
    framed(id, body)
}

pub fn decode_event(payload: &[u8], _server_version: i32) -> Result<Event, DecodeError> {
    let (id, body) = split(payload)?;
    if id > PROTOBUF_ID_OFFSET {
        return events::decode(id - PROTOBUF_ID_OFFSET, body);
    }
    if !events::known(id) {
        return Ok(Event::Other { id });
    }
    text::decode_event(&as_text_payload(id, body), version::TEXT_MAX)
}
