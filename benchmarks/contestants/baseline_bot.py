"""Baseline contestant: the listing sniper a Python developer writes in an afternoon.

Deliberately ordinary, not deliberately slow: aiohttp for both the WebSocket and REST,
``json.loads`` on every message, the order body built and signed (``hmac`` + ``base64``) when
the ticker arrives, ``await session.post(...)``, the default asyncio event loop (no uvloop).
It does what such a bot usually does at start, a signed balance check, which also leaves a warm
keep-alive connection in the session's pool, so the measured gap is the per-message work and not
a TCP connect.

Same environment contract as ``sniper run``: BITGET_API_KEY, BITGET_SECRET_KEY,
BITGET_PASSPHRASE, TARGET_TOKEN, COIN_AMOUNT, BITGET_REST_URL, BITGET_WS_URL. Exits 0 once the
order is accepted (code 00000), 1 if it is rejected, 3 on timeout (BASELINE_TIMEOUT_S, 60 s).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import aiohttp

ORDER_PATH = "/api/v2/spot/trade/place-order"


def sign(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    prehash = timestamp + method + path + body
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def headers(key: str, secret: str, passphrase: str, method: str, path: str, body: str = "") -> dict:
    ts = str(int(time.time() * 1000))
    return {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": sign(secret, ts, method, path, body),
        "ACCESS-TIMESTAMP": ts,
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": "en-US",
    }


async def snipe() -> int:
    key = os.environ["BITGET_API_KEY"]
    secret = os.environ["BITGET_SECRET_KEY"]
    passphrase = os.environ["BITGET_PASSPHRASE"]
    symbol = os.environ["TARGET_TOKEN"].replace("/", "").replace("-", "").upper()
    amount = os.environ["COIN_AMOUNT"]
    rest = os.environ["BITGET_REST_URL"].rstrip("/")
    ws_url = os.environ["BITGET_WS_URL"]
    base_coin = symbol[:-4] if symbol.endswith("USDT") else symbol

    async with aiohttp.ClientSession() as session:
        # Balance check at start (signed GET); keeps a connection alive in the pool.
        path = f"/api/v2/spot/account/assets?coin={base_coin}"
        hdrs = headers(key, secret, passphrase, "GET", path)
        async with session.get(rest + path, headers=hdrs) as r:
            print("balance:", (await r.json()).get("data"), file=sys.stderr)

        async with session.ws_connect(ws_url, heartbeat=None) as ws:
            await ws.send_str(
                json.dumps(
                    {
                        "op": "subscribe",
                        "args": [{"instType": "SPOT", "channel": "ticker", "instId": symbol}],
                    }
                )
            )
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break
                    continue
                if msg.data == "pong":
                    continue
                data = json.loads(msg.data)
                if (
                    "action" in data
                    and data.get("arg", {}).get("channel") == "ticker"
                    and data["arg"].get("instId") == symbol
                    and data.get("data")
                ):
                    body = json.dumps(
                        {
                            "symbol": symbol,
                            "side": "sell",
                            "orderType": "market",
                            "force": "gtc",
                            "size": amount,
                            "clientOid": f"baseline-{time.time_ns()}",
                        }
                    )
                    hdrs = headers(key, secret, passphrase, "POST", ORDER_PATH, body)
                    async with session.post(rest + ORDER_PATH, data=body, headers=hdrs) as r:
                        reply = await r.json()
                    print("order:", reply, file=sys.stderr)
                    return 0 if reply.get("code") == "00000" else 1
    print("baseline: WebSocket closed before the listing", file=sys.stderr)
    return 1


def main() -> int:
    timeout = float(os.environ.get("BASELINE_TIMEOUT_S", "60"))
    try:
        return asyncio.run(asyncio.wait_for(snipe(), timeout))
    except TimeoutError:
        print("baseline: timed out", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
