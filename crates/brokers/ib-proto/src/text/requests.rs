//! Client → server messages other than PlaceOrder's body.

use super::fields::{UNSET_INT, Walk};
use super::{contract, orders};
use crate::ids::out;
use crate::{Contract, ExecutionFilter, Order, Request};

const MANUAL_ORDER_TIME: i32 = 169;
const BOND_ISSUERID: i32 = 176;
const RFQ_FIELDS: i32 = 187;
const UNDO_RFQ_FIELDS: i32 = 190;
const CME_TAGGING_FIELDS: i32 = 192;
const PARAMETRIZED_DAYS_OF_EXECUTIONS: i32 = 200;

pub fn id(req: &Request) -> i32 {
    match req {
        Request::StartApi { .. } => out::START_API,
        Request::PlaceOrder { .. } => out::PLACE_ORDER,
        Request::CancelOrder { .. } => out::CANCEL_ORDER,
        Request::ReqOpenOrders => out::REQ_OPEN_ORDERS,
        Request::ReqAllOpenOrders => out::REQ_ALL_OPEN_ORDERS,
        Request::ReqAutoOpenOrders { .. } => out::REQ_AUTO_OPEN_ORDERS,
        Request::ReqCompletedOrders { .. } => out::REQ_COMPLETED_ORDERS,
        Request::ReqExecutions { .. } => out::REQ_EXECUTIONS,
        Request::ReqIds { .. } => out::REQ_IDS,
        Request::ReqContractData { .. } => out::REQ_CONTRACT_DATA,
        Request::ReqManagedAccounts => out::REQ_MANAGED_ACCTS,
        Request::ReqCurrentTime => out::REQ_CURRENT_TIME,
        Request::ReqGlobalCancel => out::REQ_GLOBAL_CANCEL,
        Request::ReqMarketDataType { .. } => out::REQ_MARKET_DATA_TYPE,
        Request::ReqPositions => out::REQ_POSITIONS,
        Request::CancelPositions => out::CANCEL_POSITIONS,
        Request::ReqAccountUpdates { .. } => out::REQ_ACCOUNT_DATA,
        Request::ReqAccountSummary { .. } => out::REQ_ACCOUNT_SUMMARY,
        Request::CancelAccountSummary { .. } => out::CANCEL_ACCOUNT_SUMMARY,
        Request::ReqAccountUpdatesMulti { .. } => out::REQ_ACCOUNT_UPDATES_MULTI,
        Request::CancelAccountUpdatesMulti { .. } => out::CANCEL_ACCOUNT_UPDATES_MULTI,
        Request::Other { id } => *id,
    }
}

/// The request a message id carries, with empty fields; `Other` for ids
/// this codec does not read.
pub fn blank(id: i32) -> Request {
    match id {
        out::START_API => Request::StartApi {
            client_id: 0,
            optional_capabilities: String::new(),
        },
        out::PLACE_ORDER => Request::PlaceOrder {
            order_id: 0,
            contract: Contract::default(),
            order: Order::default(),
        },
        out::CANCEL_ORDER => Request::CancelOrder { order_id: 0 },
        out::REQ_OPEN_ORDERS => Request::ReqOpenOrders,
        out::REQ_ALL_OPEN_ORDERS => Request::ReqAllOpenOrders,
        out::REQ_AUTO_OPEN_ORDERS => Request::ReqAutoOpenOrders { auto_bind: false },
        out::REQ_COMPLETED_ORDERS => Request::ReqCompletedOrders { api_only: false },
        out::REQ_EXECUTIONS => Request::ReqExecutions {
            req_id: 0,
            filter: ExecutionFilter::default(),
        },
        out::REQ_IDS => Request::ReqIds { num_ids: 0 },
        out::REQ_CONTRACT_DATA => Request::ReqContractData {
            req_id: 0,
            contract: Contract::default(),
        },
        out::REQ_MANAGED_ACCTS => Request::ReqManagedAccounts,
        out::REQ_CURRENT_TIME => Request::ReqCurrentTime,
        out::REQ_GLOBAL_CANCEL => Request::ReqGlobalCancel,
        out::REQ_MARKET_DATA_TYPE => Request::ReqMarketDataType {
            market_data_type: 0,
        },
        out::REQ_POSITIONS => Request::ReqPositions,
        out::CANCEL_POSITIONS => Request::CancelPositions,
        out::REQ_ACCOUNT_DATA => Request::ReqAccountUpdates {
            subscribe: false,
            account: String::new(),
        },
        out::REQ_ACCOUNT_SUMMARY => Request::ReqAccountSummary {
            req_id: 0,
            group: String::new(),
            tags: String::new(),
        },
        out::CANCEL_ACCOUNT_SUMMARY => Request::CancelAccountSummary { req_id: 0 },
        out::REQ_ACCOUNT_UPDATES_MULTI => Request::ReqAccountUpdatesMulti {
            req_id: 0,
            account: String::new(),
            model_code: String::new(),
            ledger_and_nlv: false,
        },
        out::CANCEL_ACCOUNT_UPDATES_MULTI => Request::CancelAccountUpdatesMulti { req_id: 0 },
        id => Request::Other { id },
    }
}

