"""Ctrl-C (SIGINT) and SIGTERM during ``sniper run``: what they mean depends on the fire.

* **Before the fire** (nothing sent): the run stops at once. The firing channels are stopped in
  the signal handler itself (synchronously: no channel can fire after it returns), the run's
  task is cancelled, and the run ends with :class:`~sniper.errors.Interrupted` — exit 130
  (SIGINT) or 143 (SIGTERM), "interrupted before any order was sent".
* **After the fire** (the order may be on the venue), the first signal does not stop anything:
  it says the order was sent, names its clientOid, and the executor goes on confirming for its
  own bounded time; the run ends with the true outcome (0 with the order named, 3, or 4).
* **A second signal after the fire** stops at once: :class:`~sniper.errors.OrderUnconfirmed`
  (exit 4) naming the clientOid — its fate is unknown, check your orders.

The run's coroutine runs as a task of its own (:attr:`RunGuard.main`) and :meth:`RunGuard.run`
waits for it *or* a stop, so a cancel that a callee loses (Python 3.11's ``asyncio.wait_for``
drops one that lands in the same loop iteration as its result) cannot keep the run going: the
caller shuts the connections down and waits for the task with a bound.

Handlers are installed with ``loop.add_signal_handler`` (asyncio and uvloop) for the run and
removed after it, restoring the handlers that were there before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sniper.errors import Interrupted, OrderUnconfirmed

log = logging.getLogger("sniper.run")

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(signum: int) -> str:
    """``Ctrl-C`` for SIGINT (what the user pressed), the signal's name otherwise."""
    if signum == signal.SIGINT:
        return "Ctrl-C"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class RunGuard:
    """Runs one ``sniper run`` under SIGINT/SIGTERM handlers (see the module docstring).

    ``sent()`` returns the clientOid once an order may have left (the trigger fired, not a dry
    run), else None. ``stop_firing()`` stops every channel that could fire, synchronously.
    """

    def __init__(self, *, sent: Callable[[], str | None], stop_firing: Callable[[], None]) -> None:
        self._sent = sent
        self._stop_firing = stop_firing
        self.main: asyncio.Task[Any] | None = None
        self.stop: BaseException | None = None  # why the run was stopped by a signal
        self.confirming = False  # a first signal after the fire was answered "confirming…"
        self._over = False  # the run's task ended: signals no longer change anything
        self._wake: asyncio.Future[None] | None = None

    # --- handlers -------------------------------------------------------------------------------
    def install(self) -> None:
        """Receive SIGINT and SIGTERM while the run lasts (see :class:`_Handlers`)."""
        _HANDLERS.add(self)

    def remove(self) -> None:
        _HANDLERS.discard(self)

    def on_signal(self, signum: int) -> None:
        name = signal_name(signum)
        if self._over or self.stop is not None:
            log.debug("signals: %s while the run is already ending", name)
            return
        client_oid = self._sent()
        if client_oid is None:
            # before the fire: make sure nothing fires any more, then stop
            self.stop = Interrupted(signum)
            self._stop_firing()
            self._halt()
            return
        if not self.confirming:
            self.confirming = True
            log.warning(
                "%s: clientOid %s — the order was sent: confirming… (the run ends with the "
                "order's true outcome; a second %s stops at once and leaves its fate unknown)",
                name,
                client_oid,
                name,
            )
            return
        self.stop = OrderUnconfirmed(
            f"interrupted again ({name}) while confirming: clientOid {client_oid} was sent and "
            "its fate is unknown — check your orders on Bitget (search for that clientOid) "
            "before running again"
        )
        self._halt()

    def _halt(self) -> None:
        if self.main is not None and not self.main.done():
            self.main.cancel()
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    # --- the run --------------------------------------------------------------------------------
    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` as :attr:`main` until it ends or a signal stops the run (then raise
        :attr:`stop`; :attr:`main` is cancelled but not waited for: close the connections,
        then wait for it with a bound)."""
        loop = asyncio.get_running_loop()
        self.main = main = loop.create_task(coro, name="sniper-run")
        self._wake = wake = loop.create_future()
        try:
            await asyncio.wait([main, wake], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._over = True
            if not main.done():
                main.cancel()
            if not wake.done():
                wake.cancel()
        if main.done() and not main.cancelled() and main.exception() is None:
            return main.result()  # a result is the truth, whatever came in meanwhile
        if self.stop is not None:
            raise self.stop
        return main.result()  # its exception (or CancelledError)

    def settle(self, exc: BaseException) -> BaseException:
        """The error the run ends with, checked once everything is shut down: an interrupt
        that raced the fire (the order went out after all) is not "before any order"."""
        if isinstance(exc, Interrupted):
            client_oid = self._sent()
            if client_oid is not None:
                return OrderUnconfirmed(
                    f"interrupted as the order went out: clientOid {client_oid} was sent and "
                    "its fate is unknown — check your orders on Bitget (search for that "
                    "clientOid) before running again"
                )
        return exc


class _Handlers:
    """The process's SIGINT/SIGTERM handlers, shared by the runs in progress (in tests several
    runs can overlap in one loop; ``sniper run`` has one). The first run installs them on its
    loop with ``loop.add_signal_handler``; each signal goes to every run in progress; the last
    run to end removes them and puts back the handlers that were there before."""

    def __init__(self) -> None:
        self._guards: list[RunGuard] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._before: list[tuple[signal.Signals, Any]] = []  # (signal, its handler before ours)

    def add(self, guard: RunGuard) -> None:
        loop = asyncio.get_running_loop()
        self._guards.append(guard)
        if self._loop is not None:
            if self._loop is not loop:
                log.debug("signals: handled by another event loop's run")
            return
        self._loop = loop
        for sig in SIGNALS:
            try:
                before = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._dispatch, int(sig))
            except (ValueError, RuntimeError, NotImplementedError) as exc:
                # not the main thread (or no signals here): the signal keeps its default meaning
                log.debug("signals: no %s handler (%s)", sig.name, exc)
                continue
            self._before.append((sig, before))

    def discard(self, guard: RunGuard) -> None:
        if guard in self._guards:
            self._guards.remove(guard)
        if self._guards or self._loop is None:
            return
        loop, self._loop = self._loop, None
        before, self._before = self._before, []
        for sig, handler in before:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                if not loop.is_closed():
                    loop.remove_signal_handler(sig)
                if handler is not None:
                    signal.signal(sig, handler)

    def _dispatch(self, signum: int) -> None:
        for guard in list(self._guards):
            guard.on_signal(signum)


_HANDLERS = _Handlers()

__all__ = ["SIGNALS", "RunGuard", "signal_name"]
