//! USDⓈ-M futures account reads in every version common clients call
//! (`/fapi/v2` and `/fapi/v3` `account`, `positionRisk`, `balance`), and the
//! market reads a client's start-up makes (`leverageBracket`, `premiumIndex`,
//! `ticker/24hr`), with Binance's JSON shapes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::{self, Need, Params};
use crate::futures::{MAINT_RATE, all_symbols, listed, price_dp, qty_dp, usdt};
use crate::reply::{Result, fixed, obj};
use crate::routes::S;
use crate::state::{LEVERAGE, Position, State as SimState};
use crate::{Market, SimSymbol};

/// The API version of an account read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

fn position_json(state: &SimState, api_key: &str, sym: &SimSymbol, pos: &Position) -> Value {
    let notional = pos.amt * sym.price;
    let margin = notional.abs() / Decimal::from(LEVERAGE);
    json!({
        "symbol": sym.symbol, "positionSide": "BOTH",
        "positionAmt": fixed(pos.amt, qty_dp(sym)),
        "entryPrice": usdt(pos.entry), "breakEvenPrice": usdt(pos.entry),
        "markPrice": usdt(sym.price),
        "unRealizedProfit": usdt(state.unrealized(&sym.symbol, pos)),
        "liquidationPrice": "0", "isolatedMargin": "0", "notional": usdt(notional),
        "marginAsset": "USDT", "isolatedWallet": "0",
        "initialMargin": usdt(margin), "maintMargin": usdt(notional.abs() * MAINT_RATE),
        "positionInitialMargin": usdt(margin),
        "openOrderInitialMargin": usdt(state.order_margin(api_key, Some(&sym.symbol))),
        "adl": 0, "bidNotional": "0", "askNotional": "0", "updateTime": pos.update_ms,
    })
}

/// `/fapi/v2/positionRisk`'s older shape: leverage and margin type, no margins.
fn position_json_v2(state: &SimState, sym: &SimSymbol, pos: &Position) -> Value {
    json!({
        "symbol": sym.symbol, "positionAmt": fixed(pos.amt, qty_dp(sym)),
        "entryPrice": usdt(pos.entry), "breakEvenPrice": usdt(pos.entry),
        "markPrice": usdt(sym.price),
        "unRealizedProfit": usdt(state.unrealized(&sym.symbol, pos)),
        "liquidationPrice": "0", "leverage": LEVERAGE.to_string(),
        "maxNotionalValue": MAX_NOTIONAL.to_string(), "marginType": "cross",
        "isolatedMargin": "0.00000000", "isAutoAddMargin": "false", "positionSide": "BOTH",
        "notional": usdt(pos.amt * sym.price), "isolatedWallet": "0",
        "updateTime": pos.update_ms, "isolated": false, "adlQuantile": 0,
    })
}

/// The one leverage bracket the simulator has: up to 20× on any notional.
const MAX_NOTIONAL: i64 = 1_000_000_000;

/// `GET /fapi/v2|v3/positionRisk`. v3 lists symbols with a position or open
/// orders; v2 lists every symbol (one-way mode, one row each).
pub async fn position_risk(
    version: Version,
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let key = signed.api_key.as_str();
    let wanted = signed.params.get("symbol");
    if let Some(s) = wanted {
        listed(&state, s)?;
    }
    let list: Vec<Value> = all_symbols(&state)
        .iter()
        .filter(|s| wanted.is_none_or(|w| w == s.symbol))
        .filter_map(|s| {
            let pos = state.position(key, &s.symbol);
            match version {
                Version::V2 => Some(position_json_v2(&state, s, &pos)),
                Version::V3 => {
                    let active = !pos.amt.is_zero()
                        || !state
                            .open_orders(Market::Futures, key, Some(&s.symbol))
                            .is_empty();
                    active.then(|| position_json(&state, key, s, &pos))
                }
            }
        })
        .collect();
    Ok(Json(Value::Array(list)).into_response())
}

