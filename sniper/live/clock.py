"""The exchange clock: every signature and every schedule uses server time, not local time.

offset = serverTime - midpoint(request sent, reply received); the sample with the smallest
round trip wins (its midpoint error is at most rtt/2).

The network to the exchange (issue 14: what decides a race is when an order ARRIVES)
---------------------------------------------------------------------------------------
Bitget stamps every reply with the instant the request arrived (``serverTime`` of
``/public/time``, ``requestTime`` of every envelope, the 43115 / 25101 refusals included;
bitget-api.md §3.3, §4). So each request is a direct measurement of the *arrival lag*: the
exchange-clock arrival minus the local send instant (``server_ms + 0.5 - sent_ms``: the stamp
is whole ms, so +0.5 is its midpoint). :class:`ServerClock` keeps the last ``NET_WINDOW`` of
them (every sync sample, every order answer fed to :meth:`ServerClock.observe_arrival`) and
the round trips of the sync samples; :meth:`ServerClock.net` summarises them:

* ``one_way_ms`` = min round trip / 2 (the classic estimate, shown to the user);
* ``jitter_ms`` = the spread: (median - min) of the round trips / ``SPREAD_K`` — for a uniform
  ±J per direction (the round trip spans 4 J, its median 2 J above its min) that is 0.41 J,
  what the population stdev / 2 (the estimate until issue 14's fourth session) gives too; but a
  few round trips held by a busy machine (a start-up, a stalled loop, a stolen vCPU) move the
  stdev by their whole size — one 100 ms sample in 20 doubles it — and not the median and the
  min. Measured in the race benchmark: the stdev made some 20 ms ± 2 ms volleys 1.7 ms apart
  (a 13 ms "spread") instead of 0.5;
* ``lag_ms`` = the smallest arrival lag of the window.

The aim: a request sent at exchange time ``s`` arrives at ``s + (lag - offset)`` at the
earliest, so to make a copy arrive at (just after) ``A`` it is sent at::

    send = A - lead,   lead = (lag_ms - offset_ms) - AIM_JITTER_K * jitter_ms - AIM_MARGIN_MS

The offset cancels out of the local send instant (``A - lag + ...`` on the local clock), so
the offset's own ±0.5 ms (whole-ms serverTime) does not move the aim. ``AIM_JITTER_K`` x the
spread and ``AIM_MARGIN_MS`` (the event loop's wake-up lateness, the stamp's truncation) keep
the copy from arriving before ``A``: an early copy is refused (43115) and the next one can only
arrive a round trip later, so erring a fraction of a ms late is far cheaper than early. With a
uniform ±10 % jitter per direction and ~15 samples this sends ~0.3 % of first copies early
(``benchmarks/race.py`` measures it on the simulated WAN).

A local clock step (a re-sync that moves the offset more than ``STEP_MS``) empties the window:
its lags were measured against the old local clock.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

NET_WINDOW = 64  # arrival lags / round trips kept for the network estimate
AIM_JITTER_K = 0.5  # x the jitter taken off the aimed lead
SPREAD_K = 4.9  # the one-way spread W = this x jitter_ms; jitter_ms = (median - min of RTTs) / it
AIM_MARGIN_MS = 0.3  # ms taken off the aimed lead: loop wake-up lateness, whole-ms stamps
STEP_MS = 20.0  # a re-sync moving the offset more than this is a local clock step
SPIN_S = 0.002  # :func:`sleep_until` yield-spins (no timer) for the last 2 ms
PLACE_ORDER_LIMIT = 10  # place-order requests per second per account (bitget-api.md §5)
RETRY_SPACING_MS = 100.0  # ms between not-open retries when the open is not ahead (10/s)
SLOW_SPACING_MS = 1000.0  # the same after a few seconds of them
GC_HOLD_S = 1.0  # the garbage collector is paused this long before an aimed send ...
GC_AFTER_S = 0.1  # ... until this long after it (the volley's further copies go meanwhile)


class GcHold:
    """The garbage collector paused while any holder needs it (counted; turned back on only if
    it was on when the first hold began). A full collection of a large heap takes milliseconds
    (one of 31 ms was measured in the race benchmark's process), and one landing just before an
    aimed fire delays it by that much; a second of allocations without one costs nothing worth
    counting."""

    holds = 0
    paused = False  # this class turned it off

    @classmethod
    def hold(cls) -> None:
        if cls.holds == 0 and gc.isenabled():
            gc.disable()
            cls.paused = True
        cls.holds += 1

    @classmethod
    def hold_for(cls, seconds: float) -> None:
        """Held now; the running loop releases it ``seconds`` from now (the hold outlives the
        caller's return: the copy is written after it)."""
        cls.hold()
        asyncio.get_running_loop().call_later(seconds, cls.release)

    @classmethod
    def release(cls) -> None:
        cls.holds = max(0, cls.holds - 1)
        if cls.holds == 0 and cls.paused:
            cls.paused = False
            gc.enable()


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

    @property
    def lag_ms(self) -> float:
        """Exchange-clock arrival (the whole-ms stamp's midpoint) minus the local send time."""
        return self.server_ms + 0.5 - self.sent_ms


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


@dataclass(frozen=True)
class NetEstimate:
    """The network to the exchange as measured (see the module docstring); all ms."""

    one_way_ms: float  # min round trip / 2
    jitter_ms: float  # (median - min) of the round trips / SPREAD_K (0 with one sample)
    lag_ms: float  # the smallest arrival lag: exchange arrival - local send
    samples: int  # arrival lags in the window
    # population stdev of the round trips / 2: no outlier-proof, but not low with few samples
    # (the min of a handful of round trips sits well above the true least one); a volley is
    # worth it when either estimate says so (volley.plan_volley)
    jitter_sd_ms: float = 0.0

    def lead_ms(self, offset_ms: float) -> float:
        """How long before the instant it should arrive a copy is sent (exchange clock)."""
        return (self.lag_ms - offset_ms) - AIM_JITTER_K * self.jitter_ms - AIM_MARGIN_MS


def aim_lead_ms(one_way_ms: float, jitter_ms: float) -> float:
    """The aimed lead for a known earliest one-way delay and spread (ms): the formula of the
    module docstring with ``lag - offset`` = ``one_way_ms``."""
    return one_way_ms - AIM_JITTER_K * jitter_ms - AIM_MARGIN_MS


def retry_arrival_ms(
    *,
    refused_at_ms: int,
    open_ms: int | None,
    arrivals: Sequence[int],
    jitter_ms: float,
    slow: bool = False,
) -> float:
    """When (exchange clock, ms) the next copy should ARRIVE after a copy that arrived at
    ``refused_at_ms`` (its ``requestTime``) was refused as not open yet:

    * the open ``open_ms``, when it is still ahead of the refusal: no earlier copy can succeed;
    * else (no announced open, or the exchange says "not yet" past it: a delayed open) one
      ``RETRY_SPACING_MS`` after the refusal (``SLOW_SPACING_MS`` when ``slow``) plus the
      guard below;
    * never earlier than the ``PLACE_ORDER_LIMIT``-th latest arrival in ``arrivals`` + 1 s +
      the guard: never more than 10 arrivals in any second (the 10/s place-order limit
      counts refused copies too, bitget-api.md §5), whatever the venue's window.

    The guard, ``2 * jitter_ms + 1``: an aimed copy lands within about ±jitter of its aim, so
    two aims that far apart never land closer than the spacing (+1: whole-ms stamps)."""
    guard = 2.0 * max(0.0, jitter_ms) + 1.0
    if open_ms is not None and open_ms > refused_at_ms:
        target = float(open_ms)
    else:
        target = refused_at_ms + (SLOW_SPACING_MS if slow else RETRY_SPACING_MS) + guard
    if len(arrivals) >= PLACE_ORDER_LIMIT:
        target = max(target, arrivals[-PLACE_ORDER_LIMIT] + 1000.0 + guard)
    return target


class ServerClock:
    """Local wall clock + offset. ``now_ms()`` is the exchange's idea of now; :meth:`net` the
    network to it."""

    def __init__(self, wall_ms: Callable[[], float] | None = None) -> None:
        self._wall_ms = wall_ms or (lambda: time.time_ns() / 1e6)
        self.offset_ms = 0.0
        self.rtt_ms: float | None = None
        self.synced = False
        self._rtts: deque[float] = deque(maxlen=NET_WINDOW)  # sync round trips, ms
        self._lags: deque[float] = deque(maxlen=NET_WINDOW)  # arrival lags, ms
        # the aimed scheduled fire's lead, when the run's executor plans it (a volley's first
        # copy leads by more, sniper.live.volley); None: :meth:`aim_lead_ms`
        self.scheduled_lead: Callable[[], float] | None = None

    def wall_ms(self) -> float:
        return self._wall_ms()

    def now_ms(self) -> int:
        return int(self._wall_ms() + self.offset_ms)

    def apply(self, sample: ClockSample) -> float:
        """Adopt a sample; returns how far the offset moved (ms)."""
        moved = sample.offset_ms - self.offset_ms
        if self.synced and abs(moved) > STEP_MS:
            self._rtts.clear()  # a local clock step: the lags measured before it are wrong
            self._lags.clear()
        self.offset_ms = sample.offset_ms
        self.rtt_ms = sample.rtt_ms
        self.synced = True
        return moved

    def observe(self, sample: ClockSample) -> None:
        """A round trip whose reply carried the arrival stamp: a network sample."""
        if sample.rtt_ms >= 0:
            self._rtts.append(sample.rtt_ms)
            self._lags.append(sample.lag_ms)

    def observe_arrival(self, sent_wall_ms: float, request_time_ms: int | None) -> None:
        """A request sent at ``sent_wall_ms`` (local wall clock) stamped ``requestTime`` (an
        order's answer, a 43115 refusal): an arrival-lag sample (no round trip)."""
        if request_time_ms is not None and request_time_ms > 0:
            self._lags.append(request_time_ms + 0.5 - sent_wall_ms)

    def net(self) -> NetEstimate | None:
        """The network estimate of the window (None: no round trip measured yet)."""
        if not self._rtts or not self._lags:
            return None
        rtts = self._rtts
        return NetEstimate(
            one_way_ms=min(rtts) / 2.0,
            jitter_ms=(statistics.median(rtts) - min(rtts)) / SPREAD_K,
            jitter_sd_ms=statistics.pstdev(rtts) / 2.0 if len(rtts) > 1 else 0.0,
            lag_ms=min(self._lags),
            samples=len(self._lags),
        )

    def aim_lead_ms(self) -> float:
        """How long before the instant it should arrive a copy is sent (0 when unmeasured: the
        copy is sent at that instant)."""
        net = self.net()
        return 0.0 if net is None else net.lead_ms(self.offset_ms)

    def schedule_lead_ms(self) -> float:
        """The lead of the aimed (``SCHEDULE_LEAD_MS=auto``) scheduled fire: the executor's
        plan when it registered one (:attr:`scheduled_lead`), else :meth:`aim_lead_ms`."""
        return self.scheduled_lead() if self.scheduled_lead is not None else self.aim_lead_ms()

    def seconds_until(self, server_ms: float) -> float:
        """Seconds from now until the server clock reads ``server_ms`` (negative when past)."""
        return (server_ms - (self._wall_ms() + self.offset_ms)) / 1000.0

    async def sync(
        self,
        fetch_server_ms: Callable[[], Awaitable[int]],
        samples: int = 5,
        *,
        spacing_s: float = 0.0,
    ) -> float:
        """Take ``samples`` round trips through ``fetch_server_ms`` (starting at least
        ``spacing_s`` apart) and adopt the best one; every one is a network sample."""
        got: list[ClockSample] = []
        for i in range(samples):
            if i and spacing_s > 0:
                await asyncio.sleep(max(0.0, spacing_s - (self._wall_ms() - got[-1].sent_ms) / 1e3))
            sent = self._wall_ms()
            server = await fetch_server_ms()
            received = self._wall_ms()
            got.append(ClockSample(sent, received, server))
        moved = self.apply(best_offset(got))
        for s in got:
            self.observe(s)
        return moved


async def sleep_until(
    clock: ServerClock, server_ms: float, stop: Callable[[], bool] | None = None
) -> bool:
    """Sleep until the exchange clock reads ``server_ms``: timers until the last ~2 ms, then
    yield-spins (asyncio timers round up to whole ms). False when ``stop()`` turned true
    first (checked at each wake-up)."""
    while (remaining := clock.seconds_until(server_ms)) > 0:
        if stop is not None and stop():
            return False
        if remaining > SPIN_S + 0.001:
            await asyncio.sleep(remaining - SPIN_S)
        else:
            await asyncio.sleep(0)
    return not (stop is not None and stop())
