"""Copies in flight: more than one copy of a volley accepted (``sniper.live.volley``).

A copy that is accepted and ends cancelled with zero fill (a floor ioc/fok with no bid at the
floor, a market order cancelled for lack of liquidity) releases the whole balance at once, so a
later copy of the same volley can be accepted and sell. Every accepted copy is its own venue
order under the same clientOid: the verdict keeps them all, the report reads each by orderId and
shows the copy that sold — or, when more than one sold (a deposit during the volley), the total.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from sniper.errors import OrderUnconfirmed
from sniper.live.executor import Answer, Attempt, Execution, Fired
from sniper.live.lanes import Reply
from sniper.live.outcomes import Outcome
from sniper.live.reconcile import HoldingsTracker
from sniper.live.report import sold_result
from sniper.live.venue import ClassicVenue, Envelope, OrderState, UtaVenue, parse_envelope
from sniper.live.volley import (
    AcceptedCopy,
    CopyDropped,
    VolleyPlan,
    combine_fills,
    read_fill,
    send_copies,
    verdict,
)


def accepted(n: int, order_id: str, first_byte_ns: int) -> Answer:
    body = {"code": "00000", "msg": "success", "requestTime": 1, "data": {"orderId": order_id}}
    env = parse_envelope(200, json.dumps(body).encode())
    reply = Reply(200, b"", first_byte_ns, 0)
    return Answer(Attempt(n, 100 * n, None), Outcome.ACCEPTED, env, reply)


def refused(n: int, code: str) -> Answer:
    env = Envelope(400, code, "Insufficient balance", None, request_time_ms=1)
    return Answer(Attempt(n, 100 * n, None), Outcome.REJECTED, env, Reply(400, b"", 9000 + n, 0))


def state(order_id: str, status: str, base: str, quote: str = "0", price: str = "0") -> OrderState:
    return OrderState(order_id, "snp-1", status, "1000", base, quote, price)


def test_verdict_with_two_accepted_copies_keeps_both_order_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sniper.executor")
    v = verdict([accepted(1, "111", 5000), accepted(2, "222", 5100), refused(3, "43012")])
    assert v.chosen.attempt.number == 1  # the first reply
    copies = v.copies(ClassicVenue("PAWSUSDT", "PAWS").parse_order_ack)
    assert copies == (AcceptedCopy("111", 5000, 100), AcceptedCopy("222", 5100, 200))
    assert v.unproven == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "ALSO ACCEPTED" in errors[0] and "ended unfilled" in errors[0]
    assert "report reads every accepted copy" in errors[0]
    assert "deposit during the volley?" not in errors[0]


def test_verdict_counts_copies_without_a_proof_next_to_the_accepted_one() -> None:
    lost = Answer(Attempt(2, 200, None), None)
    v = verdict([accepted(1, "111", 5000), lost, refused(3, "43012")])
    assert v.chosen.outcome is Outcome.ACCEPTED and v.unproven == 1 and len(v.accepted) == 1


@pytest.mark.parametrize("venue", [ClassicVenue("PAWSUSDT", "PAWS"), UtaVenue("PAWSUSDT", "PAWS")])
def test_an_order_is_read_by_its_order_id(venue: Any) -> None:
    by_id = venue.order_info_call("snp-1", order_id="1234").path_with_query
    by_oid = venue.order_info_call("snp-1").path_with_query
    assert by_id == f"{venue.api.order_info_path}?orderId=1234"
    assert by_oid == f"{venue.api.order_info_path}?clientOid=snp-1"


def test_the_copy_that_sold_is_reported_not_the_first_accepted() -> None:
    states = {
        "111": state("111", "cancelled", "0"),
        "222": state("222", "filled", "1000", "12.3", "0.0123"),
    }
    got = combine_fills("111", states)
    assert got.fill is states["222"] and got.sold == ("222",) and got.read == ("111", "222")


def test_none_sold_reports_the_chosen_copy() -> None:
    states = {"111": state("111", "cancelled", "0"), "222": state("222", "cancelled", "0")}
    got = combine_fills("111", states)
    assert got.fill is states["111"] and got.sold == ()


def test_two_copies_sold_report_the_total_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    states = {
        "111": state("111", "filled", "1000", "12", "0.012"),
        "222": state("222", "filled", "500", "7", "0.014"),
        "333": None,  # never read
    }
    got = combine_fills("111", states)
    assert got.sold == ("111", "222")
    assert got.fill is not None
    assert Decimal(got.fill.base_volume) == 1500 and Decimal(got.fill.quote_volume) == 19
    # weighted by base volume: (0.012 x 1000 + 0.014 x 500) / 1500
    assert Decimal(got.fill.price_avg) == (Decimal("12") + Decimal("7")) / 1500
    assert got.fill.status == "filled" and got.fill.order_id == "111"
    assert any(
        r.levelno == logging.ERROR and "the sale exceeded one copy" in r.getMessage()
        for r in caplog.records
    )


def execution(*copies: AcceptedCopy, unproven: int = 0) -> Execution:
    return Execution("111", "snp-1", "reply", 5000, 100, 6, ["43115"], copies, unproven)


def test_the_report_names_the_seller_with_its_own_reply_timing() -> None:
    ex = execution(AcceptedCopy("111", 5000, 100), AcceptedCopy("222", 5100, 200))
    fill = state("222", "filled", "1000", "12.3", "0.0123")
    fired = Fired("scheduled", 0, 10, 100)
    r = sold_result(
        ex,
        fired,
        size="1000",
        fill=fill,
        open_seen_by=None,
        accepted_ids=("111", "222"),
        sold_ids=("222",),
    )
    assert r.order_id == "222" and r.ack_ns == 5100 and r.accepted_written_ns == 200
    assert r.exit_code == 0 and r.filled_qty == 1000
    assert r.as_dict()["sold_ids"] == ["222"]


class FakeReconciler:
    """The reads :func:`read_fill` makes: by orderId, by clientOid (one answer, then every
    row), and the holdings against the snapshot taken at the fire."""

    def __init__(
        self,
        by_id: dict[str, OrderState | None],
        by_oid: OrderState | None,
        *,
        rows: list[OrderState] | None = None,
        held: tuple[str, str] = ("1000", "1000"),  # (at the fire, now)
    ) -> None:
        self.by_id = by_id
        self.by_oid = by_oid
        self.rows = rows or []
        self.asked: list[object] = []
        self.config = SimpleNamespace(base_coin="PAWS")
        self.client_oid = "snp-1"
        self.holdings = HoldingsTracker()
        self.holdings.record(Decimal(held[0]), at_ns=1)
        self.snapshot = self.holdings.snapshot()
        self.now = Decimal(held[1])

    async def lookup_rows(self) -> list[OrderState]:
        self.asked.append("rows")
        return self.rows

    async def read_holdings(self) -> Decimal:
        self.asked.append("holdings")
        self.holdings.record(self.now)
        return self.now

    async def fills_of(self, ids: tuple[str, ...], within_s: float) -> dict[str, Any]:
        self.asked.append(ids)
        return {i: self.by_id.get(i) for i in ids}

    async def fill(self, within_s: float) -> OrderState | None:
        self.asked.append("clientOid")
        return self.by_oid


async def test_one_copy_reads_by_client_oid_as_before() -> None:
    rec = FakeReconciler({}, state("111", "filled", "1000"))
    got = await read_fill(rec, execution(), 1.0)  # type: ignore[arg-type]
    assert rec.asked == ["clientOid"] and got.fill is rec.by_oid and got.read == ()


async def test_two_accepted_copies_are_each_read_by_order_id() -> None:
    sold = state("222", "filled", "1000")
    rec = FakeReconciler({"111": state("111", "cancelled", "0"), "222": sold}, None)
    ex = execution(AcceptedCopy("111", 5000, 100), AcceptedCopy("222", 5100, 200))
    got = await read_fill(rec, ex, 1.0)  # type: ignore[arg-type]
    assert rec.asked == [("111", "222")] and got.fill is sold and got.sold == ("222",)


async def test_an_unfilled_accepted_copy_next_to_an_unanswered_one_reads_the_client_oid() -> None:
    """The accepted copy ended unfilled and released the coin; a copy that got no answer may
    have sold: the clientOid is read too, and an order of its own that sold is reported."""
    other = state("999", "filled", "1000")
    rec = FakeReconciler({"111": state("111", "cancelled", "0")}, other)
    ex = execution(AcceptedCopy("111", 5000, 100), unproven=1)
    got = await read_fill(rec, ex, 1.0)  # type: ignore[arg-type]
    assert rec.asked == [("111",), "clientOid"]
    assert got.fill is other and got.sold == ("999",) and got.read == ("111", "999")


async def test_the_client_oid_answering_the_unfilled_copy_reads_every_row() -> None:
    """Review (issue 14, F2a): the clientOid answered with the unfilled copy again; v2
    orderInfo's ``data`` is an array — the row of the copy that sold is reported."""
    unfilled, seller = state("111", "cancelled", "0"), state("999", "filled", "1000")
    rec = FakeReconciler({"111": unfilled}, unfilled, rows=[unfilled, seller], held=("1000", "0"))
    got = await read_fill(rec, execution(unproven=2), 1.0)  # type: ignore[arg-type]
    assert rec.asked == [("111",), "clientOid", "rows"]
    assert got.fill is seller and got.sold == ("999",)


