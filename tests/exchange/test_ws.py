"""Public WebSocket conformance, v2 and v3 (§7)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

Api = Any
ExchangeFactory = Any


async def test_subscribe_ack_push_shape_v2(api: Api) -> None:
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("BTCUSDT"))
        ack = await api.recv_json(ws)
        assert ack == {
            "event": "subscribe",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": "BTCUSDT"},
        }
        push = await api.recv_json(ws)
        assert push["action"] == "snapshot"
        assert push["arg"] == ack["arg"]
        (data,) = push["data"]
        assert data["instId"] == "BTCUSDT" and data["lastPr"] == "43000.00"
        assert all(isinstance(v, str) for v in data.values())
        assert isinstance(push["ts"], int)
        # periodic pushes keep coming
        again = await api.recv_json(ws)
        assert again["arg"]["instId"] == "BTCUSDT"
        await ws.send_str(api.sub_v2("BTCUSDT", op="unsubscribe"))
        while (await api.recv_json(ws)).get("event") != "unsubscribe":
            pass
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
    assert ex.records.ws_subscriptions[0].result == "ok"


async def test_subscribe_ack_push_shape_v3(api: Api) -> None:
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url_v3) as ws:
        await ws.send_str(api.sub_v3("BTCUSDT"))
        ack = await api.recv_json(ws)
        assert ack["event"] == "subscribe"
        assert ack["arg"] == {"instType": "spot", "topic": "ticker", "symbol": "BTCUSDT"}
        push = await api.recv_json(ws)
        assert push["arg"]["topic"] == "ticker" and push["action"] == "snapshot"
        assert push["data"][0]["lastPrice"] == "43000.00"
        await ws.send_str(api.sub_v3("NOPEUSDT"))
        err = await api.recv_json(ws)
        while err.get("event") != "error":
            err = await api.recv_json(ws)
        assert err["code"] == 30001
        assert err["msg"] == "instType:spot,topic:ticker,symbol:NOPEUSDT doesn't exist"


async def test_unknown_symbol_30001_then_resubscribe_after_listing(api: Api) -> None:
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("PAWSUSDT"))
        err = await api.recv_json(ws)
        assert err == {
            "event": "error",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": "PAWSUSDT"},
            "code": 30001,
            "msg": "instType:SPOT,channel:ticker,instId:PAWSUSDT doesn't exist",
            "op": "subscribe",
        }
        # the socket stays open and the failed subscription is not remembered
        await ws.send_str("ping")
        assert (await ws.receive(timeout=2)).data == "pong"
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.0123", quantity_precision=2)
        ex.open_symbol("PAWSUSDT")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
        await ws.send_str(api.sub_v2("PAWSUSDT"))
        assert (await api.recv_json(ws))["event"] == "subscribe"
        push = await api.recv_json(ws)
        assert push["arg"]["instId"] == "PAWSUSDT"
    results = [r.result for r in ex.records.ws_subscriptions]
    assert results == [30001, "ok"]


async def test_gray_subscribable_then_listing_push(api: Api) -> None:
    ex = api.ex
    await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.0123", quantity_precision=2)
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("PAWSUSDT"))
        assert (await api.recv_json(ws))["event"] == "subscribe"
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)  # gray: acked, silent
        before = time.time_ns()
        ex.open_symbol("PAWSUSDT")
        push = await api.recv_json(ws)
        after = time.time_ns()
        assert push["data"][0]["lastPr"] == "0.0123"
        assert before <= ex.records.listing_ticker_ns["PAWSUSDT"] <= after
        (listing,) = ex.records.listing_pushes
        assert listing[1] == "PAWSUSDT"


async def test_gray_not_subscribable_setting(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(ws_gray_subscribable=False) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None)
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str(api.sub_v2("PAWSUSDT"))
            assert (await api.recv_json(ws))["code"] == 30001


async def test_bad_requests_keep_the_socket(api: Api) -> None:
    async with api.session.ws_connect(api.ex.ws_url) as ws:
        await ws.send_str("{not json")
        assert (await api.recv_json(ws))["code"] == 30002
        await ws.send_str(json.dumps({"op": "dance", "args": []}))
        assert (await api.recv_json(ws))["code"] == 30003
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"instType": "SPOT"}]}))
        assert (await api.recv_json(ws))["code"] == 30016
        bad_channel = {"instType": "SPOT", "channel": "books400", "instId": "BTCUSDT"}
        await ws.send_str(json.dumps({"op": "subscribe", "args": [bad_channel]}))
        assert (await api.recv_json(ws))["code"] == 30016
        await ws.send_bytes(b"\x00\x01")
        assert (await api.recv_json(ws))["code"] == 30002
        await ws.send_str("ping")
        assert (await ws.receive(timeout=2)).data == "pong"


async def test_idle_kill_without_text_ping(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(ws_idle_timeout_s=0.4) as ex:
        api = api_for(ex)
        async with (
            api.session.ws_connect(ex.ws_url) as pinging,
            api.session.ws_connect(ex.ws_url) as silent,
        ):
            start = time.monotonic()
            for _ in range(6):
                await pinging.send_str("ping")
                assert (await pinging.receive(timeout=2)).data == "pong"
                await asyncio.sleep(0.15)
            msg = await silent.receive(timeout=2)
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE)
            assert not pinging.closed
            assert time.monotonic() - start >= 0.4


async def test_message_rate_limit_disconnects(api: Api) -> None:
    async with api.session.ws_connect(api.ex.ws_url) as ws:
        for _ in range(11):
            await ws.send_str("ping")
        texts = []
        while True:
            msg = await ws.receive(timeout=2)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            texts.append(msg.data)
        assert texts[:10] == ["pong"] * 10
        assert json.loads(texts[10])["code"] == 30007


async def test_subscription_budget(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(ws_max_subs_per_hour=2, ws_max_msgs_per_s=0) as ex:
        api = api_for(ex)
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str(api.sub_v2("NOPE1USDT", "NOPE2USDT", "BTCUSDT"))
            codes = [(await api.recv_json(ws)).get("code") for _ in range(3)]
            assert codes == [30001, 30001, 30006]


async def test_ticker_interval_setting(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(ticker_interval_s=(0.02, 0.02)) as ex:
        api = api_for(ex)
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str(api.sub_v2("BTCUSDT"))
            await api.recv_json(ws)
            start = time.monotonic()
            for _ in range(6):
                await api.recv_json(ws)
            assert time.monotonic() - start < 0.5
