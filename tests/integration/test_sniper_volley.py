"""Issue 14: copies in flight (``sniper.live.volley``) — only where a second copy cannot sell.

The embedded exchange runs a 20 ms ± 2 ms one-way WAN. The account holds 1000 PAWS and sells
1000 (the whole balance), so the aimed scheduled fire goes as a short volley of copies with the
same clientOid: the first one to arrive after the open is accepted, those before it are refused
"not open yet", those after it meet the balance (43012 / 25202) or the duplicate clientOid
(43118 / 25212). Whatever the copies are answered — lost, 5xx, executed but answered 43012, a
partial fill — exactly one order executes and never more than COIN_AMOUNT is sold; and when the
order is not the whole balance (or a deposit moved it while armed), one copy in flight only.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    Run,
    assert_one_accepted,
    both_modes,
    code_for,
    sniper_config,
    start_sniper,
    wait_until,
)

from sniper.exchange import EmbeddedExchange
from sniper.exchange.faults import OrderReply
from sniper.live.volley import MAX_COPIES

ONE_WAY_MS = 20.0
JITTER_MS = 2.0


async def aimed_run(ex: EmbeddedExchange, seed: int = 14, **env: str) -> Run:
    """A pair announced to open ~3.5 s ahead behind the WAN; a run aimed at it (the schedule
    alone: the public pushes are muted)."""
    ex.settings.wan_one_way_ms = ONE_WAY_MS
    ex.settings.wan_jitter_ms = JITTER_MS
    ex.settings.wan_seed = seed
    ex.faults.mute_ws_pushes = True
    open_at = ex.server_time_ms() + 3500
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
    # SPIN=off: the exchange shares this event loop; a busy-poll and its warmer could hold the
    # copies past their time on a loaded machine, and the volley would (rightly) drop them
    env.setdefault("SPIN", "off")
    return start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", **env))


def sold(ex: EmbeddedExchange) -> Decimal:
    return ex.state.executed_qty(API_KEY, TARGET)


def assert_backstop(ex: EmbeddedExchange, arrivals: list[tuple[float, str, bool]]) -> None:
    """Every refused copy was refused for a reason that proves it did not execute."""
    allowed = {code_for(ex, c) for c in ("43115", "43012", "43118")}
    assert {code for _, code, ok in arrivals if not ok} <= allowed, arrivals
    assert all(off >= 0 for off, _, ok in arrivals if ok), arrivals


@both_modes
@pytest.mark.parametrize("scope", ["unfilled", "any"])
async def test_whole_balance_goes_as_a_volley_and_sells_exactly_once(
    ex: EmbeddedExchange, mode: str, scope: str
) -> None:
    ex.settings.duplicate_scope = scope  # type: ignore[assignment]
    run = await aimed_run(ex)
    result = await run.result(within=15)
    assert result.channel == "scheduled"
    assert_one_accepted(ex, result.client_oid)
    arrivals = ex.arrivals(TARGET)
    assert result.attempts == len(arrivals) >= 3, arrivals  # copies in flight
    assert_backstop(ex, arrivals)
    # the volley spans a few ms: all of it in flight before the first answer could come back
    span = max(off for off, _, _ in arrivals) - min(off for off, _, _ in arrivals)
    assert span < 2 * ONE_WAY_MS, arrivals
    assert sold(ex) == Decimal("1000")
    assert result.exit_code == 0


@both_modes
@pytest.mark.parametrize("volley_lanes", ["2", "0"])
async def test_the_copies_go_over_the_volley_lanes_too(
    ex: EmbeddedExchange, mode: str, volley_lanes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``VOLLEY_LANES`` connections beside the trigger's two (copies on one TCP connection
    cannot overtake each other): the volley's further copies go round all of them."""
    from sniper.live.lanes import OrderLane

    orders: list[int] = []  # the lane of each copy written by the sender (the first: the trigger)
    real_send = OrderLane.send

    def send(self: OrderLane, data: bytes, kind: str) -> object:
        if kind == "order":
            orders.append(self.index)
        return real_send(self, data, kind)

    monkeypatch.setattr(OrderLane, "send", send)
    run = await aimed_run(ex, VOLLEY_LANES=volley_lanes)
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    assert sold(ex) == Decimal("1000")
    assert run.sniper.lanes is not None
    assert len(run.sniper.lanes.lanes) == 2 + int(volley_lanes)
    assert len(orders) >= 3, orders
    assert set(orders) == set(range(2 + int(volley_lanes))), orders


