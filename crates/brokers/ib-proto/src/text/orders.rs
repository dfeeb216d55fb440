//! PlaceOrder (client → server) and OpenOrder / CompletedOrder (server →
//! client): the long messages. Order attributes atomik does not use are
//! walked as IB's defaults; the ones that decide which fields follow (combo
//! legs, delta-neutral, scale, hedge, algo, peg types, conditions) are read
//! and followed so that any order a Gateway reports can be read.

use super::contract;
use super::fields::{UNSET_INT, Walk};
use crate::{Contract, Order, OrderState};

// Server versions (IB's `MIN_SERVER_VER_*`) that change these messages.
const DURATION: i32 = 158;
const POST_TO_ATS: i32 = 160;
const AUTO_CANCEL_PARENT: i32 = 162;
const ADVANCED_ORDER_REJECT: i32 = 166;
const MANUAL_ORDER_TIME: i32 = 169;
const PEGBEST_PEGMID_OFFSETS: i32 = 170;
const FA_PROFILE_DESUPPORT: i32 = 177;
const CUSTOMER_ACCOUNT: i32 = 183;
const PROFESSIONAL_CUSTOMER: i32 = 184;
const BOND_ACCRUED_INTEREST: i32 = 185;
const RFQ_FIELDS: i32 = 187;
const INCLUDE_OVERNIGHT: i32 = 189;
const UNDO_RFQ_FIELDS: i32 = 190;
const CME_TAGGING_FIELDS: i32 = 192;
const CME_TAGGING_FIELDS_IN_OPEN_ORDER: i32 = 193;
const FULL_ORDER_PREVIEW_FIELDS: i32 = 195;
const SUBMITTER: i32 = 198;
const IMBALANCE_ONLY: i32 = 199;

fn is_peg_bench(t: &str) -> bool {
    t == "PEG BENCH" || t == "PEGBENCH"
}
fn is_peg_best(t: &str) -> bool {
    t == "PEG BEST" || t == "PEGBEST"
}
fn is_peg_mid(t: &str) -> bool {
    t == "PEG MID" || t == "PEGMID"
}

/// A scale price increment that is set (> 0 and not the sentinel) brings
/// seven more scale fields.
fn scale_set(increment: &str) -> bool {
    increment
        .trim()
        .parse::<f64>()
        .is_ok_and(|v| v > 0.0 && v < f64::MAX)
}

/// Fields per order condition, after its type (conjunction and the type's
/// own: price 1, time 3, margin 4, execution 5, volume 6, percent change 7).
fn condition_len(kind: &str) -> Option<usize> {
    match kind.trim() {
        "1" => Some(6),
        "3" | "4" => Some(3),
        "5" => Some(4),
        "6" | "7" => Some(5),
        _ => None,
    }
}

fn conditions(w: &mut impl Walk) {
    let n = w.count();
    for _ in 0..n {
        let kind = w.skip("");
        match condition_len(&kind) {
            Some(len) => (0..len).for_each(|_| {
                w.skip("");
            }),
            None => return w.fail("order condition type", kind),
        }
    }
    if n > 0 {
        w.skips(&["0", "0"]); // conditionsIgnoreRth, conditionsCancelOrder
    }
}

fn algo(w: &mut impl Walk) {
    if !w.skip("").is_empty() {
        w.list(2);
    }
}

/// deltaNeutralOrderType and deltaNeutralAuxPrice; a set type brings the
/// delta-neutral order's fields (fewer in CompletedOrder).
fn delta_neutral(w: &mut impl Walk, open_order_attribs: bool) {
    let order_type = w.skip("");
    w.skip(""); // deltaNeutralAuxPrice
    if !order_type.is_empty() {
        w.skip(""); // conId
        if open_order_attribs {
            w.skips(&["", "", ""]); // settlingFirm, clearingAccount, clearingIntent
            w.skip(""); // openClose
        }
        w.skips(&["0", "0", ""]); // shortSale, shortSaleSlot, designatedLocation
    }
}

fn hedge(w: &mut impl Walk) {
    if !w.skip("").is_empty() {
        w.skip(""); // hedgeParam
    }
}

fn delta_neutral_contract(w: &mut impl Walk) {
    if w.skip("0").trim() == "1" {
        w.skips(&["", "", ""]);
    }
}

