"""Issue 14: winning the race on a (simulated) real network.

The embedded exchange runs with a 20 ms ± 2 ms one-way WAN (``wan_one_way_ms``,
``wan_jitter_ms``): a request counts as arriving 18-22 ms after it was sent, and the open /
not-open decision and ``requestTime`` use that instant. The sniper's scheduled channel aims its
first copy to ARRIVE just after the open (``SCHEDULE_LEAD_MS=auto``, the default), and after a
not-open refusal aims the next copy from the arrival the refusal reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import pytest
from sniper_harness import (
    TARGET,
    assert_one_accepted,
    both_modes,
    code_for,
    funded_exchange,
    sniper_config,
    start_sniper,
)

from sniper.exchange import EmbeddedExchange

ONE_WAY_MS = 20.0
JITTER_MS = 2.0  # 10 %
# the aim lands within +2 x jitter; the rest is room for a loaded 2-core test machine
SLACK_MS = 8.0


def wan(ex: EmbeddedExchange, seed: int) -> None:
    ex.settings.wan_one_way_ms = ONE_WAY_MS
    ex.settings.wan_jitter_ms = JITTER_MS
    ex.settings.wan_seed = seed


def at_most_10_per_second(offsets_ms: list[float]) -> bool:
    """No 11 arrivals within any 1 s (the 10/s place-order limit counts refused ones)."""
    ordered = sorted(offsets_ms)
    return all(b - a >= 1000.0 for a, b in zip(ordered, ordered[10:], strict=False))


# The aim's timing is a property of every run, but one run on a shared 2-core machine can be
# held ms by the machine (a preempted process, a busy loop): a timing bound is checked over up
# to AIM_TRIALS runs, each on a fresh exchange, and must hold in one of them. What every run
# must show (one sale, by the schedule, the refusal sequence) is asserted in each run and
# never retried. A product whose aim is off (e.g. the retry ~100 ms after the refusal, or a
# naive send at the open, +18..+22 ms) misses in every trial.
AIM_TRIALS = 3


async def aim_met_in_some_trial(
    mode: str, trial: Callable[[EmbeddedExchange], Awaitable[str]]
) -> None:
    """Runs ``trial`` on fresh exchanges until it returns "" (the timing held); else fails
    with every trial's account of its miss."""
    misses: list[str] = []
    for _ in range(AIM_TRIALS):
        async with funded_exchange(mode) as ex:
            miss = await trial(ex)
        if not miss:
            return
        misses.append(miss)
    raise AssertionError(f"the aim missed in all {AIM_TRIALS} trials: {misses}")


@both_modes
async def test_auto_lead_first_copy_arrives_just_after_the_open_and_sells_once(mode: str) -> None:
    async def trial(ex: EmbeddedExchange) -> str:
        wan(ex, seed=14)
        ex.faults.mute_ws_pushes = True  # the schedule alone: the race is its aim
        open_at = ex.server_time_ms() + 3500
        await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
        # SCHEDULE_LEAD_MS: auto; one copy in flight (the volleys: test_sniper_volley.py)
        run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", RACE_COPIES="1"))
        result = await run.result(within=15)
        assert result.channel == "scheduled"
        assert_one_accepted(ex, result.client_oid)
        net = run.sniper.clock.net()
        assert net is not None and net.one_way_ms == pytest.approx(ONE_WAY_MS, abs=3.0)
        arrivals = ex.arrivals(TARGET)
        # sent ~20 ms before the open (a naive send at the open would land at +18..+22 ms)
        if result.attempts == len(arrivals) == 1 and 0.0 <= arrivals[0][0] <= SLACK_MS:
            return ""
        return f"attempts {result.attempts}, arrivals {arrivals}"

    await aim_met_in_some_trial(mode, trial)


@both_modes
async def test_explicit_lead_fires_early_then_the_retry_is_aimed_at_the_open(mode: str) -> None:
    """SCHEDULE_LEAD_MS=300 fires 300 ms early, as before; the refusal says when that copy
    arrived, and the next one is aimed to arrive at the open (not ~100 ms later)."""

    async def trial(ex: EmbeddedExchange) -> str:
        wan(ex, seed=7)
        ex.faults.mute_ws_pushes = True
        open_at = ex.server_time_ms() + 3500
        await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
        run = start_sniper(
            sniper_config(ex, POLL_INTERVAL_MS="5000", SCHEDULE_LEAD_MS="300", RACE_COPIES="1")
        )
        result = await run.result(within=15)
        assert result.channel == "scheduled"
        assert_one_accepted(ex, result.client_oid)
        arrivals = ex.arrivals(TARGET)
        not_open = code_for(ex, "43115")
        assert arrivals[0][1] == not_open and arrivals[-1][1] == "00000", arrivals
        first_early = (
            -300 - JITTER_MS - 2 <= arrivals[0][0] <= -300 + ONE_WAY_MS + JITTER_MS + SLACK_MS
        )
        if (
            first_early
            and [code for _, code, _ in arrivals] == [not_open, "00000"]
            and 0.0 <= arrivals[1][0] <= SLACK_MS
        ):
            return ""
        return f"arrivals {arrivals}"

    await aim_met_in_some_trial(mode, trial)


@both_modes
async def test_delayed_open_retries_are_paced_within_10_per_second(
    ex: EmbeddedExchange, mode: str
) -> None:
    """The announced open (OPEN_TIME) passes but the exchange keeps answering "not open yet"
    for 1.5 s more: the retries go ~100 ms apart by arrival, never 11 within a second, and the
    first copy after the real open sells once."""
    wan(ex, seed=3)
    ex.faults.mute_ws_pushes = True
    real_open = ex.server_time_ms() + 4500
    await ex.list_symbol(TARGET, open_at_ms=real_open, price="0.0123", announce_open_time=False)
    config = sniper_config(
        ex, POLL_INTERVAL_MS="5000", OPEN_TIME=str(real_open - 1500), RACE_COPIES="1"
    )
    run = start_sniper(config)
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    arrivals = ex.arrivals(TARGET)
    refused = [off for off, _, ok in arrivals if not ok]
    assert 12 <= len(refused) <= 16, arrivals  # ~1.5 s at ~100 ms (+ the 10/s window)
    assert at_most_10_per_second([off for off, _, _ in arrivals])
    assert all(b - a >= 95.0 for a, b in itertools.pairwise(refused)), refused
    accepted = [off for off, _, ok in arrivals if ok]
    assert 0.0 <= accepted[0] <= 110.0 + 2 * ONE_WAY_MS
