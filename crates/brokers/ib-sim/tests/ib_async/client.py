"""Drive the IB simulator with ib_async (pinned in scripts/test.sh) and print
what ib_async parsed as JSON. Usage: client.py <port>

The connect is ib_async's default: every start-up request (positions, open
and completed orders, account updates, the per-account "sub account" updates
of reqAccountUpdatesMulti, executions) with raiseSyncErrors, so an
unanswered one fails the script.
"""

import asyncio
import json
import sys

import ib_async
from ib_async import IB, LimitOrder, MarketOrder, Stock

ACCOUNT = "DU1234567"
# Managed too; only reqAccountUpdatesMulti at connect asks for its values.
OTHER = "DU7654321"
WAIT = 10


async def until(trade, status):
    """Wait on the trade's status events until it reaches `status`."""
    while trade.orderStatus.status != status:
        await asyncio.wait_for(trade.statusEvent, WAIT)


async def main(port):
    ib = IB()
    errors = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append([req_id, code, msg])
    await ib.connectAsync(
        "127.0.0.1",
        port,
        clientId=7,
        timeout=WAIT,
        account=ACCOUNT,
        raiseSyncErrors=True,
    )
    out = {
        "ib_async": ib_async.__version__,
        "server_version": ib.client.serverVersion(),
        "accounts": ib.managedAccounts(),
        "positions_before": [[p.account, p.contract.symbol, p.position] for p in ib.positions()],
        "account_values": sorted(
            [v.tag, v.value]
            for v in ib.accountValues(ACCOUNT)
            if v.currency == "USD" and v.tag in ("NetLiquidation", "TotalCashValue")
        ),
        # ib_async asked for ACCOUNT's updates by reqAccountUpdates, so
        # OTHER's values can only have come from reqAccountUpdatesMulti.
        "other_account_values": sorted(
            [v.account, v.modelCode, v.tag, v.value, v.currency]
            for v in ib.accountValues(OTHER)
            if v.tag in ("AccountCode", "NetLiquidation", "CashBalance")
        ),
    }

    [aapl] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    out["aapl"] = [aapl.conId, aapl.primaryExchange, aapl.localSymbol]

    mkt = ib.placeOrder(aapl, MarketOrder("BUY", 10, account=ACCOUNT, orderRef="ib-async-mkt"))
    await until(mkt, "Filled")
    lmt = ib.placeOrder(
        aapl, LimitOrder("BUY", 5, 200.0, account=ACCOUNT, orderRef="ib-async-lmt")
    )
    await until(lmt, "Submitted")
    out["mkt"] = [mkt.order.orderId, mkt.orderStatus.status, mkt.orderStatus.filled, mkt.orderStatus.avgFillPrice]
    out["lmt"] = [lmt.order.orderId, lmt.orderStatus.status]

    out["open_orders"] = sorted(t.order.orderRef for t in await ib.reqOpenOrdersAsync())
    out["all_open_orders"] = sorted(t.order.orderRef for t in await ib.reqAllOpenOrdersAsync())
    out["trades"] = sorted([t.order.orderRef, t.orderStatus.status] for t in ib.trades())
    out["fills"] = [
        [f.execution.orderId, f.execution.orderRef, f.execution.side, f.execution.shares,
         f.execution.price, f.commissionReport.commission]
        for f in ib.fills()
    ]
    out["executions"] = [
        [f.execution.execId, f.execution.orderRef, f.execution.side]
        for f in await ib.reqExecutionsAsync()
    ]
    out["completed"] = sorted(
        [t.order.orderRef, t.orderStatus.status]
        for t in await ib.reqCompletedOrdersAsync(apiOnly=False)
    )
    out["positions_after"] = [
        [p.account, p.contract.symbol, p.position, p.avgCost] for p in ib.positions()
    ]

    # From the account-updates subscription ib_async made at connect.
    out["portfolio"] = [
        [p.contract.symbol, p.position, p.marketPrice, p.marketValue, p.averageCost]
        for p in ib.portfolio(ACCOUNT)
    ]
    out["net_liquidation"] = [
        v.value for v in ib.accountValues(ACCOUNT)
        if v.tag == "NetLiquidation" and v.currency == "USD"
    ]

    ib.cancelOrder(lmt.order)
    await until(lmt, "Cancelled")
    out["lmt_after_cancel"] = lmt.orderStatus.status
    out["error_codes"] = sorted({e[1] for e in errors})
    ib.disconnect()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