fn scale_tail(w: &mut impl Walk) {
    if scale_set(&w.skip("")) {
        w.skips(&["", "", "", "0", "", "", "0"]);
    }
}

fn peg_bench(w: &mut impl Walk, order_type: &str) {
    if is_peg_bench(order_type) {
        w.skips(&["", "0", "", "", ""]);
    }
}

/// PlaceOrder after its id, as IB's client writes it at server versions
/// 157–200 (no message version field from 145 on).
pub fn place_order(w: &mut impl Walk, id: &mut i32, c: &mut Contract, o: &mut Order, v: i32) {
    w.int(id);
    contract::request(w, c);
    w.skips(&["", ""]); // secIdType, secId
    w.str(&mut o.action);
    w.dec(&mut o.total_quantity);
    w.str(&mut o.order_type);
    w.f64_opt(&mut o.limit_price);
    w.f64_opt(&mut o.aux_price);
    w.str(&mut o.tif);
    w.skip(""); // ocaGroup
    w.str(&mut o.account);
    w.skips(&["", "0"]); // openClose, origin
    w.str(&mut o.order_ref);
    w.bool(&mut o.transmit);
    w.int(&mut o.parent_id);
    // blockOrder, sweepToFill, displaySize, triggerMethod
    w.skips(&["0", "0", "", "0"]);
    w.bool(&mut o.outside_rth);
    w.skip("0"); // hidden
    if c.sec_type == "BAG" {
        w.list(8); // combo legs
        w.list(1); // order combo leg prices
        w.list(2); // smart combo routing params
    }
    // sharesAllocation (deprecated), discretionaryAmt, goodAfterTime,
    // goodTillDate, faGroup, faMethod, faPercentage
    w.skips(&["", "0", "", "", "", "", ""]);
    if v < FA_PROFILE_DESUPPORT {
        w.skip(""); // faProfile
    }
    // modelCode, shortSaleSlot, designatedLocation, exemptCode, ocaType,
    // rule80A, settlingFirm, allOrNone, minQty, percentOffset, eTradeOnly,
    // firmQuoteOnly, nbboPriceCap, auctionStrategy, startingPrice,
    // stockRefPrice, delta, stockRangeLower, stockRangeUpper,
    // overridePercentageConstraints, volatility, volatilityType
    w.skips(&[
        "", "0", "", "-1", "0", "", "", "0", "", "", "0", "0", "", "0", "", "", "", "", "", "0",
        "", "",
    ]);
    delta_neutral(w, true);
    // continuousUpdate, referencePriceType, trailStopPrice, trailingPercent,
    // scaleInitLevelSize, scaleSubsLevelSize
    w.skips(&["0", "", "", "", "", ""]);
    scale_tail(w);
    w.skips(&["", "", ""]); // scaleTable, activeStartTime, activeStopTime
    hedge(w);
    // optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    w.skips(&["0", "", "", "0"]);
    delta_neutral_contract(w);
    algo(w);
    w.skip(""); // algoId
    w.bool(&mut o.what_if);
    // orderMiscOptions, solicited, randomizeSize, randomizePrice
    w.skips(&["", "0", "0", "0"]);
    peg_bench(w, &o.order_type);
    conditions(w);
    // adjustedOrderType, triggerPrice, lmtPriceOffset, adjustedStopPrice,
    // adjustedStopLimitPrice, adjustedTrailingAmount, adjustableTrailingUnit,
    // extOperator, softDollarTier name and value, cashQty, the four MiFID II
    // fields, dontUseAutoPriceForHedge, isOmsContainer,
    // discretionaryUpToLimitPrice, usePriceMgmtAlgo
    w.skips(&[
        "", "", "", "", "", "", "0", "", "", "", "", "", "", "", "", "0", "0", "0", "",
    ]);
    if v >= DURATION {
        w.skip("");
    }
    if v >= POST_TO_ATS {
        w.skip("");
    }
    if v >= AUTO_CANCEL_PARENT {
        w.skip("0");
    }
    if v >= ADVANCED_ORDER_REJECT {
        w.skip(""); // advancedErrorOverride
    }
    if v >= MANUAL_ORDER_TIME {
        w.skip("");
    }
    if v >= PEGBEST_PEGMID_OFFSETS {
        if c.exchange == "IBKRATS" {
            w.skip(""); // minTradeQty
        }
        let mut mid_offsets = is_peg_mid(&o.order_type);
        if is_peg_best(&o.order_type) {
            w.skip(""); // minCompeteSize
            let offset = w.skip(""); // competeAgainstBestOffset
            let offset = offset.trim();
            mid_offsets = offset.eq_ignore_ascii_case("infinite")
                || offset.parse::<f64>().is_ok_and(f64::is_infinite);
        }
        if mid_offsets {
            w.skips(&["", ""]); // midOffsetAtWhole, midOffsetAtHalf
        }
    }
    if v >= CUSTOMER_ACCOUNT {
        w.skip("");
    }
    if v >= PROFESSIONAL_CUSTOMER {
        w.skip("0");
    }
    if (RFQ_FIELDS..UNDO_RFQ_FIELDS).contains(&v) {
        w.skips(&["", UNSET_INT]);
    }
    if v >= INCLUDE_OVERNIGHT {
        w.skip("0");
    }
    if v >= CME_TAGGING_FIELDS {
        w.skip(UNSET_INT); // manualOrderIndicator
    }
    if v >= IMBALANCE_ONLY {
        w.skip("0");
    }
}