async def test_none_found_sold_but_the_holdings_fell_is_unconfirmed_not_zero_sold() -> None:
    """Review (issue 14, F2b): every order the venue shows ended unfilled, a copy went
    unproven, and the holdings fell since the fire: a copy may have sold — exit 4, never
    "0 sold"."""
    unfilled = state("111", "cancelled", "0")
    rec = FakeReconciler({"111": unfilled}, unfilled, rows=[unfilled], held=("1000", "0"))
    ex = execution(AcceptedCopy("111", 5000, 100), unproven=1)
    with pytest.raises(OrderUnconfirmed) as info:
        await read_fill(rec, ex, 1.0)  # type: ignore[arg-type]
    assert info.value.exit_code == 4
    assert "PAWS balance fell by 1000" in str(info.value) and "a copy may have sold" in str(
        info.value
    )


async def test_none_sold_and_the_holdings_unchanged_reports_nothing_sold() -> None:
    unfilled = state("111", "cancelled", "0")
    rec = FakeReconciler({"111": unfilled}, unfilled, rows=[unfilled], held=("1000", "1000"))
    ex = execution(AcceptedCopy("111", 5000, 100), unproven=1)
    got = await read_fill(rec, ex, 1.0)  # type: ignore[arg-type]
    assert rec.asked[-1] == "holdings" and got.fill is unfilled and got.sold == ()


