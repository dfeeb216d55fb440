//! Orders over one connection: place (the intent's client order id in
//! `orderRef`, the account on every order, ids never reused), cancel, and
//! the lookup that settles an unknown outcome among open, completed and
//! executed orders — never a blind resend.

use std::collections::HashMap;
use std::time::Duration;

use atomik_broker::{BrokerError, OrderReport, OrderState};
use atomik_ib_proto::{Contract, Event, ExecutionFilter, Order, OrderState as IbState, Request};
use rust_decimal::Decimal;

use crate::conn::{Connection, IbLink, WaitError, is_notice};

/// IB took the order: its id, and its fill if IB reported one in time.
pub struct Placed {
    pub order_id: i32,
    pub fill: Option<atomik_broker::Fill>,
}

/// An order as IB answers its first status or error; then, for up to
/// `fill_wait`, its fill (a market order usually fills at once), so the log
/// can show what was filled at what price. A fill that comes later is not
/// waited for: the order stands accepted either way.
pub async fn place(
    conn: &Connection,
    contract: Contract,
    order: Order,
    timeout: Duration,
    fill_wait: Duration,
) -> Result<Placed, BrokerError> {
    let mut rx = conn.subscribe();
    let order_id = accept(conn, &mut rx, contract, order, timeout).await?;
    let fill = if fill_wait.is_zero() {
        None
    } else {
        conn.wait_for(&mut rx, fill_wait, |event| match event {
            Event::OrderStatus {
                order_id: id,
                status,
                filled,
                avg_fill_price,
                ..
            } if *id == order_id && status == "Filled" => Some(atomik_broker::Fill {
                quantity: *filled,
                average_price: Decimal::try_from(*avg_fill_price).unwrap_or_default(),
            }),
            _ => None,
        })
        .await
        .ok()
    };
    Ok(Placed { order_id, fill })
}

async fn accept(
    conn: &Connection,
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    contract: Contract,
    mut order: Order,
    timeout: Duration,
) -> Result<i32, BrokerError> {
    if conn.ib_link() == IbLink::Lost {
        return Err(BrokerError::NotSent(
            "IB Gateway has lost its connection to IB (1100): orders wait until it is restored"
                .into(),
        ));
    }
    let order_id = conn.ids.take();
    order.order_id = order_id;
    order.transmit = true;
    conn.send(Request::PlaceOrder {
        order_id,
        contract,
        order,
    })?;
    let answer = conn
        .wait_for(rx, timeout, |event| match event {
            Event::OpenOrder { order_id: id, .. } | Event::OrderStatus { order_id: id, .. }
                if *id == order_id =>
            {
                Some(Ok(()))
            }
            Event::Error {
                id, code, message, ..
            } if *id == order_id && !is_notice(*code) => Some(Err((*code, message.clone()))),
            _ => None,
        })
        .await;
    match answer {
        Ok(Ok(())) => Ok(order_id),
        Ok(Err((code, message))) => Err(refusal(code, &message)),
        Err(WaitError::Timeout) => Err(BrokerError::Ambiguous(format!(
            "IB Gateway did not answer order {order_id} within {}s",
            timeout.as_secs()
        ))),
        Err(WaitError::Lagged) => Err(BrokerError::Ambiguous(format!(
            "the answer to order {order_id} was missed (too many events at once)"
        ))),
        Err(WaitError::Closed(why)) => Err(BrokerError::Ambiguous(format!(
            "the connection to IB Gateway dropped after order {order_id} was sent: {why}"
        ))),
    }
}

/// An IB error answering an order, in the engine's terms (BROKERS.md §2.5).
pub fn refusal(code: i32, message: &str) -> BrokerError {
    let words = format!("IB {code}: {message}");
    match code {
        // The order was not taken: safe to send again with a fresh id.
        103 => BrokerError::NotSent(format!("{words} (a fresh order id will be used)")),
        100 => BrokerError::RateLimited {
            retry_after: Duration::from_secs(1),
            reason: words,
        },
        // Rejected because IB was unreachable at that moment (the order
        // raced the 1100 notice): it was not taken, so it may go again.
        201 if message.contains("Connectivity between IB and") => BrokerError::NotSent(format!(
            "{words} (it will be sent again once the Gateway reaches IB)"
        )),
        // Read-only API: a setting the user must change.
        321 => BrokerError::NeedsAttention(format!(
            "{words}. The API is read-only: in TWS / IB Gateway, API › Settings, untick \"Read-Only API\""
        )),
        _ => BrokerError::Rejected {
            code: Some(code.to_string()),
            reason: words,
        },
    }
}

