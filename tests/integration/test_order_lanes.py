"""The order connections on their own, against the embedded exchange over real sockets.

Every test runs under the default asyncio loop and under uvloop (production's loop): each one
builds its loop with ``asyncio.Runner(loop_factory=...)``.

* The front door: a refused keep-alive (``Faults.front_door_403``, a Cloudflare-style 403 page)
  is logged at ERROR once when it starts and once when it ends, and kept in ``front_door``.
* Shutdown never waits on a healthy idle connection (the exchange keeps those 75 s), even when a
  cancel lands in the same loop iteration as the result it was waiting for: the Python 3.11
  ``asyncio.wait_for`` bug that hung ~8 % of lost-reply runs after SOLD.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiofastnet
import pytest
import uvloop

from sniper.exchange import EmbeddedExchange, ExchangeSettings
from sniper.exchange.faults import FRONT_DOOR_403_HTML
from sniper.live.lanes import USER_AGENT, OrderLanes, keepalive_request

T = TypeVar("T")
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
# Python 3.11's wait_for returns the inner result and drops a cancel that lands in the same
# loop iteration (fixed in 3.12, where wait_for is built on asyncio.timeout)
WAIT_FOR_DROPS_CANCELS = sys.version_info < (3, 12)


@pytest.fixture(params=list(LOOPS))
def run(request: pytest.FixtureRequest) -> Iterator[Callable[[Callable[[], Awaitable[T]]], T]]:
    """Run a coroutine function to completion in a fresh loop of the parametrized kind."""
    with asyncio.Runner(loop_factory=LOOPS[request.param]) as runner:
        yield lambda main: runner.run(main())  # type: ignore[arg-type, return-value]


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def _exchange() -> EmbeddedExchange:
    return EmbeddedExchange(ExchangeSettings(port=0, tls=False))


def _lanes(ex: EmbeddedExchange, interval_s: float = 0.2, **kwargs: Any) -> OrderLanes:
    url = urlsplit(ex.rest_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    return OrderLanes(
        host=host,
        port=port,
        addr=host,
        ssl_context=None,
        keepalive_request=keepalive_request(
            path="/api/v2/public/time", host=f"{host}:{port}", locale="en-US", demo=False
        ),
        keepalive_interval_s=interval_s,
        **kwargs,
    )


async def _until(predicate: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def _errors(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.ERROR]


# --- User-Agent on the wire ---------------------------------------------------------------------
def test_keepalives_carry_the_user_agent(run: Any) -> None:
    async def main() -> None:
        async with _exchange() as ex:
            lanes = _lanes(ex)
            await lanes.start(5)
            try:
                await _until(lambda: lanes.keepalives >= 2 and lanes.front_door.status == 200)
            finally:
                await lanes.close()
            pings = [r for r in ex.records.requests if r.path == "/api/v2/public/time"]
            assert pings and all(r.headers.get("User-Agent") == USER_AGENT for r in pings)
            assert USER_AGENT.startswith("sniper/") and len(USER_AGENT) > len("sniper/")

    run(main)


# --- the front door -----------------------------------------------------------------------------
def test_a_refusing_front_door_is_reported_once_when_it_starts_and_once_when_it_ends(
    run: Any, log_records: list[logging.LogRecord]
) -> None:
    seen: list[Any] = []

    async def main() -> None:
        async with _exchange() as ex:
            lanes = _lanes(ex, on_front_door=seen.append)
            await lanes.start(5)
            try:
                await _until(lambda: lanes.front_door.status == 200)
                assert not lanes.front_door.refused and _errors(log_records) == []
                ex.faults.front_door_403 = True
                await _until(lambda: lanes.front_door.refused)
                refused_at = lanes.keepalives
                await _until(lambda: lanes.keepalives >= refused_at + 3)  # still refused...
                assert lanes.front_door.refused
                errors = _errors(log_records)
                assert len(errors) == 1, errors  # ...but said once
                assert "REFUSES keep-alives" in errors[0] and "HTTP 403" in errors[0]
                assert "Attention Required! | Cloudflare" in errors[0]
                assert lanes.front_door.status == 403
                assert lanes.front_door.excerpt == "Attention Required! | Cloudflare"
                assert "REFUSES" in lanes.front_door.describe()
                ex.faults.front_door_403 = False
                await _until(lambda: not lanes.front_door.refused)
                assert lanes.front_door.status == 200
                assert lanes.front_door.describe() == "front door OK (HTTP 200)"
            finally:
                await lanes.close()
            errors = _errors(log_records)
            assert len(errors) == 2, errors
            assert "answers keep-alives again (HTTP 200)" in errors[1]
            # the callback saw each change: OK, refused, OK again
            assert [s.refused for s in seen] == [False, True, False]

    run(main)


def test_a_front_door_that_refuses_from_the_start_is_known_before_any_order(
    run: Any, log_records: list[logging.LogRecord]
) -> None:
    async def main() -> None:
        async with _exchange() as ex:
            ex.faults.front_door_403 = True
            lanes = _lanes(ex, interval_s=60)  # no periodic ping within the test: the first one
            await lanes.start(5)
            try:
                await _until(lambda: lanes.front_door.status is not None, within_s=2)
                assert lanes.front_door.refused
                errors = _errors(log_records)
                assert len(errors) == 1 and "HTTP 403" in errors[0]
                # sniper check can ask on demand
                state = await lanes.probe(within_s=2)
                assert state.refused and state.status == 403
                ex.faults.front_door_403 = False
                assert not (await lanes.probe(within_s=2)).refused
            finally:
                await lanes.close()

    run(main)


def test_no_fault_nothing_reported(run: Any, log_records: list[logging.LogRecord]) -> None:
    async def main() -> None:
        async with _exchange() as ex:
            lanes = _lanes(ex, interval_s=0.1)
            await lanes.start(5)
            try:
                await _until(lambda: lanes.keepalives >= 5)
                await _until(lambda: lanes.front_door.status == 200)
            finally:
                await lanes.close()
            assert not lanes.front_door.refused
            assert [r for r in log_records if r.levelno >= logging.WARNING] == []

    run(main)


def test_the_fault_page_looks_like_cloudflare(run: Any) -> None:
    """The fault answers only the keep-alive path, with the page, 403, text/html."""

    async def main() -> None:
        import aiohttp

        async with _exchange() as ex, aiohttp.ClientSession() as http:
            ex.faults.front_door_403 = True
            async with http.get(ex.rest_url + "/api/v2/public/time") as resp:
                assert resp.status == 403
                assert resp.content_type == "text/html"
                assert await resp.read() == FRONT_DOOR_403_HTML
            async with http.get(ex.rest_url + "/api/v2/spot/public/symbols") as resp:
                assert resp.status == 200  # other paths pass
            ex.faults.clear()
            async with http.get(ex.rest_url + "/api/v2/public/time") as resp:
                assert resp.status == 200 and (await resp.json())["code"] == "00000"

    run(main)


# --- shutdown -----------------------------------------------------------------------------------
def test_closing_with_healthy_idle_connections_is_immediate(run: Any) -> None:
    """The exchange would keep these connections 75 s: close() must not wait on them."""

    async def main() -> None:
        async with _exchange() as ex:
            assert ex.settings.http_keepalive_timeout_s >= 75
            lanes = _lanes(ex, interval_s=60)  # one keep-alive at start, the next in 30 s
            await lanes.start(5)
            await _until(lambda: lanes.front_door.status == 200)  # a keep-alive round trip
            await asyncio.sleep(0.05)
            assert all(ln is not None and ln.idle for ln in lanes.lanes)  # healthy and idle
            started = time.monotonic()
            await lanes.close()
            elapsed = time.monotonic() - started
            assert elapsed < 0.5, f"close() took {elapsed:.3f} s"
            assert all(ln is None or (not ln.up and ln.closed.done()) for ln in lanes.lanes)
            assert [t for t in asyncio.all_tasks() if t.get_name().startswith("sniper-")] == []

    run(main)


def test_close_while_a_reconnect_completes_in_the_same_iteration(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hang after SOLD: a lane reconnects (after a lost reply), and its connect completes in
    the same loop iteration as close() cancels the lane's task. With ``wait_for`` around the
    connect (3.11) the cancel was dropped and the task went on to wait on the new, healthy,
    idle connection; close() waited for the task before closing connections: 75 s."""
    gate: dict[str, Any] = {}
    real_connect = aiofastnet.create_connection

    async def gated_connect(*args: Any, **kwargs: Any) -> Any:
        result = await real_connect(*args, **kwargs)
        lane = result[1]
        # lane 0's new connection (not a first connect still returning after start()): hold
        # its result until the test releases it
        if "future" in gate and lane.index == 0 and lane is not gate["old"]:
            gate["waiting"] = True
            await gate["future"]
        return result

    monkeypatch.setattr(aiofastnet, "create_connection", gated_connect)

    async def main() -> None:
        async with _exchange() as ex:
            lanes = _lanes(ex, interval_s=60)
            await lanes.start(5)
            old = lanes.lanes[0]
            assert old is not None
            gate["old"], gate["future"] = old, asyncio.get_running_loop().create_future()
            old.abort()  # as the executor does with a lane whose reply was lost
            await _until(lambda: gate.get("waiting", False))
            new = lanes.lanes[0]
            assert new is not None and new is not old and new.idle  # healthy and idle
            # the connect's result and the cancel land in the same iteration
            gate["future"].set_result(None)
            started = time.monotonic()
            try:
                async with asyncio.timeout(5):
                    await lanes.close()
            except TimeoutError:
                pytest.fail("close() waited on a healthy idle connection")
            assert time.monotonic() - started < 0.5
            assert not new.up
            assert [t for t in asyncio.all_tasks() if t.get_name().startswith("sniper-")] == []

    run(main)


