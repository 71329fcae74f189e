"""The upkeep's pre-open balance read (``Upkeep.refresh_balance``): one holdings read lands just
before a known open, also when the run was armed later than ``PRE_OPEN_BALANCE_S`` before it or
the first try failed. Without it the volley's whole-balance proof sees only an older read (at
most ``MAX_READ_AGE_S`` old) and the aimed fire goes as one copy — seen in the race benchmark:
"the last balance read is 3.0s old" when a slow start-up armed the run 0.8 s before the open."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from sniper.errors import ExchangeUnavailable
from sniper.live import upkeep as upkeep_mod
from sniper.live.upkeep import PRE_OPEN_BALANCE_S, PRE_OPEN_MIN_S, Upkeep


class Rest:
    """Answers the balance read with the holdings; ``fail`` first reads raise."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: list[float] = []  # loop time of each read

    async def request(self, call: Any, *, signed: bool) -> Any:
        self.calls.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.01)
        if self.fail:
            self.fail -= 1
            raise ExchangeUnavailable(None, None, "timed out")
        return SimpleNamespace(ok=True, data={"available": "1000"})


class Venue:
    def assets_call(self) -> str:
        return "assets"

    def parse_holdings(self, data: dict[str, str]) -> Decimal:
        return Decimal(data["available"])

    def parse_available(self, data: dict[str, str]) -> Decimal:
        return Decimal(data["available"])


class Watch:
    """An open ``to_open_s`` from now (loop time), or none."""

    def __init__(self, to_open_s: float | None, rtt_ms: float | None = 40.0) -> None:
        loop = asyncio.get_running_loop()
        self.open_at = None if to_open_s is None else loop.time() + to_open_s
        self.open_time_ms = None if to_open_s is None else 1_700_000_000_000
        self.clock = SimpleNamespace(rtt_ms=rtt_ms)

    def seconds_to_open(self) -> float | None:
        if self.open_at is None:
            return None
        return self.open_at - asyncio.get_running_loop().time()


def make_upkeep(watch: Watch, rest: Rest, refresh_s: float = 5.0) -> Upkeep:
    config = SimpleNamespace(balance_refresh_s=refresh_s, coin_amount="1000", base_coin="X")
    readiness = SimpleNamespace(
        available=Decimal(1000),
        holdings=SimpleNamespace(amount=Decimal(1000), at_ns=time.monotonic_ns()),
        last_price=None,
    )
    return Upkeep(
        config=config,  # type: ignore[arg-type]
        venue=Venue(),  # type: ignore[arg-type]
        rest=rest,  # type: ignore[arg-type]
        order=SimpleNamespace(),  # type: ignore[arg-type]
        readiness=readiness,  # type: ignore[arg-type]
        watch=watch,  # type: ignore[arg-type]
        fired=lambda: False,
    )


async def reads_until_open(watch: Watch, rest: Rest, upkeep: Upkeep) -> list[float]:
    """Runs the re-read until the open; the seconds before the open of each read sent."""
    assert watch.open_at is not None
    task = asyncio.create_task(upkeep.refresh_balance())
    try:
        await asyncio.sleep(watch.open_at - asyncio.get_running_loop().time())
    finally:
        task.cancel()
    return [round(watch.open_at - t, 3) for t in rest.calls]


async def test_the_pre_open_read_goes_one_second_before_the_open() -> None:
    watch, rest = Watch(PRE_OPEN_BALANCE_S + 0.4), Rest()
    upkeep = make_upkeep(watch, rest)
    before = len(upkeep.balance.tracker.reads())
    sent = await reads_until_open(watch, rest, upkeep)
    assert len(sent) == 1, sent
    assert PRE_OPEN_BALANCE_S - 0.1 < sent[0] <= PRE_OPEN_BALANCE_S + 0.01
    assert len(upkeep.balance.tracker.reads()) == before + 1


async def test_armed_later_than_the_pre_open_read_it_reads_at_once() -> None:
    # the old loop saw "to_open - PRE_OPEN_BALANCE_S" negative and waited balance_refresh_s:
    # no read before the open, and the fire's proof met the start-up read, seconds old
    watch, rest = Watch(0.6), Rest()
    upkeep = make_upkeep(watch, rest)
    sent = await reads_until_open(watch, rest, upkeep)
    assert len(sent) == 1, sent
    assert sent[0] > 0.5
    last = upkeep.balance.tracker.reads()[-1]
    assert (time.monotonic_ns() - last.at_ns) / 1e9 < 0.6


async def test_a_failed_pre_open_read_is_tried_again_before_the_open() -> None:
    watch, rest = Watch(0.8), Rest(fail=1)
    upkeep = make_upkeep(watch, rest)
    sent = await reads_until_open(watch, rest, upkeep)
    assert len(sent) == 2, sent
    assert sent[1] > PRE_OPEN_MIN_S
    assert (time.monotonic_ns() - upkeep.balance.tracker.reads()[-1].at_ns) / 1e9 < 0.8


async def test_no_read_when_the_open_is_closer_than_a_read_can_land() -> None:
    watch, rest = Watch(PRE_OPEN_MIN_S - 0.05), Rest()
    assert await reads_until_open(watch, rest, make_upkeep(watch, rest)) == []
    # nor when a few round trips do not fit
    far = Watch(0.5, rtt_ms=200.0)
    assert make_upkeep(far, Rest())._pre_open_read_s() is None


@pytest.mark.parametrize("to_open_s", [None, 30.0])
async def test_without_a_near_open_it_reads_every_refresh_interval(
    monkeypatch: pytest.MonkeyPatch, to_open_s: float | None
) -> None:
    watch, rest = Watch(to_open_s), Rest()
    upkeep = make_upkeep(watch, rest, refresh_s=0.2)
    monkeypatch.setattr(upkeep_mod, "RETRY_READ_S", 0.2)
    task = asyncio.create_task(upkeep.refresh_balance())
    await asyncio.sleep(0.5)
    task.cancel()
    assert len(rest.calls) == 2
