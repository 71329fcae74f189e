"""The detection channels besides the WebSocket hot path: ``poll`` and ``scheduled``.

Every channel fires the same ``OrderTrigger``, which sends the order exactly once: ``ws`` (the
hot path, in the frame callback: ``feed.py`` + ``hotpath.pyx``), ``poll`` (:class:`Poller`: the
symbol row every ``poll_interval_ms``), ``scheduled`` (:func:`schedule`: at openTime minus the
lead on the exchange clock — ``SCHEDULE_LEAD_MS``, or by default (``auto``) aimed so that the
order ARRIVES just after the open: :meth:`~sniper.live.clock.ServerClock.aim_lead_ms`),
``startup`` (the pair is already online: the runner fires at once).

:class:`SymbolWatch` holds the pair's row and open time as last read (start-up, then each
poll); the scheduler wakes on its ``open_time_changed`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sniper.errors import ExchangeUnavailable
from sniper.live.clock import GC_AFTER_S, GC_HOLD_S, GcHold
from sniper.live.fastpath import CHANNEL_POLL, CHANNEL_SCHEDULED, now_ns
from sniper.live.pacing import PollPacer
from sniper.live.report import iso_ms

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.clock import ServerClock
    from sniper.live.fastpath import OrderTrigger
    from sniper.live.preflight import Readiness
    from sniper.live.rest import RestClient
    from sniper.live.venue import Envelope, SymbolState, Venue

log = logging.getLogger("sniper.run")

SPIN_S = 0.002  # the scheduled channel busy-waits (yielding) only for the last 2 ms
LATE_S = -5.0  # a schedule this far past (e.g. a stale OPEN_TIME) does not fire
POLL_TIME_LIMIT_S = 2.0  # s one symbols request may take


class SymbolWatch:
    """The pair's symbol row and open time (server clock, ms) as last read; each change logged
    once. ``on_listed()``: the pair appeared; ``on_precision()``: its quantityPrecision changed."""

    def __init__(
        self,
        config: Config,
        readiness: Readiness,
        clock: ServerClock,
        *,
        on_listed: Callable[[], None],
        on_precision: Callable[[], None],
    ) -> None:
        self.config = config
        self.clock = clock
        self.symbol: SymbolState = readiness.symbol
        self.open_time_ms: int | None = readiness.open_time_ms
        self.open_time_changed = asyncio.Event()
        self._on_listed = on_listed
        self._on_precision = on_precision

    def seconds_to_open(self) -> float | None:
        """Seconds until the open on the exchange clock (negative: past; None: not announced)."""
        if self.open_time_ms is None:
            return None
        return self.clock.seconds_until(self.open_time_ms)

    def update(self, state: SymbolState) -> None:
        prev = self.symbol
        self.symbol = state
        if state.open_time_ms is not None and state.open_time_ms != self.open_time_ms:
            if self.open_time_ms is not None:
                log.info("openTime changed: %s", iso_ms(state.open_time_ms))
            else:
                log.info("openTime announced: %s", iso_ms(state.open_time_ms))
            self.open_time_ms = state.open_time_ms
            self.open_time_changed.set()
        if prev.status in ("absent", "unknown") and state.status != "absent":
            log.info("symbol: %s now exists (%s)", self.config.target, state.status)
            self._on_listed()
        if (
            state.quantity_precision is not None
            and state.quantity_precision != prev.quantity_precision
        ) or (state.price_precision is not None and state.price_precision != prev.price_precision):
            self._on_precision()  # the size (quantityPrecision) or the floor (pricePrecision)


class Poller:
    """``poll`` channel: the symbol row every ``poll_interval_ms`` (never faster, the start-up
    read included), backing off on 429 and on 5xx / front-door refusals (saying so once, and
    once when it recovers), until the open has been seen (``open_seen``)."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        trigger: OrderTrigger,
        watch: SymbolWatch,
        open_seen: asyncio.Event,
        last_call: float,
    ) -> None:
        self.venue = venue
        self.rest = rest
        self.trigger = trigger
        self.watch = watch
        self.open_seen = open_seen
        self.polls = 0  # symbols requests sent
        self.throttles = 0  # answers that slowed the poller down (429, 5xx, front-door pages)
        self.interval_ms = float(config.poll_interval_ms)  # the current pace
        self.last_call = last_call  # loop time of the last symbols request
        self._pacer = PollPacer(config.poll_interval_ms)
        self._throttled_logged = False

    async def run(self) -> None:
        pacer = self._pacer
        call = self.venue.symbol_call()
        loop = asyncio.get_running_loop()
        # never two symbols requests closer than the interval, the start-up read included
        await asyncio.sleep(max(0.0, self.last_call + pacer.interval_ms / 1000 - loop.time()))
        while not self.open_seen.is_set():
            started = self.last_call = loop.time()
            try:
                env = await self.rest.request(call, signed=False, time_limit_s=POLL_TIME_LIMIT_S)
            except ExchangeUnavailable as exc:
                log.debug("poll failed: %s", exc)
                env = None
            self.polls += 1
            if env is not None:
                self._answer(env)
            delay = started + pacer.interval_ms / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    def _answer(self, env: Envelope) -> None:
        venue, pacer = self.venue, self._pacer
        if venue.is_rate_limited(env) or env.http_status >= 500 or env.code is None:
            # 429; a 5xx storm; a front door's page (403 HTML): slow down, say it once
            self.interval_ms = pacer.throttled()
            self.throttles += 1
            if not self._throttled_logged:
                log.warning("poll: %s: slowing to %.0f ms", venue.explain(env), pacer.interval_ms)
                self._throttled_logged = True
            return
        try:
            state = venue.parse_symbol(env, now_ms=self.watch.clock.now_ms())
        except ValueError:
            return
        self.interval_ms = pacer.ok()
        if self._throttled_logged:
            log.info(
                "poll: answering normally again; back to every %.0f ms gradually", pacer.base_ms
            )
            self._throttled_logged = False
        if state.status == "online":
            self.trigger.fire(CHANNEL_POLL, now_ns())
        self.watch.update(state)


