//! `POST /order`: payload parsing, EIP-712 signer recovery against the right
//! exchange, maker/signer/owner consistency, tick/size checks, then placement
//! under the fault harness.

use alloy_primitives::{Address, B256, U256};
use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::reply::{self, ApiError, Result};
use crate::routes::S;
use crate::sign::{self, OrderV1, OrderV2};
use crate::state::{ApiKey, NewOrder, OrderType};
use crate::{PolymarketFault, Shared, Side, TradingMode, auth, market};

fn invalid() -> ApiError {
    ApiError::bad_request(reply::INVALID_PAYLOAD)
}

fn uint(v: Option<&Value>) -> Result<U256> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(U256::from).ok_or_else(invalid),
        Some(Value::String(s)) => s.parse::<U256>().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

fn addr(v: Option<&Value>) -> Result<Address> {
    v.and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)
}

fn b256(v: Option<&Value>) -> Result<B256> {
    v.and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)
}

/// 10^6-scaled integer amount as a decimal.
fn amount(u: U256) -> Result<Decimal> {
    let n: i64 = u.try_into().map_err(|_| invalid())?;
    if n <= 0 {
        return Err(invalid());
    }
    Ok(Decimal::new(n, 6).normalize())
}

/// The fields both order versions share, read off the JSON.
struct Common {
    maker: Address,
    signer: Address,
    token: U256,
    maker_amount: U256,
    taker_amount: U256,
    side: Side,
    signature_type: u8,
    expiration: U256,
    signature: String,
}

fn common(o: &Map<String, Value>) -> Result<Common> {
    let side = match o.get("side") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("BUY") => Side::Buy,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("SELL") => Side::Sell,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Side::Buy,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Side::Sell,
        _ => return Err(invalid()),
    };
    let signature_type = match o.get("signatureType") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|t| *t <= 3)
    .ok_or_else(invalid)? as u8;
    Ok(Common {
        maker: addr(o.get("maker"))?,
        signer: addr(o.get("signer"))?,
        token: uint(o.get("tokenId"))?,
        maker_amount: uint(o.get("makerAmount"))?,
        taker_amount: uint(o.get("takerAmount"))?,
        side,
        signature_type,
        expiration: match o.get("expiration") {
            None => U256::ZERO,
            v => uint(v)?,
        },
        signature: o
            .get("signature")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?
            .to_string(),
    })
}

