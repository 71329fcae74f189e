"""The simulated WAN (sniper/exchange/wan.py, issue 14), over real sockets on 127.0.0.1.

A request ARRIVES one one-way delay after its bytes reach the loopback socket: the not-open
decision (43115 / 25101, §10.5), the matching, ``requestTime`` (§4) and ``serverTime`` (§3.3)
use that instant; replies and WebSocket frames reach the client one one-way delay after the
exchange wrote them. The place-order budget (10/s per UID, §5) counts refused attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import pytest

from sniper.exchange import EmbeddedExchange, ExchangeSettings
from sniper.exchange import cli as exchange_cli
from sniper.exchange.wan import SPIN_NS, DelayLine, WanModel

Api = Any
ExchangeFactory = Any

MS = 1_000_000  # ns
V2_PATH = "/api/v2/spot/trade/place-order"
V3_PATH = "/api/v3/trade/place-order"


# --- helpers ------------------------------------------------------------------------------


def order_bytes(api: Api, version: str, client_oid: str, size: str = "10") -> bytes:
    """A signed market sell of PAWSUSDT as raw HTTP/1.1 bytes (v2 or v3)."""
    if version == "v2":
        path, key = V2_PATH, api.KEY
        body = {"symbol": "PAWSUSDT", "side": "sell", "orderType": "market", "size": size}
    else:
        path, key = V3_PATH, api.UTA_KEY
        body = {
            "category": "SPOT",
            "symbol": "PAWSUSDT",
            "side": "sell",
            "orderType": "market",
            "qty": size,
        }
    body["clientOid"] = client_oid
    text = json.dumps(body)
    headers = api.headers("POST", path, text, key=key)
    raw = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(text)}\r\n"
    raw += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n" + text
    return raw.encode()


TIME_REQUEST = b"GET /api/v2/public/time HTTP/1.1\r\nHost: x\r\n\r\n"


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, int, dict[str, Any]]:
    """(status, client receive time of the head in ns, JSON body) of one HTTP reply."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    received_ns = time.time_ns()
    status = int(head.split(b" ", 2)[1])
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    body = json.loads(await reader.readexactly(length))
    return status, received_ns, body


async def send_at(writer: asyncio.StreamWriter, data: bytes, at_ns: int) -> int:
    """Write ``data`` at ``at_ns`` (CLOCK_REALTIME): sleep, then spin the last ms. Returns the
    send instant."""
    wait = at_ns - time.time_ns() - 2 * MS
    if wait > 0:
        await asyncio.sleep(wait / 1e9)
    while time.time_ns() < at_ns:
        pass
    sent = time.time_ns()
    writer.write(data)  # an idle asyncio transport sends at once
    return sent


async def connect(ex: EmbeddedExchange) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A warm keep-alive connection: one time request already answered on it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
    writer.write(TIME_REQUEST)
    await read_reply(reader)
    return reader, writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


# --- the delay model ----------------------------------------------------------------------


def test_jitter_is_bounded_uniform_and_fifo() -> None:
    """Each delay in [one_way - jitter, one_way + jitter], spread over that range, and a link
    never hands bytes out before the bytes sent ahead of them (TCP never reorders)."""
    model = WanModel(ExchangeSettings(wan_one_way_ms=10, wan_jitter_ms=3, wan_seed=7))
    apart = model.link()  # sends 100 ms apart: FIFO never binds
    delays = [apart.due_ns(i * 100 * MS) - i * 100 * MS for i in range(5000)]
    assert min(delays) >= 7 * MS and max(delays) <= 13 * MS
    assert min(delays) < 7.2 * MS and max(delays) > 12.8 * MS  # the whole range is used
    assert 9.8 * MS < sum(delays) / len(delays) < 10.2 * MS  # uniform around one_way
    burst = model.link()  # sends 10 µs apart: FIFO binds, the bound still holds
    dues = [burst.due_ns(i * 10_000) for i in range(5000)]
    assert dues == sorted(dues)
    assert all(7 * MS <= due - i * 10_000 <= 13 * MS for i, due in enumerate(dues))


