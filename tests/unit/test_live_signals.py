"""``sniper.live.signals.RunGuard``: what SIGINT/SIGTERM do to a run, before and after the fire.

The end-to-end behaviour (a real ``sniper run`` process, the embedded exchange) is in
tests/integration/test_sniper_signals.py; here the guard alone, with real signals sent to this
process where it matters (the handlers must be the loop's, and be gone afterwards).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import pytest

from sniper.errors import Interrupted, OrderUnconfirmed
from sniper.live.signals import RunGuard

OID = "snp-0123456789abcdef01234567"


class Shot:
    """The run's side: whether the order went out, and what stop_firing did."""

    def __init__(self, sent: bool = False) -> None:
        self.is_sent = sent
        self.stopped_firing = 0

    def sent(self) -> str | None:
        return OID if self.is_sent else None

    def stop_firing(self) -> None:
        self.stopped_firing += 1

    def guard(self) -> RunGuard:
        return RunGuard(sent=self.sent, stop_firing=self.stop_firing)


async def _forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


async def _signal_when(started: asyncio.Event, signum: int) -> None:
    await started.wait()
    os.kill(os.getpid(), signum)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_before_the_fire_a_real_signal_stops_the_run_with_128_plus_its_number(
    signum: int, code: int
) -> None:
    shot = Shot()
    guard = shot.guard()
    before = signal.getsignal(signum)
    guard.install()
    try:
        started = asyncio.Event()
        sender = asyncio.create_task(_signal_when(started, signum))
        with pytest.raises(Interrupted) as info:
            async with asyncio.timeout(5):
                await guard.run(_forever(started))
        await sender
    finally:
        guard.remove()
    assert info.value.exit_code == code
    assert (
        str(info.value) == f"interrupted ({signal.Signals(signum).name}) before any order was sent"
    )
    assert shot.stopped_firing == 1
    assert guard.main is not None
    await asyncio.sleep(0)
    assert guard.main.cancelled()
    assert signal.getsignal(signum) is before, "the handler before the run was not put back"


async def test_after_the_fire_the_first_signal_only_says_confirming_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shot = Shot(sent=True)
    guard = shot.guard()
    signalled = asyncio.Event()

    async def confirming() -> str:
        signalled.set()
        await asyncio.sleep(0.2)  # the executor still confirming when the signal lands
        return "sold"

    guard.install()
    try:
        sender = asyncio.create_task(_signal_when(signalled, signal.SIGTERM))
        with caplog.at_level(logging.WARNING, logger="sniper.run"):
            assert await guard.run(confirming()) == "sold"
        await sender
    finally:
        guard.remove()
    (line,) = [r.getMessage() for r in caplog.records]
    assert OID in line and "the order was sent: confirming…" in line and "SIGTERM" in line
    assert shot.stopped_firing == 0 and guard.stop is None


async def test_after_the_fire_a_second_signal_stops_at_once_with_exit_4() -> None:
    shot = Shot(sent=True)
    guard = shot.guard()
    started = asyncio.Event()

    async def second() -> None:
        await started.wait()
        guard.on_signal(signal.SIGINT)
        await asyncio.sleep(0.05)
        guard.on_signal(signal.SIGINT)

    sender = asyncio.create_task(second())
    with pytest.raises(OrderUnconfirmed) as info:
        async with asyncio.timeout(5):
            await guard.run(_forever(started))
    await sender
    assert info.value.exit_code == 4
    text = str(info.value)
    assert OID in text and "fate is unknown" in text and "check your orders" in text
    assert shot.stopped_firing == 0  # after the fire nothing is "stopped from firing"


async def test_a_run_that_loses_its_cancel_still_ends_the_guarded_wait() -> None:
    """Python 3.11's wait_for can drop a cancel: the guard does not wait for the run's task to
    honour it (the caller closes the connections, then waits for the task with a bound)."""
    shot = Shot()
    guard = shot.guard()
    started = asyncio.Event()
    release = asyncio.Event()

    async def deaf() -> None:
        started.set()
        while True:
            try:
                await release.wait()
                return
            except asyncio.CancelledError:
                continue  # the cancel is lost

    async def interrupt() -> None:
        await started.wait()
        guard.on_signal(signal.SIGINT)

    sender = asyncio.create_task(interrupt())
    with pytest.raises(Interrupted):
        async with asyncio.timeout(2):
            await guard.run(deaf())
    await sender
    assert guard.main is not None and not guard.main.done()
    release.set()
    await guard.main


async def test_a_result_wins_over_a_signal_that_comes_with_it() -> None:
    shot = Shot(sent=True)
    guard = shot.guard()

    def two_signals(_task: object) -> None:
        guard.on_signal(signal.SIGTERM)  # first after the fire: confirming…
        guard.on_signal(signal.SIGTERM)  # second: stop — but the run has its answer already

    async def done_at_once() -> str:
        task = asyncio.current_task()
        assert task is not None
        task.add_done_callback(two_signals)  # lands before the guard has seen the result
        return "sold"

    assert await guard.run(done_at_once()) == "sold"
    assert isinstance(guard.stop, OrderUnconfirmed)  # the second signal did land


async def test_signals_after_the_run_ended_change_nothing() -> None:
    shot = Shot()
    guard = shot.guard()

    async def quick() -> int:
        return 7

    assert await guard.run(quick()) == 7
    guard.on_signal(signal.SIGINT)
    assert guard.stop is None and shot.stopped_firing == 0


def test_settle_an_interrupt_that_raced_the_fire_is_unconfirmed() -> None:
    shot = Shot()
    guard = shot.guard()
    exc = Interrupted(signal.SIGINT)
    assert guard.settle(exc) is exc
    shot.is_sent = True  # the fire slipped in before the channels were stopped
    settled = guard.settle(exc)
    assert isinstance(settled, OrderUnconfirmed) and settled.exit_code == 4
    assert OID in str(settled) and "before any order" not in str(settled)
    other = OrderUnconfirmed("x")
    assert guard.settle(other) is other


@pytest.mark.parametrize("first_out", [True, False])
async def test_overlapping_runs_share_the_handlers_and_put_the_old_ones_back(
    first_out: bool,
) -> None:
    before: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    one, two = Shot(), Shot()
    g1, g2 = one.guard(), two.guard()
    g1.install()
    g2.install()
    started = asyncio.Event()
    runs = [asyncio.ensure_future(g.run(_forever(started))) for g in (g1, g2)]
    await started.wait()
    await asyncio.sleep(0)
    os.kill(os.getpid(), signal.SIGTERM)  # both runs hear it
    for run in runs:
        with pytest.raises(Interrupted):
            async with asyncio.timeout(5):
                await run
    assert one.stopped_firing == two.stopped_firing == 1
    for g in (g1, g2) if first_out else (g2, g1):
        g.remove()
    for sig, handler in before.items():
        assert signal.getsignal(sig) is handler