/// Validate a `POST /order` body from `key` into an order ready to place.
pub fn parse(
    shared: &Shared,
    key: &ApiKey,
    v: &Value,
    now_ms: i64,
    arrived: std::time::Instant,
) -> Result<NewOrder> {
    let cfg = &shared.config;
    let o = v
        .get("order")
        .and_then(Value::as_object)
        .ok_or_else(invalid)?;
    let is_v1 = ["taker", "nonce", "feeRateBps"]
        .iter()
        .any(|f| o.contains_key(*f));
    let is_v2 = ["timestamp", "metadata", "builder"]
        .iter()
        .any(|f| o.contains_key(*f));
    let version: u8 = match (is_v1, is_v2) {
        (true, false) => 1,
        (false, true) => 2,
        _ => return Err(invalid()),
    };
    if u32::from(version) != cfg.version {
        return Err(ApiError::bad_request(reply::VERSION_MISMATCH));
    }
    let owner = v.get("owner").and_then(Value::as_str).ok_or_else(invalid)?;
    let order_type = match v.get("orderType") {
        None => OrderType::Gtc,
        Some(t) => t.as_str().and_then(OrderType::parse).ok_or_else(invalid)?,
    };
    let post_only = v.get("postOnly").and_then(Value::as_bool).unwrap_or(false);
    let c = common(o)?;
    let salt = uint(o.get("salt"))?;
    let (m, t) = market::by_token(cfg, &c.token.to_string())
        .ok_or_else(|| ApiError::bad_request("market not found"))?;
    let ex = &cfg.exchanges;
    let hash = if version == 2 {
        let order = OrderV2 {
            salt,
            maker: c.maker,
            signer: c.signer,
            tokenId: c.token,
            makerAmount: c.maker_amount,
            takerAmount: c.taker_amount,
            side: c.side as u8,
            signatureType: c.signature_type,
            timestamp: uint(o.get("timestamp"))?,
            metadata: b256(o.get("metadata"))?,
            builder: b256(o.get("builder"))?,
        };
        sign::order_v2_hash(
            &order,
            cfg.chain_id,
            if m.neg_risk { ex.v2_neg_risk } else { ex.v2 },
        )
    } else {
        let order = OrderV1 {
            salt,
            maker: c.maker,
            signer: c.signer,
            taker: addr(o.get("taker"))?,
            tokenId: c.token,
            makerAmount: c.maker_amount,
            takerAmount: c.taker_amount,
            expiration: c.expiration,
            nonce: uint(o.get("nonce"))?,
            feeRateBps: uint(o.get("feeRateBps"))?,
            side: c.side as u8,
            signatureType: c.signature_type,
        };
        sign::order_v1_hash(
            &order,
            cfg.chain_id,
            if m.neg_risk { ex.v1_neg_risk } else { ex.v1 },
        )
    };
    if owner != key.key {
        return Err(ApiError::bad_request(
            "the order owner has to be the owner of the API KEY",
        ));
    }
    if c.signer != key.address {
        return Err(ApiError::bad_request(
            "the order signer address has to be the address of the API KEY",
        ));
    }
    if c.signature_type == 3 {
        return Err(ApiError::bad_request(
            "signature type POLY_1271 is not supported by the simulator",
        ));
    }
    if sign::recover(hash, &c.signature) != Some(c.signer) {
        return Err(ApiError::bad_request("invalid signature"));
    }
    let maker_ok = match c.signature_type {
        0 => c.maker == c.signer,
        _ => shared.state().funders.get(&c.signer) == Some(&c.maker),
    };
    if !maker_ok {
        return Err(ApiError::bad_request(
            "invalid maker: EOA orders need maker == signer; proxy and Safe orders need the signer's registered funder",
        ));
    }
    let (maker_amount, taker_amount) = (amount(c.maker_amount)?, amount(c.taker_amount)?);
    let (price, size) = match c.side {
        Side::Buy => (maker_amount / taker_amount, taker_amount),
        Side::Sell => (taker_amount / maker_amount, maker_amount),
    };
    let tick = m.tick_size;
    if price < tick || price > Decimal::ONE - tick {
        return Err(ApiError::bad_request(format!(
            "invalid price ({}), min: {} - max: {}",
            price.round_dp(6).normalize(),
            tick.normalize(),
            (Decimal::ONE - tick).normalize()
        )));
    }
    if order_type.rests() {
        if !(price % tick).is_zero() {
            return Err(ApiError::bad_request(format!(
                "breaks minimum tick size rule: {}",
                tick.normalize()
            )));
        }
        if size < m.min_order_size {
            return Err(ApiError::bad_request(format!(
                "Size ({size}) lower than the minimum: {}",
                m.min_order_size.normalize()
            )));
        }
    }
    let expiration: u64 = c.expiration.try_into().map_err(|_| invalid())?;
    let now_s = (now_ms / 1000).max(0) as u64;
    match order_type {
        OrderType::Gtd if expiration <= now_s => {
            return Err(ApiError::bad_request("invalid expiration value"));
        }
        OrderType::Gtd => {}
        _ if version == 2 && expiration != 0 => {
            return Err(ApiError::bad_request("invalid expiration value"));
        }
        _ => {}
    }
    Ok(NewOrder {
        id: hash.to_string(),
        owner: owner.to_string(),
        maker: c.maker,
        signer: c.signer,
        signature_type: c.signature_type,
        version,
        market: m.clone(),
        token_id: t.token_id.clone(),
        outcome: t.outcome.clone(),
        side: c.side,
        price,
        size,
        maker_amount,
        order_type,
        post_only,
        arrived,
        expiration: if order_type == OrderType::Gtd {
            expiration
        } else {
            0
        },
    })
}

/// Most orders one `POST /orders` takes.
const MAX_BATCH: usize = 15;

