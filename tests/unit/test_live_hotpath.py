"""The hot path (compiled ``hotpath`` and its twin ``hotpath_py``): exactly-once, lane choice,
frame handling. Every test runs against both."""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from picows import WSMsgType
from picows.picows import _make_test_ws_frame

from sniper import _fast
from sniper._fast import scanner_py
from sniper.live import fastpath, hotpath_py

TARGET = "PAWSUSDT"


def _impls() -> list[Any]:
    impls: list[Any] = [pytest.param((hotpath_py, scanner_py.TickerScanner), id="twin")]
    try:
        compiled = importlib.import_module("sniper.live.hotpath")
        from sniper._fast.scanner import TickerScanner  # type: ignore[attr-defined]
    except ImportError:
        compiled = None
    if compiled is not None:
        impls.append(pytest.param((compiled, TickerScanner), id="compiled"))
    return impls


IMPLS = _impls()


def test_the_compiled_hot_path_is_the_one_loaded() -> None:
    if _fast.IMPLEMENTATION == "compiled":
        assert fastpath.OrderTrigger.__module__ == "sniper.live.hotpath"
        assert fastpath.TickerListener.__module__ == "sniper.live.hotpath"
        assert fastpath.OrderTrigger is not hotpath_py.OrderTrigger
    else:
        assert fastpath.OrderTrigger is hotpath_py.OrderTrigger


class Recorder:
    def __init__(self) -> None:
        self.fired: list[tuple[str, int, int, int]] = []
        self.seen: list[tuple[str, int]] = []
        self.writes: list[tuple[int, bytes]] = []

    def on_fired(self, channel: str, lane: int, detect_ns: int, written_ns: int) -> None:
        self.fired.append((channel, lane, detect_ns, written_ns))

    def on_seen(self, channel: str, detect_ns: int) -> None:
        self.seen.append((channel, detect_ns))

    def writer(self, lane: int) -> Any:
        return lambda data: self.writes.append((lane, data))


def make_trigger(mod: ModuleType, rec: Recorder, **kw: Any) -> Any:
    trigger = mod.OrderTrigger(rec.on_fired, rec.on_seen, **kw)
    trigger.set_request(b"ORDER-1")
    trigger.set_lane(0, rec.writer(0), True)
    trigger.set_lane(1, rec.writer(1), True)
    return trigger


