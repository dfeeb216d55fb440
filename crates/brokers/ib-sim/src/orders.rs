//! The order lifecycle: validation with IB's error codes, acceptance
//! (PreSubmitted → Submitted), fills at the mark, cancels; each step as the
//! events IB sends and whom they go to.

use std::sync::Arc;

use atomik_ib_proto::{Contract, Event, Order, OrderState};
use rust_decimal::Decimal;

use crate::faults::kind;
use crate::ledger::{Fill, SimOrder, State, f, ib_time};
use crate::{Shared, To};

/// What a placement asks of its connection beyond the events.
#[derive(Debug, PartialEq)]
pub(crate) enum After {
    Nothing,
    /// The drop-after-accept fault: close it, send nothing for the order.
    Drop,
}

/// Orders above this size are refused, so positions stay in range.
const MAX_QUANTITY: i64 = 1_000_000_000;

pub(crate) const READ_ONLY_MSG: &str =
    "Error validating request.-'bW' : cause - The API interface is currently in Read-Only mode.";

pub(crate) fn wire_order(o: &SimOrder) -> Order {
    Order {
        order_id: o.order_id,
        client_id: o.client_id,
        perm_id: o.perm_id,
        action: o.action.clone(),
        total_quantity: o.quantity,
        order_type: o.order_type.clone(),
        limit_price: o.limit_price,
        tif: o.tif.clone(),
        account: o.account.clone(),
        order_ref: o.order_ref.clone(),
        transmit: true,
        ..o.order.clone()
    }
}

fn state_of(o: &SimOrder) -> OrderState {
    OrderState {
        status: o.status.clone(),
        commission: (o.commission > 0.0).then_some(o.commission),
        commission_currency: "USD".into(),
        ..OrderState::default()
    }
}

pub(crate) fn open_order(o: &SimOrder) -> Event {
    Event::OpenOrder {
        order_id: o.order_id,
        contract: o.contract.clone(),
        order: wire_order(o),
        state: state_of(o),
    }
}

pub(crate) fn order_status(o: &SimOrder) -> Event {
    Event::OrderStatus {
        order_id: o.order_id,
        status: o.status.clone(),
        filled: o.filled,
        remaining: o.remaining(),
        avg_fill_price: o.avg_price,
        perm_id: o.perm_id,
        parent_id: 0,
        last_fill_price: if o.filled.is_zero() { 0.0 } else { o.avg_price },
        client_id: o.client_id,
        why_held: String::new(),
        mkt_cap_price: 0.0,
    }
}

pub(crate) fn completed_order(o: &SimOrder) -> Event {
    let mut state = state_of(o);
    state.completed_time = o
        .completed_at_ms
        .map(|t| format!("{} UTC", ib_time(t)))
        .unwrap_or_default();
    state.completed_status = match o.status.as_str() {
        "Filled" => format!("Filled Size: {}", o.filled.normalize()),
        _ => "Cancelled by Trader".into(),
    };
    let mut order = wire_order(o);
    order.order_id = -1;
    Event::CompletedOrder {
        contract: o.contract.clone(),
        order,
        state,
    }
}

