"""Pure-Python twin of ``hotpath.pyx``: the readable specification of the hot path.

Used when ``sniper._fast.IMPLEMENTATION == "pure-python"`` (``SNIPER_PURE_PYTHON=1``), and as
the test oracle. Same names, same behaviour, same callbacks:

* :class:`OrderTrigger` — the exactly-once gate. The first :meth:`~OrderTrigger.fire` writes the
  current signed request on an idle warm lane (else any lane that is up), stamps
  ``written_ns``, marks that lane busy, claims its reply (``claim("order", written_ns)``, the
  lane's :meth:`~sniper.live.lanes.OrderLane.claim`) and calls ``on_fired(channel, lane,
  detect_ns, written_ns, reply)`` — one way: nothing calls back into the trigger. Every later
  call only calls ``on_seen(channel, detect_ns)``. The trigger is the lanes' board: each lane
  publishes ``set_lane(index, write, idle, claim)`` and reads its idle flag back through
  :meth:`~OrderTrigger.lane_state`, so there is one copy of it.
* :class:`TickerListener` — a ``picows.WSListener`` whose ``on_ws_frame`` stamps a monotonic ns,
  classifies the text payload with ``TickerScanner`` and fires the trigger on a ticker hit in the
  same callback; pongs and events leave through callbacks. A fragmented text message (a TEXT
  frame without ``fin``, then CONTINUATION frames, RFC 6455 §5.4) is assembled, up to
  ``MAX_MESSAGE_SIZE`` bytes (a longer one is dropped with a debug line), and handled like one
  frame when its final frame arrives, stamped at that frame's callback; a CONTINUATION without a
  started message is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from sniper._fast import FrameKind

__all__ = [
    "CHANNEL_POLL",
    "CHANNEL_SCHEDULED",
    "CHANNEL_STARTUP",
    "CHANNEL_WS",
    "MAX_MESSAGE_SIZE",
    "OrderTrigger",
    "TickerListener",
    "now_ns",
]

CHANNEL_WS = "ws"
CHANNEL_POLL = "poll"
CHANNEL_SCHEDULED = "scheduled"
CHANNEL_STARTUP = "startup"

PONG_MAX_SIZE = 16
MAX_MESSAGE_SIZE = 1 << 20  # bytes: the largest fragmented text message assembled
_TICKER_HIT = int(FrameKind.TICKER_HIT)
_PONG = int(FrameKind.PONG)
_EVENT = int(FrameKind.EVENT)

now_ns = time.monotonic_ns

_log = logging.getLogger("sniper.feed")


class OrderTrigger:
    """Exactly-once gate + the bytes to write; the lanes' board."""

    def __init__(
        self,
        on_fired: Callable[[str, int, int, int, Any], object],
        on_seen: Callable[[str, int], object] | None = None,
        *,
        dry_run: bool = False,
    ) -> None:
        self.fired = False
        self.dry_run = dry_run
        self.channel: str | None = None
        self.lane = -1
        self.detect_ns = 0
        self.written_ns = 0
        self._request: bytes | None = None
        self._write: list[Callable[[bytes], object] | None] = [None, None]
        self._claim: list[Callable[[str, int], Any] | None] = [None, None]
        self._idle = [False, False]  # the only copy of each lane's idle flag
        self._on_fired = on_fired
        self._on_seen = on_seen

    def set_request(self, request: bytes) -> None:
        if not isinstance(request, bytes):
            raise TypeError("request must be bytes")
        self._request = request

    @property
    def request(self) -> bytes | None:
        return self._request

    def set_lane(
        self,
        index: int,
        write: Callable[[bytes], object] | None,
        idle: bool,
        claim: Callable[[str, int], Any] | None = None,
    ) -> None:
        if index not in (0, 1):
            raise ValueError("lane index must be 0 or 1")
        self._write[index] = write
        self._claim[index] = claim if write is not None else None
        self._idle[index] = bool(idle) and write is not None

    def lane_state(self) -> tuple[tuple[bool, bool], tuple[bool, bool]]:
        return (
            (self._write[0] is not None, self._idle[0]),
            (self._write[1] is not None, self._idle[1]),
        )

    def _pick_lane(self) -> int:
        for i in (0, 1):
            if self._write[i] is not None and self._idle[i]:
                return i
        for i in (0, 1):
            if self._write[i] is not None:
                return i
        return -1

    def fire(self, channel: str, detect_ns: int) -> bool:
        if self.fired:
            if self._on_seen is not None:
                self._on_seen(channel, detect_ns)
            return False
        self.fired = True
        lane = -1
        if not self.dry_run and self._request is not None:
            lane = self._pick_lane()
            if lane >= 0:
                write = self._write[lane]
                assert write is not None
                try:
                    write(self._request)
                except Exception:
                    lane = -1  # pre-check failure: nothing reached the socket; executor resends
        written = time.monotonic_ns()
        self.channel = channel
        self.lane = lane
        self.detect_ns = detect_ns
        self.written_ns = written
        # the bytes are out: everything below is off the latency path
        self._on_fired(channel, lane, detect_ns, written, self._claim_reply(lane, written))
        return True

    def _claim_reply(self, lane: int, written_ns: int) -> Any:
        # The lane has a response outstanding from now on, and its reply is ours: claimed
        # before control returns to the loop (FIFO per lane).
        if lane < 0:
            return None
        self._idle[lane] = False
        claim = self._claim[lane]
        if claim is None:
            return None
        try:
            return claim("order", written_ns)
        except Exception:
            # written but unclaimed: the executor treats it as unanswered (never resent blindly)
            _log.exception("order written on lane %d but its reply could not be claimed", lane)
            return None


