"""ccxt's Binance client driving the atomik Binance simulator.

Usage: python3 client.py BASE_URL API_KEY SECRET

Nothing of ccxt is changed but its URLs: every Binance host in
``exchange.urls['api']`` is replaced by BASE_URL (paths kept). The script runs
a client's normal flows on spot and USDⓈ-M futures (start-up, balances,
positions, ticker, a market order, fetching it back, open orders, order and
trade history) and prints one JSON object with what ccxt returned. Any error
ccxt raises ends the script with a non-zero exit and the error on stderr.
"""

import json
import re
import sys

import ccxt

base, api_key, secret = sys.argv[1:4]
exchange = ccxt.binance({"apiKey": api_key, "secret": secret})
for name, url in list(exchange.urls["api"].items()):
    if isinstance(url, str):
        exchange.urls["api"][name] = re.sub(r"^https?://[^/]+", base, url)

out = {"ccxt": ccxt.__version__}

markets = exchange.load_markets()
out["markets"] = sorted(markets)
out["currencies"] = sorted(exchange.currencies or {})

spot = exchange.fetch_balance()
out["spot_balance"] = {a: spot[a]["free"] for a in ("USDT", "BTC")}
futures = exchange.fetch_balance({"type": "swap", "subType": "linear"})
out["futures_usdt"] = futures["USDT"]["total"]

out["spot_last"] = exchange.fetch_ticker("BTC/USDT")["last"]
out["futures_last"] = exchange.fetch_ticker("BTC/USDT:USDT")["last"]


def round_trip(symbol, amount):
    placed = exchange.create_order(symbol, "market", "buy", amount)
    order = exchange.fetch_order(placed["id"], symbol)
    trades = exchange.fetch_my_trades(symbol)
    return {
        "id": order["id"],
        "status": order["status"],
        "filled": order["filled"],
        "average": order["average"],
        "open": len(exchange.fetch_open_orders(symbol)),
        "orders": [o["id"] for o in exchange.fetch_orders(symbol)],
        "trades": [[t["order"], t["side"], t["amount"], t["price"]] for t in trades],
    }


out["spot_order"] = round_trip("BTC/USDT", 0.001)
out["futures_order"] = round_trip("BTC/USDT:USDT", 0.01)

positions = exchange.fetch_positions(["BTC/USDT:USDT"])
out["positions"] = [
    [p["symbol"], p["side"], p["contracts"], p["entryPrice"]]
    for p in positions
    if p["contracts"]
]
out["spot_btc_after"] = exchange.fetch_balance()["BTC"]["free"]

print(json.dumps(out))