def test_jitter_clamped_at_zero_and_seeded() -> None:
    model = WanModel(ExchangeSettings(wan_one_way_ms=1, wan_jitter_ms=5, wan_seed=3))
    samples = [model.delay_ns() for _ in range(2000)]
    assert min(samples) == 0 and max(samples) <= 6 * MS
    again = WanModel(ExchangeSettings(wan_one_way_ms=1, wan_jitter_ms=5, wan_seed=3))
    assert [again.delay_ns() for _ in range(2000)] == samples


@pytest.mark.parametrize("field", ["wan_one_way_ms", "wan_jitter_ms"])
@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_settings_are_checked(field: str, value: float) -> None:
    settings = ExchangeSettings()
    setattr(settings, field, value)
    with pytest.raises(ValueError, match=field):
        EmbeddedExchange(settings)


async def test_delay_line_is_never_early_and_in_order() -> None:
    line = DelayLine(asyncio.get_running_loop())
    done: list[tuple[int, int]] = []
    finished = asyncio.Event()
    start = time.time_ns()
    dues = [start + d * MS for d in (5, 3, 12, 12, 0)]  # pushed out of order on purpose

    def ran(i: int) -> None:
        done.append((i, time.time_ns()))
        if len(done) == len(dues):
            finished.set()

    for i, due in enumerate(dues):
        line.push(due, ran, i)
    await asyncio.wait_for(finished.wait(), 2)
    assert [i for i, _ in done] == [0, 1, 2, 3, 4]  # FIFO: a later push never overtakes
    for i, ran_ns in done:
        assert ran_ns >= max(dues[: i + 1])  # never before its instant (nor an earlier item's)
    assert done[-1][1] - dues[2] < 20 * MS + SPIN_NS


# --- requests and replies -----------------------------------------------------------------


