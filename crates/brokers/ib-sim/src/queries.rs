//! Read requests: open and completed orders, executions, positions,
//! account updates and summaries, contract details. Each answers the
//! asking connection only.

use atomik_ib_proto::{Event, ExecutionFilter};

use crate::MultiSub;
use crate::ledger::{SimPosition, State, f, ib_time, parse_ib_time};
use crate::orders::{completed_order, open_order, order_status};

/// Working orders of `client_id` (or of everyone), then OpenOrderEnd.
pub(crate) fn open_orders(state: &State, client_id: Option<i32>) -> Vec<Event> {
    let mut out = Vec::new();
    for o in state
        .orders
        .iter()
        .filter(|o| o.working() && client_id.is_none_or(|c| o.client_id == c))
    {
        out.push(open_order(o));
        out.push(order_status(o));
    }
    out.push(Event::OpenOrderEnd);
    out
}

pub(crate) fn completed_orders(state: &State) -> Vec<Event> {
    let mut out: Vec<Event> = state
        .orders
        .iter()
        .filter(|o| o.completed_at_ms.is_some())
        .map(completed_order)
        .collect();
    out.push(Event::CompletedOrdersEnd);
    out
}

fn side_matches(filter: &str, side: &str) -> bool {
    match filter.to_ascii_uppercase().as_str() {
        "" => true,
        "BUY" | "BOT" => side == "BOT",
        "SELL" | "SLD" => side == "SLD",
        _ => false,
    }
}

pub(crate) fn executions(state: &State, req_id: i32, filter: &ExecutionFilter) -> Vec<Event> {
    let since = parse_ib_time(&filter.time);
    let mut out = Vec::new();
    for x in &state.executions {
        let e = &x.execution;
        let keep = filter.client_id.is_none_or(|c| c == 0 || c == e.client_id)
            && (filter.account.is_empty() || filter.account == e.account)
            && since.is_none_or(|t| x.time_ms >= t)
            && (filter.symbol.is_empty() || filter.symbol.eq_ignore_ascii_case(&x.contract.symbol))
            && (filter.sec_type.is_empty()
                || filter.sec_type.eq_ignore_ascii_case(&x.contract.sec_type))
            && (filter.exchange.is_empty()
                || filter.exchange.eq_ignore_ascii_case(&e.exchange)
                || filter.exchange.eq_ignore_ascii_case(&x.contract.exchange))
            && side_matches(&filter.side, &e.side);
        if keep {
            out.push(Event::ExecDetails {
                req_id,
                contract: x.contract.clone(),
                execution: e.clone(),
            });
            out.push(Event::CommissionReport {
                exec_id: e.exec_id.clone(),
                commission: x.commission,
                currency: "USD".into(),
                realized_pnl: x.realized_pnl,
            });
        }
    }
    out.push(Event::ExecDetailsEnd { req_id });
    out
}

pub(crate) fn positions(state: &State) -> Vec<Event> {
    let mut out: Vec<Event> = state
        .positions
        .iter()
        .map(|p| Event::Position {
            account: p.account.clone(),
            contract: p.contract.clone(),
            position: p.position,
            avg_cost: p.avg_cost,
        })
        .collect();
    out.push(Event::PositionEnd);
    out
}

pub(crate) fn portfolio_value(state: &State, p: &SimPosition) -> Event {
    let mark = state.mark(p.contract.con_id);
    Event::PortfolioValue {
        contract: p.contract.clone(),
        position: p.position,
        market_price: mark,
        market_value: state.market_value(p),
        average_cost: p.avg_cost,
        unrealized_pnl: if p.position.is_zero() {
            0.0
        } else {
            state.unrealized(p)
        },
        realized_pnl: p.realized_pnl,
        account: p.account.clone(),
    }
}

