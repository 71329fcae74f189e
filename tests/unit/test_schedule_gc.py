"""The scheduled channel and the aimed not-open retry pause the garbage collector around an aimed
send (``clock.GcHold``):
a full collection of a large heap takes ms (31 ms was measured in the race benchmark's process),
and one landing just before the fire delays the order by that much."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from sniper.live.channels import schedule
from sniper.live.clock import GC_AFTER_S, GC_HOLD_S, GcHold, ServerClock
from sniper.live.executor import NotOpenPacer
from sniper.live.sightings import Sightings


@pytest.fixture(autouse=True)
def gc_on() -> Iterator[None]:
    gc.enable()
    yield
    GcHold.holds, GcHold.paused = 0, False
    gc.enable()


class Trigger:
    def __init__(self) -> None:
        self.fired = False
        self.gc_at_fire: bool | None = None
        self.event = asyncio.Event()

    def fire(self, channel: str, detect_ns: int) -> None:
        self.fired = True
        self.gc_at_fire = gc.isenabled()
        self.event.set()


def started(trigger: Trigger, w: SimpleNamespace) -> asyncio.Task[None]:
    """The scheduled channel (SCHEDULE_LEAD_MS=0) on ``w``, as a task."""
    config = SimpleNamespace(schedule_lead_ms=0.0)
    return asyncio.create_task(schedule(config=config, trigger=trigger, watch=w))  # type: ignore[arg-type]


async def cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def watch(open_in_s: float) -> SimpleNamespace:
    clock = ServerClock()
    return SimpleNamespace(
        open_time_changed=asyncio.Event(),
        clock=clock,
        open_time_ms=clock.now_ms() + round(open_in_s * 1000),
        symbol=SimpleNamespace(status="gray"),
    )


async def test_the_collector_is_paused_across_the_aimed_fire_and_back_on_after() -> None:
    trigger = Trigger()
    w = watch(GC_HOLD_S + 0.3)
    task = started(trigger, w)
    await asyncio.sleep(0.1)
    assert gc.isenabled(), "not paused while the fire is more than GC_HOLD_S away"
    await trigger.event.wait()
    assert trigger.gc_at_fire is False
    assert not gc.isenabled(), "still paused while the volley's further copies go"
    fired = time.monotonic()
    await task  # the channel ends GC_AFTER_S after the fire, giving the collector back
    assert gc.isenabled()
    assert time.monotonic() - fired >= GC_AFTER_S * 0.9


async def test_cancelled_before_the_fire_gives_the_collector_back_at_once() -> None:
    trigger = Trigger()
    w = watch(0.5)
    task = started(trigger, w)
    await asyncio.sleep(0.1)
    assert not gc.isenabled()
    await cancelled(task)
    assert gc.isenabled() and not trigger.fired


async def test_a_postponed_open_gives_the_collector_back() -> None:
    trigger = Trigger()
    w = watch(0.5)
    task = started(trigger, w)
    await asyncio.sleep(0.1)
    assert not gc.isenabled()
    w.open_time_ms += 60_000  # the venue moved the open a minute later
    w.open_time_changed.set()
    await asyncio.sleep(0.05)
    assert gc.isenabled()
    await cancelled(task)
    assert not trigger.fired


def test_holds_are_counted_and_a_collector_that_was_off_stays_off() -> None:
    GcHold.hold()
    GcHold.hold()
    GcHold.release()
    assert not gc.isenabled()
    GcHold.release()
    assert gc.isenabled()
    gc.disable()
    GcHold.hold()
    GcHold.release()
    assert not gc.isenabled(), "someone else turned it off: not ours to turn on"
    GcHold.release()  # an unmatched release changes nothing
    assert GcHold.holds == 0 and not gc.isenabled()


async def test_the_aimed_not_open_retry_pauses_the_collector_until_after_its_send() -> None:
    """A copy refused as not open yet 0.4 s before the announced open: the next one is aimed at
    the open; the collector is off from then until GC_AFTER_S after the send (the copy is
    written after ``retry`` returns), then back on."""
    clock = ServerClock()
    open_ms = clock.now_ms() + 400
    pacer = NotOpenPacer(clock, lambda: open_ms, Sightings())
    refusal = SimpleNamespace(code="43115", request_time_ms=clock.now_ms())
    task = asyncio.create_task(pacer.retry(refusal, SimpleNamespace(written_ns=0)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not gc.isenabled(), "paused: the aimed send is less than GC_HOLD_S away"
    await task
    assert clock.seconds_until(open_ms) <= 0.001, "returned at the aimed send"
    assert not gc.isenabled(), "still paused while the copy is written"
    await asyncio.sleep(GC_AFTER_S + 0.05)
    assert gc.isenabled() and GcHold.holds == 0
