"""Exchange-clock offset math."""

from __future__ import annotations

import pytest

from sniper.live.clock import ClockSample, ServerClock, best_offset


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
