//! Between the era-neutral types of `msg` and the protobuf sub-messages,
//! with IB's "unset" sentinels mapped to `None` / empty / 0.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::types as pb;
use crate::{Contract, ContractDetails, DecodeError, Execution, Order, OrderState};

// --- Scalars ---

pub fn opt_str(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

pub fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

pub fn nonzero_i32(v: i32) -> Option<i32> {
    (v != 0).then_some(v)
}

/// Set when non-zero, or always. A server always names an order's client:
/// ibapi takes an order without one for its own connection's, and client 0
/// (TWS's manual orders) is a real one.
fn nonzero_or<T: Default + PartialEq>(v: T, always: bool) -> Option<T> {
    (always || v != T::default()).then_some(v)
}

pub fn some_true(v: bool) -> Option<bool> {
    v.then_some(true)
}

pub fn int(v: Option<i32>) -> i32 {
    v.filter(|&v| v != i32::MAX).unwrap_or(0)
}

pub fn opt_int(v: Option<i32>) -> Option<i32> {
    v.filter(|&v| v != i32::MAX)
}

pub fn long(v: Option<i64>) -> i64 {
    v.filter(|&v| v != i64::MAX).unwrap_or(0)
}

pub fn opt_dbl(v: Option<f64>) -> Option<f64> {
    v.filter(|&v| v != f64::MAX)
}

pub fn dbl(v: Option<f64>) -> f64 {
    opt_dbl(v).unwrap_or(0.0)
}

// --- Decimal strings ---

/// Integer spellings IB uses for "no value" on a decimal field.
const UNSET_DECIMALS: [&str; 3] = ["9223372036854775807", "2147483647", "-9223372036854775808"];

pub fn dec_str(d: Decimal) -> String {
    d.normalize().to_string()
}

pub fn opt_dec_str(d: Option<Decimal>) -> Option<String> {
    d.map(dec_str)
}

/// A decimal wire string: absent, empty or a sentinel is `None`; anything
/// else that is not a number is an error.
pub fn opt_dec(v: Option<&str>, field: &'static str) -> Result<Option<Decimal>, DecodeError> {
    let Some(text) = v.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if UNSET_DECIMALS.contains(&text) {
        return Ok(None);
    }
    if let Ok(d) = Decimal::from_str(text).or_else(|_| Decimal::from_scientific(text)) {
        return Ok(Some(d));
    }
    let bad = || DecodeError::BadField {
        field,
        value: text.to_string(),
    };
    let f: f64 = text.parse().map_err(|_| bad())?;
    if !f.is_finite() || f == f64::MAX {
        return Ok(None);
    }
    Decimal::try_from(f).map(Some).map_err(|_| bad())
}

pub fn dec(v: Option<&str>, field: &'static str) -> Result<Decimal, DecodeError> {
    Ok(opt_dec(v, field)?.unwrap_or_default())
}

/// IB sends the multiplier as a double in protobuf, a string in text.
fn multiplier_to_pb(m: &str) -> Option<f64> {
    m.trim().parse::<f64>().ok().filter(|m| m.is_finite())
}

fn multiplier_from_pb(m: Option<f64>) -> String {
    match m {
        Some(m) if m.is_finite() && m != 0.0 && m != f64::MAX => m.to_string(),
        _ => String::new(),
    }
}

fn f64_str(v: f64) -> String {
    v.to_string()
}

// --- Contract ---

pub fn contract_to_pb(c: &Contract) -> pb::Contract {
    pb::Contract {
        con_id: nonzero_i32(c.con_id),
        symbol: opt_str(&c.symbol),
        sec_type: opt_str(&c.sec_type),
        last_trade_date_or_contract_month: opt_str(&c.last_trade_date_or_contract_month),
        strike: c.strike,
        right: opt_str(&c.right),
        multiplier: multiplier_to_pb(&c.multiplier),
        exchange: opt_str(&c.exchange),
        primary_exch: opt_str(&c.primary_exchange),
        currency: opt_str(&c.currency),
        local_symbol: opt_str(&c.local_symbol),
        trading_class: opt_str(&c.trading_class),
        include_expired: some_true(c.include_expired),
    }
}

pub fn contract_from_pb(p: &pb::Contract) -> Contract {
    Contract {
        con_id: int(p.con_id),
        symbol: s(&p.symbol),
        sec_type: s(&p.sec_type),
        last_trade_date_or_contract_month: s(&p.last_trade_date_or_contract_month),
        strike: opt_dbl(p.strike),
        right: s(&p.right),
        multiplier: multiplier_from_pb(p.multiplier),
        exchange: s(&p.exchange),
        primary_exchange: s(&p.primary_exch),
        currency: s(&p.currency),
        local_symbol: s(&p.local_symbol),
        trading_class: s(&p.trading_class),
        include_expired: p.include_expired.unwrap_or(false),
    }
}

// --- Order ---

/// Which end writes the order: a client placing it (ibapi's field choices)
/// or a server reporting it (every identifying field set).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Client,
    Server,
}