async def test_none_sold_but_the_holdings_rose_in_between_is_unconfirmed() -> None:
    """A deposit credited since the fire can hide a sale: nothing is proven."""
    unfilled = state("111", "cancelled", "0")
    rec = FakeReconciler({"111": unfilled}, unfilled, held=("1000", "1000"))
    rec.holdings.record(Decimal("2000"))
    ex = execution(AcceptedCopy("111", 5000, 100), unproven=1)
    with pytest.raises(OrderUnconfirmed, match="rose by 1000"):
        await read_fill(rec, ex, 1.0)  # type: ignore[arg-type]


class FakeSender:
    """``send`` as OrderSender's: the wait (the 10/s window, a lane reconnect) first, then
    ``wanted`` right before the write."""

    def __init__(self, delays_s: dict[int, float], lanes: int = 2) -> None:
        self.venue = ClassicVenue("PAWSUSDT", "PAWS")
        self.lanes = SimpleNamespace(lanes=list(range(lanes)))
        self.delays_s = delays_s  # copy number -> how long its send is held
        self.written: list[int] = []

    async def send(self, previous: int, lane: int | None = None, *, wanted: Any = None) -> Attempt:
        number = previous + 1
        await asyncio.sleep(self.delays_s.get(number, 0.0))
        if wanted is not None and not wanted():
            raise CopyDropped
        self.written.append(number)
        return Attempt(number, time.monotonic_ns(), None, lane=lane or 0)