/// The events of one fill, to the order's owner and the subscribers.
fn fill_events(state: &State, idx: usize, fill: Fill) -> Vec<(To, Event)> {
    let o = &state.orders[idx];
    let to = || To::Client(o.client_id);
    let mut out = vec![
        (
            to(),
            Event::ExecDetails {
                req_id: -1,
                contract: o.contract.clone(),
                execution: fill.execution.clone(),
            },
        ),
        (to(), order_status(o)),
        (to(), open_order(o)),
        (
            to(),
            Event::CommissionReport {
                exec_id: fill.execution.exec_id,
                commission: fill.commission,
                currency: "USD".into(),
                realized_pnl: fill.realized_pnl,
            },
        ),
    ];
    if let Some(p) = state
        .positions
        .iter()
        .find(|p| p.account == o.account && p.contract.con_id == o.contract.con_id)
    {
        out.push((
            To::PositionSubs,
            Event::Position {
                account: p.account.clone(),
                contract: p.contract.clone(),
                position: p.position,
                avg_cost: p.avg_cost,
            },
        ));
        let subs = || To::AccountSubs(o.account.clone());
        out.push((subs(), crate::queries::portfolio_value(state, p)));
        for (key, value, currency) in state.account_values(&o.account) {
            out.push((
                To::AccountMultiSubs(o.account.clone()),
                Event::AccountUpdateMulti {
                    // Each subscription's own id replaces it on delivery.
                    req_id: 0,
                    account: o.account.clone(),
                    model_code: String::new(),
                    key: key.clone(),
                    value: value.clone(),
                    currency: currency.clone(),
                },
            ));
            out.push((
                subs(),
                Event::AccountValue {
                    key,
                    value,
                    currency,
                    account: o.account.clone(),
                },
            ));
        }
    }
    out
}

fn on_tick(price: f64, tick: f64) -> bool {
    if tick <= 0.0 {
        return true;
    }
    let steps = price / tick;
    (steps - steps.round()).abs() < 1e-6
}

fn marketable(o: &SimOrder, mark: f64) -> bool {
    match (o.order_type.as_str(), o.limit_price) {
        ("MKT", _) => true,
        ("LMT", Some(l)) if o.action.eq_ignore_ascii_case("BUY") => l >= mark - 1e-9,
        ("LMT", Some(l)) => l <= mark + 1e-9,
        _ => false,
    }
}

/// Check a placement; the error code and text IB answers when it is refused.
fn validate(
    state: &mut State,
    client_id: i32,
    order_id: i32,
    contract: &Contract,
    order: &Order,
    today: time::Date,
) -> Result<(String, Contract, f64), (i32, String)> {
    if order_id < state.next_order_id(client_id) {
        return Err((103, "Duplicate order id".into()));
    }
    state.max_order_id.insert(client_id, order_id);
    let rejected = |reason: String| (201, format!("Order rejected - reason:{reason}"));
    let accounts = state.account_ids();
    let account = match order.account.as_str() {
        "" if accounts.len() == 1 => accounts[0].clone(),
        "" => {
            return Err(rejected(
                "You must specify an allocation (either a single account, group, or profile)."
                    .into(),
            ));
        }
        a if accounts.iter().any(|m| m == a) => a.to_string(),
        a => {
            return Err(rejected(format!(
                "The account code {a} is not one of the managed accounts ({}).",
                accounts.join(",")
            )));
        }
    };
    let found = state.catalogue.find(contract, today);
    let entry = match found.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err((
                200,
                "No security definition has been found for the request".into(),
            ));
        }
        _ => {
            return Err((
                200,
                format!(
                    "The contract description specified for {} is ambiguous.",
                    contract.symbol
                ),
            ));
        }
    };
    if order.total_quantity > Decimal::from(MAX_QUANTITY) {
        return Err(rejected(format!(
            "The order size {} is over the limit of {MAX_QUANTITY}.",
            order.total_quantity
        )));
    }
    if order.total_quantity <= Decimal::ZERO {
        return Err(rejected(format!(
            "The order size {} is not valid: it must be greater than zero.",
            order.total_quantity
        )));
    }
    if !matches!(order.action.to_ascii_uppercase().as_str(), "BUY" | "SELL") {
        return Err(rejected(format!("Invalid action {:?}.", order.action)));
    }
    match order.order_type.to_ascii_uppercase().as_str() {
        "MKT" => {}
        "LMT" => match order.limit_price {
            Some(p) if p > 0.0 => {
                if !on_tick(p, entry.details.min_tick) {
                    return Err((
                        110,
                        "The price does not conform to the minimum price variation for this contract."
                            .into(),
                    ));
                }
            }
            _ => {
                return Err(rejected(
                    "A limit order needs a positive limit price.".into(),
                ));
            }
        },
        other => {
            return Err(rejected(format!(
                "The simulator does not support order type {other:?} (MKT and LMT only)."
            )));
        }
    }
    Ok((account, entry.contract().clone(), entry.details.min_tick))
}

