//! Server → client messages other than the OpenOrder / CompletedOrder bodies.

use super::fields::{UNSET_DOUBLE, Walk};
use super::{contract, orders};
use crate::ids::inc;
use crate::{Contract, ContractDetails, Event, Execution, Order, OrderState};

const SIZE_RULES: i32 = 164;
const ADVANCED_ORDER_REJECT: i32 = 166;
const FRACTIONAL_SIZE_SUPPORT: i32 = 163;
const PENDING_PRICE_REVISION: i32 = 178;
const FUND_DATA_FIELDS: i32 = 179;
const LAST_TRADE_DATE: i32 = 182;
const INELIGIBILITY_REASONS: i32 = 186;
const ERROR_TIME: i32 = 194;
const SUBMITTER: i32 = 198;

pub fn id(event: &Event) -> i32 {
    match event {
        Event::NextValidId { .. } => inc::NEXT_VALID_ID,
        Event::ManagedAccounts { .. } => inc::MANAGED_ACCTS,
        Event::Error { .. } => inc::ERR_MSG,
        Event::OrderStatus { .. } => inc::ORDER_STATUS,
        Event::OpenOrder { .. } => inc::OPEN_ORDER,
        Event::OpenOrderEnd => inc::OPEN_ORDER_END,
        Event::CompletedOrder { .. } => inc::COMPLETED_ORDER,
        Event::CompletedOrdersEnd => inc::COMPLETED_ORDERS_END,
        Event::ExecDetails { .. } => inc::EXECUTION_DATA,
        Event::ExecDetailsEnd { .. } => inc::EXECUTION_DATA_END,
        Event::CommissionReport { .. } => inc::COMMISSION_REPORT,
        Event::Position { .. } => inc::POSITION_DATA,
        Event::PositionEnd => inc::POSITION_END,
        Event::ContractData { .. } => inc::CONTRACT_DATA,
        Event::ContractDataEnd { .. } => inc::CONTRACT_DATA_END,
        Event::AccountValue { .. } => inc::ACCT_VALUE,
        Event::PortfolioValue { .. } => inc::PORTFOLIO_VALUE,
        Event::AccountUpdateTime { .. } => inc::ACCT_UPDATE_TIME,
        Event::AccountDownloadEnd { .. } => inc::ACCT_DOWNLOAD_END,
        Event::AccountSummary { .. } => inc::ACCOUNT_SUMMARY,
        Event::AccountSummaryEnd { .. } => inc::ACCOUNT_SUMMARY_END,
        Event::AccountUpdateMulti { .. } => inc::ACCOUNT_UPDATE_MULTI,
        Event::AccountUpdateMultiEnd { .. } => inc::ACCOUNT_UPDATE_MULTI_END,
        Event::CurrentTime { .. } => inc::CURRENT_TIME,
        Event::Other { id } => *id,
    }
}

/// The event a message id carries, with empty fields; `Other` for ids
/// this codec does not read.
pub fn blank(id: i32) -> Event {
    let s = String::new;
    match id {
        inc::NEXT_VALID_ID => Event::NextValidId { order_id: 0 },
        inc::MANAGED_ACCTS => Event::ManagedAccounts { accounts: vec![] },
        inc::ERR_MSG => Event::Error {
            id: 0,
            time_ms: 0,
            code: 0,
            message: s(),
            advanced_order_reject_json: s(),
        },
        inc::ORDER_STATUS => Event::OrderStatus {
            order_id: 0,
            status: s(),
            filled: Default::default(),
            remaining: Default::default(),
            avg_fill_price: 0.0,
            perm_id: 0,
            parent_id: 0,
            last_fill_price: 0.0,
            client_id: 0,
            why_held: s(),
            mkt_cap_price: 0.0,
        },
        inc::OPEN_ORDER => Event::OpenOrder {
            order_id: 0,
            contract: Contract::default(),
            order: Order::default(),
            state: OrderState::default(),
        },
        inc::OPEN_ORDER_END => Event::OpenOrderEnd,
        inc::COMPLETED_ORDER => Event::CompletedOrder {
            contract: Contract::default(),
            order: Order::default(),
            state: OrderState::default(),
        },
        inc::COMPLETED_ORDERS_END => Event::CompletedOrdersEnd,
        inc::EXECUTION_DATA => Event::ExecDetails {
            req_id: 0,
            contract: Contract::default(),
            execution: Execution::default(),
        },
        inc::EXECUTION_DATA_END => Event::ExecDetailsEnd { req_id: 0 },
        inc::COMMISSION_REPORT => Event::CommissionReport {
            exec_id: s(),
            commission: 0.0,
            currency: s(),
            realized_pnl: None,
        },
        inc::POSITION_DATA => Event::Position {
            account: s(),
            contract: Contract::default(),
            position: Default::default(),
            avg_cost: 0.0,
        },
        inc::POSITION_END => Event::PositionEnd,
        inc::CONTRACT_DATA => Event::ContractData {
            req_id: 0,
            details: ContractDetails::default(),
        },
        inc::CONTRACT_DATA_END => Event::ContractDataEnd { req_id: 0 },
        inc::ACCT_VALUE => Event::AccountValue {
            key: s(),
            value: s(),
            currency: s(),
            account: s(),
        },
        inc::PORTFOLIO_VALUE => Event::PortfolioValue {
            contract: Contract::default(),
            position: Default::default(),
            market_price: 0.0,
            market_value: 0.0,
            average_cost: 0.0,
            unrealized_pnl: 0.0,
            realized_pnl: 0.0,
            account: s(),
        },
        inc::ACCT_UPDATE_TIME => Event::AccountUpdateTime { time: s() },
        inc::ACCT_DOWNLOAD_END => Event::AccountDownloadEnd { account: s() },
        inc::ACCOUNT_SUMMARY => Event::AccountSummary {
            req_id: 0,
            account: s(),
            tag: s(),
            value: s(),
            currency: s(),
        },
        inc::ACCOUNT_SUMMARY_END => Event::AccountSummaryEnd { req_id: 0 },
        inc::ACCOUNT_UPDATE_MULTI => Event::AccountUpdateMulti {
            req_id: 0,
            account: s(),
            model_code: s(),
            key: s(),
            value: s(),
            currency: s(),
        },
        inc::ACCOUNT_UPDATE_MULTI_END => Event::AccountUpdateMultiEnd { req_id: 0 },
        inc::CURRENT_TIME => Event::CurrentTime { time: 0 },
        id => Event::Other { id },
    }
}

