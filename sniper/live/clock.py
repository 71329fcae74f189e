"""The exchange clock: every signature and every schedule uses server time, not local time.

offset = serverTime - midpoint(request sent, reply received); the sample with the smallest
round trip wins (its midpoint error is at most rtt/2).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockSample:
    sent_ms: float  # local wall clock when the request left, ms since epoch
    received_ms: float  # local wall clock when the reply arrived, ms since epoch
    server_ms: int  # serverTime from the reply, ms since epoch

    @property
    def rtt_ms(self) -> float:
        return self.received_ms - self.sent_ms

    @property
    def offset_ms(self) -> float:
        return self.server_ms - (self.sent_ms + self.received_ms) / 2.0


def best_offset(samples: Iterable[ClockSample]) -> ClockSample:
    """The sample with the smallest round trip (ties: the latest)."""
    best: ClockSample | None = None
    for s in samples:
        if s.rtt_ms < 0:
            continue  # the local clock stepped during the request: useless
        if best is None or s.rtt_ms <= best.rtt_ms:
            best = s
    if best is None:
        raise ValueError("no usable clock sample")
    return best


class ServerClock:
    """Local wall clock + offset. ``now_ms()`` is the exchange's idea of now."""

    def __init__(self, wall_ms: Callable[[], float] | None = None) -> None:
        self._wall_ms = wall_ms or (lambda: time.time_ns() / 1e6)
        self.offset_ms = 0.0
        self.rtt_ms: float | None = None
        self.synced = False

    def wall_ms(self) -> float:
        return self._wall_ms()

    def now_ms(self) -> int:
        return int(self._wall_ms() + self.offset_ms)

    def apply(self, sample: ClockSample) -> float:
        """Adopt a sample; returns how far the offset moved (ms)."""
        moved = sample.offset_ms - self.offset_ms
        self.offset_ms = sample.offset_ms
        self.rtt_ms = sample.rtt_ms
        self.synced = True
        return moved

    def seconds_until(self, server_ms: float) -> float:
        """Seconds from now until the server clock reads ``server_ms`` (negative when past)."""
        return (server_ms - (self._wall_ms() + self.offset_ms)) / 1000.0

    async def sync(self, fetch_server_ms: Callable[[], Awaitable[int]], samples: int = 5) -> float:
        """Take ``samples`` round trips through ``fetch_server_ms`` and adopt the best one."""
        got: list[ClockSample] = []
        for _ in range(samples):
            sent = self._wall_ms()
            server = await fetch_server_ms()
            received = self._wall_ms()
            got.append(ClockSample(sent, received, server))
        return self.apply(best_offset(got))
