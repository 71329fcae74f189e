"""The hot path (compiled ``hotpath`` and its twin ``hotpath_py``): exactly-once, lane choice,
frame handling. Every test runs against both."""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import time
from collections.abc import Sequence
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
    """The trigger's callbacks and each lane's write and claim, in the order they happen."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, int, int, int]] = []
        self.replies: list[object] = []  # the reply handed to on_fired
        self.seen: list[tuple[str, int]] = []
        self.writes: list[tuple[int, bytes]] = []
        self.claims: list[tuple[int, str, int]] = []  # (lane, kind, sent_ns)
        self.calls: list[str] = []
        self.trigger: Any = None  # set by make_trigger: the board a claim looks at

    def on_fired(
        self, channel: str, lane: int, detect_ns: int, written_ns: int, reply: object
    ) -> None:
        self.calls.append("fired")
        self.fired.append((channel, lane, detect_ns, written_ns))
        self.replies.append(reply)

    def on_seen(self, channel: str, detect_ns: int) -> None:
        self.seen.append((channel, detect_ns))

    def writer(self, lane: int) -> Any:
        def write(data: bytes) -> None:
            self.calls.append(f"write {lane}")
            self.writes.append((lane, data))

        return write

    def claimer(self, lane: int) -> Any:
        def claim(kind: str, sent_ns: int) -> object:
            # what the board says while the reply is claimed: the lane is busy already
            self.calls.append(f"claim {lane} {self.trigger.lane_state()[lane]}")
            self.claims.append((lane, kind, sent_ns))
            return ("reply-of-lane", lane)

        return claim


def make_trigger(mod: ModuleType, rec: Recorder, **kw: Any) -> Any:
    trigger = mod.OrderTrigger(rec.on_fired, rec.on_seen, **kw)
    rec.trigger = trigger
    trigger.set_request(b"ORDER-1")
    trigger.set_lane(0, rec.writer(0), True, rec.claimer(0))
    trigger.set_lane(1, rec.writer(1), True, rec.claimer(1))
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
def test_claims_the_reply_after_the_write_and_hands_it_to_on_fired(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    assert trigger.fire("ws", 100)
    # one way: write, then the claim (the board already says busy), then on_fired
    assert rec.calls == ["write 0", "claim 0 (True, False)", "fired"]
    assert rec.claims == [(0, "order", trigger.written_ns)]
    assert rec.replies == [("reply-of-lane", 0)]
    # the board (the trigger) holds the lane busy until the lane publishes its reply
    assert trigger.lane_state() == ((True, False), (True, True))
    trigger.fire("poll", 101)  # a later hit claims nothing
    assert len(rec.claims) == 1 and rec.calls[-1] == "fired"


@pytest.mark.parametrize("impl", IMPLS)
def test_a_lane_published_idle_again_is_idle(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.fire("ws", 1)
    trigger.set_lane(0, rec.writer(0), True, rec.claimer(0))  # its reply came: the lane says so
    assert trigger.lane_state() == ((True, True), (True, True))


@pytest.mark.parametrize("impl", IMPLS)
def test_a_raising_claim_still_reports_the_fire_without_a_reply(
    impl: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)

    def broken(kind: str, sent_ns: int) -> object:
        raise RuntimeError("no loop")

    trigger.set_lane(0, rec.writer(0), True, broken)
    with caplog.at_level(logging.ERROR, logger="sniper.feed"):
        assert trigger.fire("ws", 1)
    # written, so the executor must not resend blindly: lane 0 with no reply (unanswered)
    assert rec.writes == [(0, b"ORDER-1")]
    assert rec.fired[0][1] == 0 and rec.replies == [None]
    assert trigger.lane_state()[0] == (True, False)
    assert "could not be claimed" in caplog.text


@pytest.mark.parametrize("impl", IMPLS)
def test_a_lane_without_claim_writes_and_reports_no_reply(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, rec.writer(0), True)
    assert trigger.fire("ws", 1)
    assert rec.writes == [(0, b"ORDER-1")] and rec.replies == [None] and rec.claims == []


@pytest.mark.parametrize("impl", IMPLS)
def test_a_lane_that_is_down_has_no_claim(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, None, True, rec.claimer(0))  # down: the claim is dropped with it
    trigger.set_lane(1, None, True, rec.claimer(1))
    assert trigger.fire("ws", 1)
    assert rec.claims == [] and rec.replies == [None] and rec.fired[0][1] == -1


@pytest.mark.parametrize("impl", IMPLS)
def test_prefers_the_idle_lane(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec)
    trigger.set_lane(0, rec.writer(0), False, rec.claimer(0))  # a keep-alive is outstanding
    trigger.fire("poll", 1)
    assert rec.writes == [(1, b"ORDER-1")]
    assert rec.claims == [(1, "order", trigger.written_ns)]
    assert trigger.lane_state() == ((True, False), (True, False))


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

    trigger.set_lane(0, boom, True, rec.claimer(0))
    trigger.set_lane(1, None, False)
    assert trigger.fire("ws", 1)
    assert rec.fired[0][1] == -1
    # nothing was written: no claim, and the lane keeps its idle flag
    assert rec.claims == [] and rec.replies == [None]
    assert trigger.lane_state()[0] == (True, True)


@pytest.mark.parametrize("impl", IMPLS)
def test_dry_run_writes_nothing(impl: Any) -> None:
    mod, _ = impl
    rec = Recorder()
    trigger = make_trigger(mod, rec, dry_run=True)
    assert trigger.fire("ws", 1) and trigger.dry_run
    assert rec.writes == [] and rec.fired[0][1] == -1
    assert rec.claims == [] and trigger.lane_state() == ((True, True), (True, True))


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


ACK = b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"PAWSUSDT"}}'

PAYLOADS = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(["PAWSUSDT", "PAWSUSDTX", "XPAWSUSDT", "BTCUSDT"]).map(ticker_payload),
    st.builds(
        lambda body, cut: body[:cut],
        st.just(ticker_payload()),
        st.integers(min_value=0, max_value=200),
    ),
    st.sampled_from([ACK, b"pong", b" pong\n"]),
)


@settings(max_examples=200, deadline=None)
@given(PAYLOADS)
def test_compiled_and_twin_fire_on_the_same_frames(payload: bytes) -> None:
    outcomes = []
    for impl in IMPLS:
        listener, rec, events, pongs = make_listener(impl.values[0])
        listener.on_ws_frame(None, frame(payload))
        outcomes.append((len(rec.fired), len(events), len(pongs)))
    assert len(set(outcomes)) == 1, outcomes


# --- fragmented messages (RFC 6455 §5.4): TEXT without fin, CONTINUATION..., the last with fin


def fragments(payload: bytes, cuts: Sequence[int]) -> list[Any]:
    """``payload`` as one fragmented text message cut at the offsets ``cuts`` (at least one;
    equal cuts give empty fragments, which are legal)."""
    bounds = [0, *sorted(cuts), len(payload)]
    pieces = [payload[a:b] for a, b in itertools.pairwise(bounds)]
    assert len(pieces) >= 2
    last = len(pieces) - 1
    return [
        _make_test_ws_frame(
            WSMsgType.TEXT if i == 0 else WSMsgType.CONTINUATION, piece, i == last, False
        )
        for i, piece in enumerate(pieces)
    ]


def continuation(payload: bytes, fin: bool = True) -> Any:
    return _make_test_ws_frame(WSMsgType.CONTINUATION, payload, fin, False)


@pytest.mark.parametrize("impl", IMPLS)
def test_fragmented_ticker_fires_once_stamped_at_the_final_frame(impl: Any) -> None:
    listener, rec, events, _ = make_listener(impl)
    first, middle, final = fragments(ticker_payload(), [10, 40])
    listener.on_ws_frame(None, first)
    listener.on_ws_frame(None, middle)
    assert rec.fired == [] and rec.writes == []
    before_final = time.monotonic_ns()  # the hot path's clock (CLOCK_MONOTONIC)
    listener.on_ws_frame(None, final)
    assert rec.writes == [(0, b"ORDER-1")]  # written in the final frame's callback
    assert len(rec.fired) == 1
    channel, lane, detect, written = rec.fired[0]
    assert channel == "ws" and lane == 0
    assert before_final <= detect <= written  # stamped at the final frame, not the first
    assert events == [] and listener.frames == 1  # one message, counted once
    for f in fragments(ticker_payload(), [5]):  # a second fragmented hit is only "seen"
        listener.on_ws_frame(None, f)
    assert len(rec.writes) == 1 and [c for c, _ in rec.seen] == ["ws"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "pieces",
    [
        # a first fragment that is a whole ticker on its own, but the message is that plus
        # more: not JSON (fragmented near-miss decoys are in the property test below)
        [ticker_payload(), b" x"],
        [ticker_payload(), b"", b"}"],
    ],
)
def test_fragmented_miss_does_not_fire(impl: Any, pieces: list[bytes]) -> None:
    listener, rec, events, pongs = make_listener(impl)
    payload = b"".join(pieces)
    cuts = [sum(len(p) for p in pieces[: i + 1]) for i in range(len(pieces) - 1)]
    for f in fragments(payload, cuts):
        listener.on_ws_frame(None, f)
    assert rec.fired == [] and rec.writes == [] and events == [] and pongs == []


@pytest.mark.parametrize("impl", IMPLS)
def test_unfinished_fragmented_ticker_does_not_fire(impl: Any) -> None:
    listener, rec, _, _ = make_listener(impl)
    listener.on_ws_frame(None, _make_test_ws_frame(WSMsgType.TEXT, ticker_payload(), False, False))
    listener.on_ws_frame(None, continuation(b"", fin=False))
    assert rec.fired == [] and rec.writes == []


@pytest.mark.parametrize("impl", IMPLS)
def test_fragmented_event_and_pong_leave_through_their_callbacks(impl: Any) -> None:
    listener, rec, events, pongs = make_listener(impl)
    for f in fragments(ACK, [1, 30, 31]):
        listener.on_ws_frame(None, f)
    assert events == [ACK]  # the whole message, as bytes
    assert type(events[0]) is bytes
    for f in fragments(b"pong", [2]):
        listener.on_ws_frame(None, f)
    assert pongs == [-1]
    assert rec.fired == []


@pytest.mark.parametrize("impl", IMPLS)
def test_stray_continuations_are_ignored(impl: Any) -> None:
    listener, rec, events, _ = make_listener(impl)
    listener.on_ws_frame(None, continuation(ticker_payload()))  # nothing started
    listener.on_ws_frame(None, continuation(b'{"junk":', fin=False))
    listener.on_ws_frame(None, continuation(ACK))
    assert rec.fired == [] and events == []
    # they did not disturb the next message ...
    for f in fragments(ticker_payload(), [20]):
        listener.on_ws_frame(None, f)
    assert len(rec.fired) == 1 and rec.writes == [(0, b"ORDER-1")]
    # ... and a CONTINUATION after its final frame belongs to no message
    listener.on_ws_frame(None, continuation(ticker_payload()))
    listener.on_ws_frame(None, continuation(ACK))
    assert rec.seen == [] and events == [] and len(rec.writes) == 1


def padded_ticker(size: int) -> bytes:
    """A valid ticker hit of exactly ``size`` bytes (padded inside a data string)."""
    base = ticker_payload(data=[{"instId": TARGET, "pad": ""}])
    payload = ticker_payload(data=[{"instId": TARGET, "pad": "a" * (size - len(base))}])
    assert len(payload) == size
    return payload


@pytest.mark.parametrize("impl", IMPLS)
def test_fragmented_message_over_the_cap_is_dropped_and_assembly_resets(
    impl: Any, caplog: pytest.LogCaptureFixture
) -> None:
    cap = 1 << 20  # MAX_MESSAGE_SIZE
    listener, rec, _, _ = make_listener(impl, dry_run=True)
    caplog.set_level(logging.DEBUG, logger="sniper.feed")
    over = padded_ticker(cap + 1)
    for f in fragments(over, [100, cap - 100]):  # the middle fragment crosses the cap
        listener.on_ws_frame(None, f)
    assert rec.fired == []  # dropped, and its final fragment was a stray CONTINUATION
    assert any(
        r.levelno == logging.DEBUG and "fragmented" in r.getMessage() and str(cap) in r.getMessage()
        for r in caplog.records
    ), caplog.records
    # the next fragmented message is assembled afresh, and exactly the cap is still accepted
    for f in fragments(padded_ticker(cap), [100, cap - 100]):
        listener.on_ws_frame(None, f)
    assert len(rec.fired) == 1
    assert cap == impl[0].MAX_MESSAGE_SIZE


@pytest.mark.parametrize("impl", IMPLS)
def test_user_specific_pong_never_claims_a_fragment(impl: Any) -> None:
    listener, _, _, pongs = make_listener(impl)
    first_fragment = _make_test_ws_frame(WSMsgType.TEXT, b"pong", False, False)
    assert listener.is_user_specific_pong(first_fragment) is False
    assert listener.is_user_specific_pong(continuation(b"pong")) is False
    assert pongs == []
    # unclaimed, both reach on_ws_frame: "pong" + " x" is one message, not a pong
    listener.on_ws_frame(None, first_fragment)
    listener.on_ws_frame(None, continuation(b" x"))
    assert pongs == []


@settings(max_examples=200, deadline=None)
@given(PAYLOADS, st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=4))
def test_a_fragmented_message_is_handled_like_one_frame(payload: bytes, cuts: list[int]) -> None:
    cuts = [min(c, len(payload)) for c in cuts]
    for impl in IMPLS:
        whole, whole_rec, whole_events, whole_pongs = make_listener(impl.values[0])
        whole.on_ws_frame(None, frame(payload))
        split, split_rec, split_events, split_pongs = make_listener(impl.values[0])
        for f in fragments(payload, cuts):
            split.on_ws_frame(None, f)
        assert len(split_rec.fired) == len(whole_rec.fired)
        assert split_rec.writes == whole_rec.writes
        assert split_events == whole_events
        assert len(split_pongs) == len(whole_pongs)
