//! `binance_sim_requests`: a request as the Binance simulator parses it.
//! Input: a first line `METHOD /path?query`, then the body (a form).
//! Parameters, the signed payload, timing, weight, the signature checks,
//! and the order terms and filters of spot and futures orders.

use std::sync::Arc;

use atomik_binance::sign::Signer;
use atomik_binance_sim::parsing::{self as p, Method, Params};
use atomik_binance_sim::{Market, SimConfig, SimSymbol};
use atomik_broker::Clock;
use rust_decimal::Decimal;

use crate::input::{NOW_MS, line, text};

struct Fixed;

impl Clock for Fixed {
    fn now_ms(&self) -> i64 {
        NOW_MS
    }
}

pub fn binance_sim_requests(data: &[u8]) {
    let (first, body) = line(data);
    let first = text(first);
    let (method, target) = first.split_once(' ').unwrap_or(("GET", &first));
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = Params::parse(query, body);
    let payload = p::payload(query, body);

    let market = p::market_of(path);
    if let Some(m) = market {
        assert!(p::weight(m, &method, path, &params) >= 1);
    }
    if let (Ok(ts), Ok(rw)) = (p::timestamp_us(&params), p::recv_window_us(&params)) {
        assert!(rw >= 0, "recvWindow {rw}");
        let _ = p::check_timing(NOW_MS, ts, rw);
    }
    signatures(&params, &payload, body);

    let config = SimConfig::demo(Arc::new(Fixed));
    let sym = params
        .get("symbol")
        .and_then(|s| config.symbols.iter().find(|x| x.symbol == s))
        .or(config.symbols.first());
    if let Some(sym) = sym {
        match market {
            Some(Market::Futures) => futures(&params, sym),
            _ => spot(&params, sym),
        }
    }
}

fn signatures(params: &Params, payload: &[u8], body: &[u8]) {
    let secret = SimConfig::DEMO_SECRET_KEY;
    if let Some(sig) = params.get("signature") {
        let _ = p::verify_hmac(secret.as_bytes(), payload, sig);
    }
    // The adapter's signature over these bytes is one the simulator accepts.
    let signer = Signer::from_secret(secret).expect("demo secret");
    let sig = signer.sign(payload);
    assert!(p::verify_hmac(secret.as_bytes(), payload, &sig));
    assert!(p::verify_hmac(
        secret.as_bytes(),
        payload,
        &sig.to_uppercase()
    ));
    if let Ok(key) = p::ed25519_public_key(&text(body)) {
        let _ = p::verify_ed25519(&key, payload, params.get("signature").unwrap_or(""));
    }
}

fn spot(params: &Params, sym: &SimSymbol) {
    use p::spot;
    let _ = (spot::side(params), spot::resp_type(params));
    if let Ok(id) = spot::client_id(params) {
        assert!(!id.is_empty() && id.len() <= 36, "client id {id:?}");
    }
    if let Ok((price, _tif, qty, _quote)) = spot::order_terms(params, sym) {
        for v in [Some(qty), price].into_iter().flatten() {
            assert!(v >= Decimal::ZERO, "{v}");
        }
        if p::spot_filters(sym, qty, price).is_ok() {
            assert!(
                qty >= sym.min_qty && qty <= sym.max_qty,
                "{qty} passed LOT_SIZE"
            );
        }
    }
    for name in ["quantity", "price", "quoteOrderQty"] {
        if let Ok(Some(v)) = p::decimal(params, name) {
            let _ = p::spot_precision(name, v);
        }
    }
}

fn futures(params: &Params, sym: &SimSymbol) {
    use p::futures;
    let _ = (futures::ack(params), futures::position_side(params));
    if let Ok(id) = futures::client_id(params) {
        assert!(!id.is_empty() && id.len() <= 36, "client id {id:?}");
    }
    let reduce_only = futures::flag(params, "reduceOnly").unwrap_or(false);
    if let (Ok((price, _tif)), Ok(Some(qty))) =
        (futures::order_terms(params), p::decimal(params, "quantity"))
        && p::futures_filters(sym, qty, price, reduce_only).is_ok()
    {
        assert!(qty > Decimal::ZERO, "{qty} passed");
    }
}