def schedule_lead_ms(config: Config, clock: ServerClock) -> float:
    """ms before the open the scheduled channel sends: ``SCHEDULE_LEAD_MS`` when a number,
    else (``auto``) the aimed lead — the measured one-way latency minus the jitter margin
    (:mod:`sniper.live.clock`), 0 before anything was measured."""
    if config.schedule_lead_ms is not None:
        return config.schedule_lead_ms
    return clock.schedule_lead_ms()  # the aim; a volley's first copy leads more (volley.py)


async def schedule(*, config: Config, trigger: OrderTrigger, watch: SymbolWatch) -> None:
    """``scheduled`` channel: fire at openTime - :func:`schedule_lead_ms` on the server clock
    (the lead is re-read until the last ~20 ms: the clock re-syncs just before the open). The
    garbage collector is paused from ``GC_HOLD_S`` before the fire to ``GC_AFTER_S`` after it
    (:class:`GcHold`)."""
    held: list[bool] = []  # a GcHold taken (released here, after the volley's copies)
    try:
        await _schedule(config, trigger, watch, held)
    finally:
        if held:
            try:
                if trigger.fired:  # the volley's further copies are written meanwhile
                    await asyncio.sleep(GC_AFTER_S)
            finally:  # also when cancelled, or closed with its loop
                GcHold.release()


async def _schedule(
    config: Config, trigger: OrderTrigger, watch: SymbolWatch, held: list[bool]
) -> None:
    changed, clock = watch.open_time_changed, watch.clock
    while not trigger.fired:
        if watch.open_time_ms is None:
            changed.clear()
            await changed.wait()
            continue
        target_ms = watch.open_time_ms - schedule_lead_ms(config, clock)
        remaining = clock.seconds_until(target_ms)
        if remaining <= GC_HOLD_S and not held:
            GcHold.hold()
            held.append(True)
        elif remaining > 2 * GC_HOLD_S and held:  # the open moved later
            GcHold.release()
            held.clear()
        if remaining > 0.02:
            step = remaining - 0.015
            if not held and remaining > GC_HOLD_S:
                step = min(step, remaining - GC_HOLD_S + 0.001)  # wake to take the hold
            changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(step, 1.0)):
                    await changed.wait()
            continue
        # the last ~20 ms: short sleeps, then yield-spin for the last 2 ms
        while (remaining := clock.seconds_until(target_ms)) > 0:
            await asyncio.sleep(0.001 if remaining > SPIN_S else 0)
            if trigger.fired:
                return
        if remaining <= LATE_S:
            return
        if watch.symbol.status == "absent":
            # an order for a pair that does not exist is rejected for good (40034/25100)
            log.warning(
                "scheduled open time reached but %s is not listed: not firing on the "
                "schedule (the WebSocket and the poller keep watching)",
                config.target,
            )
            return
        trigger.fire(CHANNEL_SCHEDULED, now_ns())
        return