@pytest.mark.parametrize("skew_ms", [0, 1500])
async def test_reply_after_two_one_way_and_server_time_at_arrival(
    make_exchange: ExchangeFactory, skew_ms: int
) -> None:
    async with make_exchange(wan_one_way_ms=20) as ex:
        ex.faults.clock_skew_ms = skew_ms
        reader, writer = await asyncio.open_connection("127.0.0.1", ex.port)
        try:
            sent = time.time_ns()
            writer.write(TIME_REQUEST)
            status, received, body = await read_reply(reader)
        finally:
            await close(writer)
    assert status == 200
    assert received - sent >= 40 * MS  # 20 ms out, 20 ms back
    assert received - sent < 40 * MS + 500 * MS
    (rec,) = ex.records.requests
    assert rec.arrival_ns - rec.complete_ns == 20 * MS  # exactly: no jitter configured
    arrival_ms = (rec.arrival_ns + skew_ms * MS) // MS  # on the exchange clock
    assert int(body["data"]["serverTime"]) == arrival_ms == body["requestTime"]
    # so a client's RTT midpoint sees the exchange clock where it is
    assert 19 <= arrival_ms - skew_ms - sent / MS <= 25


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_order_decided_at_its_arrival(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    """20 ms one way: sent 25 ms before the open it arrives 5 ms early and is refused (43115 /
    v3 25101, requestTime = its arrival); sent 15 ms before, it arrives 5 ms after and fills."""
    async with make_exchange(wan_one_way_ms=20) as ex:
        api = api_for(ex)
        open_at = ex.server_time_ms() + 600
        await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.5", quantity_precision=2)
        early_conn, late_conn = await connect(ex), await connect(ex)
        early, late = order_bytes(api, version, "early"), order_bytes(api, version, "late")
        try:
            await send_at(early_conn[1], early, (open_at - 25) * MS)
            await send_at(late_conn[1], late, (open_at - 15) * MS)
            early_status, _, early_body = await read_reply(early_conn[0])
            late_status, _, late_body = await read_reply(late_conn[0])
        finally:
            await close(early_conn[1])
            await close(late_conn[1])
        not_open = "25101" if version == "v3" else "43115"
        assert (early_status, early_body["code"]) == (400, not_open)
        assert (late_status, late_body["code"]) == (200, "00000")
        first, second = ex.records.orders
        assert (first.client_oid, first.accepted, first.code) == ("early", False, not_open)
        assert (second.client_oid, second.accepted) == ("late", True)
        for rec in (first, second):
            assert rec.arrival_ns - rec.complete_ns == 20 * MS
        assert early_body["requestTime"] == first.arrival_ns // MS  # the arrival, not the reply
        assert late_body["requestTime"] == second.arrival_ns // MS
        (early_off, early_code, early_ok), (late_off, late_code, late_ok) = ex.arrivals("PAWSUSDT")
        assert -10 < early_off < 0 < late_off < 10  # ~ -5 ms and +5 ms
        assert (early_code, early_ok, late_code, late_ok) == (not_open, False, "00000", True)


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_arrived_before_the_flip_processed_after_it_is_refused(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    """The event loop is busy across the order's arrival, and the pair goes online before the
    order is processed: it arrived while the pair was gray, so it is refused as not open."""
    async with make_exchange(wan_one_way_ms=50) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.5", quantity_precision=2)
        reader, writer = await connect(ex)
        try:
            writer.write(order_bytes(api, version, "in-flight"))
            await asyncio.sleep(0.01)  # the exchange reads it: 50 ms on the simulated wire
            # the loop is held through the arrival (+50 ms), as a busy venue would be
            time.sleep(0.07)  # noqa: ASYNC251 - blocking on purpose
            ex.open_symbol("PAWSUSDT")  # the flip: after the arrival, before the processing
            opened_ms = ex.state.symbols["PAWSUSDT"].opened_at_ms
            assert opened_ms is not None
            opened_ns = opened_ms * MS
            status, _, body = await read_reply(reader)
            writer.write(order_bytes(api, version, "after"))
            after_status, _, after_body = await read_reply(reader)
        finally:
            await close(writer)
    not_open = "25101" if version == "v3" else "43115"
    assert (status, body["code"]) == (400, not_open)
    assert (after_status, after_body["code"]) == (200, "00000")
    refused, _ = ex.records.orders
    assert refused.reply_ns is not None
    assert refused.arrival_ns < opened_ns < refused.reply_ns
    assert [(ok, code) for _, code, ok in ex.arrivals("PAWSUSDT")] == [
        (False, not_open),
        (True, "00000"),
    ]
    assert ex.arrivals("PAWSUSDT")[0][0] < 0 < ex.arrivals("PAWSUSDT")[1][0]
    assert ex.state.symbols["PAWSUSDT"].status == "online"  # restored after the decision


async def test_order_sent_then_connection_closed_still_arrives(
    make_exchange: ExchangeFactory, api_for: Any
) -> None:
    """Bytes on the simulated wire arrive even if the client closes right after sending them:
    a venue executes an order whose sender hung up (money safety: never kinder)."""
    async with make_exchange(wan_one_way_ms=30) as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
        _, writer = await connect(ex)
        writer.write(order_bytes(api, "v2", "hung-up"))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        order = await ex.wait_for_order(timeout=2)
        assert order.client_oid == "hung-up" and order.accepted
        assert order.arrival_ns - order.complete_ns == 30 * MS


async def test_wan_switched_on_between_two_requests(make_exchange: ExchangeFactory) -> None:
    async with make_exchange() as ex:
        reader, writer = await connect(ex)
        try:
            ex.settings.wan_one_way_ms = 25
            sent = time.time_ns()
            writer.write(TIME_REQUEST)
            _, received, _ = await read_reply(reader)
            assert received - sent >= 50 * MS
            ex.settings.wan_one_way_ms = 0
            sent = time.time_ns()
            writer.write(TIME_REQUEST)
            _, received, _ = await read_reply(reader)
            assert received - sent < 50 * MS
        finally:
            await close(writer)
    first, on, off = ex.records.requests
    assert first.arrival_ns == first.complete_ns and off.arrival_ns == off.complete_ns
    assert on.arrival_ns - on.complete_ns == 25 * MS


async def test_nothing_changes_at_zero_delay(api: Api) -> None:
    """Default settings: no queueing, arrival = the request's last byte, replies at once."""
    ex = api.ex
    assert not ex.wan.active
    open_at = ex.server_time_ms() + 300
    await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.5", quantity_precision=2)
    reader, writer = await connect(ex)
    try:
        sent = time.time_ns()
        writer.write(order_bytes(api, "v2", "before"))
        _, received, body = await read_reply(reader)
        assert body["code"] == "43115"
        assert received - sent < 35 * MS
        await send_at(writer, order_bytes(api, "v2", "after"), (open_at + 5) * MS)
        _, _, body = await read_reply(reader)
        assert body["code"] == "00000"
    finally:
        await close(writer)
    assert all(r.arrival_ns == r.complete_ns for r in ex.records.requests)
    assert all(o.arrival_ns == o.complete_ns for o in ex.records.orders)
    (before_off, _, before_ok), (after_off, _, after_ok) = ex.arrivals("PAWSUSDT")
    assert before_off < 0 < after_off and (before_ok, after_ok) == (False, True)


# --- WebSocket frames ---------------------------------------------------------------------


async def test_public_ws_frames_delayed(make_exchange: ExchangeFactory, api_for: Any) -> None:
    async with make_exchange(wan_one_way_ms=20) as ex:
        api = api_for(ex)
        open_at = ex.server_time_ms() + 400
        await ex.list_symbol("PAWSUSDT", open_at_ms=open_at, price="0.5", quantity_precision=2)
        async with api.session.ws_connect(ex.ws_url) as ws:
            sent = time.time_ns()
            await ws.send_str("ping")
            msg = await ws.receive(timeout=2)
            assert msg.data == "pong" and time.time_ns() - sent >= 40 * MS
            await ws.send_str(api.sub_v2("PAWSUSDT"))
            assert (await api.recv_json(ws))["event"] == "subscribe"
            push = await api.recv_json(ws, 3)
            received = time.time_ns()
            assert push["arg"]["instId"] == "PAWSUSDT"
        written = ex.records.listing_ticker_ns["PAWSUSDT"]
        assert written >= open_at * MS
        assert received - written >= 20 * MS  # written at the open, seen one way later


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_private_ws_frames_delayed(
    make_exchange: ExchangeFactory, api_for: Any, version: str
) -> None:
    async with make_exchange(wan_one_way_ms=20) as ex:
        api = api_for(ex)
        ex.add_symbol("PAWSUSDT", price="0.5", quantity_precision=2)
        url = ex.ws_private_url if version == "v2" else ex.ws_private_url_v3
        key = api.KEY if version == "v2" else api.UTA_KEY
        ts = str(ex.server_time_ms() // 1000)
        login = {
            "apiKey": key,
            "passphrase": api.PASSPHRASE,
            "timestamp": ts,
            "sign": api.sign(api.SECRET, ts + "GET" + "/user/verify"),
        }
        arg = (
            {"instType": "SPOT", "channel": "orders", "instId": "default"}
            if version == "v2"
            else {"instType": "UTA", "topic": "order"}
        )
        async with api.session.ws_connect(url) as ws:
            sent = time.time_ns()
            await ws.send_str(json.dumps({"op": "login", "args": [login]}))
            assert (await api.recv_json(ws))["code"] == 0
            assert time.time_ns() - sent >= 40 * MS
            await ws.send_str(json.dumps({"op": "subscribe", "args": [arg]}))
            assert (await api.recv_json(ws))["event"] == "subscribe"
            sell = api.sell if version == "v2" else api.sell_v3
            _, body = await sell("PAWSUSDT", "10", "pushed")
            assert body["code"] == "00000"
            push = await api.recv_json(ws, 3)
            received = time.time_ns()
        first = next(p for p in ex.records.private_pushes if p.client_oid == "pushed")
        assert push["data"][0]["clientOid"] == "pushed"
        assert received - first.sent_ns >= 20 * MS


async def test_ws_frames_fifo_under_jitter(make_exchange: ExchangeFactory, api_for: Any) -> None:
    """10 ms ± 8 ms each way: 40 answers sent back to back arrive in order, none faster than
    the shortest possible round trip."""
    async with make_exchange(wan_one_way_ms=10, wan_jitter_ms=8, ws_max_msgs_per_s=0) as ex:
        api = api_for(ex)
        names = [f"NOPE{i}USDT" for i in range(40)]
        async with api.session.ws_connect(ex.ws_url) as ws:
            sent = time.time_ns()
            for name in names:
                await ws.send_str(api.sub_v2(name))
            errors = [await api.recv_json(ws) for _ in names]
            first_ns = time.time_ns()
        assert [e["code"] for e in errors] == [30001] * 40
        assert [e["arg"]["instId"] for e in errors] == names  # in order
        assert first_ns - sent >= 2 * 2 * MS  # at least 2 x (10 - 8) ms


# --- the place-order budget ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2", "v3"])
@pytest.mark.parametrize("counts_refused", [True, False])
async def test_place_order_budget_counts_refused_attempts(
    make_exchange: ExchangeFactory, api_for: Any, version: str, counts_refused: bool
) -> None:
    """10/s per UID (§5): 15 attempts at once on a pair not open yet. Counting refused attempts
    (default): 10 refused as not open (plus one per 100 ms the burst took), the rest 429. The
    kinder variant: every attempt refused as not open, none 429."""
    async with make_exchange(
        rate_limits=True, place_order_limit_counts_refused=counts_refused
    ) as ex:
        api = api_for(ex)
        await ex.list_symbol("PAWSUSDT", open_at_ms=None, price="0.5", quantity_precision=2)
        conns = [await connect(ex) for _ in range(15)]
        try:
            start = time.monotonic()
            for i, (_, writer) in enumerate(conns):
                writer.write(order_bytes(api, version, f"try-{i}"))
            replies = [await read_reply(reader) for reader, _ in conns]
            took_s = time.monotonic() - start
        finally:
            for _, writer in conns:
                await close(writer)
    not_open = "25101" if version == "v3" else "43115"
    codes = [body["code"] for _, _, body in replies]
    assert set(codes) <= {not_open, "429"}
    if counts_refused:
        assert 10 <= codes.count(not_open) <= 10 + int(took_s * 10)
        assert took_s > 0.4 or "429" in codes
    else:
        assert codes == [not_open] * 15


# --- sniper exchange --wan-ms -------------------------------------------------------------


def test_cli_wan_flags() -> None:
    parser = argparse.ArgumentParser()
    exchange_cli.add_arguments(parser)
    assert exchange_cli.wan_settings(parser.parse_args([])) == {
        "wan_one_way_ms": 0.0,
        "wan_jitter_ms": 0.0,
    }
    assert exchange_cli.wan_settings(parser.parse_args(["--wan-ms", "20"])) == {
        "wan_one_way_ms": 20.0,
        "wan_jitter_ms": 2.0,  # 10 % by default, the benchmark setting
    }
    args = parser.parse_args(["--wan-ms", "20", "--wan-jitter-ms", "0"])
    assert exchange_cli.wan_settings(args)["wan_jitter_ms"] == 0.0
    with pytest.raises(SystemExit):
        exchange_cli.wan_settings(parser.parse_args(["--wan-ms", "-1"]))
    with pytest.raises(SystemExit):
        exchange_cli.wan_settings(parser.parse_args(["--wan-ms", "nan"]))


def test_random_module_untouched() -> None:
    """The WAN's jitter has its own RNG: seeding it never moves the global one (which picks
    ticker periods)."""
    random.seed(11)
    expected = random.random()
    random.seed(11)
    WanModel(ExchangeSettings(wan_one_way_ms=5, wan_jitter_ms=1, wan_seed=1)).delay_ns()
    assert random.random() == expected