pub async fn cancel(
    conn: &Connection,
    order_id: i32,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let mut rx = conn.subscribe();
    conn.send(Request::CancelOrder { order_id })?;
    let answer = conn
        .wait_for(&mut rx, timeout, |event| match event {
            Event::OrderStatus {
                order_id: id,
                status,
                ..
            } if *id == order_id && matches!(status.as_str(), "Cancelled" | "ApiCancelled") => {
                Some(Ok(()))
            }
            Event::Error { id, code: 202, .. } if *id == order_id => Some(Ok(())),
            Event::Error {
                id, code, message, ..
            } if *id == order_id && !is_notice(*code) => Some(Err(refusal(*code, message))),
            _ => None,
        })
        .await;
    match answer {
        Ok(result) => result,
        Err(WaitError::Closed(why)) => Err(BrokerError::Ambiguous(format!(
            "the connection to IB Gateway dropped during a cancel: {why}"
        ))),
        Err(_) => Err(BrokerError::Ambiguous(format!(
            "IB Gateway did not confirm the cancel of order {order_id} in time"
        ))),
    }
}

fn state_of(status: &str, filled: Decimal, total: Decimal) -> OrderState {
    match status {
        "Filled" => OrderState::Filled,
        "Cancelled" | "ApiCancelled" if filled > Decimal::ZERO && filled >= total => {
            OrderState::Filled
        }
        "Cancelled" | "ApiCancelled" => OrderState::Canceled,
        "Inactive" => OrderState::Rejected,
        "PendingSubmit" | "ApiPending" => OrderState::Pending,
        // PreSubmitted, Submitted, PendingCancel: still working at IB.
        _ => OrderState::Working,
    }
}

fn broker_order_id(order: &Order) -> String {
    if order.order_id > 0 {
        order.order_id.to_string()
    } else {
        format!("perm:{}", order.perm_id)
    }
}