/// The order fields OpenOrder and CompletedOrder share up to the FA block.
fn order_head(w: &mut impl Walk, o: &mut Order) {
    w.str(&mut o.action);
    w.dec(&mut o.total_quantity);
    w.str(&mut o.order_type);
    w.f64_opt(&mut o.limit_price);
    w.f64_opt(&mut o.aux_price);
    w.str(&mut o.tif);
    w.skip(""); // ocaGroup
    w.str(&mut o.account);
    w.skips(&["", "0"]); // openClose, origin
    w.str(&mut o.order_ref);
}

fn fa_block(w: &mut impl Walk, v: i32) {
    w.skips(&["", "", ""]); // faGroup, faMethod, faPercentage
    if v < FA_PROFILE_DESUPPORT {
        w.skip(""); // faProfile
    }
    // modelCode, goodTillDate, rule80A, percentOffset, settlingFirm,
    // shortSaleSlot, designatedLocation, exemptCode
    w.skips(&["", "", "", "", "", "0", "", "-1"]);
}

fn peg_best_mid(w: &mut impl Walk, v: i32) {
    if v >= PEGBEST_PEGMID_OFFSETS {
        // minTradeQty, minCompeteSize, competeAgainstBestOffset,
        // midOffsetAtWhole, midOffsetAtHalf
        w.skips(&["", "", "", "", ""]);
    }
}