def test_the_swallowed_cancel_and_why_connections_close_first(run: Any) -> None:
    """The 3.11 bug itself, on a real idle keep-alive connection to the exchange: a task in
    ``wait_for`` whose inner future completes in the same loop iteration as the cancel keeps
    running. Cancelling tasks before closing connections (the old order) then waits on the
    connection; closing connections first (the new order) ends the task whatever happened to
    its cancel."""

    class Conn(asyncio.Protocol):
        def __init__(self) -> None:
            self.transport: asyncio.Transport | None = None
            self.closed = asyncio.get_running_loop().create_future()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.closed.done():
                self.closed.set_result(None)

    async def scenario(ex: EmbeddedExchange, old_order: bool) -> bool:
        """True if the shutdown finished within 1 s."""
        loop = asyncio.get_running_loop()
        url = urlsplit(ex.rest_url)
        conn: Conn | None = None
        gate = loop.create_future()

        async def connect() -> Conn:
            nonlocal conn
            _, conn = await loop.create_connection(Conn, url.hostname, url.port)
            await gate
            return conn

        async def maintain() -> None:  # the shape of the old OrderLanes._maintain
            lane = await asyncio.wait_for(connect(), timeout=10)
            await lane.closed

        task = asyncio.create_task(maintain())
        await _until(lambda: conn is not None)
        await asyncio.sleep(0.01)  # connect() is parked on the gate
        assert conn is not None and conn.transport is not None
        gate.set_result(None)  # the inner result and the cancel land in the same iteration
        if old_order:  # cancel, wait for the task, then close the connection
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=1)
            conn.transport.abort()
        else:  # close the connection, then cancel and wait for the task
            conn.transport.abort()
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=1)
        await asyncio.wait([task], timeout=1)
        return task in done

    async def main() -> None:
        async with _exchange() as ex:
            assert await scenario(ex, old_order=False)
            assert await scenario(ex, old_order=True) is not WAIT_FOR_DROPS_CANCELS

    run(main)


