"""Backoff, poll pacing and the sliding-window budgets."""

from __future__ import annotations

import itertools

import pytest

from sniper.live.pacing import Backoff, PollPacer, RateWindow


def test_backoff_doubles_with_jitter_and_caps() -> None:
    b = Backoff(0.1, 3.0, rand=lambda: 1.0)  # no jitter: the ceiling
    assert [round(b.next(), 3) for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.0, 3.0]
    b.reset()
    assert b.next() == pytest.approx(0.1)


def test_backoff_jitter_range() -> None:
    low = Backoff(1.0, 8.0, rand=lambda: 0.0)
    assert low.next() == pytest.approx(0.5)  # half the ceiling at worst
    real = Backoff(0.1, 3.0)
    for _ in range(50):
        assert 0.05 - 1e-9 <= real.next() <= 3.0


def test_backoff_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(2, 1)


def test_poll_pacer_doubles_on_429_up_to_2s_and_recovers_gradually() -> None:
    p = PollPacer(50)
    assert p.interval_ms == 50
    seq = [p.throttled() for _ in range(7)]
    assert seq == [100, 200, 400, 800, 1600, 2000, 2000]
    recovered = [p.ok() for _ in range(100)]
    assert recovered[0] == pytest.approx(1800)  # gradually, not at once
    assert all(a >= b for a, b in itertools.pairwise(recovered))
    assert recovered[-1] == 50  # and never below the base
    assert p.ok() == 50


def test_poll_pacer_never_faster_than_base() -> None:
    p = PollPacer(50)
    for _ in range(10):
        assert p.ok() >= 50


def test_rate_window() -> None:
    now = [0.0]
    w = RateWindow(3, 10.0, clock=lambda: now[0])
    assert [w.try_take() for _ in range(4)] == [True, True, True, False]
    assert w.available() == 0
    assert w.wait_time() == pytest.approx(10.0)
    now[0] = 9.9
    assert not w.try_take()
    now[0] = 10.0
    assert w.try_take()  # the first one slid out of the window
    w.reset()
    assert w.available() == 3
