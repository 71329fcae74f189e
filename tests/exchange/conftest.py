"""Fixtures for the embedded-exchange conformance suite: real sockets on 127.0.0.1.

Helpers are reached through fixtures (``api``, ``make_exchange``) rather than imported, so the
suite does not depend on how pytest sets up ``sys.path``. The test-side signer is written out
here on purpose (no import of the exchange's verifier) so a bug in one side cannot hide a bug in
the other; the §3.2 vectors in test_auth.py pin both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest

from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

KEY, SECRET, PASSPHRASE = "test-key", "test-secret-not-real", "test-pass"
UTA_KEY = "uta-key"


def bitget_sign(secret: str, prehash: str | bytes) -> str:
    data = prehash.encode() if isinstance(prehash, str) else prehash
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def auth_headers(
    ex: EmbeddedExchange,
    method: str,
    target: str,
    body: str = "",
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASSPHRASE,
    ts: str | None = None,
) -> dict[str, str]:
    ts = ts if ts is not None else str(ex.server_time_ms())
    headers = {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": bitget_sign(secret, ts + method + target + body),
        "ACCESS-PASSPHRASE": passphrase,
        "ACCESS-TIMESTAMP": ts,
        "locale": "en-US",
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers


class Api:
    """A thin signed client over one aiohttp session (keep-alive), plus the suite's helpers."""

    KEY, SECRET, PASSPHRASE, UTA_KEY = KEY, SECRET, PASSPHRASE, UTA_KEY
    sign = staticmethod(bitget_sign)
    sub_v2 = staticmethod(lambda *s, op="subscribe": sub_v2(*s, op=op))
    sub_v3 = staticmethod(lambda *s, op="subscribe": sub_v3(*s, op=op))
    recv_json = staticmethod(lambda ws, wait=2.0: recv_json(ws, wait))

    def headers(self, method: str, target: str, body: str = "", **kw: Any) -> dict[str, str]:
        return auth_headers(self.ex, method, target, body, **kw)

    def __init__(self, ex: EmbeddedExchange, session: aiohttp.ClientSession) -> None:
        self.ex = ex
        self.session = session

    async def public(self, target: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        async with self.session.get(self.ex.rest_url + target, **kw) as r:
            return r.status, await r.json(content_type=None)

    async def private(
        self, method: str, target: str, body: dict[str, Any] | str | None = None, **kw: Any
    ) -> tuple[int, dict[str, Any]]:
        text = body if isinstance(body, str) else (json.dumps(body) if body is not None else "")
        extra = kw.pop("headers", {})
        headers = {**auth_headers(self.ex, method, target, text, **kw), **extra}
        async with self.session.request(
            method, self.ex.rest_url + target, data=text.encode() if text else None, headers=headers
        ) as r:
            return r.status, await r.json(content_type=None)

    async def sell(
        self, symbol: str, size: str, client_oid: str | None = None, **kw: Any
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "symbol": symbol,
            "side": "sell",
            "orderType": "market",
            "force": "gtc",
            "size": size,
        }
        if client_oid is not None:
            body["clientOid"] = client_oid
        return await self.private("POST", "/api/v2/spot/trade/place-order", body, **kw)

    async def sell_v3(
        self, symbol: str, qty: str, client_oid: str | None = None, **kw: Any
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "category": "SPOT",
            "symbol": symbol,
            "side": "sell",
            "orderType": "market",
            "qty": qty,
        }
        if client_oid is not None:
            body["clientOid"] = client_oid
        kw.setdefault("key", UTA_KEY)
        return await self.private("POST", "/api/v3/trade/place-order", body, **kw)


ExchangeFactory = Callable[..., AbstractAsyncContextManager[EmbeddedExchange]]


def sub_v2(*symbols: str, op: str = "subscribe") -> str:
    args = [{"instType": "SPOT", "channel": "ticker", "instId": s} for s in symbols]
    return json.dumps({"op": op, "args": args})


def sub_v3(*symbols: str, op: str = "subscribe") -> str:
    args = [{"instType": "spot", "topic": "ticker", "symbol": s} for s in symbols]
    return json.dumps({"op": op, "args": args})


async def recv_json(ws: aiohttp.ClientWebSocketResponse, wait: float = 2.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=wait)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


@pytest.fixture
def make_exchange() -> ExchangeFactory:
    """``async with make_exchange(**settings) as ex``: started, with the standard fixtures."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[EmbeddedExchange]:
        overrides.setdefault("ticker_interval_s", (0.05, 0.1))
        overrides.setdefault("rate_limits", False)  # the rate-limit tests turn them on
        async with EmbeddedExchange(ExchangeSettings(**overrides)) as ex:
            ex.add_account(
                Account(
                    api_key=KEY,
                    secret=SECRET,
                    passphrase=PASSPHRASE,
                    balances={"PAWS": "1000", "USDT": "50"},
                )
            )
            ex.add_account(
                Account(
                    api_key=UTA_KEY,
                    secret=SECRET,
                    passphrase=PASSPHRASE,
                    mode="uta",
                    balances={"PAWS": "1000", "USDT": "50"},
                )
            )
            ex.add_symbol("BTCUSDT", price="43000", quantity_precision=6, price_precision=2)
            yield ex

    return factory


@pytest.fixture
async def ex(make_exchange: ExchangeFactory) -> AsyncIterator[EmbeddedExchange]:
    async with make_exchange() as exchange:
        yield exchange


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def api(ex: EmbeddedExchange, session: aiohttp.ClientSession) -> Api:
    return Api(ex, session)


@pytest.fixture
def api_for(session: aiohttp.ClientSession) -> Callable[[EmbeddedExchange], Api]:
    """An :class:`Api` for an exchange made with ``make_exchange`` inside a test."""
    return lambda exchange: Api(exchange, session)