/// Every field after the message id, at server version `v`.
pub fn walk(w: &mut impl Walk, event: &mut Event, v: i32) {
    match event {
        Event::NextValidId { order_id } => {
            w.skip("1");
            w.int(order_id);
        }
        Event::ManagedAccounts { accounts } => {
            w.skip("1");
            let mut list = accounts.join(",");
            w.str(&mut list);
            *accounts = list
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect();
        }
        Event::Error {
            id,
            time_ms,
            code,
            message,
            advanced_order_reject_json,
        } => {
            if v < ERROR_TIME {
                w.skip("2");
            }
            w.int(id);
            w.int(code);
            w.text(message);
            if v >= ADVANCED_ORDER_REJECT {
                w.text(advanced_order_reject_json);
            }
            if v >= ERROR_TIME {
                w.long(time_ms);
            }
        }
        Event::OrderStatus {
            order_id,
            status,
            filled,
            remaining,
            avg_fill_price,
            perm_id,
            parent_id,
            last_fill_price,
            client_id,
            why_held,
            mkt_cap_price,
        } => {
            // No version field from MARKET_CAP_PRICE (131) on.
            w.int(order_id);
            w.str(status);
            w.dec(filled);
            w.dec(remaining);
            w.f64(avg_fill_price);
            w.long(perm_id);
            w.int(parent_id);
            w.f64(last_fill_price);
            w.int(client_id);
            w.str(why_held);
            w.f64(mkt_cap_price);
        }
        Event::OpenOrder {
            order_id,
            contract,
            order,
            state,
        } => {
            orders::open_order(w, order_id, contract, order, state, v);
            if w.decoding() {
                order.order_id = *order_id;
            }
        }
        Event::CompletedOrder {
            contract,
            order,
            state,
        } => orders::completed_order(w, contract, order, state, v),
        Event::CompletedOrdersEnd => {}
        Event::OpenOrderEnd | Event::PositionEnd => {
            w.skip("1");
        }
        Event::ExecDetails {
            req_id,
            contract,
            execution,
        } => exec_details(w, req_id, contract, execution, v),
        Event::ExecDetailsEnd { req_id }
        | Event::ContractDataEnd { req_id }
        | Event::AccountSummaryEnd { req_id }
        | Event::AccountUpdateMultiEnd { req_id } => {
            w.skip("1");
            w.int(req_id);
        }
        Event::CommissionReport {
            exec_id,
            commission,
            currency,
            realized_pnl,
        } => {
            w.skip("1");
            w.str(exec_id);
            w.f64(commission);
            w.str(currency);
            if w.decoding() {
                w.f64_opt(realized_pnl);
            } else {
                // IB sends the sentinel for "no realized P&L yet".
                match realized_pnl {
                    Some(_) => w.f64_opt(realized_pnl),
                    None => {
                        w.skip(UNSET_DOUBLE);
                    }
                }
            }
            w.skips(&[UNSET_DOUBLE, ""]); // yield, yieldRedemptionDate
        }
        Event::Position {
            account,
            contract,
            position,
            avg_cost,
        } => {
            w.skip("3");
            w.str(account);
            contract::reported(w, contract);
            w.dec(position);
            w.f64(avg_cost);
        }
        Event::ContractData { req_id, details } => contract_data(w, req_id, details, v),
        Event::AccountValue {
            key,
            value,
            currency,
            account,
        } => {
            w.skip("2");
            w.str(key);
            w.str(value);
            w.str(currency);
            w.str(account);
        }
        Event::PortfolioValue {
            contract,
            position,
            market_price,
            market_value,
            average_cost,
            unrealized_pnl,
            realized_pnl,
            account,
        } => {
            w.skip("8");
            contract::portfolio(w, contract);
            w.dec(position);
            w.f64(market_price);
            w.f64(market_value);
            w.f64(average_cost);
            w.f64(unrealized_pnl);
            w.f64(realized_pnl);
            w.str(account);
        }
        Event::AccountUpdateTime { time } => {
            w.skip("1");
            w.str(time);
        }
        Event::AccountDownloadEnd { account } => {
            w.skip("1");
            w.str(account);
        }
        Event::AccountSummary {
            req_id,
            account,
            tag,
            value,
            currency,
        } => {
            w.skip("1");
            w.int(req_id);
            w.str(account);
            w.str(tag);
            w.str(value);
            w.str(currency);
        }
        Event::AccountUpdateMulti {
            req_id,
            account,
            model_code,
            key,
            value,
            currency,
        } => {
            w.skip("1");
            w.int(req_id);
            w.str(account);
            w.str(model_code);
            w.str(key);
            w.str(value);
            w.str(currency);
        }
        Event::CurrentTime { time } => {
            w.skip("1");
            w.long(time);
        }
        Event::Other { .. } => {}
    }
}