pub fn order_to_pb(o: &Order, writer: Writer) -> pb::Order {
    let server = writer == Writer::Server;
    pb::Order {
        client_id: nonzero_or(o.client_id, server),
        // A placed order's id travels in PlaceOrderRequest.order_id.
        order_id: server.then_some(o.order_id),
        perm_id: nonzero_or(o.perm_id, server),
        parent_id: nonzero_or(o.parent_id, server),
        action: opt_str(&o.action),
        total_quantity: (server || !o.total_quantity.is_zero()).then(|| dec_str(o.total_quantity)),
        order_type: opt_str(&o.order_type),
        lmt_price: o.limit_price,
        aux_price: o.aux_price,
        tif: opt_str(&o.tif),
        account: opt_str(&o.account),
        outside_rth: some_true(o.outside_rth),
        order_ref: opt_str(&o.order_ref),
        what_if: some_true(o.what_if),
        // Always explicit: IB's clients omit it when false, ibapi reads an
        // absent one in OpenOrder as true.
        transmit: Some(o.transmit),
        // IB's clients send their default, -1 (no short-sale exemption).
        exempt_code: (!server).then_some(-1),
    }
}

/// `order_id` stands in for an absent `Order.order_id`; `transmit` for an
/// absent `Order.transmit` (false in a client's request, true in a server's
/// report — as IB's own encoders and decoders treat it).
pub fn order_from_pb(p: &pb::Order, order_id: i32, transmit: bool) -> Result<Order, DecodeError> {
    Ok(Order {
        order_id: opt_int(p.order_id).unwrap_or(order_id),
        client_id: int(p.client_id),
        perm_id: long(p.perm_id),
        action: s(&p.action),
        total_quantity: dec(p.total_quantity.as_deref(), "Order.total_quantity")?,
        order_type: s(&p.order_type),
        limit_price: opt_dbl(p.lmt_price),
        aux_price: opt_dbl(p.aux_price),
        tif: s(&p.tif),
        account: s(&p.account),
        order_ref: s(&p.order_ref),
        transmit: p.transmit.unwrap_or(transmit),
        parent_id: int(p.parent_id),
        outside_rth: p.outside_rth.unwrap_or(false),
        what_if: p.what_if.unwrap_or(false),
    })
}

// --- OrderState ---

pub fn state_to_pb(st: &OrderState) -> pb::OrderState {
    pb::OrderState {
        // ibapi refuses an OpenOrder / CompletedOrder without a status.
        status: Some(st.status.clone()),
        commission_and_fees: st.commission,
        commission_and_fees_currency: opt_str(&st.commission_currency),
        reject_reason: opt_str(&st.reject_reason),
        warning_text: opt_str(&st.warning_text),
        completed_time: opt_str(&st.completed_time),
        completed_status: opt_str(&st.completed_status),
    }
}

