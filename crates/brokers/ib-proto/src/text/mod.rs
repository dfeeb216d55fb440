//! The text era (server version < 201): each payload is NUL-terminated
//! ASCII fields, the first the message id. Which fields a message carries
//! depends on the server version, as in IB's own clients (the official
//! `ibapi` client; ib_async 2.1.0 agrees at the versions it speaks,
//! 157–178, except where a comment says otherwise).
//!
//! Each message is described once (`requests.rs`, `events.rs`,
//! `orders.rs`) over a `fields::Walk` that either writes or reads it.

mod contract;
mod events;
mod fields;
mod orders;
mod requests;
#[cfg(test)]
mod rich;

use fields::{Reader, Writer};

use crate::{DecodeError, Event, Request};

pub fn encode_request(req: &Request, server_version: i32) -> Vec<u8> {
    let mut w = Writer::new(requests::id(req));
    requests::walk(&mut w, &mut req.clone(), server_version);
    w.out
}

/// Unknown ids are [`Request::Other`]; fields after the ones this version
/// defines are ignored (a newer client may send more).
pub fn decode_request(payload: &[u8], server_version: i32) -> Result<Request, DecodeError> {
    let mut req = requests::blank(peek_id(payload)?);
    if let Request::Other { .. } = req {
        return Ok(req);
    }
    let mut r = Reader::new(payload)?;
    r.id()?;
    requests::walk(&mut r, &mut req, server_version);
    r.finish(req)
}

pub fn encode_event(event: &Event, server_version: i32) -> Vec<u8> {
    let mut w = Writer::new(events::id(event));
    events::walk(&mut w, &mut event.clone(), server_version);
    w.out
}

/// Unknown ids are [`Event::Other`]; trailing fields are ignored.
pub fn decode_event(payload: &[u8], server_version: i32) -> Result<Event, DecodeError> {
    let mut event = events::blank(peek_id(payload)?);
    if let Event::Other { .. } = event {
        return Ok(event);
    }
    let mut r = Reader::new(payload)?;
    r.id()?;
    events::walk(&mut r, &mut event, server_version);
    r.finish(event)
}

/// The message id, read before the rest so that a message this codec does
/// not read is never rejected for its content.
fn peek_id(payload: &[u8]) -> Result<i32, DecodeError> {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .ok_or(DecodeError::Truncated("no message id"))?;
    let text = String::from_utf8_lossy(&payload[..end]);
    text.trim().parse().map_err(|_| DecodeError::BadField {
        field: "message id",
        value: text.into_owned(),
    })
}
