//! A raw TWS API client on `atomik-ib-proto`, for tests at the socket level
//! in either era, and the simulator's demo start-up.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atomik_broker::SystemClock;
use atomik_ib_proto::frame::{client_hello, read_frame, read_server_hello, write_frame};
use atomik_ib_proto::{Contract, Event, Order, Request, decode_event, encode_request};
use atomik_ib_sim::{SimConfig, SimHandle};
use rust_decimal::Decimal;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub const WAIT: Duration = Duration::from_secs(10);
/// The text era as ib_async speaks it, and the protobuf era's newest.
pub const TEXT: (i32, i32) = (157, 178);
pub const PROTOBUF: (i32, i32) = (213, 226);

pub async fn start_demo() -> SimHandle {
    start(SimConfig::demo(Arc::new(SystemClock))).await
}

pub async fn start(config: SimConfig) -> SimHandle {
    atomik_ib_sim::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the simulator starts")
}

pub struct Raw {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    pub version: i32,
}

impl Raw {
    /// Hello only (no StartApi).
    pub async fn hello(addr: SocketAddr, range: (i32, i32)) -> std::io::Result<Raw> {
        let socket = TcpStream::connect(addr).await?;
        let (mut rd, mut wr) = socket.into_split();
        wr.write_all(&client_hello(range.0, range.1, "")).await?;
        let (version, _) = tokio::time::timeout(WAIT, read_server_hello(&mut rd))
            .await
            .map_err(|_| std::io::Error::other("no hello answer"))?
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Raw { rd, wr, version })
    }

    /// Hello and StartApi, then the start-up messages (up to the last farm notice).
    pub async fn connect(addr: SocketAddr, range: (i32, i32), client_id: i32) -> (Raw, i32) {
        let mut raw = Raw::hello(addr, range).await.expect("hello");
        raw.send(&Request::StartApi {
            client_id,
            optional_capabilities: String::new(),
        })
        .await;
        let next = raw
            .until(is_error(2158))
            .await
            .into_iter()
            .find_map(|e| match e {
                Event::NextValidId { order_id } => Some(order_id),
                _ => None,
            })
            .expect("NextValidId");
        (raw, next)
    }

    pub async fn send(&mut self, req: &Request) {
        let payload = encode_request(req, self.version).expect("encodes");
        write_frame(&mut self.wr, &payload).await.expect("write");
    }

    /// The next event; None at end of stream. Panics after [`WAIT`].
    pub async fn next(&mut self) -> Option<Event> {
        let payload = tokio::time::timeout(WAIT, read_frame(&mut self.rd))
            .await
            .expect("an event within the wait")
            .ok()?;
        Some(decode_event(&payload, self.version).expect("decodes"))
    }

    /// The next event, or None at end of stream or after [`WAIT`].
    async fn try_next(&mut self) -> Result<Option<Event>, ()> {
        match tokio::time::timeout(WAIT, read_frame(&mut self.rd)).await {
            Err(_) => Err(()),
            Ok(Err(_)) => Ok(None),
            Ok(Ok(payload)) => Ok(Some(decode_event(&payload, self.version).expect("decodes"))),
        }
    }

    /// Events up to and including the first that `last` accepts.
    pub async fn until(&mut self, last: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            let Ok(next) = self.try_next().await else {
                panic!("the awaited event did not come within {WAIT:?}; saw {seen:?}");
            };
            match next {
                Some(e) => {
                    let done = last(&e);
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                None => panic!("closed before the awaited event; saw {seen:?}"),
            }
        }
    }

    /// Events until the server closes the connection.
    pub async fn until_closed(&mut self) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(e) = self.next().await {
            seen.push(e);
        }
        seen
    }
}

pub fn is_error(code: i32) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Error { code: c, .. } if *c == code)
}

pub fn status_is(order_id: i32, status: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| matches!(e, Event::OrderStatus { order_id: o, status: s, .. } if *o == order_id && s == status)
}

pub fn stock(symbol: &str) -> Contract {
    Contract {
        symbol: symbol.into(),
        sec_type: "STK".into(),
        exchange: "SMART".into(),
        currency: "USD".into(),
        ..Contract::default()
    }
}

pub fn order(action: &str, qty: i64, limit: Option<f64>, account: &str, order_ref: &str) -> Order {
    Order {
        action: action.into(),
        total_quantity: Decimal::from(qty),
        order_type: if limit.is_some() { "LMT" } else { "MKT" }.into(),
        limit_price: limit,
        tif: "DAY".into(),
        account: account.into(),
        order_ref: order_ref.into(),
        transmit: true,
        ..Order::default()
    }
}

pub fn place(order_id: i32, contract: Contract, order: Order) -> Request {
    Request::PlaceOrder {
        order_id,
        contract,
        order,
    }
}