pub fn state_from_pb(p: &pb::OrderState) -> OrderState {
    OrderState {
        status: s(&p.status),
        commission: opt_dbl(p.commission_and_fees),
        commission_currency: s(&p.commission_and_fees_currency),
        warning_text: s(&p.warning_text),
        completed_time: s(&p.completed_time),
        completed_status: s(&p.completed_status),
        reject_reason: s(&p.reject_reason),
    }
}

// --- Execution ---

pub fn execution_to_pb(e: &Execution) -> pb::Execution {
    pb::Execution {
        order_id: Some(e.order_id),
        exec_id: opt_str(&e.exec_id),
        time: opt_str(&e.time),
        acct_number: opt_str(&e.account),
        exchange: opt_str(&e.exchange),
        side: opt_str(&e.side),
        shares: Some(dec_str(e.shares)),
        price: Some(e.price),
        perm_id: Some(e.perm_id),
        client_id: Some(e.client_id),
        is_liquidation: Some(e.liquidation != 0),
        cum_qty: Some(dec_str(e.cum_qty)),
        avg_price: Some(e.avg_price),
        order_ref: opt_str(&e.order_ref),
    }
}

pub fn execution_from_pb(p: &pb::Execution) -> Result<Execution, DecodeError> {
    Ok(Execution {
        order_id: int(p.order_id),
        client_id: int(p.client_id),
        exec_id: s(&p.exec_id),
        time: s(&p.time),
        account: s(&p.acct_number),
        exchange: s(&p.exchange),
        side: s(&p.side),
        shares: dec(p.shares.as_deref(), "Execution.shares")?,
        price: dbl(p.price),
        perm_id: long(p.perm_id),
        liquidation: i32::from(p.is_liquidation.unwrap_or(false)),
        cum_qty: dec(p.cum_qty.as_deref(), "Execution.cum_qty")?,
        avg_price: dbl(p.avg_price),
        order_ref: s(&p.order_ref),
    })
}

// --- ContractDetails ---

pub fn details_to_pb(d: &ContractDetails) -> pb::ContractDetails {
    pb::ContractDetails {
        market_name: opt_str(&d.market_name),
        min_tick: Some(f64_str(d.min_tick)),
        order_types: opt_str(&d.order_types),
        valid_exchanges: opt_str(&d.valid_exchanges),
        under_con_id: nonzero_i32(d.under_con_id),
        long_name: opt_str(&d.long_name),
        contract_month: opt_str(&d.contract_month),
        time_zone_id: opt_str(&d.time_zone_id),
        trading_hours: opt_str(&d.trading_hours),
        liquid_hours: opt_str(&d.liquid_hours),
        min_size: opt_dec_str(d.min_size),
        size_increment: opt_dec_str(d.size_increment),
    }
}

pub fn details_from_pb(
    contract: &pb::Contract,
    p: &pb::ContractDetails,
) -> Result<ContractDetails, DecodeError> {
    let min_tick = match p.min_tick.as_deref().filter(|t| !t.is_empty()) {
        None => 0.0,
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|v| !v.is_nan())
            .map(|v| if v == f64::MAX { 0.0 } else { v })
            .ok_or_else(|| DecodeError::BadField {
                field: "ContractDetails.min_tick",
                value: t.to_string(),
            })?,
    };
    Ok(ContractDetails {
        contract: contract_from_pb(contract),
        market_name: s(&p.market_name),
        min_tick,
        order_types: s(&p.order_types),
        valid_exchanges: s(&p.valid_exchanges),
        long_name: s(&p.long_name),
        contract_month: s(&p.contract_month),
        time_zone_id: s(&p.time_zone_id),
        trading_hours: s(&p.trading_hours),
        liquid_hours: s(&p.liquid_hours),
        under_con_id: int(p.under_con_id),
        min_size: opt_dec(p.min_size.as_deref(), "ContractDetails.min_size")?,
        size_increment: opt_dec(
            p.size_increment.as_deref(),
            "ContractDetails.size_increment",
        )?,
    })
}
