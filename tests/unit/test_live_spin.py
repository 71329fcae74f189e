"""``SPIN``: the busy-poll window (pure) and the :class:`Spinner` on a real event loop.

The Spinner tests run on uvloop (what ``sniper run`` uses) and on the default asyncio loop, each
in its own ``asyncio.Runner``. They never assert on durations: they wait (bounded) for the
observable state — ``spinning``, ``turns``, ``stopped_by`` — so a loaded machine only makes them
slower, never wrong.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop

from sniper.live.spin import COST, Spinner, SpinPlan, plan_text, spin_plan, status_text

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
WAIT_S = 20.0  # bound of every wait for a state (generous: a loaded 2-core machine)


def plan(mode: str, t: float | None) -> SpinPlan:
    return spin_plan(mode, t, before_s=10.0, max_s=60.0)


# --- the window ---------------------------------------------------------------------------------
def test_off_never_spins() -> None:
    for t in (None, 1000.0, 5.0, 0.0, -5.0, -1000.0):
        assert plan("off", t) == SpinPlan(False, None)


def test_always_spins_whatever_the_open() -> None:
    for t in (None, 1000.0, 5.0, 0.0, -5.0, -1000.0):
        assert plan("always", t) == SpinPlan(True, None)


def test_auto_without_an_open_time_is_off() -> None:
    assert plan("auto", None) == SpinPlan(False, None)


def test_auto_before_the_window_says_when_it_starts() -> None:
    assert plan("auto", 100.0) == SpinPlan(False, 90.0)
    assert plan("auto", 10.5) == SpinPlan(False, 0.5)


def test_auto_inside_the_window_says_when_it_ends() -> None:
    assert plan("auto", 10.0) == SpinPlan(True, 70.0)  # the window's first instant
    assert plan("auto", 3.0) == SpinPlan(True, 63.0)
    assert plan("auto", 0.0) == SpinPlan(True, 60.0)
    assert plan("auto", -59.0) == SpinPlan(True, 1.0)
    assert plan("auto", -60.0) == SpinPlan(True, 0.0)  # the window's last instant


def test_auto_after_the_window_is_off() -> None:
    assert plan("auto", -60.5) == SpinPlan(False, None)
    assert plan("auto", -3600.0) == SpinPlan(False, None)


def test_auto_window_follows_its_settings() -> None:
    assert spin_plan("auto", 25.0, before_s=30.0, max_s=5.0) == SpinPlan(True, 30.0)
    assert spin_plan("auto", -6.0, before_s=30.0, max_s=5.0) == SpinPlan(False, None)
    assert spin_plan("auto", 0.5, before_s=0.0, max_s=0.0) == SpinPlan(False, 0.5)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="SPIN"):
        plan("sometimes", 5.0)
    with pytest.raises(ValueError, match="SPIN"):
        Spinner(mode="on", before_s=1, max_s=1, seconds_to_open=lambda: None, fired=lambda: False)


# --- what is said -------------------------------------------------------------------------------
def test_check_text_says_when_and_what_it_costs() -> None:
    kw: dict[str, Any] = {"before_s": 10.0, "max_s": 60.0}
    assert "sleeps" in plan_text("off", 5.0, **kw) and COST not in plan_text("off", 5.0, **kw)
    assert "whole time armed" in plan_text("always", None, **kw)
    assert COST in plan_text("always", None, **kw)
    unknown = plan_text("auto", None, **kw)
    assert "no open time known, so off" in unknown and COST in unknown
    later = plan_text("auto", 100.0, **kw)
    assert "from 10 s before the open" in later and "60 s after it" in later
    assert "starts in 90 s" in later and COST in later
    assert "as soon as armed" in plan_text("auto", 5.0, **kw)
    assert "off" in plan_text("auto", -100.0, **kw)
    assert COST == "1 CPU core at 100 %"


def test_status_text() -> None:
    kw: dict[str, Any] = {"before_s": 10.0, "max_s": 60.0}
    assert status_text("auto", 3.0, spinning=True, **kw) == f"busy-polling ({COST})"
    assert status_text("always", None, spinning=True, **kw) == f"busy-polling ({COST})"
    assert status_text("auto", 12.5, spinning=False, **kw) == f"busy-poll in 2.5 s ({COST})"
    assert status_text("auto", None, spinning=False, **kw) == ""
    assert status_text("off", 5.0, spinning=False, **kw) == ""
    assert status_text("auto", -100.0, spinning=False, **kw) == ""


# --- the Spinner on a real loop -----------------------------------------------------------------
def run_on(loop_name: str, coro: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        runner.run(coro())  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], what: str) -> None:
    """Wait (yielding to the loop, bounded) until ``cond()``."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in time: {what}"
        await asyncio.sleep(0.001)


class Flags:
    def __init__(self, to_open: float | None = None) -> None:
        self.to_open = to_open
        self.fired = False

    def spinner(self, mode: str, **kw: Any) -> Spinner:
        return Spinner(
            mode=mode,
            before_s=kw.pop("before_s", 10.0),
            max_s=kw.pop("max_s", 60.0),
            seconds_to_open=lambda: self.to_open,
            fired=lambda: self.fired,
            recheck_s=kw.pop("recheck_s", 0.005),
        )