/// PlaceOrder from connection `conn` of `client_id`.
pub(crate) fn place(
    shared: &Arc<Shared>,
    conn: u64,
    client_id: i32,
    order_id: i32,
    contract: &Contract,
    order: &Order,
) -> After {
    let arrived = std::time::Instant::now();
    let reply = |code: i32, msg: &str| {
        shared.deliver(vec![(To::Conn(conn), shared.error(order_id, code, msg))]);
        After::Nothing
    };
    if shared.faults.read_only() {
        shared.faults.count(kind::READ_ONLY);
        return reply(321, READ_ONLY_MSG);
    }
    let now = shared.now_ms();
    let today = crate::catalogue::date_of_ms(now);
    let mut state = shared.state();
    let (account, contract, _) =
        match validate(&mut state, client_id, order_id, contract, order, today) {
            Ok(v) => v,
            Err((code, msg)) => {
                drop(state);
                return reply(code, &msg);
            }
        };
    if shared.faults.connectivity_lost() {
        drop(state);
        shared.faults.count(kind::REJECTED_WHILE_LOST);
        return reply(
            201,
            "Order rejected - reason:Connectivity between IB and Trader Workstation has been lost.",
        );
    }
    let mut record = SimOrder {
        account,
        client_id,
        order_id,
        perm_id: 0,
        order_ref: order.order_ref.clone(),
        contract,
        action: order.action.to_ascii_uppercase(),
        quantity: order.total_quantity,
        order_type: order.order_type.to_ascii_uppercase(),
        limit_price: order
            .limit_price
            .filter(|_| order.order_type.eq_ignore_ascii_case("LMT")),
        tif: if order.tif.is_empty() {
            "DAY".into()
        } else {
            order.tif.clone()
        },
        status: "PreSubmitted".into(),
        filled: Decimal::ZERO,
        avg_price: 0.0,
        commission: 0.0,
        placed_at_ms: now,
        arrived,
        completed_at_ms: None,
        order: order.clone(),
    };
    if order.what_if {
        // Margin and commission only: nothing is recorded or executed.
        let mut ev = open_order(&record);
        if let Event::OpenOrder { state: s, .. } = &mut ev {
            s.commission = Some(match record.contract.sec_type.as_str() {
                "STK" => (0.005 * f(record.quantity)).max(1.0),
                _ => 0.85 * f(record.quantity),
            });
        }
        drop(state);
        shared.deliver(vec![(To::Conn(conn), ev)]);
        return After::Nothing;
    }
    record.perm_id = state.new_perm_id();
    state.orders.push(record);
    let idx = state.orders.len() - 1;
    let mut events = vec![
        (To::Client(client_id), open_order(&state.orders[idx])),
        (To::Client(client_id), order_status(&state.orders[idx])),
    ];
    state.orders[idx].status = "Submitted".into();
    events.push((To::Client(client_id), open_order(&state.orders[idx])));
    events.push((To::Client(client_id), order_status(&state.orders[idx])));
    let mark = state.mark(state.orders[idx].contract.con_id);
    if marketable(&state.orders[idx], mark) {
        let fill = state.fill(idx, mark, now);
        events.extend(fill_events(&state, idx, fill));
    }
    drop(state);
    if shared.faults.take_drop() {
        return After::Drop;
    }
    match shared.faults.take_status_delay() {
        Some(d) => shared.deliver_after(d, events),
        None => shared.deliver(events),
    }
    After::Nothing
}

