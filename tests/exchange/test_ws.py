"""Public WebSocket conformance, v2 and v3 (§7)."""

from __future__ import annotations

import asyncio
import contextlib
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
        # ws_v3_error_unknown_symbol: no arg, a connId, the arg as sorted compact JSON
        assert set(err) == {"event", "code", "msg", "connId"}
        assert err["code"] == 30001
        described = '{"instType":"spot","symbol":"NOPEUSDT","topic":"ticker"}'
        assert err["msg"] == described + " doesn't exist"


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


async def test_deeply_nested_message_is_30002_and_keeps_the_socket(api: Api) -> None:
    async with api.session.ws_connect(api.ex.ws_url) as ws:
        await ws.send_str("[" * 100_000 + "]" * 100_000)
        assert (await api.recv_json(ws))["code"] == 30002
        await ws.send_str("ping")
        assert (await ws.receive(timeout=2)).data == "pong"


@pytest.mark.parametrize("v3", [False, True], ids=["v2", "v3"])
async def test_gray_snapshot_setting(
    make_exchange: ExchangeFactory, api_for: Any, v3: bool
) -> None:
    """§7.3: a clone acknowledged a gray pair and sent one (probably empty) snapshot. With
    ws_gray_snapshot the ack of a gray ticker is followed by one snapshot whose data[0] is an
    object with zero prices; nothing more until the pair opens (then the listing push)."""
    async with make_exchange(ws_gray_snapshot=True) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.0123", quantity_precision=2)
        url, sub = (ex.ws_url_v3, api.sub_v3) if v3 else (ex.ws_url, api.sub_v2)
        async with api.session.ws_connect(url) as ws:
            await ws.send_str(sub("PAWSUSDT"))
            assert (await api.recv_json(ws))["event"] == "subscribe"
            gray = await api.recv_json(ws)
            assert gray["action"] == "snapshot" and isinstance(gray["ts"], int)
            (data,) = gray["data"]
            if v3:
                assert gray["arg"] == {"instType": "spot", "topic": "ticker", "symbol": "PAWSUSDT"}
                # ws_v3_ticker: no symbol inside data (only in arg)
                assert "symbol" not in data and data["lastPrice"] == "0"
            else:
                assert gray["arg"] == {
                    "instType": "SPOT",
                    "channel": "ticker",
                    "instId": "PAWSUSDT",
                }
                assert data["instId"] == "PAWSUSDT" and data["lastPr"] == "0"
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.3)  # one only
            assert ex.records.listing_pushes == []  # not the listing ticker
            ex.open_symbol("PAWSUSDT")
            push = await api.recv_json(ws)
            assert push["data"][0]["lastPrice" if v3 else "lastPr"] == "0.0123"
            assert len(ex.records.listing_pushes) == 1


async def test_gray_snapshot_is_off_by_default(api: Api) -> None:
    await api.ex.list_symbol("PAWSUSDT", open_at_ms=None)
    async with api.session.ws_connect(api.ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("PAWSUSDT"))
        assert (await api.recv_json(ws))["event"] == "subscribe"
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)


def _client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client->server frame (RFC 6455 §5.3)."""
    import os
    import struct

    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _read_server_frames(reader: asyncio.StreamReader) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every server frame until the close frame or EOF."""
    frames = []
    while True:
        try:
            b0, b1 = await asyncio.wait_for(reader.readexactly(2), 3)
        except asyncio.IncompleteReadError:
            return frames
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        frames.append((b0 & 0x0F, await reader.readexactly(n)))
        if b0 & 0x0F == 0x8:
            return frames


async def test_message_rate_limit_30007_survives_a_client_that_keeps_sending(api: Api) -> None:
    """30007 then a graceful close: even with client data still unread at the server (which made
    an abort send a TCP reset that wiped the 30007 frame at the client), the client reads every
    pong, the 30007 frame and a close frame."""
    import base64
    import os

    reader, writer = await asyncio.open_connection("127.0.0.1", api.ex.port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /v2/ws/public HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        # 11 pings (one over the limit), then ~300 kB the server has not read yet
        writer.write(_client_frame(b"ping") * 11 + _client_frame(b"x" * 60_000) * 5)
        await writer.drain()
        await asyncio.sleep(0.3)  # let the server act before we read anything
        frames = await _read_server_frames(reader)
        texts = [p for op, p in frames if op == 0x1]
        assert texts[:10] == [b"pong"] * 10
        assert json.loads(texts[10])["code"] == 30007
        assert frames[-1][0] == 0x8 and int.from_bytes(frames[-1][1][:2], "big") == 1008
        writer.write(_client_frame(frames[-1][1][:2], opcode=0x8))  # our close reply
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""  # then a clean FIN
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
