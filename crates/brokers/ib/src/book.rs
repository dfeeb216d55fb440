//! Positions of every account on one connection, kept current by the
//! `reqPositions` subscription. An execution marks its (account, contract)
//! as changing until IB's position update for it arrives, so an exit is
//! never sized on a position from before the last fill.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use atomik_ib_proto::{Contract, Event};
use rust_decimal::Decimal;
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub contract: Contract,
    pub quantity: Decimal,
    pub average_cost: f64,
}

#[derive(Default)]
struct Book {
    /// The first full list (PositionEnd) has arrived.
    ready: bool,
    held: HashMap<(String, i32), Held>,
    changing: HashSet<(String, i32)>,
}

#[derive(Default)]
pub struct PositionBook {
    book: Mutex<Book>,
    changed: Notify,
}

/// What a reader gets: the positions, or why they are not known yet.
pub enum Read<T> {
    Known(T),
    /// Not ready, or a fill's position update is still on its way.
    Unsettled,
}

impl PositionBook {
    pub fn observe(&self, event: &Event) {
        let mut book = self.book.lock().expect("position book");
        match event {
            Event::Position {
                account,
                contract,
                position,
                avg_cost,
            } => {
                let key = (account.clone(), contract.con_id);
                book.changing.remove(&key);
                book.held.insert(
                    key,
                    Held {
                        contract: contract.clone(),
                        quantity: *position,
                        average_cost: *avg_cost,
                    },
                );
            }
            Event::PositionEnd => {
                book.ready = true;
                book.changing.clear();
            }
            // Live executions only (queries answer with their own request id).
            Event::ExecDetails {
                req_id: -1,
                contract,
                execution,
            } => {
                book.changing
                    .insert((execution.account.clone(), contract.con_id));
            }
            _ => return,
        }
        drop(book);
        self.changed.notify_waiters();
    }

    /// The account's non-zero positions.
    pub fn account(&self, account: &str) -> Read<Vec<Held>> {
        let book = self.book.lock().expect("position book");
        if !book.ready || book.changing.iter().any(|(a, _)| a == account) {
            return Read::Unsettled;
        }
        Read::Known(
            book.held
                .iter()
                .filter(|((a, _), h)| a == account && !h.quantity.is_zero())
                .map(|(_, h)| h.clone())
                .collect(),
        )
    }

    /// The signed position of one contract in one account.
    pub fn one(&self, account: &str, con_id: i32) -> Read<Decimal> {
        let book = self.book.lock().expect("position book");
        let key = (account.to_string(), con_id);
        if !book.ready || book.changing.contains(&key) {
            return Read::Unsettled;
        }
        Read::Known(book.held.get(&key).map_or(Decimal::ZERO, |h| h.quantity))
    }

    /// Read with `read` until it is known, or `None` after `timeout`.
    pub async fn settled<T>(
        &self,
        timeout: std::time::Duration,
        read: impl Fn(&Self) -> Read<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before reading, so a change in between is not missed.
            notified.as_mut().enable();
            if let Read::Known(value) = read(self) {
                return Some(value);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}