/// Every field after the message id, at server version `v`. The message
/// version fields are the constants IB's client sends.
pub fn walk(w: &mut impl Walk, req: &mut Request, v: i32) {
    match req {
        Request::StartApi {
            client_id,
            optional_capabilities,
        } => {
            w.skip("2");
            w.int(client_id);
            w.str(optional_capabilities);
        }
        Request::PlaceOrder {
            order_id,
            contract,
            order,
        } => {
            orders::place_order(w, order_id, contract, order, v);
            if w.decoding() {
                order.order_id = *order_id;
            }
        }
        Request::CancelOrder { order_id } => {
            if v < CME_TAGGING_FIELDS {
                w.skip("1");
            }
            w.int(order_id);
            if v >= MANUAL_ORDER_TIME {
                w.skip(""); // manualOrderCancelTime
            }
            if (RFQ_FIELDS..UNDO_RFQ_FIELDS).contains(&v) {
                w.skips(&["", "", UNSET_INT]);
            }
            if v >= CME_TAGGING_FIELDS {
                w.skips(&["", UNSET_INT]); // extOperator, manualOrderIndicator
            }
        }
        Request::ReqGlobalCancel => {
            if v < CME_TAGGING_FIELDS {
                w.skip("1");
            } else {
                w.skips(&["", UNSET_INT]); // extOperator, manualOrderIndicator
            }
        }
        Request::ReqOpenOrders
        | Request::ReqAllOpenOrders
        | Request::ReqManagedAccounts
        | Request::ReqCurrentTime
        | Request::ReqPositions
        | Request::CancelPositions => {
            w.skip("1");
        }
        Request::ReqAutoOpenOrders { auto_bind } => {
            w.skip("1");
            w.bool(auto_bind);
        }
        Request::ReqCompletedOrders { api_only } => w.bool(api_only),
        Request::ReqExecutions { req_id, filter } => {
            w.skip("3");
            w.int(req_id);
            w.int_opt(&mut filter.client_id);
            w.str(&mut filter.account);
            w.str(&mut filter.time);
            w.str(&mut filter.symbol);
            w.str(&mut filter.sec_type);
            w.str(&mut filter.exchange);
            w.str(&mut filter.side);
            if v >= PARAMETRIZED_DAYS_OF_EXECUTIONS {
                w.skip(UNSET_INT); // lastNDays
                w.list(1); // specificDates
            }
        }
        Request::ReqIds { num_ids } => {
            w.skip("1");
            w.int(num_ids);
        }
        Request::ReqContractData { req_id, contract } => {
            w.skip("8");
            w.int(req_id);
            contract::request(w, contract);
            w.bool(&mut contract.include_expired);
            w.skips(&["", ""]); // secIdType, secId
            if v >= BOND_ISSUERID {
                w.skip(""); // issuerId
            }
        }
        Request::ReqMarketDataType { market_data_type } => {
            w.skip("1");
            w.int(market_data_type);
        }
        Request::ReqAccountUpdates { subscribe, account } => {
            w.skip("2");
            w.bool(subscribe);
            w.str(account);
        }
        Request::ReqAccountSummary {
            req_id,
            group,
            tags,
        } => {
            w.skip("1");
            w.int(req_id);
            w.str(group);
            w.str(tags);
        }
        Request::CancelAccountSummary { req_id }
        | Request::CancelAccountUpdatesMulti { req_id } => {
            w.skip("1");
            w.int(req_id);
        }
        // The same fields at every text version from MODELS_SUPPORT (103).
        Request::ReqAccountUpdatesMulti {
            req_id,
            account,
            model_code,
            ledger_and_nlv,
        } => {
            w.skip("1");
            w.int(req_id);
            w.str(account);
            w.str(model_code);
            w.bool(ledger_and_nlv);
        }
        Request::Other { .. } => {}
    }
}
