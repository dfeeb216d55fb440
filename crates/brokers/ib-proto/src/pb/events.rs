//! Server → client messages as protobuf: from server version 213 a Gateway
//! sends every message atomik reads as protobuf under the id + 200, and
//! ibapi 5.5 decodes nothing else.

use prost::Message;

use super::convert::{
    Writer, contract_from_pb, contract_to_pb, dbl, dec, dec_str, details_from_pb, details_to_pb,
    execution_from_pb, execution_to_pb, int, long, opt_dbl, opt_str, order_from_pb, order_to_pb, s,
    state_from_pb, state_to_pb,
};
use super::types as pb;
use crate::ids::inc;
use crate::{DecodeError, Event};

/// The base message id and protobuf body of an event.
pub fn encode(event: &Event) -> (i32, Vec<u8>) {
    match event {
        Event::NextValidId { order_id } => (
            inc::NEXT_VALID_ID,
            pb::NextValidId {
                order_id: Some(*order_id),
            }
            .encode_to_vec(),
        ),
        Event::ManagedAccounts { accounts } => (
            inc::MANAGED_ACCTS,
            pb::ManagedAccounts {
                accounts_list: Some(accounts.join(",")),
            }
            .encode_to_vec(),
        ),
        Event::Error {
            id,
            time_ms,
            code,
            message,
            advanced_order_reject_json,
        } => (
            inc::ERR_MSG,
            pb::ErrorMessage {
                id: Some(*id),
                error_time: (*time_ms != 0).then_some(*time_ms),
                error_code: Some(*code),
                error_msg: Some(message.clone()),
                advanced_order_reject_json: opt_str(advanced_order_reject_json),
            }
            .encode_to_vec(),
        ),
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
        } => (
            inc::ORDER_STATUS,
            pb::OrderStatus {
                order_id: Some(*order_id),
                status: Some(status.clone()),
                // ibapi requires both quantities, "0" included.
                filled: Some(dec_str(*filled)),
                remaining: Some(dec_str(*remaining)),
                avg_fill_price: Some(*avg_fill_price),
                perm_id: Some(*perm_id),
                parent_id: Some(*parent_id),
                last_fill_price: Some(*last_fill_price),
                client_id: Some(*client_id),
                why_held: opt_str(why_held),
                mkt_cap_price: Some(*mkt_cap_price),
            }
            .encode_to_vec(),
        ),
        Event::OpenOrder {
            order_id,
            contract,
            order,
            state,
        } => (
            inc::OPEN_ORDER,
            pb::OpenOrder {
                order_id: Some(*order_id),
                contract: Some(contract_to_pb(contract)),
                order: Some(order_to_pb(order, Writer::Server)),
                order_state: Some(state_to_pb(state)),
            }
            .encode_to_vec(),
        ),
        Event::OpenOrderEnd => (inc::OPEN_ORDER_END, Vec::new()),
        Event::CompletedOrder {
            contract,
            order,
            state,
        } => (
            inc::COMPLETED_ORDER,
            pb::CompletedOrder {
                contract: Some(contract_to_pb(contract)),
                order: Some(order_to_pb(order, Writer::Server)),
                order_state: Some(state_to_pb(state)),
            }
            .encode_to_vec(),
        ),
        Event::CompletedOrdersEnd => (inc::COMPLETED_ORDERS_END, Vec::new()),
        Event::ExecDetails {
            req_id,
            contract,
            execution,
        } => (
            inc::EXECUTION_DATA,
            pb::ExecutionDetails {
                req_id: Some(*req_id),
                contract: Some(contract_to_pb(contract)),
                execution: Some(execution_to_pb(execution)),
            }
            .encode_to_vec(),
        ),
        Event::ExecDetailsEnd { req_id } => (inc::EXECUTION_DATA_END, req_id_body(*req_id)),
        Event::CommissionReport {
            exec_id,
            commission,
            currency,
            realized_pnl,
        } => (
            inc::COMMISSION_REPORT,
            pb::CommissionAndFeesReport {
                exec_id: Some(exec_id.clone()),
                commission_and_fees: Some(*commission),
                currency: opt_str(currency),
                // IB's "no value" for a commission report's P&L.
                realized_pnl: Some(realized_pnl.unwrap_or(f64::MAX)),
            }
            .encode_to_vec(),
        ),
        Event::Position {
            account,
            contract,
            position,
            avg_cost,
        } => (
            inc::POSITION_DATA,
            pb::Position {
                account: Some(account.clone()),
                contract: Some(contract_to_pb(contract)),
                position: Some(dec_str(*position)),
                avg_cost: Some(*avg_cost),
            }
            .encode_to_vec(),
        ),
        Event::PositionEnd => (inc::POSITION_END, Vec::new()),
        Event::ContractData { req_id, details } => (
            inc::CONTRACT_DATA,
            pb::ContractData {
                req_id: Some(*req_id),
                contract: Some(contract_to_pb(&details.contract)),
                contract_details: Some(details_to_pb(details)),
            }
            .encode_to_vec(),
        ),
        Event::ContractDataEnd { req_id } => (inc::CONTRACT_DATA_END, req_id_body(*req_id)),
        Event::AccountValue {
            key,
            value,
            currency,
            account,
        } => (
            inc::ACCT_VALUE,
            pb::AccountValue {
                key: Some(key.clone()),
                value: Some(value.clone()),
                currency: opt_str(currency),
                account_name: opt_str(account),
            }
            .encode_to_vec(),
        ),
        Event::PortfolioValue {
            contract,
            position,
            market_price,
            market_value,
            average_cost,
            unrealized_pnl,
            realized_pnl,
            account,
        } => (
            inc::PORTFOLIO_VALUE,
            pb::PortfolioValue {
                contract: Some(contract_to_pb(contract)),
                position: Some(dec_str(*position)),
                market_price: Some(*market_price),
                market_value: Some(*market_value),
                average_cost: Some(*average_cost),
                unrealized_pnl: Some(*unrealized_pnl),
                realized_pnl: Some(*realized_pnl),
                account_name: opt_str(account),
            }
            .encode_to_vec(),
        ),
        Event::AccountUpdateTime { time } => (
            inc::ACCT_UPDATE_TIME,
            pb::AccountUpdateTime {
                time_stamp: Some(time.clone()),
            }
            .encode_to_vec(),
        ),
        Event::AccountDownloadEnd { account } => (
            inc::ACCT_DOWNLOAD_END,
            pb::AccountDataEnd {
                account_name: opt_str(account),
            }
            .encode_to_vec(),
        ),
        Event::AccountSummary {
            req_id,
            account,
            tag,
            value,
            currency,
        } => (
            inc::ACCOUNT_SUMMARY,
            pb::AccountSummary {
                req_id: Some(*req_id),
                account: Some(account.clone()),
                tag: Some(tag.clone()),
                value: Some(value.clone()),
                currency: opt_str(currency),
            }
            .encode_to_vec(),
        ),
        Event::AccountSummaryEnd { req_id } => (inc::ACCOUNT_SUMMARY_END, req_id_body(*req_id)),
        Event::AccountUpdateMulti {
            req_id,
            account,
            model_code,
            key,
            value,
            currency,
        } => (
            inc::ACCOUNT_UPDATE_MULTI,
            pb::AccountUpdateMulti {
                req_id: Some(*req_id),
                account: opt_str(account),
                model_code: opt_str(model_code),
                key: Some(key.clone()),
                value: Some(value.clone()),
                currency: opt_str(currency),
            }
            .encode_to_vec(),
        ),
        Event::AccountUpdateMultiEnd { req_id } => {
            (inc::ACCOUNT_UPDATE_MULTI_END, req_id_body(*req_id))
        }
        Event::CurrentTime { time } => (
            inc::CURRENT_TIME,
            pb::CurrentTime {
                current_time: Some(*time),
            }
            .encode_to_vec(),
        ),
        Event::Other { id } => (*id, Vec::new()),
    }
}