/// `GET /fapi/v2/balance` and `/fapi/v3/balance` (USDT only).
pub async fn balance(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let key = signed.api_key.as_str();
    let a = state.account(key).expect("verified key");
    let available = usdt(state.futures_available(key));
    Ok(Json(json!([{
        "accountAlias": "SgsR", "asset": "USDT", "balance": usdt(a.wallet),
        "crossWalletBalance": usdt(a.wallet), "crossUnPnl": usdt(state.futures_unrealized(key)),
        "availableBalance": available, "maxWithdrawAmount": available,
        "marginAvailable": true, "updateTime": a.updated_ms,
    }]))
    .into_response())
}

/// `GET /fapi/v2|v3/account`: totals, the USDT asset and positions (v3:
/// open ones; v2: every symbol, with leverage and entry price, and the
/// account's trading flags).
pub async fn account(
    version: Version,
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let key = signed.api_key.as_str();
    let a = state.account(key).expect("verified key");
    let unrealized = state.futures_unrealized(key);
    let (pos_margin, order_margin) = (state.position_margin(key), state.order_margin(key, None));
    let maint = pos_margin * Decimal::from(LEVERAGE) * MAINT_RATE;
    let available = usdt(state.futures_available(key));
    let positions: Vec<Value> = all_symbols(&state)
        .iter()
        .filter_map(|sym| {
            let p = state.position(key, &sym.symbol);
            if version == Version::V3 && p.amt.is_zero() {
                return None;
            }
            let notional = p.amt * sym.price;
            let mut row = obj(json!({
                "symbol": sym.symbol, "positionSide": "BOTH",
                "positionAmt": fixed(p.amt, qty_dp(sym)),
                "unrealizedProfit": usdt(state.unrealized(&sym.symbol, &p)),
                "isolatedMargin": "0", "notional": usdt(notional), "isolatedWallet": "0",
                "initialMargin": usdt(notional.abs() / Decimal::from(LEVERAGE)),
                "maintMargin": usdt(notional.abs() * MAINT_RATE),
                "updateTime": p.update_ms,
            }));
            if version == Version::V2 {
                for (k, v) in [
                    ("leverage", json!(LEVERAGE.to_string())),
                    ("entryPrice", json!(usdt(p.entry))),
                    ("breakEvenPrice", json!(usdt(p.entry))),
                    ("maxNotional", json!(MAX_NOTIONAL.to_string())),
                    ("isolated", json!(false)),
                    (
                        "positionInitialMargin",
                        json!(usdt(notional.abs() / Decimal::from(LEVERAGE))),
                    ),
                    (
                        "openOrderInitialMargin",
                        json!(usdt(state.order_margin(key, Some(&sym.symbol)))),
                    ),
                    ("bidNotional", json!("0")),
                    ("askNotional", json!("0")),
                ] {
                    row.insert(k.into(), v);
                }
            }
            Some(Value::Object(row))
        })
        .collect();
    let (wallet, margin_balance) = (usdt(a.wallet), usdt(a.wallet + unrealized));
    let mut body = obj(json!({
        "totalInitialMargin": usdt(pos_margin + order_margin), "totalMaintMargin": usdt(maint),
        "totalWalletBalance": wallet, "totalUnrealizedProfit": usdt(unrealized),
        "totalMarginBalance": margin_balance, "totalPositionInitialMargin": usdt(pos_margin),
        "totalOpenOrderInitialMargin": usdt(order_margin), "totalCrossWalletBalance": wallet,
        "totalCrossUnPnl": usdt(unrealized), "availableBalance": available,
        "maxWithdrawAmount": available,
        "assets": [{
            "asset": "USDT", "walletBalance": wallet, "unrealizedProfit": usdt(unrealized),
            "marginBalance": margin_balance, "maintMargin": usdt(maint),
            "initialMargin": usdt(pos_margin + order_margin),
            "positionInitialMargin": usdt(pos_margin),
            "openOrderInitialMargin": usdt(order_margin), "crossWalletBalance": wallet,
            "crossUnPnl": usdt(unrealized), "availableBalance": available,
            "maxWithdrawAmount": available, "marginAvailable": true, "updateTime": a.updated_ms,
        }],
        "positions": positions,
    }));
    if version == Version::V2 {
        for (k, v) in [
            ("feeTier", json!(0)),
            ("feeBurn", json!(false)),
            ("canTrade", json!(a.key.enable_futures)),
            ("canDeposit", json!(true)),
            ("canWithdraw", json!(false)),
            ("updateTime", json!(0)),
            ("multiAssetsMargin", json!(false)),
            ("tradeGroupId", json!(-1)),
        ] {
            body.insert(k.into(), v);
        }
    }
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /fapi/v1/leverageBracket` (USER_DATA): one bracket per symbol; with
/// `symbol`, that symbol's object alone.
pub async fn leverage_bracket(
    State(shared): S,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let signed = auth::verify(&shared, Market::Futures, Need::Read, &uri, &headers, &body)?;
    let state = shared.state();
    let row = |s: &SimSymbol| {
        json!({
            "symbol": s.symbol, "notionalCoef": 1.0,
            "brackets": [{
                "bracket": 1, "initialLeverage": LEVERAGE, "notionalCap": MAX_NOTIONAL,
                "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0,
            }],
        })
    };
    Ok(match signed.params.get("symbol") {
        Some(name) => Json(row(&listed(&state, name)?)),
        None => Json(Value::Array(all_symbols(&state).iter().map(row).collect())),
    }
    .into_response())
}

/// The next funding time: the next multiple of 8 hours.
fn next_funding(now: i64) -> i64 {
    const EIGHT_HOURS: i64 = 8 * 3600 * 1000;
    now - now.rem_euclid(EIGHT_HOURS) + EIGHT_HOURS
}

/// `GET /fapi/v1/premiumIndex`: mark = index = the symbol price, no funding.
pub async fn premium_index(State(shared): S, uri: Uri) -> Result<Response> {
    let now = shared.now();
    let state = shared.state();
    let row = |s: &SimSymbol| {
        let p = fixed(s.price, 8);
        json!({
            "symbol": s.symbol, "markPrice": p, "indexPrice": p, "estimatedSettlePrice": p,
            "lastFundingRate": "0.00000000", "interestRate": "0.00000000",
            "nextFundingTime": next_funding(now), "time": now,
        })
    };
    Ok(match Params::from_uri(&uri).get("symbol") {
        Some(name) => Json(row(&listed(&state, name)?)),
        None => Json(Value::Array(all_symbols(&state).iter().map(row).collect())),
    }
    .into_response())
}

/// `GET /fapi/v1/ticker/24hr`: the price has not moved (the simulator keeps
/// no candles); volume is what the ledger filled in the last 24 hours.
pub async fn ticker_24hr(State(shared): S, uri: Uri) -> Result<Response> {
    let now = shared.now();
    let state = shared.state();
    let row = |s: &SimSymbol| {
        let p = fixed(s.price, price_dp(s));
        let (volume, quote, count) = state.volume_24h(Market::Futures, &s.symbol, now);
        json!({
            "symbol": s.symbol, "priceChange": fixed(Decimal::ZERO, price_dp(s)),
            "priceChangePercent": "0.000", "weightedAvgPrice": p, "lastPrice": p,
            "lastQty": fixed(Decimal::ZERO, qty_dp(s)), "openPrice": p, "highPrice": p,
            "lowPrice": p, "volume": fixed(volume, qty_dp(s)), "quoteVolume": fixed(quote, 8),
            "openTime": now - 86_400_000, "closeTime": now, "firstId": 0, "lastId": count,
            "count": count,
        })
    };
    Ok(match Params::from_uri(&uri).get("symbol") {
        Some(name) => Json(row(&listed(&state, name)?)),
        None => Json(Value::Array(all_symbols(&state).iter().map(row).collect())),
    }
    .into_response())
}
