"""Keeping the event loop hot around the open: ``SPIN=auto|always|off`` (issue 15).

Between events the event loop sleeps in ``epoll_wait``; when the listing frame lands, the kernel
has to wake the thread and the scheduler to run it again — on a VM that wake-up is a good part
of the listing → order latency. While the loop has a callback ready to run, uvloop (libuv)
polls with a zero timeout instead of sleeping: the frame is read on the loop's next turn. The
price: **one CPU core at 100 %** for as long as it lasts.

* :func:`spin_plan` — the window, a pure function: ``auto`` busy-polls from ``SPIN_BEFORE_S``
  before a known open time until ``SPIN_MAX_S`` after it (no open time known: never — the loop
  sleeps between events); ``always`` the whole time armed; ``off`` never.
* :class:`Spinner` — the armed run's controller: keeps the loop hot while the plan says so, and
  stops on the loop's next turn once the order is fired (the reconciliation and the report do
  not pay for it). The mechanism is a callback that schedules itself again with
  ``loop.call_soon`` — the cheapest "always one callback ready" of those measured (BENCHMARKS.md,
  "Keeping the loop hot (SPIN)"): no task step, no coroutine, and the loop still runs its I/O
  callbacks and timers on every turn, so nothing starves. ``gc.freeze()`` at the start of a
  window moves everything alive into the permanent generation, so a collection that happens to
  fall on the listing does not walk the whole heap (undone when the window ends).
* the warmer (``SPIN_WARM=1``, the default; :mod:`sniper.live.warmer`): while busy-polling, a
  loopback WebSocket pair in this process runs another symbol's ticker frame through the same
  read path and scanner every ``WARM_PERIOD_US`` (200 µs), from the spin turn — the first real
  frame then finds the path warm (BENCHMARKS.md, "The busy-polling gap"). It cannot fire
  anything and sends nothing to the exchange; if it cannot be set up the loop spins without it.
* :func:`status_text` / :func:`plan_text` — what the status line and ``sniper check`` say.

``off`` never busy-polls. With ``SLEEP_WARM_US`` (default 1000) the :class:`Spinner` still
runs for it, to keep the sleeping loop warm: a timer ticks the same warmer every ms (about 7-9 %
of one core, :data:`SLEEP_WARM_COST`); ``auto`` does the same outside its window. Without it
(``SLEEP_WARM_US=0`` or ``SPIN_WARM=0``) the runner starts no :class:`Spinner` for ``off``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sniper.config import SPIN_MODES
from sniper.live.warmer import Warmer

log = logging.getLogger("sniper.run")

# The defaults are Config's (SPIN_BEFORE_S 10 s; SPIN_MAX_S 60 s: a listing late by more than
# that usually gets a new open time, which opens a new window — past it the CPU is given back).
RECHECK_S = 1.0  # s between looks at the open time (it may be announced or moved meanwhile)
COST = "1 CPU core at 100 %"
# the sleeping warm tick's price, measured: CPU time of an armed `sniper run` SPIN=off on
# loopback, SLEEP_WARM_US=1000 against 0 (BENCHMARKS.md, "the sleeping loop, traced")
SLEEP_WARM_COST = "about 7-9 % of one CPU core at 1000 µs, proportionally less when longer"


@dataclass(frozen=True)
class SpinPlan:
    """What the window says now: ``spinning`` or not, and in how many seconds that changes by
    itself (``recheck_s``; None: only if the open time changes)."""

    spinning: bool
    recheck_s: float | None


def spin_plan(
    mode: str, seconds_to_open: float | None, *, before_s: float, max_s: float
) -> SpinPlan:
    """The busy-poll window for ``mode`` when the open is ``seconds_to_open`` away (negative:
    past; None: no open time known)."""
    if mode == "off":
        return SpinPlan(False, None)
    if mode == "always":
        return SpinPlan(True, None)
    if mode != "auto":
        raise ValueError(f"SPIN mode must be one of {SPIN_MODES}, got {mode!r}")
    if seconds_to_open is None:
        return SpinPlan(False, None)  # no open time: nothing to aim the window at
    if seconds_to_open > before_s:
        return SpinPlan(False, seconds_to_open - before_s)
    if seconds_to_open >= -max_s:
        return SpinPlan(True, seconds_to_open + max_s)
    return SpinPlan(False, None)  # the window is over


def plan_text(mode: str, seconds_to_open: float | None, *, before_s: float, max_s: float) -> str:
    """One sentence for ``sniper check``: when the loop will busy-poll and what it costs."""
    until = "until the order is fired"
    if mode == "off":
        return "off (SPIN=off): the event loop sleeps between events"
    if mode == "always":
        return f"always (SPIN=always): the whole time armed, {until} — costs {COST}"
    window = f"from {before_s:g} s before the open {until} or {max_s:g} s after it"
    if seconds_to_open is None:
        return (
            f"auto: no open time known, so off (the loop sleeps between events); with one it "
            f"busy-polls {window} — costs {COST}"
        )
    plan = spin_plan(mode, seconds_to_open, before_s=before_s, max_s=max_s)
    if plan.spinning:
        return f"auto: busy-polls as soon as armed (the open is near), {until} — costs {COST}"
    if plan.recheck_s is not None:
        return f"auto: busy-polls {window} (starts in {plan.recheck_s:.0f} s) — costs {COST}"
    return f"auto: the open is more than {max_s:g} s past, so off (the loop sleeps)"


def status_text(
    mode: str,
    seconds_to_open: float | None,
    *,
    spinning: bool,
    before_s: float,
    max_s: float,
) -> str:
    """The status line's part: busy-polling now (and its cost), soon, or nothing."""
    if spinning:
        return f"busy-polling ({COST})"
    if mode != "auto" or seconds_to_open is None:
        return ""  # off, or nothing to aim at (after the fire / window: the line is gone)
    plan = spin_plan(mode, seconds_to_open, before_s=before_s, max_s=max_s)
    if plan.recheck_s is not None and not plan.spinning:
        return f"busy-poll in {plan.recheck_s:.1f} s ({COST})"
    return ""


