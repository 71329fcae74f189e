"""Exchange-clock offset math; the network estimate and the aim (issue 14)."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from sniper.live.clock import (
    AIM_JITTER_K,
    AIM_MARGIN_MS,
    PLACE_ORDER_LIMIT,
    RETRY_SPACING_MS,
    SLOW_SPACING_MS,
    SPREAD_K,
    ClockSample,
    ServerClock,
    aim_lead_ms,
    best_offset,
    retry_arrival_ms,
)


def test_offset_is_server_minus_midpoint() -> None:
    s = ClockSample(sent_ms=1000.0, received_ms=1010.0, server_ms=21_005)
    assert s.rtt_ms == 10.0
    assert s.offset_ms == 20_000.0


def test_best_sample_is_the_smallest_round_trip() -> None:
    samples = [
        ClockSample(0, 50, 1_000_000),
        ClockSample(100, 102, 20_101),
        ClockSample(200, 230, 99_999),
    ]
    assert best_offset(samples).offset_ms == 20_000.0


def test_negative_round_trips_are_ignored_and_none_left_raises() -> None:
    with pytest.raises(ValueError):
        best_offset([ClockSample(10, 5, 1)])
    assert best_offset([ClockSample(10, 5, 1), ClockSample(0, 2, 101)]).offset_ms == 100


async def test_sync_adopts_the_best_sample() -> None:
    wall = iter([0.0, 40.0, 100.0, 101.0, 200.0, 260.0])  # rtts 40, 1, 60
    clock = ServerClock(wall_ms=lambda: next(wall))
    servers = iter([20_030, 20_100, 20_230])

    async def fetch() -> int:
        return next(servers)

    moved = await clock.sync(fetch, samples=3)
    assert clock.offset_ms == pytest.approx(20_100 - 100.5)
    assert moved == pytest.approx(clock.offset_ms)
    assert clock.rtt_ms == 1.0 and clock.synced


def test_now_and_seconds_until_use_server_time() -> None:
    clock = ServerClock(wall_ms=lambda: 1_000_000.0)
    clock.apply(ClockSample(1_000_000.0, 1_000_000.0, 1_020_000))
    assert clock.now_ms() == 1_020_000
    assert clock.seconds_until(1_021_500) == pytest.approx(1.5)
    assert clock.seconds_until(1_019_000) == pytest.approx(-1.0)


# ---- issue 14: the network estimate and the aim ------------------------------------------------
def _sample(sent: float, one_way_in: float, one_way_out: float, offset: float) -> ClockSample:
    """A round trip on a network ``one_way_in`` / ``one_way_out`` ms, exchange = local + offset;
    serverTime is the arrival, whole ms (floor), as the exchange stamps it."""
    arrival = sent + one_way_in
    return ClockSample(sent, arrival + one_way_out, math.floor(arrival + offset))


def test_net_is_none_until_a_round_trip_and_the_aim_is_then_zero() -> None:
    clock = ServerClock(wall_ms=lambda: 0.0)
    assert clock.net() is None and clock.aim_lead_ms() == 0.0
    clock.observe_arrival(0.0, 1_000)  # an arrival lag alone: no round trip yet
    assert clock.net() is None


def test_net_one_way_is_min_rtt_over_2_and_lag_the_earliest_arrival() -> None:
    clock = ServerClock(wall_ms=lambda: 0.0)
    samples = [
        _sample(1000.0, 20.7, 21.3, 5000.0),  # rtt 42
        _sample(2000.0, 18.2, 19.8, 5000.0),  # rtt 38: the best
        _sample(3000.0, 21.9, 20.1, 5000.0),  # rtt 42
    ]
    clock.apply(best_offset(samples))
    for s in samples:
        clock.observe(s)
    net = clock.net()
    assert net is not None and net.samples == 3
    assert net.one_way_ms == pytest.approx(19.0)
    assert net.jitter_ms == pytest.approx((42.0 - 38.0) / SPREAD_K)  # (median - min) / K
    # lag = floor(arrival + offset) + 0.5 - sent: the earliest is the 18.2 ms request
    assert net.lag_ms == pytest.approx(5018.5)
    # the offset cancels: lead = (lag - offset) - K * jitter - margin
    assert clock.offset_ms == pytest.approx(5018 - 2019.0 + 2000.0)
    expected = (5018.5 - clock.offset_ms) - AIM_JITTER_K * net.jitter_ms - AIM_MARGIN_MS
    assert clock.aim_lead_ms() == pytest.approx(expected)
    assert aim_lead_ms(19.0, 1.0) == pytest.approx(19.0 - AIM_JITTER_K - AIM_MARGIN_MS)


def test_aimed_send_arrives_at_or_after_the_target_on_the_measured_network() -> None:
    """Simulated: 20 ms ± 2 ms each way; a send at target - lead (exchange clock) arrives
    no earlier than the target for the delays the window saw (never early by construction
    when the next delay is no shorter than the shortest seen)."""
    rng = random.Random(14)
    offset = -1234.0
    clock = ServerClock(wall_ms=lambda: 0.0)
    samples = [
        _sample(1000.0 * i, 20 + rng.uniform(-2, 2), 20 + rng.uniform(-2, 2), offset)
        for i in range(1, 16)
    ]
    clock.apply(best_offset(samples))
    for s in samples:
        clock.observe(s)
    shortest_in = min(
        s.server_ms - offset - s.sent_ms for s in samples
    )  # whole-ms stamps: within 1 ms of the true shortest
    target = 10_000_000.0  # exchange clock
    send_local = target - clock.aim_lead_ms() - clock.offset_ms
    earliest_arrival = send_local + shortest_in + offset
    assert earliest_arrival >= target - 0.5
    # and not wastefully late: within 2 x jitter + the margins of the target
    assert earliest_arrival - target <= 2 * 2.0 + 1.0


def test_a_refusals_request_time_feeds_the_lag_and_a_clock_step_empties_the_window() -> None:
    clock = ServerClock(wall_ms=lambda: 0.0)
    s = _sample(1000.0, 20.0, 20.0, 0.0)
    clock.apply(s)
    clock.observe(s)
    assert clock.net().lag_ms == pytest.approx(20.5)  # type: ignore[union-attr]
    clock.observe_arrival(5000.0, 5017)  # a 43115 that arrived after 17 ms
    assert clock.net().lag_ms == pytest.approx(17.5)  # type: ignore[union-attr]
    clock.observe_arrival(6000.0, None)  # no requestTime: nothing learnt
    assert clock.net().samples == 2  # type: ignore[union-attr]
    clock.apply(ClockSample(9000.0, 9040.0, 9020 + 60_000))  # the local clock stepped 60 s
    assert clock.net() is None


async def test_sync_spaces_its_requests_and_feeds_the_window() -> None:
    clock = ServerClock()
    sent: list[float] = []

    async def fetch() -> int:
        sent.append(clock.wall_ms())
        return clock.now_ms()

    await clock.sync(fetch, samples=4, spacing_s=0.03)
    assert all(b - a >= 29.0 for a, b in itertools.pairwise(sent)), sent
    net = clock.net()
    assert net is not None and net.samples == 4


# the next copy after a not-open refusal that arrived at T (exchange ms), the open O
def test_retry_is_aimed_at_the_open_while_it_is_ahead() -> None:
    assert retry_arrival_ms(refused_at_ms=990, open_ms=1000, arrivals=[990], jitter_ms=1) == 1000
    # far ahead too: no copy can succeed before it
    assert retry_arrival_ms(refused_at_ms=0, open_ms=5000, arrivals=[0], jitter_ms=1) == 5000


def test_retry_past_the_open_is_one_spacing_after_the_refusal_plus_the_guard() -> None:
    # guard = 2 x jitter + 1: aims within ±jitter never land closer than 100 ms
    got = retry_arrival_ms(refused_at_ms=1000, open_ms=1000, arrivals=[1000], jitter_ms=2)
    assert got == 1000 + RETRY_SPACING_MS + 5
    assert retry_arrival_ms(refused_at_ms=1000, open_ms=None, arrivals=[], jitter_ms=0) == 1101
    slow = retry_arrival_ms(refused_at_ms=1000, open_ms=None, arrivals=[], jitter_ms=0, slow=True)
    assert slow == 1000 + SLOW_SPACING_MS + 1


def test_retry_never_makes_an_11th_arrival_within_a_second() -> None:
    arrivals = [100 * i for i in range(10)]  # 10 arrivals in 0.9 s
    got = retry_arrival_ms(refused_at_ms=900, open_ms=950, arrivals=arrivals, jitter_ms=1)
    assert got == 0 + 1000 + 3  # the 10th latest (0) + 1 s + guard, not the open (950)
    assert PLACE_ORDER_LIMIT == 10
    # nine arrivals: the open is allowed
    assert (
        retry_arrival_ms(refused_at_ms=900, open_ms=950, arrivals=arrivals[1:], jitter_ms=1) == 950
    )


def test_round_trips_held_by_a_busy_machine_do_not_move_the_jitter() -> None:
    """Uniform ±2 ms per direction around 20 ms: the jitter is ~0.41 x 2 ms (W = 4 ms) — and
    stays there when 3 of 23 round trips were held 60-120 ms by a stalled loop or a stolen
    vCPU (the population stdev / 2, the estimate before, grows ~18x)."""
    rng = random.Random(5)
    clock = ServerClock(wall_ms=lambda: 0.0)
    rtts = [rng.uniform(18, 22) + rng.uniform(18, 22) for _ in range(20)]
    for i, rtt in enumerate(rtts):
        clock.observe(_sample(1000.0 * i, rtt / 2, rtt / 2, 0.0))
    calm = clock.net()
    for i, held in enumerate((60.0, 95.0, 120.0)):
        clock.observe(_sample(50_000.0 + 1000.0 * i, 20.0 + held, 20.0, 0.0))
    busy = clock.net()
    assert calm is not None and busy is not None
    assert SPREAD_K * calm.jitter_ms == pytest.approx(4.0, abs=1.2)
    assert busy.jitter_ms == pytest.approx(calm.jitter_ms, rel=0.25)
    assert statistics.pstdev([*rtts, 100.0, 135.0, 160.0]) / 2 > 10 * busy.jitter_ms