PLAN = VolleyPlan(copies=4, spacing_ms=2.0, lead_ms=10.0)  # spread ~10.7 ms


async def test_every_copy_on_time_is_sent() -> None:
    sender = FakeSender({})
    first = Attempt(1, time.monotonic_ns(), None, lane=0)
    out = await send_copies(sender, PLAN, first, first_lane=0)  # type: ignore[arg-type]
    assert [a.number for a in out] == [2, 3, 4] == sender.written


@pytest.mark.parametrize(("lanes", "first_lane", "used"), [(2, 1, [0, 1, 0]), (4, 1, [2, 3, 0])])
async def test_the_copies_go_round_every_order_connection(
    lanes: int, first_lane: int, used: list[int]
) -> None:
    """The trigger's two lanes and the volley lanes beside them (``VOLLEY_LANES``): copies on
    one TCP connection cannot overtake each other, so each next copy goes on the next one."""
    sender = FakeSender({}, lanes=lanes)
    first = Attempt(1, time.monotonic_ns(), None, lane=first_lane)
    out = await send_copies(sender, PLAN, first, first_lane=first_lane)  # type: ignore[arg-type]
    assert [a.lane for a in out] == used


async def test_a_copy_held_past_the_spread_is_dropped_with_the_rest() -> None:
    """Review (issue 14, F4): a copy held for 60 ms (a lane reconnect), more than a round trip
    (2 x the 10 ms lead): the earlier copies' answers are due and the retries aim from them; it
    and the later ones are not written."""
    sender = FakeSender({3: 0.06})
    first = Attempt(1, time.monotonic_ns(), None, lane=0)
    out = await send_copies(sender, PLAN, first, first_lane=0)  # type: ignore[arg-type]
    assert [a.number for a in out] == [2] == sender.written


async def test_a_copy_held_past_the_spread_but_within_a_round_trip_is_still_sent() -> None:
    """A busy event loop (a loaded machine) held copy 3 for 20 ms, past the spread (~10.7 ms)
    but well within a round trip (2 x the 40 ms lead): nothing is known of the earlier copies
    yet and it still lands around the open, so it and the rest are written (CI saw a volley
    cut to one copy by 5 ms of loop lateness)."""
    plan = VolleyPlan(copies=4, spacing_ms=2.0, lead_ms=40.0)
    assert plan.spread_ms < 20.0 < plan.late_ms == 80.0
    sender = FakeSender({3: 0.02})
    first = Attempt(1, time.monotonic_ns(), None, lane=0)
    out = await send_copies(sender, plan, first, first_lane=0)  # type: ignore[arg-type]
    assert [a.number for a in out] == [2, 3, 4] == sender.written


async def test_no_copy_after_an_earlier_one_came_back_accepted() -> None:
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[Reply] = loop.create_future()
    body = b'{"code":"00000","msg":"success","requestTime":1,"data":{"orderId":"1"}}'
    reply.set_result(Reply(200, body, time.monotonic_ns(), time.monotonic_ns()))
    sender = FakeSender({})
    first = Attempt(1, time.monotonic_ns(), reply, lane=0)
    out = await send_copies(sender, PLAN, first, first_lane=0)  # type: ignore[arg-type]
    assert out == [] and sender.written == []


async def test_a_not_open_reply_does_not_stop_the_volley() -> None:
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[Reply] = loop.create_future()
    body = b'{"code":"43115","msg":"opening soon","requestTime":1,"data":null}'
    reply.set_result(Reply(400, body, time.monotonic_ns(), time.monotonic_ns()))
    sender = FakeSender({})
    first = Attempt(1, time.monotonic_ns(), reply, lane=0)
    out = await send_copies(sender, PLAN, first, first_lane=0)  # type: ignore[arg-type]
    assert [a.number for a in out] == [2, 3, 4]
