"""Every fault of ``ex.faults``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import picows
import pytest

Api = Any
ExchangeFactory = Any


async def test_drop_ws_connections(api: Api) -> None:
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url) as a, api.session.ws_connect(ex.ws_url_v3) as b:
        await a.send_str("ping")
        await a.receive(timeout=2)
        assert await ex.faults.drop_ws_connections() == 2
        for ws in (a, b):
            msg = await ws.receive(timeout=2)
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    # new connections are accepted afterwards
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str("ping")
        assert (await ws.receive(timeout=2)).data == "pong"


async def test_withhold_next_order_reply(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.withhold_next_order_reply()
    task = asyncio.create_task(api.sell("PAWSUSDT", "10", client_oid="w1"))
    order = await ex.wait_for_order(timeout=2)
    assert order.accepted and not order.replied and order.client_oid == "w1"
    await asyncio.sleep(0.2)
    assert not task.done()  # never answered, connection left open
    assert ex.balance(api.KEY, "PAWS") == Decimal("990")  # but filled
    # findable by a fresh connection
    async with aiohttp.ClientSession() as other:
        from_other = type(api)(ex, other)
        _, body = await from_other.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=w1")
        assert body["data"][0]["status"] == "filled"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_withheld_reply_does_not_block_stop(
    make_exchange: ExchangeFactory, api_for: Any
) -> None:
    async with make_exchange() as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
        ex.faults.withhold_next_order_reply()
        task = asyncio.create_task(api.sell("PAWSUSDT", "10"))
        await ex.wait_for_order(timeout=2)
    # the exchange stopped: the withheld request's connection was aborted
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(task, 2)


async def test_queued_order_replies_are_not_executed(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.queue_order_replies(["40015", 429, 503])
    s1, b1 = await api.sell("PAWSUSDT", "10")
    assert (s1, b1["code"], b1["data"]) == (400, "40015", None)
    s2, b2 = await api.sell("PAWSUSDT", "10")
    assert (s2, b2["code"], b2["msg"]) == (429, "429", "Too Many Requests")
    async with api.session.post(
        ex.rest_url + "/api/v2/spot/trade/place-order",
        data="{}",
        headers=api.headers("POST", "/api/v2/spot/trade/place-order", "{}"),
    ) as r:
        assert r.status == 503
        assert r.content_type == "text/html"
    assert ex.balance(api.KEY, "PAWS") == Decimal("1000")
    assert [o.accepted for o in ex.records.orders] == [False, False, False]
    _, b4 = await api.sell("PAWSUSDT", "10")
    assert b4["code"] == "00000"
    assert ex.records.orders[-1].accepted


async def test_fail_polls(api: Api) -> None:
    ex = api.ex
    ex.faults.fail_polls(429, count=2)
    ex.faults.fail_polls("40015", count=1)
    s1, _ = await api.public("/api/v2/spot/public/symbols")
    s2, _ = await api.public("/api/v3/market/instruments?category=SPOT")
    # other endpoints are unaffected
    s_time, _ = await api.public("/api/v2/public/time")
    s3, b3 = await api.public("/api/v2/spot/public/symbols")
    s4, _ = await api.public("/api/v2/spot/public/symbols")
    assert (s1, s2, s_time, s3, b3["code"], s4) == (429, 429, 200, 400, "40015", 200)


async def test_send_ws_frames(api: Api) -> None:
    ex = api.ex
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str("ping")
        await ws.receive(timeout=2)
        decoy = '{"action":"snapshot","arg":{"channel":"ticker","instId":"PAWSUSDTX"},"data":[{}]}'
        assert await ex.faults.send_ws_frames([decoy, b"{broken"]) == 1
        assert (await ws.receive(timeout=2)).data == decoy
        assert (await ws.receive(timeout=2)).data == "{broken"
        await ex.faults.send_ws_frames([b"\x01\x02"], binary=True)
        msg = await ws.receive(timeout=2)
        assert msg.type == aiohttp.WSMsgType.BINARY and msg.data == b"\x01\x02"
        big = "x" * 70_000
        await ex.faults.send_ws_frames([big])
        assert (await ws.receive(timeout=2)).data == big


async def test_mute_ws_pushes(api: Api) -> None:
    ex = api.ex
    ex.faults.mute_ws_pushes = True
    await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="1", quantity_precision=2)
    async with api.session.ws_connect(ex.ws_url) as ws:
        await ws.send_str(api.sub_v2("BTCUSDT", "PAWSUSDT"))
        assert (await api.recv_json(ws))["event"] == "subscribe"
        assert (await api.recv_json(ws))["event"] == "subscribe"
        ex.open_symbol("PAWSUSDT")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
        assert "PAWSUSDT" not in ex.records.listing_ticker_ns
        # polling still sees the pair online
        _, body = await api.public("/api/v2/spot/public/symbols?symbol=PAWSUSDT")
        assert body["data"][0]["status"] == "online"
        ex.faults.mute_ws_pushes = False
        push = await api.recv_json(ws)
        assert push["action"] == "snapshot"


async def test_hide_orders_from_lookup_v2_and_v3(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    status, body = await api.sell("PAWSUSDT", "10", client_oid="h2")
    assert status == 200 and body["code"] == "00000"
    status, body = await api.sell_v3("PAWSUSDT", "10", client_oid="h3")
    assert status == 200 and body["code"] == "00000"
    ex.faults.hide_orders_from_lookup = True
    s2, b2 = await api.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=h2")
    assert (s2, b2["code"]) == (400, "43001")
    s3, b3 = await api.private("GET", "/api/v3/trade/order-info?clientOid=h3", key=api.UTA_KEY)
    assert (s3, b3["code"]) == (400, "25204")
    # executed all the same
    assert ex.balance(api.KEY, "PAWS") == Decimal("990")
    assert ex.balance(api.UTA_KEY, "PAWS") == Decimal("990")
    ex.faults.clear()
    s2, b2 = await api.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=h2")
    assert s2 == 200 and b2["data"][0]["clientOid"] == "h2"


async def test_drop_next_order_request(api: Api) -> None:
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.drop_next_order_request()
    task = asyncio.create_task(api.sell("PAWSUSDT", "10", client_oid="d1"))
    await asyncio.sleep(0.3)
    assert not task.done()  # never answered
    assert len(ex.records.orders) == 1
    rec = ex.records.orders[0]
    assert not rec.accepted and not rec.replied and rec.code is None and rec.client_oid == "d1"
    assert ex.balance(api.KEY, "PAWS") == Decimal("1000")  # never executed
    async with aiohttp.ClientSession() as other:
        from_other = type(api)(ex, other)
        s, b = await from_other.private("GET", "/api/v2/spot/trade/orderInfo?clientOid=d1")
        assert (s, b["code"]) == (400, "43001")
        # the same clientOid is then accepted (it never existed)
        s, b = await from_other.sell("PAWSUSDT", "10", client_oid="d1")
        assert (s, b["code"]) == (200, "00000")
    assert ex.balance(api.KEY, "PAWS") == Decimal("990")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_freeze_balances_v2_and_v3(api: Api) -> None:
    """The assets endpoints lag: they keep showing the balances of the freeze; orders still
    execute against (and move) the real ones."""
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.freeze_balances()
    assert (await api.sell("PAWSUSDT", "10"))[1]["code"] == "00000"
    assert (await api.sell_v3("PAWSUSDT", "10"))[1]["code"] == "00000"
    assert ex.balance(api.KEY, "PAWS") == Decimal("990")
    _, b2 = await api.private("GET", "/api/v2/spot/account/assets?coin=PAWS")
    assert Decimal(b2["data"][0]["available"]) == Decimal("1000")
    _, b3 = await api.private("GET", "/api/v3/account/assets", key=api.UTA_KEY)
    paws = next(a for a in b3["data"]["assets"] if a["coin"] == "PAWS")
    assert Decimal(paws["available"]) == Decimal("1000")
    # the real balance still decides: 995 more is more than the 990 left
    assert (await api.sell("PAWSUSDT", "995"))[1]["code"] == "43012"
    ex.faults.thaw_balances()
    _, b2 = await api.private("GET", "/api/v2/spot/account/assets?coin=PAWS")
    assert Decimal(b2["data"][0]["available"]) == Decimal("990")
    ex.faults.freeze_balances()
    ex.faults.clear()
    assert ex.faults.stale_balances == {}


async def test_fragment_ws_pushes(api: Api) -> None:
    """``fragment_ws_pushes = N``: every JSON text message (ack, push) goes out as one message
    in N frames — TEXT without fin, CONTINUATION frames, the last with fin; the pong stays
    whole. Read with picows, which hands over raw frames."""
    ex = api.ex
    await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="1", quantity_precision=2)
    ex.faults.fragment_ws_pushes = 3
    frames: list[tuple[picows.WSMsgType, bool, bytes]] = []

    class Record(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            frames.append((frame.msg_type, bool(frame.fin), frame.get_payload_as_bytes()))

    def messages() -> list[tuple[int, bytes]]:
        """(frames, payload) of every complete text message so far."""
        done, parts = [], []
        for kind, fin, payload in frames:
            if kind == picows.WSMsgType.TEXT:
                parts = [payload]
            elif kind == picows.WSMsgType.CONTINUATION:
                parts.append(payload)
            else:
                continue
            if fin:
                done.append((len(parts), b"".join(parts)))
        return done

    async def until(predicate: Callable[[], bool]) -> None:
        for _ in range(200):
            if predicate():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"not reached; frames: {frames[:10]}")

    transport, _ = await picows.ws_connect(Record, ex.ws_url)
    try:
        transport.send(picows.WSMsgType.TEXT, api.sub_v2("PAWSUSDT").encode())
        await until(lambda: len(messages()) >= 1)
        ex.open_symbol("PAWSUSDT")  # the listing push
        await until(lambda: len(messages()) >= 2)
        transport.send(picows.WSMsgType.TEXT, b"ping")
        await until(lambda: any(m == (1, b"pong") for m in messages()))
        ack, push = (json.loads(payload) for n, payload in messages()[:2])
        assert ack["event"] == "subscribe" and push["action"] == "snapshot"
        assert all(n == 3 for n, payload in messages() if payload != b"pong")
        first = frames[0]
        assert first[0] == picows.WSMsgType.TEXT and not first[1]
        assert [k for k, _, _ in frames[1:3]] == [picows.WSMsgType.CONTINUATION] * 2
        ex.faults.clear()
        before = len(messages())
        # the periodic pushes come whole again (one write per message: none is cut in two)
        await until(lambda: any(p != b"pong" for _, p in messages()[before:]))
        assert all(n == 1 for n, _ in messages()[before:])
        assert json.loads(messages()[-1][1])["action"] == "snapshot"
    finally:
        transport.disconnect()
        await transport.wait_disconnected()


async def test_swallow_ws_pings(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """``swallow_ws_pings``: a text ping is lost on its way in — no pong, and it does not keep
    the connection alive (the idle kill comes as if the client never pinged); the rest of the
    connection still works. Cleared, pings are answered again."""
    async with make_exchange(ws_idle_timeout_s=0.5) as ex:
        api = api_for(ex)
        ex.faults.swallow_ws_pings = True
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str("ping")
            await ws.send_str(api.sub_v2("BTCUSDT"))
            assert (await api.recv_json(ws))["event"] == "subscribe"  # not a pong first
            for _ in range(100):  # pinging all the time (once per push), yet idle-killed
                with contextlib.suppress(aiohttp.ClientConnectionResetError):
                    await ws.send_str("ping")
                msg = await ws.receive(timeout=2)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                assert msg.data != "pong"  # only ticker pushes come back
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE), msg
        ex.faults.clear()
        assert ex.faults.swallow_ws_pings is False
        async with api.session.ws_connect(ex.ws_url) as ws:
            await ws.send_str("ping")
            assert (await ws.receive(timeout=2)).data == "pong"


async def test_queued_v3_codes_carry_their_message_and_are_not_executed(api: Api) -> None:
    """§5.11 transient UTA codes as canned replies: 'not executed, answered 25000'."""
    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.queue_order_replies(["25000", "25001", "25003", "25004", "25209"])
    seen = [(await api.sell_v3("PAWSUSDT", "10"))[1] for _ in range(5)]
    assert [(b["code"], b["msg"]) for b in seen] == [
        ("25000", "System error, please try again later"),
        ("25001", "Operation timed out"),
        ("25003", "Concurrent operation, please retry"),
        ("25004", "Operation too frequent, please try again later"),
        ("25209", "Insufficient market liquidity, please try again later"),
    ]
    assert all(b["data"] is None for b in seen)
    assert ex.balance(api.UTA_KEY, "PAWS") == Decimal("1000")
    assert not any(o.accepted for o in ex.records.orders)


async def test_order_reply_executed_then_answered(api: Api) -> None:
    """'Executed but answered X': the order fills (balance, orderInfo), the client reads X."""
    from sniper.exchange import OrderReply

    ex = api.ex
    ex.add_symbol("PAWSUSDT", price="1", quantity_precision=2)
    ex.faults.queue_order_replies(
        [
            OrderReply("25001", executed=True),
            OrderReply(status=503, executed=True),
            OrderReply(raw=b'{"code":"00000","msg":"succ', executed=True),
            OrderReply("40015", status=200, executed=True),
        ]
    )
    s1, b1 = await api.sell_v3("PAWSUSDT", "10", client_oid="x1")
    assert (s1, b1["code"], b1["msg"], b1["data"]) == (400, "25001", "Operation timed out", None)
    async with api.session.post(
        ex.rest_url + "/api/v2/spot/trade/place-order",
        data=(
            body := json.dumps(
                {
                    "symbol": "PAWSUSDT",
                    "side": "sell",
                    "orderType": "market",
                    "force": "gtc",
                    "size": "10",
                    "clientOid": "x2",
                }
            )
        ),
        headers=api.headers("POST", "/api/v2/spot/trade/place-order", body),
    ) as r:
        assert (r.status, r.content_type) == (503, "text/html")
    async with api.session.post(
        ex.rest_url + "/api/v2/spot/trade/place-order",
        data=(body := body.replace("x2", "x3")),
        headers=api.headers("POST", "/api/v2/spot/trade/place-order", body),
    ) as r:
        assert (r.status, await r.read()) == (200, b'{"code":"00000","msg":"succ')
    s4, b4 = await api.sell("PAWSUSDT", "10", client_oid="x4")
    assert (s4, b4["code"], b4["msg"]) == (
        200,
        "40015",
        "System is abnormal, please try again later",
    )
    # all four were executed
    assert ex.balance(api.UTA_KEY, "PAWS") == Decimal("990")
    assert ex.balance(api.KEY, "PAWS") == Decimal("970")
    _, info = await api.private("GET", "/api/v3/trade/order-info?clientOid=x1", key=api.UTA_KEY)
    assert info["data"]["orderStatus"] == "filled"
    for oid in ("x2", "x3", "x4"):
        _, info = await api.private("GET", f"/api/v2/spot/trade/orderInfo?clientOid={oid}")
        assert info["data"][0]["status"] == "filled"
    assert [(o.accepted, o.code) for o in ex.records.orders] == [
        (True, "25001"),
        (True, None),
        (True, None),
        (True, "40015"),
    ]


async def test_order_reply_executed_but_refused_executes_nothing(api: Api) -> None:
    """executed=True runs the order through the matching engine: a refused order (here: the
    pair is not open, 25101) stays unexecuted, and the canned reply is still what is read."""
    from sniper.exchange import OrderReply

    ex = api.ex
    await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="1")
    ex.faults.queue_order_replies([OrderReply("25000", msg="custom text", executed=True)])
    _, body = await api.sell_v3("PAWSUSDT", "10")
    assert (body["code"], body["msg"]) == ("25000", "custom text")
    assert ex.balance(api.UTA_KEY, "PAWS") == Decimal("1000")
    assert [(o.accepted, o.code) for o in ex.records.orders] == [(False, "25000")]


def test_order_reply_needs_something_to_say() -> None:
    from sniper.exchange import OrderReply

    with pytest.raises(ValueError, match="code, a status or a raw body"):
        OrderReply()


async def test_fail_polls_refuses_an_executed_reply(api: Api) -> None:
    from sniper.exchange import OrderReply

    with pytest.raises(ValueError, match="executes nothing"):
        api.ex.faults.fail_polls(OrderReply("40015", executed=True))
    api.ex.faults.fail_polls(OrderReply("25004"))
    status, body = await api.public("/api/v3/market/instruments?category=SPOT")
    assert (status, body["code"]) == (400, "25004")