@pytest.mark.parametrize("impl", IMPLS)
def test_fires_exactly_once_whatever_fires(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    assert trigger.fire("ws", 100) is True
    assert trigger.fire("ws", 101) is False
    assert trigger.fire("poll", 102) is False
    assert trigger.fire("scheduled", 103) is False
    assert rec.writes == [(0, b"ORDER-1")]
    assert len(rec.fired) == 1
    channel, lane, detect, written = rec.fired[0]
    assert (channel, lane, detect) == ("ws", 0, 100) and written >= detect
    assert [c for c, _ in rec.seen] == ["ws", "poll", "scheduled"]
    assert trigger.fired and trigger.channel == "ws" and trigger.lane == 0


@pytest.mark.parametrize("impl", IMPLS)
def test_prefers_the_idle_lane(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, rec.writer(0), False)  # a keep-alive is outstanding on lane 0
    trigger.fire("poll", 1)
    assert rec.writes == [(1, b"ORDER-1")]


@pytest.mark.parametrize("impl", IMPLS)
def test_pipelines_only_when_no_lane_is_idle(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, None, False)
    trigger.set_lane(1, rec.writer(1), False)
    assert trigger.lane_state() == ((False, False), (True, False))
    trigger.fire("ws", 1)
    assert rec.writes == [(1, b"ORDER-1")]


@pytest.mark.parametrize("impl", IMPLS)
def test_no_lane_up_writes_nothing_but_reports(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, None, True)
    trigger.set_lane(1, None, True)
    assert trigger.lane_state() == ((False, False), (False, False))
    assert trigger.fire("ws", 1)
    assert rec.writes == [] and rec.fired[0][1] == -1


@pytest.mark.parametrize("impl", IMPLS)
def test_a_raising_write_counts_as_not_written(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)

    def boom(data: bytes) -> None:
        raise RuntimeError("transport is closing")

    trigger.set_lane(0, boom, True)
    trigger.set_lane(1, None, False)
    assert trigger.fire("ws", 1)
    assert rec.fired[0][1] == -1


@pytest.mark.parametrize("impl", IMPLS)
def test_dry_run_writes_nothing(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec, dry_run=True)
    assert trigger.fire("ws", 1) and trigger.dry_run
    assert rec.writes == [] and rec.fired[0][1] == -1


@pytest.mark.parametrize("impl", IMPLS)
def test_fires_the_latest_signed_bytes(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_request(b"ORDER-2")
    assert trigger.request == b"ORDER-2"
    trigger.fire("ws", 1)
    assert rec.writes == [(0, b"ORDER-2")]


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_lane_index(impl: Any) -> None:
    mod, _ = impl
    trigger = mod.OrderTrigger(lambda *a: None)
    with pytest.raises(ValueError):
        trigger.set_lane(2, None, True)


def ticker_payload(symbol: str = TARGET, data: object = None) -> bytes:
    return json.dumps(
        {
            "action": "snapshot",
            "arg": {"instType": "SPOT", "channel": "ticker", "instId": symbol},
            "data": [{"instId": symbol, "lastPr": "1"}] if data is None else data,
            "ts": 1,
        }
    ).encode()


def make_listener(impl: Any, dry_run: bool = False) -> tuple[Any, Recorder, list[Any], list[Any]]:
    mod, scanner_cls = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec, dry_run=dry_run)
    events: list[bytes] = []
    pongs: list[int] = []
    listener = mod.TickerListener(scanner_cls(TARGET), trigger, events.append, pongs.append)
    return listener, rec, events, pongs


def frame(payload: bytes, kind: WSMsgType = WSMsgType.TEXT) -> Any:
    return _make_test_ws_frame(kind, payload, True, False)


@pytest.mark.parametrize("impl", IMPLS)
def test_listener_fires_on_the_ticker_in_the_callback(impl: Any) -> None:
    listener, rec, _, _ = make_listener(impl)
    listener.on_ws_frame(None, frame(ticker_payload()))
    assert rec.writes == [(0, b"ORDER-1")]  # written before on_ws_frame returned
    channel, lane, detect, written = rec.fired[0]
    assert channel == "ws" and lane == 0 and 0 < detect <= written
    listener.on_ws_frame(None, frame(ticker_payload()))
    assert len(rec.writes) == 1 and rec.seen[0][0] == "ws"
    assert listener.frames == 2


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "payload",
    [
        ticker_payload("PAWSUSDTX"),
        ticker_payload("XPAWSUSDT"),
        ticker_payload(data=[]),
        b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"}}',
        ticker_payload()[:-1],
        b"PAWSUSDT",
        b"",
    ],
)
def test_listener_ignores_decoys(impl: Any, payload: bytes) -> None:
    listener, rec, _, _ = make_listener(impl)
    listener.on_ws_frame(None, frame(payload))
    assert rec.fired == [] and rec.writes == []


@pytest.mark.parametrize("impl", IMPLS)
def test_listener_ignores_binary_frames(impl: Any) -> None:
    listener, rec, _, _ = make_listener(impl)
    listener.on_ws_frame(None, frame(ticker_payload(), WSMsgType.BINARY))
    assert rec.fired == [] and listener.frames == 0


@pytest.mark.parametrize("impl", IMPLS)
def test_listener_routes_events_and_pongs_off_the_hot_path(impl: Any) -> None:
    listener, rec, events, pongs = make_listener(impl)
    ack = b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"}}'
    listener.on_ws_frame(None, frame(ack))
    assert events == [ack]
    listener.on_ws_frame(None, frame(b"pong"))
    assert pongs == [-1]  # no ping was outstanding
    assert rec.fired == []


@pytest.mark.parametrize("impl", IMPLS)
def test_user_specific_pong(impl: Any) -> None:
    listener, _, _, pongs = make_listener(impl)
    assert listener.is_user_specific_pong(frame(b"pong")) is True
    assert listener.is_user_specific_pong(frame(ticker_payload())) is False
    assert listener.is_user_specific_pong(frame(b"pong", WSMsgType.BINARY)) is False
    assert pongs == [-1]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.sampled_from(["PAWSUSDT", "PAWSUSDTX", "XPAWSUSDT", "BTCUSDT"]).map(ticker_payload),
        st.builds(
            lambda body, cut: body[:cut],
            st.just(ticker_payload()),
            st.integers(min_value=0, max_value=200),
        ),
    )
)
def test_compiled_and_twin_fire_on_the_same_frames(payload: bytes) -> None:
    outcomes = []
    for impl in IMPLS:
        listener, rec, events, pongs = make_listener(impl.values[0])
        listener.on_ws_frame(None, frame(payload))
        outcomes.append((len(rec.fired), len(events), len(pongs)))
    assert len(set(outcomes)) == 1, outcomes
