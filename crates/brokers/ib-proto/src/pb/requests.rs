//! Client → server messages as protobuf, the form ibapi 5.5 (and IB's own
//! clients) send from server version 213: every request atomik uses is
//! protobuf, under the id + 200.

use prost::Message;

use super::convert::{
    Writer, contract_from_pb, contract_to_pb, int, opt_int, opt_str, order_from_pb, order_to_pb, s,
    some_true,
};
use super::types as pb;
use crate::ids::out;
use crate::{DecodeError, ExecutionFilter, Request};

/// The base message id and protobuf body of a request.
pub fn encode(req: &Request) -> (i32, Vec<u8>) {
    match req {
        Request::StartApi {
            client_id,
            optional_capabilities,
        } => (
            out::START_API,
            pb::StartApiRequest {
                client_id: Some(*client_id),
                optional_capabilities: opt_str(optional_capabilities),
            }
            .encode_to_vec(),
        ),
        Request::PlaceOrder {
            order_id,
            contract,
            order,
        } => (
            out::PLACE_ORDER,
            pb::PlaceOrderRequest {
                order_id: Some(*order_id),
                contract: Some(contract_to_pb(contract)),
                order: Some(order_to_pb(order, Writer::Client)),
            }
            .encode_to_vec(),
        ),
        Request::CancelOrder { order_id } => (
            out::CANCEL_ORDER,
            pb::CancelOrderRequest {
                order_id: Some(*order_id),
                order_cancel: Some(pb::OrderCancel::default()),
            }
            .encode_to_vec(),
        ),
        Request::ReqOpenOrders => (out::REQ_OPEN_ORDERS, Vec::new()),
        Request::ReqAllOpenOrders => (out::REQ_ALL_OPEN_ORDERS, Vec::new()),
        Request::ReqAutoOpenOrders { auto_bind } => (
            out::REQ_AUTO_OPEN_ORDERS,
            pb::AutoOpenOrdersRequest {
                auto_bind: some_true(*auto_bind),
            }
            .encode_to_vec(),
        ),
        Request::ReqCompletedOrders { api_only } => (
            out::REQ_COMPLETED_ORDERS,
            pb::CompletedOrdersRequest {
                api_only: some_true(*api_only),
            }
            .encode_to_vec(),
        ),
        Request::ReqExecutions { req_id, filter } => (
            out::REQ_EXECUTIONS,
            pb::ExecutionRequest {
                req_id: Some(*req_id),
                execution_filter: Some(filter_to_pb(filter)),
            }
            .encode_to_vec(),
        ),
        Request::ReqIds { num_ids } => (
            out::REQ_IDS,
            pb::IdsRequest {
                num_ids: Some(*num_ids),
            }
            .encode_to_vec(),
        ),
        Request::ReqContractData { req_id, contract } => (
            out::REQ_CONTRACT_DATA,
            pb::ContractDataRequest {
                req_id: Some(*req_id),
                contract: Some(contract_to_pb(contract)),
            }
            .encode_to_vec(),
        ),
        Request::ReqManagedAccounts => (out::REQ_MANAGED_ACCTS, Vec::new()),
        Request::ReqCurrentTime => (out::REQ_CURRENT_TIME, Vec::new()),
        Request::ReqGlobalCancel => (
            out::REQ_GLOBAL_CANCEL,
            pb::GlobalCancelRequest {
                order_cancel: Some(pb::OrderCancel::default()),
            }
            .encode_to_vec(),
        ),
        Request::ReqMarketDataType { market_data_type } => (
            out::REQ_MARKET_DATA_TYPE,
            pb::MarketDataTypeRequest {
                market_data_type: Some(*market_data_type),
            }
            .encode_to_vec(),
        ),
        Request::ReqPositions => (out::REQ_POSITIONS, Vec::new()),
        Request::CancelPositions => (out::CANCEL_POSITIONS, Vec::new()),
        Request::ReqAccountUpdates { subscribe, account } => (
            out::REQ_ACCOUNT_DATA,
            pb::AccountDataRequest {
                // Explicit, as ibapi's cancel sends it.
                subscribe: Some(*subscribe),
                acct_code: opt_str(account),
            }
            .encode_to_vec(),
        ),
        Request::ReqAccountSummary {
            req_id,
            group,
            tags,
        } => (
            out::REQ_ACCOUNT_SUMMARY,
            pb::AccountSummaryRequest {
                req_id: Some(*req_id),
                group: Some(group.clone()),
                tags: Some(tags.clone()),
            }
            .encode_to_vec(),
        ),
        Request::CancelAccountSummary { req_id } => (
            out::CANCEL_ACCOUNT_SUMMARY,
            pb::ReqId {
                req_id: Some(*req_id),
            }
            .encode_to_vec(),
        ),
        Request::ReqAccountUpdatesMulti {
            req_id,
            account,
            model_code,
            ledger_and_nlv,
        } => (
            out::REQ_ACCOUNT_UPDATES_MULTI,
            pb::AccountUpdatesMultiRequest {
                req_id: Some(*req_id),
                // ibapi leaves an absent account or model out.
                account: opt_str(account),
                model_code: opt_str(model_code),
                // Explicit, as ibapi sends it (always `true`).
                ledger_and_nlv: Some(*ledger_and_nlv),
            }
            .encode_to_vec(),
        ),
        Request::CancelAccountUpdatesMulti { req_id } => (
            out::CANCEL_ACCOUNT_UPDATES_MULTI,
            pb::ReqId {
                req_id: Some(*req_id),
            }
            .encode_to_vec(),
        ),
        Request::Other { id } => (*id, Vec::new()),
    }
}