class TickerListener(WSListener):
    """One per WebSocket connection; shares the scanner and the trigger."""

    def __init__(
        self,
        scanner: Any,
        trigger: OrderTrigger,
        on_event: Callable[[bytes], object],
        on_pong: Callable[[int], object],
        on_connected: Callable[[WSTransport], object] | None = None,
        on_disconnected: Callable[[WSTransport], object] | None = None,
    ) -> None:
        super().__init__()
        self._scanner = scanner
        self._trigger = trigger
        self._on_event = on_event
        self._on_pong = on_pong
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.ping_sent_ns = 0
        self.frames = 0  # TEXT frames (a fragmented message counts once)
        # the first ticker hit's payload and monotonic ns, copied AFTER the fire (the
        # fill-quality report reads its best bid)
        self.first_hit: bytes | None = None
        self.first_hit_ns = 0
        self._message = bytearray()  # the fragmented message being assembled
        self._assembling = False  # a TEXT frame without fin came; its final frame has not

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self._on_connected is not None:
            self._on_connected(transport)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._on_disconnected is not None:
            self._on_disconnected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t0 = time.monotonic_ns()
        if frame.msg_type != WSMsgType.TEXT:
            if frame.msg_type == WSMsgType.CONTINUATION:
                self._continue_message(frame, t0)
            return
        self.frames += 1
        if not frame.fin:
            self._start_message(frame)
            return
        kind = self._scanner.scan(frame.get_payload_as_memoryview())
        if kind == _TICKER_HIT:
            self._trigger.fire(CHANNEL_WS, t0)
            if self.first_hit is None:  # after the write: the fill-quality report's best bid
                self.first_hit = frame.get_payload_as_bytes()
                self.first_hit_ns = t0
        elif kind == _PONG:
            self._pong(t0)
        elif kind == _EVENT:
            self._on_event(frame.get_payload_as_bytes())

    # --- fragmented messages (off the common path: Bitget sends every push in one frame) ---
    def _start_message(self, frame: WSFrame) -> None:
        # A new TEXT frame without fin also ends an unfinished message (the newer one wins).
        self._reset_message()
        self._assembling = True
        self._append_fragment(frame)

    def _append_fragment(self, frame: WSFrame) -> None:
        if frame.payload_size > MAX_MESSAGE_SIZE - len(self._message):
            self._reset_message()  # the rest of this message is now a stray CONTINUATION
            _log.debug(
                "feed: dropped a fragmented WebSocket message longer than %d bytes",
                MAX_MESSAGE_SIZE,
            )
            return
        self._message += frame.get_payload_as_memoryview()

    def _continue_message(self, frame: WSFrame, t0: int) -> None:
        if not self._assembling:
            return  # nothing started (or it was dropped): a stray CONTINUATION
        self._append_fragment(frame)
        if not frame.fin or not self._assembling:
            return
        message = bytes(self._message)
        self._reset_message()  # before any callback: whatever they do, the next message is new
        kind = self._scanner.scan(message)
        if kind == _TICKER_HIT:
            self._trigger.fire(CHANNEL_WS, t0)
        elif kind == _PONG:
            self._pong(t0)
        elif kind == _EVENT:
            self._on_event(message)

    def _reset_message(self) -> None:
        self._assembling = False
        self._message = bytearray()

    def send_user_specific_ping(self, transport: WSTransport) -> None:
        self.ping_sent_ns = time.monotonic_ns()
        transport.send(WSMsgType.TEXT, b"ping")

    def is_user_specific_pong(self, frame: WSFrame) -> bool:
        # A claimed frame never reaches on_ws_frame: a first fragment (no fin) is never a pong.
        if frame.msg_type != WSMsgType.TEXT or not frame.fin or frame.payload_size > PONG_MAX_SIZE:
            return False
        payload = frame.get_payload_as_bytes()
        if payload == b"pong" or self._scanner.scan(payload) == _PONG:
            self._pong(time.monotonic_ns())
            return True
        return False

    def _pong(self, now: int) -> None:
        rtt = -1
        if self.ping_sent_ns:
            rtt = now - self.ping_sent_ns
            self.ping_sent_ns = 0
        self._on_pong(rtt)
