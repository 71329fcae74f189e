"""The detection channels' sightings of the open, as the executor's pacing needs them.

Every channel (WebSocket ticker, poll, schedule, start-up) fires the same ``OrderTrigger``; the
first hit fires the order, every later one is a sighting (``on_seen``). A sighting by a channel
that watches the market (not the schedule, which only knows the announced time) is evidence
that the pair trades: :attr:`Sightings.open_seen` is set, and the executor retries a "not open
yet" (43115 / 25101) at once instead of pacing it.

The exchange can contradict a channel: a gray pair that pushes tickers, a poll row that says
``online`` early. A "not open yet" answer to a copy written after that channel's sighting makes
the channel distrusted (:meth:`Sightings.contradicted`): its hits no longer count as the open,
or each of them would make the executor retry at once, and a later sighting by another channel
takes over.
"""

from __future__ import annotations

import asyncio
import contextlib

from sniper.live.fastpath import CHANNEL_SCHEDULED

__all__ = ["MAX_SIGHTINGS", "Sightings"]

MAX_SIGHTINGS = 64  # later hits kept (a chatty feed must not grow the list without bound)


class Sightings:
    """Which channel saw the pair trading, the later hits, the channels contradicted."""

    def __init__(self) -> None:
        self.open_seen = asyncio.Event()  # a channel saw the pair trading (not the schedule)
        self.open_seen_by: str | None = None  # the channel that set it (kept after a contradiction)
        self.open_seen_ns = 0  # ns, monotonic: detection time of that sighting
        self.seen: list[tuple[str, int]] = []  # later hits: (channel, detect_ns), bounded
        self._distrusted: set[str] = set()

    def fired(self, channel: str, detect_ns: int) -> None:
        """The channel that fired the order (synchronous, in the trigger's callback)."""
        if channel != CHANNEL_SCHEDULED:
            self._mark_open(channel, detect_ns)

    def later(self, channel: str, detect_ns: int) -> None:
        """A hit after the fire (synchronous, in the trigger's callback)."""
        if len(self.seen) < MAX_SIGHTINGS:
            self.seen.append((channel, detect_ns))
        if channel != CHANNEL_SCHEDULED:
            self._mark_open(channel, detect_ns)

    def contradicted(self, written_ns: int) -> str | None:
        """The exchange answered "not open yet" to a copy written at ``written_ns`` (ns,
        monotonic). When that copy left after the sighting that set :attr:`open_seen`, the
        exchange contradicts that channel: it is distrusted from now on and its name returned;
        otherwise None."""
        if not self.open_seen.is_set() or written_ns < self.open_seen_ns:
            return None
        channel = self.open_seen_by
        assert channel is not None
        self._distrusted.add(channel)
        self.open_seen.clear()
        return channel

    async def wait_open(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if a trusted channel sees the open meanwhile."""
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):  # not wait_for: 3.11's can drop a cancel
                await self.open_seen.wait()

    def _mark_open(self, channel: str, detect_ns: int) -> None:
        if channel in self._distrusted:
            return
        if not self.open_seen.is_set():
            self.open_seen_by = channel
            self.open_seen_ns = detect_ns
            self.open_seen.set()
