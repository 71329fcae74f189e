"""A simulated wide-area network between the embedded exchange and its clients (issue 14).

On loopback a client is microseconds from the exchange; at a real listing it is 1-100 ms away
(bitget-api.md §4: ~110-125 ms warm REST RTT observed from Seattle; §11: the venue's region is
not documented), and whether an order is first is decided by when it ARRIVES. This module puts
that distance back, on the exchange's side of every accepted TCP connection, in both
directions:

* **inbound** (client -> exchange): each chunk of bytes the kernel received is handed to the
  HTTP / WebSocket parser only at its *simulated arrival* = kernel receive stamp (``net.py``,
  ``SO_TIMESTAMPNS``) + one sampled one-way delay. A request's ``arrival_ns`` is the simulated
  arrival of the chunk that completed it; the REST layer decides with that instant (not-open
  43115 / 25101, matching, the timestamp window, the rate limit) and stamps it as
  ``requestTime`` and as ``serverTime`` (bitget-api.md §3.3, §4).
* **outbound** (exchange -> client): every write on the connection (HTTP replies, the 101
  upgrade, public and private WebSocket frames, pongs, close frames) leaves the exchange at once
  in the exchange's own records and reaches the client's socket one sampled one-way delay
  later. A close waits behind the data written before it.

Delay model (settings ``wan_one_way_ms``, ``wan_jitter_ms``, ``wan_seed``): each chunk, per
direction, gets ``one_way + U(-jitter, +jitter)`` (uniform, clamped at 0), then is held back
behind the chunk before it on the same connection and direction (a TCP stream never reorders).
So every delay lies in ``[max(0, one_way - jitter), one_way + jitter]`` and each connection is
FIFO; two connections may overtake each other. The TCP and TLS handshakes are not delayed (a
connect costs no simulated round trip); the first request on a connection is.

Timing: a chunk is released by an event-loop timer armed ``SPIN_NS`` before its instant, then
by ``call_soon`` turns until CLOCK_REALTIME reaches it (asyncio timers round up to whole ms),
so a release is never early and typically late by tens of µs. Decisions never depend on that
lateness: they use the computed ``arrival_ns``.

With both settings at 0 (the default) nothing is queued and every byte flows exactly as before.
The model reads the settings at each chunk, so a test may switch the WAN on or off between
requests; queued chunks keep their order either way.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import ExchangeSettings

# The release timer is armed this long before a chunk's instant, then the loop spins until it.
# asyncio's selector rounds its timeout UP to whole ms, so a timer fires 0-1 ms late; 1.5 ms
# of spinning absorbs that.
SPIN_NS = 1_500_000


def check_settings(s: ExchangeSettings) -> None:
    """ValueError for a WAN setting out of range (the exchange checks at construction)."""
    for name in ("wan_one_way_ms", "wan_jitter_ms"):
        value = getattr(s, name)
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


class WanModel:
    """The delay distribution of one exchange (see the module docstring)."""

    def __init__(self, settings: ExchangeSettings) -> None:
        check_settings(settings)
        self.settings = settings
        self.rng = random.Random(settings.wan_seed)

    @property
    def active(self) -> bool:
        s = self.settings
        return s.wan_one_way_ms > 0 or s.wan_jitter_ms > 0

    def delay_ns(self) -> int:
        """One sample: ``one_way + U(-jitter, +jitter)`` ms, clamped at 0, in ns."""
        s = self.settings
        delay_ms = s.wan_one_way_ms
        if s.wan_jitter_ms > 0:
            delay_ms += self.rng.uniform(-s.wan_jitter_ms, s.wan_jitter_ms)
        return max(0, round(delay_ms * 1_000_000))

    def link(self) -> Link:
        return Link(self)


class Link:
    """One direction of one connection: sampled delays, made FIFO."""

    __slots__ = ("last_due_ns", "model")

    def __init__(self, model: WanModel) -> None:
        self.model = model
        self.last_due_ns = 0  # CLOCK_REALTIME ns: the latest instant handed out

    def due_ns(self, sent_ns: int) -> int:
        """When bytes that left at ``sent_ns`` (CLOCK_REALTIME) come out of the link."""
        due = max(sent_ns + self.model.delay_ns(), self.last_due_ns)
        self.last_due_ns = due
        return due


class DelayLine:
    """Callbacks run at their instants (CLOCK_REALTIME ns), in the order pushed, never early."""

    __slots__ = ("_handle", "_items", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[tuple[int, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._handle: asyncio.Handle | None = None

    @property
    def pending(self) -> bool:
        return bool(self._items)

    def push(self, due_ns: int, fn: Callable[..., Any], *args: Any) -> None:
        if self._items:
            due_ns = max(due_ns, self._items[-1][0])  # FIFO: never before an earlier item
        self._items.append((due_ns, fn, args))
        self._arm()

    def clear(self) -> None:
        self._items.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self) -> None:
        if self._handle is not None or not self._items:
            return
        wait_ns = self._items[0][0] - time.time_ns()
        if wait_ns > SPIN_NS:
            self._handle = self._loop.call_later((wait_ns - SPIN_NS) / 1e9, self._run)
        else:
            self._handle = self._loop.call_soon(self._run)

    def _run(self) -> None:
        self._handle = None
        items = self._items
        try:
            while items and items[0][0] <= time.time_ns():
                _, fn, args = items.popleft()
                fn(*args)
        finally:
            self._arm()


class DelayedTransport:
    """A transport whose writes reach the peer one sampled one-way delay later (FIFO).

    Wraps the real transport of one accepted connection; everything but writing and closing is
    the real transport's. ``abort`` is immediate (a reset does not wait for data in flight).
    """

    def __init__(self, transport: asyncio.Transport, model: WanModel) -> None:
        self._transport = transport
        self._model = model
        self._link = model.link()
        self._line = DelayLine(asyncio.get_running_loop())
        self._closing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def _held(self) -> bool:
        return self._model.active or self._line.pending

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        if not self._held():
            self._transport.write(data)
            return
        due = self._link.due_ns(time.time_ns())
        self._line.push(due, self._deliver, bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def _deliver(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._line.pending:
            self._line.push(self._link.last_due_ns, self._transport.close)
        else:
            self._transport.close()

    def write_eof(self) -> None:
        if self._line.pending:
            self._line.push(self._link.last_due_ns, self._transport.write_eof)
        else:
            self._transport.write_eof()

    def abort(self) -> None:
        self._closing = True
        self._line.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return int(self._transport.get_write_buffer_size())
