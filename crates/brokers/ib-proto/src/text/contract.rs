//! The contract layouts of the text era: each message carries its own
//! subset of the contract's fields, in its own order.

use super::fields::Walk;
use crate::Contract;

/// Strike: written as `0` when unset (as IB's clients do); `0` and the
/// sentinels read as unset.
pub fn strike(w: &mut impl Walk, v: &mut Option<f64>) {
    if w.decoding() {
        w.f64_opt(v);
        if *v == Some(0.0) {
            *v = None;
        }
    } else {
        let mut s = Some(v.unwrap_or(0.0));
        w.f64_opt(&mut s);
    }
}

/// PlaceOrder and ReqContractData: conId … exchange, primaryExchange,
/// currency, localSymbol, tradingClass.
pub fn request(w: &mut impl Walk, c: &mut Contract) {
    head(w, c);
    w.str(&mut c.exchange);
    w.str(&mut c.primary_exchange);
    tail(w, c);
}

/// OpenOrder, CompletedOrder, ExecDetails, Position: as [`request`]
/// without the primary exchange.
pub fn reported(w: &mut impl Walk, c: &mut Contract) {
    head(w, c);
    w.str(&mut c.exchange);
    tail(w, c);
}

/// PortfolioValue: the primary exchange where the others have the exchange.
pub fn portfolio(w: &mut impl Walk, c: &mut Contract) {
    head(w, c);
    w.str(&mut c.primary_exchange);
    tail(w, c);
}

fn head(w: &mut impl Walk, c: &mut Contract) {
    w.int(&mut c.con_id);
    w.str(&mut c.symbol);
    w.str(&mut c.sec_type);
    w.str(&mut c.last_trade_date_or_contract_month);
    strike(w, &mut c.strike);
    w.str(&mut c.right);
    w.str(&mut c.multiplier);
}

fn tail(w: &mut impl Walk, c: &mut Contract) {
    w.str(&mut c.currency);
    w.str(&mut c.local_symbol);
    w.str(&mut c.trading_class);
}