/// Whether the codec reads this base request id.
pub fn known(id: i32) -> bool {
    matches!(
        id,
        out::PLACE_ORDER
            | out::CANCEL_ORDER
            | out::REQ_OPEN_ORDERS
            | out::REQ_ACCOUNT_DATA
            | out::REQ_EXECUTIONS
            | out::REQ_IDS
            | out::REQ_CONTRACT_DATA
            | out::REQ_AUTO_OPEN_ORDERS
            | out::REQ_ALL_OPEN_ORDERS
            | out::REQ_MANAGED_ACCTS
            | out::REQ_CURRENT_TIME
            | out::REQ_GLOBAL_CANCEL
            | out::REQ_MARKET_DATA_TYPE
            | out::REQ_POSITIONS
            | out::REQ_ACCOUNT_SUMMARY
            | out::CANCEL_ACCOUNT_SUMMARY
            | out::REQ_ACCOUNT_UPDATES_MULTI
            | out::CANCEL_ACCOUNT_UPDATES_MULTI
            | out::CANCEL_POSITIONS
            | out::START_API
            | out::REQ_COMPLETED_ORDERS
    )
}

fn pb_err(e: prost::DecodeError) -> DecodeError {
    DecodeError::Protobuf(e.to_string())
}

/// A protobuf request body under base id `id`.
pub fn decode(id: i32, body: &[u8]) -> Result<Request, DecodeError> {
    Ok(match id {
        out::START_API => {
            let p = pb::StartApiRequest::decode(body).map_err(pb_err)?;
            Request::StartApi {
                client_id: int(p.client_id),
                optional_capabilities: s(&p.optional_capabilities),
            }
        }
        out::PLACE_ORDER => {
            let p = pb::PlaceOrderRequest::decode(body).map_err(pb_err)?;
            let order_id = int(p.order_id);
            Request::PlaceOrder {
                order_id,
                contract: contract_from_pb(&p.contract.unwrap_or_default()),
                order: order_from_pb(&p.order.unwrap_or_default(), order_id, false)?,
            }
        }
        out::CANCEL_ORDER => {
            let p = pb::CancelOrderRequest::decode(body).map_err(pb_err)?;
            Request::CancelOrder {
                order_id: int(p.order_id),
            }
        }
        out::REQ_OPEN_ORDERS => empty(body, Request::ReqOpenOrders)?,
        out::REQ_ALL_OPEN_ORDERS => empty(body, Request::ReqAllOpenOrders)?,
        out::REQ_AUTO_OPEN_ORDERS => {
            let p = pb::AutoOpenOrdersRequest::decode(body).map_err(pb_err)?;
            Request::ReqAutoOpenOrders {
                auto_bind: p.auto_bind.unwrap_or(false),
            }
        }
        out::REQ_COMPLETED_ORDERS => {
            let p = pb::CompletedOrdersRequest::decode(body).map_err(pb_err)?;
            Request::ReqCompletedOrders {
                api_only: p.api_only.unwrap_or(false),
            }
        }
        out::REQ_EXECUTIONS => {
            let p = pb::ExecutionRequest::decode(body).map_err(pb_err)?;
            Request::ReqExecutions {
                req_id: int(p.req_id),
                filter: filter_from_pb(&p.execution_filter.unwrap_or_default()),
            }
        }
        out::REQ_IDS => {
            let p = pb::IdsRequest::decode(body).map_err(pb_err)?;
            Request::ReqIds {
                num_ids: int(p.num_ids),
            }
        }
        out::REQ_CONTRACT_DATA => {
            let p = pb::ContractDataRequest::decode(body).map_err(pb_err)?;
            Request::ReqContractData {
                req_id: int(p.req_id),
                contract: contract_from_pb(&p.contract.unwrap_or_default()),
            }
        }
        out::REQ_MANAGED_ACCTS => empty(body, Request::ReqManagedAccounts)?,
        out::REQ_CURRENT_TIME => empty(body, Request::ReqCurrentTime)?,
        out::REQ_GLOBAL_CANCEL => {
            pb::GlobalCancelRequest::decode(body).map_err(pb_err)?;
            Request::ReqGlobalCancel
        }
        out::REQ_MARKET_DATA_TYPE => {
            let p = pb::MarketDataTypeRequest::decode(body).map_err(pb_err)?;
            Request::ReqMarketDataType {
                market_data_type: int(p.market_data_type),
            }
        }
        out::REQ_POSITIONS => empty(body, Request::ReqPositions)?,
        out::CANCEL_POSITIONS => empty(body, Request::CancelPositions)?,
        out::REQ_ACCOUNT_DATA => {
            let p = pb::AccountDataRequest::decode(body).map_err(pb_err)?;
            Request::ReqAccountUpdates {
                subscribe: p.subscribe.unwrap_or(false),
                account: s(&p.acct_code),
            }
        }
        out::REQ_ACCOUNT_SUMMARY => {
            let p = pb::AccountSummaryRequest::decode(body).map_err(pb_err)?;
            Request::ReqAccountSummary {
                req_id: int(p.req_id),
                group: s(&p.group),
                tags: s(&p.tags),
            }
        }
        out::CANCEL_ACCOUNT_SUMMARY => {
            let p = pb::ReqId::decode(body).map_err(pb_err)?;
            Request::CancelAccountSummary {
                req_id: int(p.req_id),
            }
        }
        out::REQ_ACCOUNT_UPDATES_MULTI => {
            let p = pb::AccountUpdatesMultiRequest::decode(body).map_err(pb_err)?;
            Request::ReqAccountUpdatesMulti {
                req_id: int(p.req_id),
                account: s(&p.account),
                model_code: s(&p.model_code),
                ledger_and_nlv: p.ledger_and_nlv.unwrap_or(false),
            }
        }
        out::CANCEL_ACCOUNT_UPDATES_MULTI => {
            let p = pb::ReqId::decode(body).map_err(pb_err)?;
            Request::CancelAccountUpdatesMulti {
                req_id: int(p.req_id),
            }
        }
        _ => Request::Other { id },
    })
}

/// A request with no fields atomik reads; the body must still be protobuf.
fn empty(body: &[u8], req: Request) -> Result<Request, DecodeError> {
    pb::Empty::decode(body).map_err(pb_err)?;
    Ok(req)
}

fn filter_to_pb(f: &ExecutionFilter) -> pb::ExecutionFilter {
    pb::ExecutionFilter {
        client_id: f.client_id,
        acct_code: opt_str(&f.account),
        time: opt_str(&f.time),
        symbol: opt_str(&f.symbol),
        sec_type: opt_str(&f.sec_type),
        exchange: opt_str(&f.exchange),
        side: opt_str(&f.side),
    }
}

fn filter_from_pb(p: &pb::ExecutionFilter) -> ExecutionFilter {
    ExecutionFilter {
        client_id: opt_int(p.client_id),
        account: s(&p.acct_code),
        time: s(&p.time),
        symbol: s(&p.symbol),
        sec_type: s(&p.sec_type),
        exchange: s(&p.exchange),
        side: s(&p.side),
    }
}