fn req_id_body(req_id: i32) -> Vec<u8> {
    pb::ReqId {
        req_id: Some(req_id),
    }
    .encode_to_vec()
}

/// Whether the codec reads this base event id.
pub fn known(id: i32) -> bool {
    matches!(
        id,
        inc::ORDER_STATUS
            | inc::ERR_MSG
            | inc::OPEN_ORDER
            | inc::ACCT_VALUE
            | inc::PORTFOLIO_VALUE
            | inc::ACCT_UPDATE_TIME
            | inc::NEXT_VALID_ID
            | inc::CONTRACT_DATA
            | inc::EXECUTION_DATA
            | inc::MANAGED_ACCTS
            | inc::CURRENT_TIME
            | inc::CONTRACT_DATA_END
            | inc::OPEN_ORDER_END
            | inc::ACCT_DOWNLOAD_END
            | inc::EXECUTION_DATA_END
            | inc::COMMISSION_REPORT
            | inc::POSITION_DATA
            | inc::POSITION_END
            | inc::ACCOUNT_SUMMARY
            | inc::ACCOUNT_SUMMARY_END
            | inc::ACCOUNT_UPDATE_MULTI
            | inc::ACCOUNT_UPDATE_MULTI_END
            | inc::COMPLETED_ORDER
            | inc::COMPLETED_ORDERS_END
    )
}