# --- keep-alives as network samples (issue 14) -------------------------------------------------
def test_keepalives_feed_the_clock_the_round_trip_of_the_order_connections(run: Any) -> None:
    """Each answered keep-alive is a round trip on the connections the order uses: through the
    run's sampler it reaches the clock's network window (here a simulated 5 ms one-way WAN)."""
    from sniper.live.clock import ServerClock
    from sniper.live.runner import _keepalive_sampler
    from sniper.live.venue import make_venue

    async def main() -> None:
        settings = ExchangeSettings(port=0, tls=False, wan_one_way_ms=5.0, wan_jitter_ms=0.0)
        async with EmbeddedExchange(settings) as ex:
            clock = ServerClock()
            sampler = _keepalive_sampler(clock, make_venue("classic", "PAWSUSDT", "PAWS"))
            lanes = _lanes(ex, interval_s=0.1, on_keepalive=sampler)
            await lanes.start(5)
            try:
                await _until(lambda: (n := clock.net()) is not None and n.samples >= 3)
            finally:
                await lanes.close()
            net = clock.net()
            assert net is not None and net.samples <= lanes.keepalives
            assert 4.5 <= net.one_way_ms < 50  # 10 ms round trip, plus loopback and the loop

    run(main)


def test_a_refused_or_unreadable_keepalive_is_no_clock_sample() -> None:
    from sniper.live.clock import ServerClock
    from sniper.live.lanes import Reply
    from sniper.live.runner import _keepalive_sampler
    from sniper.live.venue import make_venue

    clock = ServerClock()
    sampler = _keepalive_sampler(clock, make_venue("classic", "PAWSUSDT", "PAWS"))
    now = time.monotonic_ns()
    sampler(now - 2_000_000, Reply(200, b"<html>just a moment</html>", now, now))
    sampler(now - 2_000_000, Reply(200, b'{"code":"00000","data":{}}', now, now))
    assert clock.net() is None
    server = int(time.time() * 1000)
    body = b'{"code":"00000","data":{"serverTime":"%d"}}' % server
    sampler(now - 2_000_000, Reply(200, body, now, now))
    net = clock.net()
    assert net is not None and net.samples == 1 and 0.9 <= net.one_way_ms <= 1.1