/// ExecDetails: no version field from LAST_LIQUIDITY (136) on.
fn exec_details(w: &mut impl Walk, req_id: &mut i32, c: &mut Contract, e: &mut Execution, v: i32) {
    w.int(req_id);
    w.int(&mut e.order_id);
    contract::reported(w, c);
    w.str(&mut e.exec_id);
    w.str(&mut e.time);
    w.str(&mut e.account);
    w.str(&mut e.exchange);
    w.str(&mut e.side);
    w.dec(&mut e.shares);
    w.f64(&mut e.price);
    w.long(&mut e.perm_id);
    w.int(&mut e.client_id);
    w.int(&mut e.liquidation);
    w.dec(&mut e.cum_qty);
    w.f64(&mut e.avg_price);
    w.str(&mut e.order_ref);
    // evRule, evMultiplier, modelCode, lastLiquidity
    w.skips(&["", "", "", "0"]);
    if v >= PENDING_PRICE_REVISION {
        w.skip("0");
    }
    if v >= SUBMITTER {
        w.skip("");
    }
}

fn contract_data(w: &mut impl Walk, req_id: &mut i32, d: &mut ContractDetails, v: i32) {
    if v < SIZE_RULES {
        w.skip("8");
    }
    w.int(req_id);
    let c = &mut d.contract;
    w.str(&mut c.symbol);
    w.str(&mut c.sec_type);
    // `date [time [zone]]`: atomik keeps the date.
    w.str(&mut c.last_trade_date_or_contract_month);
    if w.decoding() {
        let date = c
            .last_trade_date_or_contract_month
            .split_whitespace()
            .next();
        c.last_trade_date_or_contract_month = date.unwrap_or_default().to_string();
    }
    if v >= LAST_TRADE_DATE {
        w.skip(""); // lastTradeDate
    }
    contract::strike(w, &mut c.strike);
    w.str(&mut c.right);
    w.str(&mut c.exchange);
    w.str(&mut c.currency);
    w.str(&mut c.local_symbol);
    w.str(&mut d.market_name);
    w.str(&mut c.trading_class);
    w.int(&mut c.con_id);
    w.f64(&mut d.min_tick);
    if v < SIZE_RULES {
        w.skip(""); // mdSizeMultiplier
    }
    w.str(&mut c.multiplier);
    w.str(&mut d.order_types);
    w.str(&mut d.valid_exchanges);
    w.skip("1"); // priceMagnifier
    w.int(&mut d.under_con_id);
    w.text(&mut d.long_name);
    w.str(&mut c.primary_exchange);
    w.str(&mut d.contract_month);
    w.skips(&["", "", ""]); // industry, category, subcategory
    w.str(&mut d.time_zone_id);
    w.str(&mut d.trading_hours);
    w.str(&mut d.liquid_hours);
    w.skips(&["", ""]); // evRule, evMultiplier
    w.list(2); // secIdList
    // aggGroup, underSymbol, underSecType, marketRuleIds,
    // realExpirationDate, stockType
    w.skips(&["", "", "", "", "", ""]);
    if (FRACTIONAL_SIZE_SUPPORT..SIZE_RULES).contains(&v) {
        w.skip(""); // sizeMinTick
    }
    if v >= SIZE_RULES {
        w.dec_opt(&mut d.min_size);
        w.dec_opt(&mut d.size_increment);
        w.skip(""); // suggestedSizeIncrement
    }
    if v >= FUND_DATA_FIELDS && d.contract.sec_type == "FUND" {
        // fund name … asset type: 7 strings, 3 flags, 7 strings
        w.skips(&["", "", "", "", "", "", "", "0", "0", "0"]);
        w.skips(&["", "", "", "", "", "", ""]);
    }
    if v >= INELIGIBILITY_REASONS {
        w.list(2);
    }
}