@pytest.mark.parametrize("race_copies", ["1", "auto"])
async def test_no_volley_lanes_where_no_volley_can_go(
    ex: EmbeddedExchange, race_copies: str
) -> None:
    """RACE_COPIES=1, or loopback (the measured one way under MIN_ONE_WAY_MS): two lanes."""
    if race_copies == "1":
        run = await aimed_run(ex, RACE_COPIES=race_copies)
    else:
        await ex.list_symbol(TARGET, open_at_ms=ex.server_time_ms() + 1500, announce_open_time=True)
        run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", SPIN="off"))
    await run.armed(within=10)
    assert run.sniper.lanes is not None and len(run.sniper.lanes.lanes) == 2
    assert (await run.result(within=15)).exit_code == 0


@both_modes
async def test_not_the_whole_balance_keeps_one_copy_in_flight(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.set_balance(API_KEY, "PAWS", "1500")  # sells 1000 of 1500: a second copy could sell
    run = await aimed_run(ex)
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    arrivals = ex.arrivals(TARGET)
    # one copy; a second only after the first was answered (a round trip later)
    assert len(arrivals) <= 2, arrivals
    if len(arrivals) == 2:
        assert arrivals[1][0] - arrivals[0][0] > 2 * (ONE_WAY_MS - JITTER_MS), arrivals
    assert sold(ex) == Decimal("1000")


@both_modes
async def test_race_copies_1_keeps_one_copy_in_flight(ex: EmbeddedExchange, mode: str) -> None:
    run = await aimed_run(ex, RACE_COPIES="1")
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    arrivals = ex.arrivals(TARGET)
    assert len(arrivals) <= 2, arrivals
    if len(arrivals) == 2:
        assert arrivals[1][0] - arrivals[0][0] > 2 * (ONE_WAY_MS - JITTER_MS), arrivals


@both_modes
async def test_a_deposit_while_armed_drops_to_one_copy(ex: EmbeddedExchange, mode: str) -> None:
    """COIN_AMOUNT=all follows the deposit (the order is the whole balance again), but holdings
    that moved while armed may move again before the copies arrive: one copy in flight."""
    run = await aimed_run(ex, COIN_AMOUNT="all")
    await run.armed()
    ex.set_balance(API_KEY, "PAWS", "1500")  # a deposit lands
    await wait_until(lambda: run.sniper.order is not None and run.sniper.order.size == "1500")
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    arrivals = ex.arrivals(TARGET)
    assert len(arrivals) <= 2, arrivals
    if len(arrivals) == 2:
        assert arrivals[1][0] - arrivals[0][0] > 2 * (ONE_WAY_MS - JITTER_MS), arrivals
    assert sold(ex) == Decimal("1500")


@both_modes
async def test_every_copy_executed_but_answered_5xx_is_reconciled(
    ex: EmbeddedExchange, mode: str
) -> None:
    """Each copy goes through the matching engine, then its answer is a 502 page: nothing is
    known from the answers, so the order is settled (feed / lookup): found, sold once."""
    ex.faults.queue_order_replies([OrderReply(status=502, executed=True)] * MAX_COPIES)
    run = await aimed_run(ex)
    result = await run.result(within=20)
    assert_one_accepted(ex, result.client_oid)
    assert result.attempts >= 3
    assert sold(ex) == Decimal("1000")
    assert result.exit_code == 0


@both_modes
async def test_every_copy_answered_43012_while_one_executed_is_not_a_rejection(
    ex: EmbeddedExchange, mode: str
) -> None:
    """The executed copy's answer is lost and replaced by "insufficient balance", like its
    siblings': several copies were in flight, so the order is settled before anything is called
    a rejection — found, exit 0 (never 3)."""
    balance = code_for(ex, "43012")
    ex.faults.queue_order_replies([OrderReply(code=balance, executed=True)] * MAX_COPIES)
    run = await aimed_run(ex)
    result = await run.result(within=20)
    assert_one_accepted(ex, result.client_oid)
    assert sold(ex) == Decimal("1000")
    assert result.exit_code == 0


@both_modes
async def test_every_copy_unanswered_is_reconciled(ex: EmbeddedExchange, mode: str) -> None:
    ex.faults.withhold_next_order_reply(MAX_COPIES)  # executed (or refused) but never answered
    run = await aimed_run(ex)
    result = await run.result(within=20)
    assert_one_accepted(ex, result.client_oid)
    assert sold(ex) == Decimal("1000")


@both_modes
async def test_partial_fill_then_cancel_the_later_copies_meet_the_balance(
    ex: EmbeddedExchange, mode: str
) -> None:
    """A thin book: the accepted copy sells 600, its rest is cancelled and unfrozen (400 held
    again) — below the order's 1000, so every later copy is refused: 600 sold, reported as a
    partial sale (exit 5), never as a failure."""
    run = await aimed_run(ex)
    ex.state.set_book(TARGET, [("0.0123", "600")])
    result = await run.result(within=15)
    assert_one_accepted(ex, result.client_oid)
    assert_backstop(ex, ex.arrivals(TARGET))
    assert sold(ex) == Decimal("600")
    assert result.partial and result.exit_code == 5
    assert result.filled_qty == Decimal("600")