fn place(shared: &Shared, order: NewOrder, delayed: bool) -> Result<Value> {
    let now = shared.now_ms();
    let id = order.id.clone();
    let p = shared.state().place(order, delayed, now)?;
    Ok(json!({
        "success": true,
        "errorMsg": "",
        "orderID": id,
        "status": p.status,
        "makingAmount": p.making.normalize().to_string(),
        "takingAmount": p.taking.normalize().to_string(),
        "transactionsHashes": p.tx_hashes,
        "orderHashes": p.tx_hashes,
        "tradeIDs": p.trade_ids,
    }))
}

/// A refused order inside a batch answer.
fn refused(e: ApiError) -> Value {
    json!({
        "success": false, "errorMsg": e.message, "orderID": "", "status": "unmatched",
        "makingAmount": "", "takingAmount": "",
    })
}

/// One order: its answer or its error; a batch: an array of answers.
fn place_all(shared: &Shared, orders: &[Result<NewOrder>], batch: bool, delayed: bool) -> Response {
    let mut answers = orders
        .iter()
        .map(|o| o.clone().and_then(|o| place(shared, o, delayed)));
    if batch {
        Json(
            answers
                .map(|a| a.unwrap_or_else(refused))
                .collect::<Vec<_>>(),
        )
        .into_response()
    } else {
        match answers.next() {
            Some(Ok(v)) => Json(v).into_response(),
            Some(Err(e)) => e.into_response(),
            None => invalid().into_response(),
        }
    }
}

struct OrderVenue<'a> {
    shared: &'a Shared,
    orders: &'a [Result<NewOrder>],
    batch: bool,
}

impl atomik_simkit::Venue<PolymarketFault> for OrderVenue<'_> {
    fn venue_fault(&self, fault: &PolymarketFault) -> Response {
        match fault {
            PolymarketFault::TradingDisabled => {
                ApiError::unavailable(reply::TRADING_DISABLED).into_response()
            }
            PolymarketFault::CancelOnly => {
                ApiError::unavailable(reply::CANCEL_ONLY).into_response()
            }
            PolymarketFault::Delayed => place_all(self.shared, self.orders, self.batch, true),
        }
    }

    fn server_error(&self, _executed: bool) -> Response {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
    }

    fn rate_limited(&self, _retry_after_secs: u64) -> Response {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, reply::TOO_MANY).into_response()
    }
}

/// `POST /order` (one order object) and `POST /orders` (an array of them).
async fn post(s: S, method: Method, uri: Uri, h: HeaderMap, body: Bytes, batch: bool) -> Response {
    let arrived = std::time::Instant::now();
    let shared = &s.0;
    let key = match auth::l2(shared, &method, &uri, &h, &body) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    match shared.mode() {
        TradingMode::Open => {}
        TradingMode::CancelOnly => {
            return ApiError::unavailable(reply::CANCEL_ONLY).into_response();
        }
        TradingMode::Disabled => {
            return ApiError::unavailable(reply::TRADING_DISABLED).into_response();
        }
    }
    let items = match (serde_json::from_slice::<Value>(&body), batch) {
        (Ok(Value::Array(items)), true) if !items.is_empty() && items.len() <= MAX_BATCH => items,
        (Ok(Value::Array(_)), true) => {
            return ApiError::bad_request(format!(
                "{} (1 to {MAX_BATCH} orders)",
                reply::INVALID_PAYLOAD
            ))
            .into_response();
        }
        (Ok(v), false) => vec![v],
        _ => return invalid().into_response(),
    };
    let now = shared.now_ms();
    let orders: Vec<Result<NewOrder>> = items
        .iter()
        .map(|v| parse(shared, &key, v, now, arrived))
        .collect();
    if !batch && let Some(Err(e)) = orders.first() {
        return e.clone().into_response();
    }
    let venue = OrderVenue {
        shared,
        orders: &orders,
        batch,
    };
    atomik_simkit::with_faults(&shared.faults, &venue, || {
        place_all(shared, &orders, batch, false)
    })
    .await
}

pub async fn post_order(s: S, method: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    post(s, method, uri, h, body, false).await
}

pub async fn post_orders(s: S, method: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    post(s, method, uri, h, body, true).await
}