/// OpenOrder after its id (no message version field from 145 on).
pub fn open_order(
    w: &mut impl Walk,
    id: &mut i32,
    c: &mut Contract,
    o: &mut Order,
    st: &mut OrderState,
    v: i32,
) {
    w.int(id);
    contract::reported(w, c);
    order_head(w, o);
    w.int(&mut o.client_id);
    w.long(&mut o.perm_id);
    w.bool(&mut o.outside_rth);
    // hidden, discretionaryAmt, goodAfterTime, sharesAllocation (deprecated)
    w.skips(&["0", "0", "", ""]);
    fa_block(w, v);
    // auctionStrategy, startingPrice, stockRefPrice, delta, stockRangeLower,
    // stockRangeUpper, displaySize, blockOrder, sweepToFill, allOrNone,
    // minQty, ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
    w.skips(&[
        "0", "", "", "", "", "", "", "0", "0", "0", "", "0", "0", "0", "",
    ]);
    w.int(&mut o.parent_id);
    w.skips(&["0", "", "0"]); // triggerMethod, volatility, volatilityType
    delta_neutral(w, true);
    // continuousUpdate, referencePriceType, trailStopPrice, trailingPercent,
    // basisPoints, basisPointsType, comboLegsDescrip
    w.skips(&["0", "0", "", "", "", "", ""]);
    w.list(8); // combo legs
    w.list(1); // order combo leg prices
    w.list(2); // smart combo routing params
    w.skips(&["", ""]); // scaleInitLevelSize, scaleSubsLevelSize
    scale_tail(w);
    hedge(w);
    w.skip("0"); // optOutSmartRouting
    w.skips(&["", "", "0"]); // clearingAccount, clearingIntent, notHeld
    delta_neutral_contract(w);
    algo(w);
    w.skip("0"); // solicited
    w.bool(&mut o.what_if);
    w.str(&mut st.status);
    // initMargin/maintMargin/equityWithLoan before, change and after
    w.skips(&["", "", "", "", "", "", "", "", ""]);
    w.f64_opt(&mut st.commission);
    w.skips(&["", ""]); // minCommission, maxCommission
    w.str(&mut st.commission_currency);
    if v >= FULL_ORDER_PREVIEW_FIELDS {
        // marginCurrency, nine outside-RTH margin values, suggestedSize
        w.skips(&["", "", "", "", "", "", "", "", "", "", ""]);
        w.str(&mut st.reject_reason);
        w.list(7); // order allocations
    }
    w.str(&mut st.warning_text);
    w.skips(&["0", "0"]); // randomizeSize, randomizePrice
    peg_bench(w, &o.order_type);
    conditions(w);
    // adjustedOrderType, triggerPrice, trailStopPrice, lmtPriceOffset,
    // adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount,
    // adjustableTrailingUnit, softDollarTier name/value/displayName, cashQty,
    // dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice,
    // usePriceMgmtAlgo
    w.skips(&[
        "", "", "", "", "", "", "", "0", "", "", "", "", "0", "0", "0", "0",
    ]);
    // ib_async 2.1.0 reads duration from 159; IB's client from 158.
    if v >= DURATION {
        w.skip("");
    }
    if v >= POST_TO_ATS {
        w.skip("");
    }
    if v >= AUTO_CANCEL_PARENT {
        w.skip("0");
    }
    peg_best_mid(w, v);
    if v >= CUSTOMER_ACCOUNT {
        w.skip("");
    }
    if v >= PROFESSIONAL_CUSTOMER {
        w.skip("0");
    }
    if v >= BOND_ACCRUED_INTEREST {
        w.skip("");
    }
    if v >= INCLUDE_OVERNIGHT {
        w.skip("0");
    }
    if v >= CME_TAGGING_FIELDS_IN_OPEN_ORDER {
        w.skips(&["", ""]); // extOperator, manualOrderIndicator
    }
    if v >= SUBMITTER {
        w.skip("");
    }
    if v >= IMBALANCE_ONLY {
        w.skip("0");
    }
}

/// CompletedOrder after its message id (never a version field).
pub fn completed_order(
    w: &mut impl Walk,
    c: &mut Contract,
    o: &mut Order,
    st: &mut OrderState,
    v: i32,
) {
    contract::reported(w, c);
    order_head(w, o);
    w.long(&mut o.perm_id);
    w.bool(&mut o.outside_rth);
    w.skips(&["0", "0", ""]); // hidden, discretionaryAmt, goodAfterTime
    fa_block(w, v);
    // startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper,
    // displaySize, sweepToFill, allOrNone, minQty, ocaType, triggerMethod,
    // volatility, volatilityType
    w.skips(&["", "", "", "", "", "", "0", "0", "", "0", "0", "", "0"]);
    delta_neutral(w, false);
    // continuousUpdate, referencePriceType, trailStopPrice, trailingPercent,
    // comboLegsDescrip
    w.skips(&["0", "0", "", "", ""]);
    w.list(8);
    w.list(1);
    w.list(2);
    w.skips(&["", ""]); // scaleInitLevelSize, scaleSubsLevelSize
    scale_tail(w);
    hedge(w);
    w.skips(&["", "", "0"]); // clearingAccount, clearingIntent, notHeld
    delta_neutral_contract(w);
    algo(w);
    w.skip("0"); // solicited
    w.str(&mut st.status);
    w.skips(&["0", "0"]); // randomizeSize, randomizePrice
    peg_bench(w, &o.order_type);
    conditions(w);
    // trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge,
    // isOmsContainer, autoCancelDate, filledQuantity, refFuturesConId,
    // autoCancelParent, shareholder, imbalanceOnly, routeMarketableToBbo,
    // parentPermId
    w.skips(&["", "", "", "0", "0", "", "", "0", "0", "", "0", "0", ""]);
    w.str(&mut st.completed_time);
    w.str(&mut st.completed_status);
    peg_best_mid(w, v);
    if v >= CUSTOMER_ACCOUNT {
        w.skip("");
    }
    if v >= PROFESSIONAL_CUSTOMER {
        w.skip("0");
    }
    if v >= SUBMITTER {
        w.skip("");
    }
}