@pytest.mark.parametrize("loop_name", LOOPS)
def test_always_spins_until_fired_then_stops(loop_name: str) -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("always")
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.turns > 100, "the loop kept hot")
        assert spinner.spinning and spinner.windows == 1
        assert spinner.status_text() == f"busy-polling ({COST})"
        flags.fired = True
        await until(lambda: not spinner.spinning, "stopped after the fire")
        assert spinner.stopped_by == "fired"
        assert spinner.status_text() == ""
        turns = spinner.turns
        for _ in range(20):
            await asyncio.sleep(0)  # no turn of the chain is left scheduled
        assert spinner.turns == turns
        async with asyncio.timeout(WAIT_S):
            await task  # run() ends by itself once fired
        assert spinner.turns == turns

    run_on(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_timers_and_other_tasks_keep_running_while_spinning(loop_name: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        flags = Flags()
        spinner = flags.spinner("always")
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.spinning, "spinning")
        # a timer (call_later), a sleeping task and a yielding task all progress meanwhile
        timer_fired = loop.create_future()
        loop.call_later(0.02, lambda: timer_fired.set_result(spinner.turns))
        steps = 0

        async def other() -> None:
            nonlocal steps
            while steps < 200:
                steps += 1
                await asyncio.sleep(0)

        other_task = asyncio.create_task(other())
        before = spinner.turns
        async with asyncio.timeout(WAIT_S):
            await asyncio.sleep(0.02)
            turns_at_timer = await timer_fired
            await other_task
        assert steps == 200
        assert turns_at_timer > before and spinner.spinning  # the timer fired while spinning
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_on(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_cancel_leaves_the_loop_cold(loop_name: str) -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("always")
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.turns > 10, "spinning")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not spinner.spinning and spinner.stopped_by == "cancelled"
        turns = spinner.turns
        for _ in range(20):
            await asyncio.sleep(0)
        assert spinner.turns == turns

    run_on(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_auto_follows_the_open_time(loop_name: str) -> None:
    async def main() -> None:
        flags = Flags(to_open=None)
        spinner = flags.spinner("auto")
        task = asyncio.create_task(spinner.run())
        for _ in range(50):
            await asyncio.sleep(0.001)  # several rechecks: no open time, no spin
        assert not spinner.spinning and spinner.turns == 0 and spinner.windows == 0
        flags.to_open = 100.0  # announced, far away
        for _ in range(50):
            await asyncio.sleep(0.001)
        assert not spinner.spinning and spinner.turns == 0
        assert spinner.status_text() == f"busy-poll in 90.0 s ({COST})"
        flags.to_open = 4.0  # inside the window
        await until(lambda: spinner.turns > 10, "the window opened")
        assert spinner.windows == 1
        flags.to_open = -61.0  # SPIN_MAX_S after the open, nothing fired
        await until(lambda: not spinner.spinning, "the window closed")
        assert spinner.stopped_by == "window"
        turns = spinner.turns
        for _ in range(20):
            await asyncio.sleep(0)
        assert spinner.turns == turns
        flags.to_open = 8.0  # a new open time: a new window
        await until(lambda: spinner.windows == 2 and spinner.spinning, "a second window")
        flags.fired = True
        async with asyncio.timeout(WAIT_S):
            await task
        assert not spinner.spinning and spinner.stopped_by == "fired"

    run_on(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_off_never_spins_on_a_loop(loop_name: str) -> None:
    async def main() -> None:
        flags = Flags(to_open=1.0)
        spinner = flags.spinner("off")
        assert not spinner.enabled
        task = asyncio.create_task(spinner.run())
        for _ in range(50):
            await asyncio.sleep(0.001)
        assert spinner.turns == 0 and not spinner.spinning and spinner.windows == 0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_on(loop_name, main)


def test_a_window_freezes_the_heap_and_gives_it_back() -> None:
    if gc.get_freeze_count():
        pytest.skip("something else froze the heap already")

    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("always")
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.spinning, "spinning")
        assert gc.get_freeze_count() > 0
        flags.fired = True
        async with asyncio.timeout(WAIT_S):
            await task
        assert gc.get_freeze_count() == 0

    run_on("uvloop", main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_an_open_moved_later_ends_the_window_until_the_new_one(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        flags = Flags(to_open=4.0)
        spinner = flags.spinner("auto")
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.turns > 10, "the window opened")
        flags.to_open = 100.0  # the listing was postponed: cold until 10 s before it
        await until(lambda: not spinner.spinning, "the window closed")
        assert spinner.stopped_by == "window" and spinner.windows == 1
        assert spinner.status_text() == f"busy-poll in 90.0 s ({COST})"
        flags.to_open = 9.0
        await until(lambda: spinner.spinning and spinner.windows == 2, "the new window")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not spinner.spinning and spinner.stopped_by == "cancelled"

    with caplog.at_level("INFO", logger="sniper.run"):
        run_on(loop_name, main)
    assert "spin: the open moved (now in 100 s)" in caplog.text
    assert caplog.text.count("spin: busy-polling the event loop") == 2