fn cancel_events(shared: &Shared, o: &SimOrder) -> Vec<(To, Event)> {
    vec![
        (To::Client(o.client_id), order_status(o)),
        (
            To::Client(o.client_id),
            shared.error(o.order_id, 202, "Order Canceled - reason:"),
        ),
    ]
}

/// CancelOrder from `client_id`'s connection.
pub(crate) fn cancel(shared: &Shared, conn: u64, client_id: i32, order_id: i32) {
    if shared.faults.read_only() {
        shared.faults.count(kind::READ_ONLY);
        shared.deliver(vec![(
            To::Conn(conn),
            shared.error(order_id, 321, READ_ONLY_MSG),
        )]);
        return;
    }
    let now = shared.now_ms();
    let mut state = shared.state();
    let events = match state.find_order(client_id, order_id) {
        None => vec![(
            To::Conn(conn),
            shared.error(
                order_id,
                10147,
                &format!("OrderId {order_id} that needs to be cancelled is not found."),
            ),
        )],
        Some(i) if !state.orders[i].working() => vec![(
            To::Conn(conn),
            shared.error(
                order_id,
                10148,
                &format!(
                    "OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {}.",
                    state.orders[i].status
                ),
            ),
        )],
        Some(i) => {
            let o = &mut state.orders[i];
            o.status = "Cancelled".into();
            o.completed_at_ms = Some(now);
            cancel_events(shared, o)
        }
    };
    drop(state);
    shared.deliver(events);
}

/// reqGlobalCancel: every working order of every client id.
pub(crate) fn global_cancel(shared: &Shared, conn: u64) {
    if shared.faults.read_only() {
        shared.faults.count(kind::READ_ONLY);
        shared.deliver(vec![(To::Conn(conn), shared.error(-1, 321, READ_ONLY_MSG))]);
        return;
    }
    let now = shared.now_ms();
    let mut state = shared.state();
    let mut events = Vec::new();
    for o in state.orders.iter_mut().filter(|o| o.working()) {
        o.status = "Cancelled".into();
        o.completed_at_ms = Some(now);
        events.extend(cancel_events(shared, o));
    }
    drop(state);
    shared.deliver(events);
}

/// A new mark: resting LMT orders it crosses fill at their limit.
pub(crate) fn set_mark(shared: &Shared, con_id: i32, price: f64) {
    let now = shared.now_ms();
    let mut state = shared.state();
    state.marks.insert(con_id, price);
    let crossed: Vec<usize> = (0..state.orders.len())
        .filter(|&i| {
            let o = &state.orders[i];
            o.working() && o.contract.con_id == con_id && marketable(o, price)
        })
        .collect();
    let mut events = Vec::new();
    for i in crossed {
        let limit = state.orders[i].limit_price.unwrap_or(price);
        let fill = state.fill(i, limit, now);
        events.extend(fill_events(&state, i, fill));
    }
    drop(state);
    shared.deliver(events);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_marketability() {
        assert!(on_tick(21000.25, 0.25) && !on_tick(21000.1, 0.25));
        assert!(on_tick(230.01, 0.01) && !on_tick(230.005, 0.01));
        let mut o = SimOrder {
            account: String::new(),
            client_id: 1,
            order_id: 1,
            perm_id: 1,
            order_ref: String::new(),
            contract: Contract::default(),
            action: "BUY".into(),
            quantity: Decimal::ONE,
            order_type: "LMT".into(),
            limit_price: Some(200.0),
            tif: "DAY".into(),
            status: "Submitted".into(),
            filled: Decimal::ZERO,
            avg_price: 0.0,
            commission: 0.0,
            placed_at_ms: 0,
            arrived: std::time::Instant::now(),
            completed_at_ms: None,
            order: Order::default(),
        };
        assert!(!marketable(&o, 230.0) && marketable(&o, 199.0));
        o.action = "SELL".into();
        assert!(marketable(&o, 230.0) && !marketable(&o, 199.0));
    }
}