/// reqAccountUpdates: values, portfolio, update time, download end.
pub(crate) fn account_updates(state: &State, account: &str, now_ms: i64) -> Vec<Event> {
    let mut out: Vec<Event> = state
        .account_values(account)
        .into_iter()
        .map(|(key, value, currency)| Event::AccountValue {
            key,
            value,
            currency,
            account: account.into(),
        })
        .collect();
    for p in state.positions.iter().filter(|p| p.account == account) {
        out.push(portfolio_value(state, p));
    }
    let t = ib_time(now_ms);
    out.push(Event::AccountUpdateTime {
        time: t.get(9..14).unwrap_or("00:00").into(),
    });
    out.push(Event::AccountDownloadEnd {
        account: account.into(),
    });
    out
}

/// The keys a `ledger_and_nlv` subscription carries: cash by currency and
/// net liquidation.
fn ledger_or_nlv(key: &str) -> bool {
    matches!(
        key,
        "CashBalance" | "TotalCashBalance" | "NetLiquidation" | "NetLiquidationByCurrency"
    )
}

/// reqAccountUpdatesMulti: every covered account's values, then the end.
pub(crate) fn account_updates_multi(state: &State, req_id: i32, sub: &MultiSub) -> Vec<Event> {
    let mut out = Vec::new();
    for account in state.account_ids().into_iter().filter(|a| sub.covers(a)) {
        for (key, value, currency) in state.account_values(&account) {
            if sub.ledger_and_nlv && !ledger_or_nlv(&key) {
                continue;
            }
            out.push(Event::AccountUpdateMulti {
                req_id,
                account: account.clone(),
                model_code: String::new(),
                key,
                value,
                currency,
            });
        }
    }
    out.push(Event::AccountUpdateMultiEnd { req_id });
    out
}

/// A streamed change as one subscription sees it: under its request id,
/// or nothing when it does not cover the account or key.
pub(crate) fn for_multi_sub(
    event: &Event,
    sub_req_id: i32,
    sub: &MultiSub,
    account: &str,
) -> Option<Event> {
    let Event::AccountUpdateMulti { key, .. } = event else {
        return None;
    };
    if !sub.covers(account) || (sub.ledger_and_nlv && !ledger_or_nlv(key)) {
        return None;
    }
    let mut e = event.clone();
    if let Event::AccountUpdateMulti { req_id, .. } = &mut e {
        *req_id = sub_req_id;
    }
    Some(e)
}

/// reqAccountSummary: every managed account × every requested tag it knows.
pub(crate) fn account_summary(state: &State, req_id: i32, tags: &str) -> Vec<Event> {
    let wanted: Vec<&str> = tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::new();
    for account in state.account_ids() {
        let values = state.account_values(&account);
        for tag in &wanted {
            // The USD value of a tag (AccountType etc. have no currency).
            if let Some((key, value, currency)) = values
                .iter()
                .find(|(k, _, c)| k == tag && (c == "USD" || c.is_empty()))
            {
                out.push(Event::AccountSummary {
                    req_id,
                    account: account.clone(),
                    tag: key.clone(),
                    value: value.clone(),
                    currency: currency.clone(),
                });
            }
        }
    }
    out.push(Event::AccountSummaryEnd { req_id });
    out
}

/// reqContractDetails: every match, then the end; none → error 200.
pub(crate) fn contract_details(
    state: &State,
    req_id: i32,
    q: &atomik_ib_proto::Contract,
    today: time::Date,
) -> Result<Vec<Event>, (i32, String)> {
    let found = state.catalogue.find(q, today);
    if found.is_empty() {
        return Err((
            200,
            "No security definition has been found for the request".into(),
        ));
    }
    let mut out: Vec<Event> = found
        .into_iter()
        .map(|e| Event::ContractData {
            req_id,
            details: e.details.clone(),
        })
        .collect();
    out.push(Event::ContractDataEnd { req_id });
    Ok(out)
}

/// Gross position value of one position, for logs and HTTP.
pub(crate) fn position_json(state: &State, p: &SimPosition) -> serde_json::Value {
    serde_json::json!({
        "account": p.account,
        "con_id": p.contract.con_id,
        "symbol": p.contract.symbol,
        "local_symbol": p.contract.local_symbol,
        "sec_type": p.contract.sec_type,
        "position": f(p.position),
        "avg_cost": p.avg_cost,
        "mark": state.mark(p.contract.con_id),
        "market_value": state.market_value(p),
        "realized_pnl": p.realized_pnl,
    })
}
