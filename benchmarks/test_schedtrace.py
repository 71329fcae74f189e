"""``benchmarks.schedtrace``: the per-round phases read off real ftrace lines (two rounds of a
2026-12-02 trace, AMD EPYC VM: a sniper that preempted the exchange at once, and a floor woken
on the exchange's CPU that waited behind a softirq thread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.schedtrace import Round, parse_events, rounds, table

SAMPLE = (Path(__file__).parent / "schedtrace_sample.txt").read_text()
SNIPER, FLOOR = SAMPLE.split("\n\n", 1)


def test_a_round_is_split_into_the_wake_up_and_the_contestants_own_work() -> None:
    found = rounds(parse_events(SNIPER.splitlines()), {"PAWS6625USDT": "sniper_spin_off"})
    assert len(found) == 1
    r = found[0]
    assert r.contestant == "sniper_spin_off" and r.preempted and r.same_cpu
    # sendto 071273 -> switched in 071295 -> the order's sendto (0x1f2 bytes) 071331
    assert r.wake_us == pytest.approx(22.0, abs=0.01)
    assert r.user_us == pytest.approx(36.0, abs=0.01)
    assert r.total_us == pytest.approx(58.0, abs=0.01)


def test_softirq_threads_are_not_the_contestant_and_a_migration_counts() -> None:
    found = rounds(parse_events(FLOOR.splitlines()), {"PAWS4625USDT": "floor_block_warm"})
    assert found == [
        Round("floor_block_warm", wake_us=pytest.approx(115.0, abs=0.01),  # type: ignore[arg-type]
              user_us=pytest.approx(21.0, abs=0.01), preempted=True, same_cpu=True)  # type: ignore[arg-type]
    ]  # fmt: skip


def test_the_table_has_one_row_per_contestant() -> None:
    found = rounds(
        parse_events(SNIPER.splitlines() + FLOOR.splitlines()),
        {"PAWS6625USDT": "sniper_spin_off", "PAWS4625USDT": "floor_block_warm"},
    )
    text = table(found)
    assert "sniper_spin_off" in text and "floor_block_warm" in text
    assert "   1/1" in text and "   0/1" in text  # both on the exchange's CPU, neither waited


def test_lines_that_are_not_events_are_skipped() -> None:
    assert parse_events(["# tracer: nop", "", "#  TASK-PID  CPU#  TIMESTAMP  FUNCTION"]) == []