# --- volley lanes -------------------------------------------------------------------------------
def test_volley_lanes_open_beside_the_trigger_lanes_on_a_board_of_their_own(run: Any) -> None:
    """``extra`` lanes: opened, kept alive, reopened like the trigger's two, closed with them;
    their state never reaches the trigger's board (the hot path fires on lanes 0 and 1 only)."""
    from tests.unit.test_live_lanes import CountingBoard

    async def main() -> None:
        async with _exchange() as ex:
            board = CountingBoard()
            lanes = _lanes(ex, interval_s=0.2, board=board, extra=2)
            await lanes.start(5)
            try:
                await _until(lambda: lanes.volley_lanes_up == 2)
                assert len(lanes.lanes) == 4
                assert {i for i, *_ in board.published} == {0, 1}
                extra = [ln for ln in lanes.lanes[2:] if ln is not None]
                await _until(lambda: all(ln.requests >= 2 for ln in extra))  # kept alive
                first = extra[0]
                first.abort()  # the server or the network drops one: reopened
                await _until(lambda: lanes.lanes[2] is not first and lanes.volley_lanes_up == 2)
                assert lanes.reconnects >= 1
                assert (await lanes.probe(within_s=2)).status == 200  # probes the trigger's
            finally:
                await lanes.close()
            assert all(ln is None or ln.closed.done() for ln in lanes.lanes)
            assert [t for t in asyncio.all_tasks() if t.get_name().startswith("sniper-")] == []

    run(main)


def test_no_volley_lanes_by_default(run: Any) -> None:
    async def main() -> None:
        async with _exchange() as ex:
            lanes = _lanes(ex, interval_s=60)
            await lanes.start(5)
            try:
                assert len(lanes.lanes) == 2 and lanes.volley_lanes_up == 0
                assert not any(t.get_name().endswith("-volley") for t in asyncio.all_tasks())
            finally:
                await lanes.close()

    run(main)
