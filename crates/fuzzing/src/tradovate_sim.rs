//! `tradovate_sim_requests`: request bodies the Tradovate simulator parses.
//! Byte 0 picks the endpoint; the rest is its JSON body (or, for contract
//! lookups, the name). Order bodies go on through the handler's checks, in
//! its order, to the margin check and the ledger of a fresh simulator.

use std::sync::Arc;

use atomik_broker::Clock;
use atomik_tradovate_sim::SimConfig;
use atomik_tradovate_sim::parsing::{self as p, PlaceOrder, RollContract, State};
use serde_json::Value;

use crate::input::{NOW_MS, byte, text};

struct Fixed;

impl Clock for Fixed {
    fn now_ms(&self) -> i64 {
        NOW_MS
    }
}

pub fn tradovate_sim_requests(data: &[u8]) {
    let (kind, body) = byte(data);
    match kind % 4 {
        0 => {
            if let Ok(order) = serde_json::from_slice::<PlaceOrder>(body) {
                place(&order);
            }
        }
        1 => {
            if let Ok(roll) = serde_json::from_slice::<RollContract>(body) {
                let _ = p::front_month(&roll.name.to_uppercase(), NOW_MS);
            }
        }
        2 => {
            // cashbalance / cancelorder bodies: `accountId` / `orderId`.
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                let _ = v.get("accountId").and_then(Value::as_i64);
                let _ = v.get("orderId").and_then(Value::as_i64);
            }
        }
        _ => {
            let name = text(body);
            if let Some((id, listed)) = p::contract_by_name(&name, NOW_MS) {
                assert_eq!(
                    p::contract_name(id, NOW_MS).as_deref(),
                    Some(listed.as_str())
                );
                let _ = (p::price_of(&listed), p::margin_of(&listed));
            }
            if let Ok(n) = name.trim().parse::<i64>() {
                let _ = p::contract_name(n, NOW_MS);
                let _ = p::format_time_ms(n);
            }
            let _ = p::s256(&name);
        }
    }
}

/// `POST /order/placeorder` after parsing: the handler's checks, then the
/// margin check and the ledger, twice (the second order meets the first's position).
fn place(order: &PlaceOrder) {
    let config = SimConfig::demo(Arc::new(Fixed));
    let mut state = State::new(&config);
    let Some(account_id) = config
        .users
        .first()
        .and_then(|u| u.accounts.first())
        .map(|a| a.id)
    else {
        return;
    };
    if order.order_qty <= 0
        || !order.is_automated
        || !matches!(order.action.as_str(), "Buy" | "Sell")
        || !matches!(order.order_type.as_str(), "Market" | "Limit")
    {
        return;
    }
    let Some((contract_id, symbol)) = p::contract_by_name(&order.symbol, NOW_MS) else {
        return;
    };
    for _ in 0..2 {
        let placement = || p::Placement {
            account_id,
            cl_ord_id: &order.cl_ord_id,
            symbol: &symbol,
            contract_id,
            action: &order.action,
            qty: order.order_qty,
            market: order.order_type == "Market",
        };
        if state.check_margin(&placement()).is_ok() {
            state.place(placement(), NOW_MS);
        }
        let _ = state.net_pos(account_id, contract_id);
    }
}