fn report(order: &Order, state: &IbState, filled: Decimal, avg: Option<f64>) -> OrderReport {
    let status = state.status.as_str();
    let reason = [
        &state.reject_reason,
        &state.warning_text,
        &state.completed_status,
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .cloned();
    OrderReport {
        broker_order_id: broker_order_id(order),
        client_order_id: order.order_ref.clone(),
        state: state_of(status, filled, order.total_quantity),
        filled_quantity: filled,
        average_price: avg
            .filter(|p| *p > 0.0)
            .and_then(|p| Decimal::try_from(p).ok()),
        reason,
    }
}

/// Open orders of every client (this connection's included), by order ref.
async fn open_orders(
    conn: &Connection,
    account: &str,
    order_ref: &str,
    timeout: Duration,
) -> Result<Option<OrderReport>, BrokerError> {
    let mut rx = conn.subscribe();
    conn.send(Request::ReqAllOpenOrders)?;
    let mut found: Option<(Order, IbState)> = None;
    let mut statuses: HashMap<i32, (Decimal, f64)> = HashMap::new();
    conn.wait_for(&mut rx, timeout, |event| match event {
        Event::OpenOrder { order, state, .. }
            if order.order_ref == order_ref && order.account == account =>
        {
            found = Some((order.clone(), state.clone()));
            None
        }
        Event::OrderStatus {
            order_id,
            filled,
            avg_fill_price,
            ..
        } => {
            statuses.insert(*order_id, (*filled, *avg_fill_price));
            None
        }
        Event::OpenOrderEnd => Some(()),
        _ => None,
    })
    .await
    .map_err(|e| lookup_failed("open orders", e))?;
    Ok(found.map(|(order, state)| {
        let (filled, avg) = statuses
            .get(&order.order_id)
            .copied()
            .map_or((Decimal::ZERO, None), |(f, a)| (f, Some(a)));
        report(&order, &state, filled, avg)
    }))
}

async fn completed_orders(
    conn: &Connection,
    account: &str,
    order_ref: &str,
    timeout: Duration,
) -> Result<Option<OrderReport>, BrokerError> {
    let mut rx = conn.subscribe();
    conn.send(Request::ReqCompletedOrders { api_only: false })?;
    let mut found = None;
    conn.wait_for(&mut rx, timeout, |event| match event {
        Event::CompletedOrder { order, state, .. }
            if order.order_ref == order_ref && order.account == account =>
        {
            found = Some((order.clone(), state.clone()));
            None
        }
        Event::CompletedOrdersEnd => Some(()),
        _ => None,
    })
    .await
    .map_err(|e| lookup_failed("completed orders", e))?;
    Ok(found.map(|(order, state)| {
        let filled = if state.status == "Filled" {
            order.total_quantity
        } else {
            Decimal::ZERO
        };
        report(&order, &state, filled, None)
    }))
}

/// Executions of the account today whose order carried `order_ref`.
async fn executions(
    conn: &Connection,
    account: &str,
    order_ref: &str,
    timeout: Duration,
) -> Result<Option<OrderReport>, BrokerError> {
    let req_id = conn.next_req_id();
    let mut rx = conn.subscribe();
    conn.send(Request::ReqExecutions {
        req_id,
        filter: ExecutionFilter {
            account: account.to_string(),
            ..ExecutionFilter::default()
        },
    })?;
    let mut fills: Vec<(i32, Decimal, f64, i64)> = Vec::new();
    conn.wait_for(&mut rx, timeout, |event| match event {
        Event::ExecDetails {
            req_id: r,
            execution,
            ..
        } if *r == req_id && execution.order_ref == order_ref => {
            fills.push((
                execution.order_id,
                execution.shares,
                execution.price,
                execution.perm_id,
            ));
            None
        }
        Event::ExecDetailsEnd { req_id: r } if *r == req_id => Some(()),
        _ => None,
    })
    .await
    .map_err(|e| lookup_failed("executions", e))?;
    let Some(&(order_id, _, _, perm_id)) = fills.first() else {
        return Ok(None);
    };
    let filled: Decimal = fills.iter().map(|f| f.1).sum();
    let notional: f64 = fills
        .iter()
        .map(|f| f.2 * f64::try_from(f.1).unwrap_or(0.0))
        .sum();
    let avg = f64::try_from(filled)
        .ok()
        .filter(|q| *q > 0.0)
        .map(|q| notional / q);
    let order = Order {
        order_id,
        perm_id,
        order_ref: order_ref.to_string(),
        ..Order::default()
    };
    Ok(Some(OrderReport {
        broker_order_id: broker_order_id(&order),
        client_order_id: order_ref.to_string(),
        // Executions exist: at least partly filled; the rest, if any, is
        // shown by the open or completed order already looked at.
        state: OrderState::Filled,
        filled_quantity: filled,
        average_price: avg.and_then(|p| Decimal::try_from(p).ok()),
        reason: None,
    }))
}

fn lookup_failed(what: &str, e: WaitError) -> BrokerError {
    BrokerError::NotSent(match e {
        WaitError::Closed(why) => {
            format!("the connection to IB Gateway dropped while reading {what}: {why}")
        }
        WaitError::Timeout => format!("IB Gateway did not list its {what} in time"),
        WaitError::Lagged => format!("too many events while reading {what}"),
    })
}

/// Find the order atomik gave `order_ref` among open, completed and
/// executed orders of `account`. `None`: IB has no such order.
pub async fn find(
    conn: &Connection,
    account: &str,
    order_ref: &str,
    timeout: Duration,
) -> Result<Option<OrderReport>, BrokerError> {
    let _one_query = conn.query_lock.lock().await;
    if let Some(found) = open_orders(conn, account, order_ref, timeout).await? {
        return Ok(Some(found));
    }
    let executed = executions(conn, account, order_ref, timeout).await?;
    if let Some(mut found) = completed_orders(conn, account, order_ref, timeout).await? {
        // Text-era completed orders carry no order id; executions do.
        if let Some(exec) = executed
            .as_ref()
            .filter(|_| found.broker_order_id.starts_with("perm:"))
        {
            found.broker_order_id = exec.broker_order_id.clone();
        }
        return Ok(Some(found));
    }
    Ok(executed)
}
