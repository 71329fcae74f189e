"""Hot path in process: WebSocket frame bytes in → signed order bytes out, compiled vs twin.

What one timed iteration does is exactly what ``sniper run`` does inside picows'
``on_ws_frame``: ``TickerListener.on_ws_frame`` → ``TickerScanner`` → ``OrderTrigger.fire`` →
``write(request)`` — here the write is ``socket.send`` on a socketpair (a real syscall, as on
the real connection, minus TCP) — then, after the write, the claim of the reply (a loop future,
as ``OrderLane.claim`` makes) and ``on_fired``. The timed call includes what follows the write;
``extra_info["detect_to_written_ns"]`` is the median of the trigger's own stamps
(``written_ns - detect_ns``): the part before the bytes are out. The frame is a picows
``WSFrame`` built with ``picows.picows._make_test_ws_frame`` from a pre-built ticker payload;
the request is a real ``OrderTemplate`` (signed). The trigger fires exactly once per instance,
so each round gets a fresh trigger and listener in ``setup`` (not timed) and the receiving end
is drained there.

Run: ``pytest benchmarks/test_hotpath.py`` (pytest-benchmark prints the table; compare the
``compiled`` and ``twin`` rows of each group).
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import statistics
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")
picows_impl = pytest.importorskip("picows.picows")

SYMBOL = "PAWSUSDT"
HIT_PAYLOAD = (
    b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"},'
    b'"data":[{"instId":"PAWSUSDT","lastPr":"0.000231","open24h":"0.000231","high24h":"0.000231",'
    b'"low24h":"0.000231","change24h":"0","bidPr":"0.000230","askPr":"0.000232","bidSz":"1000",'
    b'"askSz":"1000","baseVolume":"0","quoteVolume":"0","openUtc":"0.000231",'
    b'"changeUtc24h":"0","ts":"1751623200000"}],"ts":1751623200001}'
)
MISS_PAYLOAD = HIT_PAYLOAD.replace(b"PAWSUSDT", b"BTCUSDT")


def _load(impl: str) -> tuple[ModuleType, ModuleType, ModuleType]:
    """(hotpath, scanner, signer) modules of one implementation, imported directly."""
    if impl == "compiled":
        names = ("sniper.live.hotpath", "sniper._fast.scanner", "sniper._fast.signer")
    else:
        names = ("sniper.live.hotpath_py", "sniper._fast.scanner_py", "sniper._fast.signer_py")
    try:
        return tuple(importlib.import_module(n) for n in names)  # type: ignore[return-value]
    except ImportError as exc:
        pytest.skip(f"{impl} hot path not importable: {exc}")


def _request(signer: ModuleType) -> bytes:
    template = signer.OrderTemplate(
        method="POST",
        host="127.0.0.1:8080",
        path="/api/v2/spot/trade/place-order",
        body=b'{"symbol":"PAWSUSDT","side":"sell","orderType":"market","force":"gtc",'
        b'"size":"1020200","clientOid":"snipe-1"}',
        api_key="bench-key",
        secret="bench-secret",
        passphrase="bench-pass",
        timestamp_ms=1751623200000,
    )
    return template.request


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _drain(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


@pytest.mark.parametrize("impl", ["compiled", "twin"])
def test_frame_to_order_bytes(benchmark: Any, impl: str, pair: tuple) -> None:
    """Ticker hit frame in → the signed request written to the socket (one syscall)."""
    hotpath, scanner_mod, signer = _load(impl)
    tx, rx = pair
    request = _request(signer)
    scanner = scanner_mod.TickerScanner(SYMBOL)
    frame = picows_impl._make_test_ws_frame(picows_impl.WSMsgType.TEXT, HIT_PAYLOAD, True, False)
    fired: list[int] = []
    to_written: list[int] = []
    state: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    def claim(kind: str, sent_ns: int) -> asyncio.Future[bytes]:
        return loop.create_future()

    def setup() -> tuple[tuple, dict]:
        _drain(rx)
        if "trigger" in state:
            to_written.append(state["trigger"].written_ns - state["trigger"].detect_ns)
        trigger = hotpath.OrderTrigger(lambda ch, lane, d, w, reply: fired.append(lane))
        trigger.set_request(request)
        trigger.set_lane(0, tx.send, True, claim)
        listener = hotpath.TickerListener(scanner, trigger, lambda p: None, lambda rtt: None)
        state["trigger"] = trigger
        return (listener,), {}

    def one(listener: Any) -> None:
        listener.on_ws_frame(None, frame)

    benchmark.group = "hot path: ticker frame -> order bytes on a socketpair"
    benchmark.name = f"frame_to_order[{impl}]"
    try:
        benchmark.pedantic(one, setup=setup, rounds=2000, iterations=1, warmup_rounds=50)
    finally:
        loop.close()
    benchmark.extra_info["detect_to_written_ns"] = statistics.median(to_written)
    assert state["trigger"].fired and state["trigger"].lane == 0
    assert _drain(rx) == request
    assert fired and set(fired) == {0}


@pytest.mark.parametrize("impl", ["compiled", "twin"])
def test_miss_frame(benchmark: Any, impl: str, pair: tuple) -> None:
    """A ticker for another symbol: classify and do nothing (the cost paid on every miss)."""
    hotpath, scanner_mod, signer = _load(impl)
    tx, rx = pair
    trigger = hotpath.OrderTrigger(lambda *a: None)
    trigger.set_request(_request(signer))
    trigger.set_lane(0, tx.send, True, lambda kind, sent_ns: None)
    listener = hotpath.TickerListener(
        scanner_mod.TickerScanner(SYMBOL), trigger, lambda p: None, lambda rtt: None
    )
    frame = picows_impl._make_test_ws_frame(picows_impl.WSMsgType.TEXT, MISS_PAYLOAD, True, False)
    benchmark.group = "hot path: miss frame (other symbol)"
    benchmark.name = f"miss[{impl}]"
    benchmark(listener.on_ws_frame, None, frame)
    assert not trigger.fired
    assert _drain(rx) == b""