class Spinner:
    """Keeps the event loop hot while :func:`spin_plan` says so (``await spinner.run()`` as a
    task of the armed run; cancel it to stop). ``seconds_to_open()``: the open as last known
    (negative: past, None: unknown); ``fired()``: the order is out — the busy-poll stops on the
    loop's next turn and :meth:`run` returns.

    ``warmer``: a factory of the window's :class:`~sniper.live.warmer.Warmer` (None: no warmer,
    ``SPIN_WARM=0``) — opened at each window's start, closed at its end, after the fire and at
    shutdown; if it cannot be set up, a WARNING once and the loop spins without it.

    Observable state (status line, tests): ``spinning`` (now), ``windows`` (busy-poll windows
    started), ``turns`` (loop turns kept hot), ``stopped_by`` (``fired`` | ``window`` |
    ``cancelled`` | None), ``warm`` (the current or last window's warmer), ``warm_frames``
    (warm frames sent, all windows)."""

    def __init__(
        self,
        *,
        mode: str,
        before_s: float,
        max_s: float,
        seconds_to_open: Callable[[], float | None],
        fired: Callable[[], bool],
        recheck_s: float = RECHECK_S,
        warmer: Callable[[], Warmer] | None = None,
        sleep_warm_us: int = 0,
    ) -> None:
        if mode not in SPIN_MODES:
            raise ValueError(f"SPIN mode must be one of {SPIN_MODES}, got {mode!r}")
        self.mode = mode
        self.before_s = before_s
        self.max_s = max_s
        self.recheck_s = recheck_s
        self._seconds_to_open = seconds_to_open
        self._fired = fired
        self.spinning = False
        self.windows = 0  # busy-poll windows started
        self.turns = 0  # loop turns kept hot (one call of the self-scheduling callback each)
        self.stopped_by: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None
        self._started_ns = 0  # monotonic, the current window's start
        self._froze = False  # gc.freeze() done by this window
        self._warmer_factory = warmer
        self.warm: Warmer | None = None  # the current (or last) window's warmer
        self._warm_task: asyncio.Task[None] | None = None  # its opening
        self._warm_sent = 0  # warm frames sent by the closed windows' warmers
        self._warm_failed = False  # setting one up failed once: not tried again
        self._retired: Warmer | None = None  # the last pair closed by this spinner
        # between busy-poll windows (and the whole time for off): a warm frame on a timer
        self.sleep_warm_s = sleep_warm_us / 1e6 if warmer is not None and sleep_warm_us > 0 else 0
        self.sleep_ticks = 0  # warm frames sent from the sleeping loop's timer
        self._sleep_logged = False
        self._sleep_handle: asyncio.TimerHandle | None = None

    @property
    def warm_frames(self) -> int:
        """Warm frames sent so far, all windows."""
        return self._warm_sent + (self.warm.sent if self.warm is not None else 0)

    @property
    def enabled(self) -> bool:
        """False for ``off`` without the sleeping warm tick: nothing to run (the runner does
        not start it)."""
        return self.mode != "off" or self.sleep_warm_s > 0

    def plan(self) -> SpinPlan:
        return spin_plan(
            self.mode, self._seconds_to_open(), before_s=self.before_s, max_s=self.max_s
        )

    def status_text(self) -> str:
        if self._fired():
            return ""
        text = status_text(
            self.mode,
            self._seconds_to_open(),
            spinning=self.spinning,
            before_s=self.before_s,
            max_s=self.max_s,
        )
        if self._sleep_handle is None:
            return text
        warm = f"warm every {self.sleep_warm_s * 1e6:.0f} µs"
        return f"{text} · {warm}" if text else warm

    async def run(self) -> None:
        """Until the order is fired (or cancelled): follow the plan, re-read every
        ``recheck_s`` (the open time may be announced or moved). Always leaves the loop cold."""
        self._loop = asyncio.get_running_loop()
        try:
            while not self._fired():
                plan = self.plan()
                if plan.spinning and not self.spinning:
                    self._start()
                elif not plan.spinning and self.spinning:
                    self._stop("window")
                if (
                    not self.spinning
                    and self.sleep_warm_s
                    and self._sleep_handle is None
                    and not self._warm_failed
                ):
                    if not self._sleep_logged:
                        self._sleep_logged = True
                        log.info(
                            "spin: the event loop sleeps between events; a warm frame every "
                            "%g µs keeps the receive path in the caches (SLEEP_WARM_US)",
                            self.sleep_warm_s * 1e6,
                        )
                    self._start_sleep_warm()
                wait = self.recheck_s
                if plan.recheck_s is not None:
                    wait = min(wait, max(plan.recheck_s, 0.001))
                await asyncio.sleep(wait)  # a timer: it fires on time while the loop spins
        finally:
            self._stop("fired" if self._fired() else "cancelled")
            task = self._warm_task
            if task is not None and not task.done():  # closed by _stop: let it undo itself
                await asyncio.wait([task], timeout=1.0)

    def stop(self) -> None:
        """Stop busy-polling now (synchronous; the run's shutdown, a signal)."""
        self._stop("cancelled")

    # --- the hot loop -----------------------------------------------------------------------
    def _start(self) -> None:
        loop = self._loop
        assert loop is not None
        self.spinning = True
        self.windows += 1
        self.stopped_by = None
        self._started_ns = time.monotonic_ns()
        if gc.get_freeze_count() == 0:
            # O(1): a collection during the window walks only what is new (no gc.collect()
            # first: it could take milliseconds right at the open)
            gc.freeze()
            self._froze = True
        log.info(
            "spin: busy-polling the event loop until the order is fired%s — %s",
            "" if self.mode == "always" else f" or {self.max_s:g} s after the open",
            COST,
        )
        self._cancel_sleep_warm()
        self._warm_pair(loop)
        self._handle = loop.call_soon(self._turn)

    def _warm_pair(self, loop: asyncio.AbstractEventLoop) -> None:
        """The pair to warm with: the current one while it opens or works; a new one if there
        is none, if it was closed, or if it went dead (its server side dropped after opening)."""
        warm = self.warm
        opening = self._warm_task is not None and not self._warm_task.done()
        if warm is not None and not warm.closed and (opening or warm.ready):
            return
        if warm is not None and not warm.closed:
            self._close_warmer()  # dead: replaced below
        self._start_warmer(loop)

    def _start_warmer(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._warmer_factory is None or self._warm_failed:
            return
        try:
            warm = self._warmer_factory()
        except Exception as exc:
            self._warmer_failed(exc)
            return
        if self.warm is not None:
            self._warm_sent += self.warm.sent
        self.warm = warm
        self._warm_task = loop.create_task(self._open_warmer(warm), name="sniper-spin-warmer")

    async def _open_warmer(self, warm: Warmer) -> None:
        try:
            await warm.open()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if warm is not self._retired:  # not merely closed by us (a window's end, the fire)
                self._warmer_failed(exc)
            return
        log.debug(
            "spin: warming the receive path over 127.0.0.1:%s every %g µs",
            warm.port,
            warm.period_ns / 1000,
        )

    def _warmer_failed(self, exc: BaseException) -> None:
        self._warm_failed = True
        log.warning(
            "spin: cannot set up the loopback warmer (%s: %s); %s without it",
            type(exc).__name__,
            exc,
            "busy-polling" if self.spinning else "sleeping between events",
        )

    def _turn(self) -> None:
        """One loop turn kept hot: while a callback is ready, the loop polls without sleeping."""
        if self._fired():
            self._handle = None
            self._stop("fired")
            return
        self.turns += 1
        warm = self.warm
        if warm is not None:
            warm.tick()
        self._handle = self._loop.call_soon(self._turn)  # type: ignore[union-attr]

    # --- between windows: the loop sleeps, a timer runs a warm frame ------------------------
    def _start_sleep_warm(self) -> None:
        loop = self._loop
        assert loop is not None
        self._warm_pair(loop)
        self._sleep_handle = loop.call_later(self.sleep_warm_s, self._sleep_turn)

    def _sleep_turn(self) -> None:
        """One warm frame from the sleeping loop (the loop wakes for this timer and for the
        frame, then sleeps again)."""
        self._sleep_handle = None
        if self._fired():
            self._stop("fired")  # the pair goes at once, not at run()'s next look
            return
        if self.spinning or self._loop is None:
            return
        self._warm_pair(self._loop)  # a pair that went dead is replaced
        if self._warm_failed:
            return  # no pair (it could not be set up): nothing to wake up for
        warm = self.warm
        if warm is not None and warm.ready:
            warm.tick()
            self.sleep_ticks += 1
        self._sleep_handle = self._loop.call_later(self.sleep_warm_s, self._sleep_turn)

    def _cancel_sleep_warm(self) -> None:
        if self._sleep_handle is not None:
            self._sleep_handle.cancel()
            self._sleep_handle = None

    def _close_warmer(self) -> None:
        # Not a cancel of a pair still opening: a cancel inside the server's creation can leave
        # its listening socket behind. Closed, the opening notices at its next step, undoes
        # what it did and ends (run() waits for it on the way out).
        if self.warm is not None:
            self._retired = self.warm
            self.warm.close()

    def _stop(self, why: str) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if why != "window" or not self.sleep_warm_s:
            # the window's end with the sleeping warm tick on keeps the warmer: run() starts
            # the tick on its next look, with the same pair
            self._cancel_sleep_warm()
            self._close_warmer()
        if not self.spinning:
            if self.sleep_warm_s and why != "window":
                self.stopped_by = why  # the sleeping warm tick's end
            return
        self.spinning = False
        self.stopped_by = why
        if self._froze:
            gc.unfreeze()
            self._froze = False
        seconds = (time.monotonic_ns() - self._started_ns) / 1e9
        to_open = self._seconds_to_open() if why == "window" else None
        if to_open is not None and to_open > 0:
            log.info(
                "spin: the open moved (now in %.0f s): the event loop sleeps between events "
                "until %g s before it (busy-polled %.1f s)",
                to_open,
                self.before_s,
                seconds,
            )
        elif why == "window":
            log.info(
                "spin: no fire %g s after the open: the event loop sleeps between events again "
                "(busy-polled %.1f s)",
                self.max_s,
                seconds,
            )
        else:
            log.debug("spin: stopped (%s) after %.1f s, %d turns", why, seconds, self.turns)


__all__ = [
    "COST",
    "SLEEP_WARM_COST",
    "SPIN_MODES",
    "SpinPlan",
    "Spinner",
    "plan_text",
    "spin_plan",
    "status_text",
]
