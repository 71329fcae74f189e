"""sniper.live.volley: the proof that copies in flight cannot sell twice, the plan (how many,
how far apart, the first one's lead) and which copy's answer a volley is handled by."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from sniper.live.clock import (
    AIM_MARGIN_MS,
    PLACE_ORDER_LIMIT,
    ClockSample,
    NetEstimate,
    ServerClock,
)
from sniper.live.executor import Answer, Attempt
from sniper.live.lanes import Reply
from sniper.live.outcomes import Outcome
from sniper.live.reconcile import Holdings, HoldingsTracker
from sniper.live.venue import Envelope
from sniper.live.volley import (
    MAX_COPIES,
    MAX_READ_AGE_S,
    MIN_SPREAD_MS,
    RESERVE,
    Verdict,
    Volleys,
    plan_volley,
    verdict,
    whole_balance_proof,
)

NOW = 100 * 10**9  # ns, monotonic


def reads(*amounts: str, age_s: float = 0.5) -> list[Holdings]:
    """Reads 1 s apart, the last ``age_s`` before NOW."""
    last = NOW - int(age_s * 1e9)
    n = len(amounts)
    return [Holdings(Decimal(a), last - (n - 1 - i) * 10**9) for i, a in enumerate(amounts)]


def proof(**kw: object) -> tuple[bool, str]:
    args: dict[str, object] = {
        "setting": None,
        "size": "1000",
        "total": "1000",
        "reads": reads("1000", "1000", "1000"),
        "now_ns": NOW,
    }
    args.update(kw)
    p = whole_balance_proof(**args)  # type: ignore[arg-type]
    return p.ok, p.why


def test_the_whole_balance_held_steady_and_fresh_is_proven() -> None:
    ok, why = proof()
    assert ok and "whole balance" in why


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"setting": 1}, "RACE_COPIES=1"),
        ({"size": None}, "no order size"),
        ({"size": "0"}, "no order size"),
        ({"size": "junk"}, "no order size"),
        ({"total": "3000"}, "chunk"),  # the first chunk of a capped sale
        ({"reads": []}, "no balance read"),
        ({"reads": reads("1000", age_s=MAX_READ_AGE_S + 0.5)}, "old"),
        ({"reads": reads("1500", "1500")}, "not the whole balance"),  # more held than sold
        ({"size": "999.99", "total": "999.99"}, "not the whole balance"),
        ({"reads": reads("900", "1000")}, "moved"),  # a deposit landed while armed
        ({"reads": reads("1000", "1200", "1000")}, "moved"),
    ],
)
def test_each_failing_condition_means_one_copy(kw: dict[str, object], words: str) -> None:
    ok, why = proof(**kw)
    assert not ok
    assert words in why


def net(jitter_ms: float, lag_ms: float = 118.0) -> NetEstimate:
    return NetEstimate(one_way_ms=18.0, jitter_ms=jitter_ms, lag_ms=lag_ms, samples=20)


def test_at_20ms_with_10pct_jitter_the_plan_is_8_copies_spanning_most_of_the_spread() -> None:
    # uniform ±2 ms per direction: the stdev of the round trips / 2 is 0.408 x 2 ms; 8 copies,
    # all the 10/s budget less RESERVE
    plan = plan_volley(net(0.816), offset_ms=100.0, setting=None, budget=8)
    assert plan.copies == MAX_COPIES == 8 == PLACE_ORDER_LIMIT - RESERVE
    spread = 4.9 * 0.816
    assert plan.spacing_ms == pytest.approx(spread / 8)  # ~0.5 ms
    # the last copy aimed at the open at the earliest, the first (n-1) spacings before it
    assert plan.lead_ms == pytest.approx(18.0 - AIM_MARGIN_MS + 7 * plan.spacing_ms)
    assert plan.span_ms < spread


def test_the_plan_keeps_one_copy_when_unmeasured_off_narrow_or_out_of_budget() -> None:
    single = plan_volley(net(0.816), offset_ms=100.0, setting=1, budget=8)
    assert single.copies == 1
    assert single.lead_ms == pytest.approx(net(0.816).lead_ms(100.0))  # the single aim
    assert plan_volley(None, offset_ms=0.0, setting=None, budget=8).copies == 1
    assert plan_volley(net(0.1), offset_ms=100.0, setting=None, budget=8).copies == 1
    loopback = NetEstimate(one_way_ms=0.2, jitter_ms=0.816, lag_ms=100.5, samples=20)
    assert plan_volley(loopback, offset_ms=100.0, setting=None, budget=8).copies == 1
    assert plan_volley(net(0.816), offset_ms=100.0, setting=None, budget=1).copies == 1
    assert plan_volley(net(0.816), offset_ms=100.0, setting=None, budget=3).copies == 3
    assert plan_volley(net(0.816), offset_ms=100.0, setting=2, budget=8).copies == 2
    assert plan_volley(net(50.0), offset_ms=100.0, setting=None, budget=8).copies == MAX_COPIES


def test_a_spread_estimated_low_still_gets_every_copy_the_budget_allows() -> None:
    """A jitter estimate that came out low by chance (W ~3 ms for a true 4 ms) once asked for
    6 copies: now every copy the budget leaves, over the estimated spread."""
    for jitter_ms in (0.4, 0.6, 0.7, 0.816, 1.2):
        plan = plan_volley(net(jitter_ms), offset_ms=100.0, setting=None, budget=8)
        assert plan.copies == MAX_COPIES, jitter_ms
        assert plan.spacing_ms == pytest.approx(4.9 * jitter_ms / MAX_COPIES)


def answer(n: int, outcome: Outcome | None, code: str | None = None, t: int = 0) -> Answer:
    env = None if outcome is None else Envelope(200, code, "", None, request_time_ms=t or None)
    reply = None if outcome is None else Reply(200, b"", 1000 + n, 1000 + n)
    return Answer(Attempt(n, n, None), outcome, env, reply)


def test_verdict_the_accepted_copy_wins_over_the_backstop_and_lost_answers() -> None:
    v = verdict(
        [
            answer(1, Outcome.NOT_OPEN_YET, "43115", t=5),
            answer(2, None),
            answer(3, Outcome.ACCEPTED, "00000"),
            answer(4, Outcome.REJECTED, "43012"),
            answer(5, Outcome.DUPLICATE, "43118"),
        ]
    )
    assert v.chosen.attempt.number == 3 and len(v.others) == 4
    assert [a.attempt.number for a in v.accepted] == [3] and v.unproven == 1


def test_verdict_logs_each_other_copy_for_what_it_got(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sniper.executor")
    verdict(
        [
            answer(1, Outcome.NOT_OPEN_YET, "43115", t=5),
            answer(2, Outcome.ACCEPTED, "00000"),
            answer(3, Outcome.REJECTED, "43012"),
        ]
    )
    said = {r.getMessage() for r in caplog.records}
    assert "copy 1 of the volley: 43115 (arrived before the open: not executed)" in said
    assert (
        "copy 3 of the volley: 43012 (expected: the whole balance is sold by the accepted copy)"
        in said
    )


def test_verdict_an_unanswered_copy_is_reconciled_before_a_final_code_counts() -> None:
    got = verdict([answer(1, Outcome.REJECTED, "43012"), answer(2, None)]).chosen
    assert got.outcome is None
    ambiguous = answer(2, Outcome.AMBIGUOUS, "500")
    got = verdict([answer(1, Outcome.REJECTED, "43012"), ambiguous]).chosen
    assert got.outcome is Outcome.AMBIGUOUS
    got = verdict([answer(1, Outcome.NOT_OPEN_YET, "43115"), answer(2, Outcome.DUPLICATE)]).chosen
    assert got.outcome is Outcome.DUPLICATE


def test_verdict_all_not_open_takes_the_latest_refusal() -> None:
    v = verdict(
        [
            answer(1, Outcome.NOT_OPEN_YET, "43115", t=1000),
            answer(2, Outcome.NOT_OPEN_YET, "43115", t=1003),
            answer(3, Outcome.NOT_OPEN_YET, "43115", t=1001),
        ]
    )
    assert v.chosen.attempt.number == 2 and len(v.others) == 2


def test_verdict_of_one_copy_is_its_answer() -> None:
    one = answer(1, Outcome.REJECTED, "43012")
    assert verdict([one]) == Verdict(one, [])


class _Order:
    def __init__(self, size: str) -> None:
        self.size = size
        self.total = size


def volleys(tracker: HoldingsTracker, setting: int | None = None) -> Volleys:
    clock = ServerClock(wall_ms=lambda: 1_000_000.0)
    for i, rtt in enumerate([40.0, 42.0, 44.0, 38.0, 41.0, 43.0, 39.0, 37.0]):
        clock.observe(ClockSample(1000.0 * i, 1000.0 * i + rtt, int(1000 * i + 20)))
    return Volleys(
        setting=setting,
        explicit_lead_ms=None,
        clock=clock,
        order=_Order("1000"),  # type: ignore[arg-type]
        holdings=tracker,
        free_slots=lambda: 10,
    )


def test_the_scheduled_plan_is_dropped_at_the_fire_when_a_deposit_was_read_since() -> None:
    tracker = HoldingsTracker()
    tracker.record(Decimal("1000"))
    v = volleys(tracker)
    plain = v.clock.aim_lead_ms()
    lead = v.scheduled_lead_ms()
    assert v.scheduled is not None and v.scheduled.copies > 1 and lead > plain
    assert v.at_fire("scheduled") is v.scheduled
    assert v.at_fire("ws") is None  # only the aimed fire
    tracker.record(Decimal("1500"))  # a deposit read between the plan and the fire
    assert v.at_fire("scheduled") is None


def test_race_copies_1_leads_like_the_single_aim() -> None:
    tracker = HoldingsTracker()
    tracker.record(Decimal("1000"))
    v = volleys(tracker, setting=1)
    assert v.scheduled_lead_ms() == v.clock.aim_lead_ms()
    assert v.at_fire("scheduled") is None


def test_a_balance_that_moved_while_armed_keeps_the_retries_to_one_copy() -> None:
    """Review (issue 14, F5): the fire's snapshot resets the reads kept, but a balance that
    moved while armed (a deposit landing) still proves nothing for a retry volley after it."""
    tracker = HoldingsTracker()
    tracker.record(Decimal("400"))
    tracker.record(Decimal("1000"))  # a deposit read while armed
    v = volleys(tracker)
    assert not v.proof().ok and "moved" in v.proof().why
    tracker.snapshot()  # the fire: one copy went out, 25101 "not open yet"
    assert tracker.reads() == (tracker.last,)
    assert v.plan(10).copies == 1  # the retry goes as one copy
    assert not v.proof().ok and "moved" in v.proof().why


def test_a_balance_that_never_moved_allows_the_retry_volley() -> None:
    tracker = HoldingsTracker()
    tracker.record(Decimal("1000"))
    tracker.record(Decimal("1000"))
    tracker.snapshot()
    v = volleys(tracker)
    assert v.proof().ok and v.plan(10).copies > 1


def test_a_spread_read_low_from_few_round_trips_still_gets_a_volley_when_the_stdev_sees_one() -> (
    None
):
    """Five round trips at 20 ms +- 2 ms can put median - min under MIN_SPREAD_MS while the
    stdev does not: the volley goes (the gate takes the larger), spaced over at least
    MIN_SPREAD_MS; with neither above it, one copy."""
    low = NetEstimate(one_way_ms=18.0, jitter_ms=0.2, lag_ms=118.0, samples=5, jitter_sd_ms=0.8)
    plan = plan_volley(low, offset_ms=100.0, setting=None, budget=8)
    assert plan.copies == MAX_COPIES
    assert plan.spacing_ms == pytest.approx(MIN_SPREAD_MS / MAX_COPIES)
    calm = NetEstimate(one_way_ms=18.0, jitter_ms=0.2, lag_ms=118.0, samples=5, jitter_sd_ms=0.2)
    assert plan_volley(calm, offset_ms=100.0, setting=None, budget=8).copies == 1