fn pb_err(e: prost::DecodeError) -> DecodeError {
    DecodeError::Protobuf(e.to_string())
}

fn required<T>(v: Option<T>, what: &'static str) -> Result<T, DecodeError> {
    v.ok_or(DecodeError::Truncated(what))
}

/// A protobuf event body under base id `id`.
pub fn decode(id: i32, body: &[u8]) -> Result<Event, DecodeError> {
    Ok(match id {
        inc::NEXT_VALID_ID => {
            let p = pb::NextValidId::decode(body).map_err(pb_err)?;
            Event::NextValidId {
                order_id: int(p.order_id),
            }
        }
        inc::MANAGED_ACCTS => {
            let p = pb::ManagedAccounts::decode(body).map_err(pb_err)?;
            Event::ManagedAccounts {
                accounts: s(&p.accounts_list)
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect(),
            }
        }
        inc::ERR_MSG => {
            let p = pb::ErrorMessage::decode(body).map_err(pb_err)?;
            Event::Error {
                id: p.id.unwrap_or(-1),
                time_ms: p.error_time.unwrap_or(0),
                code: p.error_code.unwrap_or(0),
                message: s(&p.error_msg),
                advanced_order_reject_json: s(&p.advanced_order_reject_json),
            }
        }
        inc::ORDER_STATUS => {
            let p = pb::OrderStatus::decode(body).map_err(pb_err)?;
            Event::OrderStatus {
                order_id: int(p.order_id),
                status: s(&p.status),
                filled: dec(p.filled.as_deref(), "OrderStatus.filled")?,
                remaining: dec(p.remaining.as_deref(), "OrderStatus.remaining")?,
                avg_fill_price: dbl(p.avg_fill_price),
                perm_id: long(p.perm_id),
                parent_id: int(p.parent_id),
                last_fill_price: dbl(p.last_fill_price),
                client_id: int(p.client_id),
                why_held: s(&p.why_held),
                mkt_cap_price: dbl(p.mkt_cap_price),
            }
        }
        inc::OPEN_ORDER => {
            let p = pb::OpenOrder::decode(body).map_err(pb_err)?;
            let order_id = int(p.order_id);
            Event::OpenOrder {
                order_id,
                contract: contract_from_pb(&required(p.contract, "OpenOrder.contract")?),
                order: order_from_pb(&required(p.order, "OpenOrder.order")?, order_id, true)?,
                state: state_from_pb(&required(p.order_state, "OpenOrder.order_state")?),
            }
        }
        inc::OPEN_ORDER_END => empty(body, Event::OpenOrderEnd)?,
        inc::COMPLETED_ORDER => {
            let p = pb::CompletedOrder::decode(body).map_err(pb_err)?;
            Event::CompletedOrder {
                contract: contract_from_pb(&required(p.contract, "CompletedOrder.contract")?),
                order: order_from_pb(&required(p.order, "CompletedOrder.order")?, 0, true)?,
                state: state_from_pb(&required(p.order_state, "CompletedOrder.order_state")?),
            }
        }
        inc::COMPLETED_ORDERS_END => empty(body, Event::CompletedOrdersEnd)?,
        inc::EXECUTION_DATA => {
            let p = pb::ExecutionDetails::decode(body).map_err(pb_err)?;
            Event::ExecDetails {
                req_id: int(p.req_id),
                contract: contract_from_pb(&required(p.contract, "ExecutionDetails.contract")?),
                execution: execution_from_pb(&required(
                    p.execution,
                    "ExecutionDetails.execution",
                )?)?,
            }
        }
        inc::EXECUTION_DATA_END => Event::ExecDetailsEnd {
            req_id: req_id(body)?,
        },
        inc::COMMISSION_REPORT => {
            let p = pb::CommissionAndFeesReport::decode(body).map_err(pb_err)?;
            Event::CommissionReport {
                exec_id: s(&p.exec_id),
                commission: dbl(p.commission_and_fees),
                currency: s(&p.currency),
                realized_pnl: opt_dbl(p.realized_pnl),
            }
        }
        inc::POSITION_DATA => {
            let p = pb::Position::decode(body).map_err(pb_err)?;
            Event::Position {
                account: s(&p.account),
                contract: contract_from_pb(&required(p.contract, "Position.contract")?),
                position: dec(p.position.as_deref(), "Position.position")?,
                avg_cost: dbl(p.avg_cost),
            }
        }
        inc::POSITION_END => empty(body, Event::PositionEnd)?,
        inc::CONTRACT_DATA => {
            let p = pb::ContractData::decode(body).map_err(pb_err)?;
            Event::ContractData {
                req_id: int(p.req_id),
                details: details_from_pb(
                    &required(p.contract, "ContractData.contract")?,
                    &required(p.contract_details, "ContractData.contract_details")?,
                )?,
            }
        }
        inc::CONTRACT_DATA_END => Event::ContractDataEnd {
            req_id: req_id(body)?,
        },
        inc::ACCT_VALUE => {
            let p = pb::AccountValue::decode(body).map_err(pb_err)?;
            Event::AccountValue {
                key: s(&p.key),
                value: s(&p.value),
                currency: s(&p.currency),
                account: s(&p.account_name),
            }
        }
        inc::PORTFOLIO_VALUE => {
            let p = pb::PortfolioValue::decode(body).map_err(pb_err)?;
            Event::PortfolioValue {
                contract: contract_from_pb(&required(p.contract, "PortfolioValue.contract")?),
                position: dec(p.position.as_deref(), "PortfolioValue.position")?,
                market_price: dbl(p.market_price),
                market_value: dbl(p.market_value),
                average_cost: dbl(p.average_cost),
                unrealized_pnl: dbl(p.unrealized_pnl),
                realized_pnl: dbl(p.realized_pnl),
                account: s(&p.account_name),
            }
        }
        inc::ACCT_UPDATE_TIME => {
            let p = pb::AccountUpdateTime::decode(body).map_err(pb_err)?;
            Event::AccountUpdateTime {
                time: s(&p.time_stamp),
            }
        }
        inc::ACCT_DOWNLOAD_END => {
            let p = pb::AccountDataEnd::decode(body).map_err(pb_err)?;
            Event::AccountDownloadEnd {
                account: s(&p.account_name),
            }
        }
        inc::ACCOUNT_SUMMARY => {
            let p = pb::AccountSummary::decode(body).map_err(pb_err)?;
            Event::AccountSummary {
                req_id: int(p.req_id),
                account: s(&p.account),
                tag: s(&p.tag),
                value: s(&p.value),
                currency: s(&p.currency),
            }
        }
        inc::ACCOUNT_SUMMARY_END => Event::AccountSummaryEnd {
            req_id: req_id(body)?,
        },
        inc::ACCOUNT_UPDATE_MULTI => {
            let p = pb::AccountUpdateMulti::decode(body).map_err(pb_err)?;
            Event::AccountUpdateMulti {
                req_id: int(p.req_id),
                account: s(&p.account),
                model_code: s(&p.model_code),
                key: s(&p.key),
                value: s(&p.value),
                currency: s(&p.currency),
            }
        }
        inc::ACCOUNT_UPDATE_MULTI_END => Event::AccountUpdateMultiEnd {
            req_id: req_id(body)?,
        },
        inc::CURRENT_TIME => {
            let p = pb::CurrentTime::decode(body).map_err(pb_err)?;
            Event::CurrentTime {
                time: long(p.current_time),
            }
        }
        _ => Event::Other { id },
    })
}

fn empty(body: &[u8], event: Event) -> Result<Event, DecodeError> {
    pb::Empty::decode(body).map_err(pb_err)?;
    Ok(event)
}

fn req_id(body: &[u8]) -> Result<i32, DecodeError> {
    Ok(int(pb::ReqId::decode(body).map_err(pb_err)?.req_id))
}
