"""Copies in flight: an aimed order sent as a short volley when a second copy provably cannot sell.

Why (issue 14)
--------------
One aimed copy lands anywhere in the spread of the one-way delay: at 20 ms ± 10 % (uniform) its
arrival after the open is spread over ~4 ms, so its p90 is ~+3.6 ms whatever the aim. Several
copies sent a fraction of a ms apart each land within their own spread; the first one to arrive
after the open is accepted and those that arrive before it are refused "not open yet" (43115 /
25101: not executed). With ``n`` copies whose aims cover the spread, the chance that none lands
in the first ``B`` ms after the open falls like ``(1 - B / spread) ** n``.

When it is safe (:func:`whole_balance_proof`)
---------------------------------------------
Every copy carries the SAME clientOid, but Bitget's clientOid idempotency is "only valid when
orders are unfilled" (bitget-api.md §5.6, §10.8): a copy that arrives after an earlier one
FILLED is checked as a new order. What stops it is the balance: "selling the whole balance makes
43012 the backstop" (§10.8). So copies go out only when the order's size is EVERYTHING the
account holds of the coin — available + frozen + locked, the holdings read
(:class:`~sniper.live.reconcile.HoldingsTracker`) — because then:

* once any copy sold anything (filled, partly filled and cancelled — the unsold rest is
  unfrozen but is less than the size), the holdings are below the size, and a sale needs the
  whole size available: every later copy is refused (43012 / 25202), or, while the first order
  is still unfilled (a resting limit at the floor freezes the coin), refused as a duplicate
  (43118 / 25212) or for the balance;
* the venue never sells more than is held, so the total sold is at most the holdings = the size
  (``COIN_AMOUNT``) — market sells and limit sells alike.

So at most ONE copy sells. But more than one can be ACCEPTED: a copy accepted and then
cancelled with zero fill — a floor sell with ``FLOOR_TIF=ioc`` (or fok) when no bid is at or
above the floor at that instant, a market order the venue cancels for lack of liquidity —
releases the whole balance at once, and a later copy of the volley (a fraction of a ms later)
is accepted and may sell. Each accepted copy is a venue order of its own under the SAME
clientOid, so the report never reads the fill by clientOid then: :func:`verdict` keeps every
accepted copy (:attr:`Verdict.accepted`, logged at ERROR), the executor carries their orderIds
(``Execution.accepted``), and :func:`read_fill` reads each by its orderId until final and
reports the one that sold (:func:`combine_fills`; none sold: the first accepted one; more than
one sold — the proof broken by a deposit — their TOTAL, at ERROR, never less). Next to an
accepted copy that ended unfilled, a copy without a proof (no answer, ambiguous) may be the one
that sold: the clientOid is read as well.

The proof is conservative; any condition not known to hold → ONE copy in flight, as without
this module:

1. ``RACE_COPIES`` is not 1;
2. the order is not a chunk of a capped sale (``PreparedOrder.total == size``): chunks sell less
   than the holdings by design;
3. there is a holdings read, at most ``MAX_READ_AGE_S`` old (the upkeep reads once just before a
   known open), and it equals the order's size exactly (nothing frozen or locked, nothing more
   held than is sold);
4. no two reads of the run ever differed (:attr:`HoldingsTracker.moved`, kept across the fire's
   snapshot, so a retry volley after the fire sees a balance that moved while armed too; and
   the reads kept, :meth:`HoldingsTracker.reads`): a balance that moved — a deposit landing —
   may move again between the read and the copies' arrival.

What is left: a deposit credited in the ~second between the last read and the last copy's
arrival, on an account whose holdings never moved while armed. The copies arrive within a few ms
of each other, so it would have to land inside that window too; then two copies may both sell
(the deposit too is sold) and the report shows the total. A UTA account that could borrow the
coin to sell it (no source documents spot auto-borrow; §5.11 lists 25202 "Insufficient
balance") would not be covered either. A copy without a proof next to an accepted copy that
ended unfilled is found through the clientOid only (every row of v2 orderInfo's array): if the
venue answers a clientOid shared by two orders with the other one only and the order feed's
last push is not of it, the sale is not reported — the holdings read against the fire's
snapshot then stops the run unconfirmed (exit 4), never "0 sold" (the sale itself is still at
most the holdings). An order a lookup found after a volley without an acceptance (every copy
5xx, lost, refused) is handled the same way: the volley's other copies that may be orders are
carried (``Execution.unproven_copies``, :attr:`Verdict.maybe_orders`).

How many, how far apart (:func:`plan_volley`)
---------------------------------------------
From the clock's network estimate (:mod:`sniper.live.clock`): the one-way spread ``W`` =
``SPREAD_K`` x the measured jitter, i.e. the median less the min of the round trips (for a
uniform ±J per direction: jitter_ms = 0.41 J, W = 2 J; :class:`~sniper.live.clock.NetEstimate`).
Copies: ``MAX_COPIES``, or what the 10/s place-order budget leaves (``RESERVE`` slots stay free
for the retries), or fewer when ``RACE_COPIES`` says so. Not "as many as the odds need": the
bound ``(1 - B / W) ** n`` asks for fewer copies only when the spread estimate comes out low,
and at 20 ms ± 2 ms that estimate (of 16-64 round trips) is low by chance often enough — in one
race benchmark run the volleys of 6 and 7 copies were 6 of the 30 classic trials, all among its
13 latest arrivals — while a copy more costs only a refused request in a window that keeps
``RESERVE`` free. None when ``W < MIN_SPREAD_MS`` (one copy already lands within it; judged
on the larger of W and the stdev-based spread, since median - min reads low from a handful of
round trips; the spacing uses W, at least ``MIN_SPREAD_MS``) or the one way is under
``MIN_ONE_WAY_MS`` (on loopback or a LAN the measured spread is the local event loop's
lateness, which delays every copy alike). Spacing ``SPAN_FRACTION * W / n``; the LAST
copy is aimed like a single copy without the jitter margin (it may land at the open at the
earliest), the first ``(n - 1) * spacing`` earlier.

At 20 ms ± 2 ms: W = 4 ms; 8 copies (``MAX_COPIES``: the 10/s budget less ``RESERVE``), 0.5 ms
apart spanning 3.5 ms. Two connections are two FIFO paths (a copy held
behind an earlier one on its connection lands with it and is wasted); a Monte Carlo of that
(uniform delays, the min-lag estimate of 16-64 samples with whole-ms stamps, the 0.3 ms margin)
puts the p90 of the first accepted arrival at ~+1.5 ms (6 copies over 75 % of the spread, the
plan until issue 14's last session: ~+1.7-1.8, and a 15-trial p90 above +2 ms in 10-18 % of
cells; one copy: ~+3.6-3.9 ms); ``benchmarks/race.py`` measures it on the simulated WAN.

Copies go round every order connection: the trigger's two and the ``VOLLEY_LANES`` (default 2)
opened beside them when a volley can go (a TCP stream never reorders: copies on one connection
cannot overtake each other, so a copy held behind an earlier, slower one on its connection lands
with it and is wasted). The same Monte Carlo at 20 ms ± 2 ms: p90 +1.42 ms over two connections,
+1.16 over four, +1.06 over eight (perfect estimates). Every copy counts in the 10/s place-order
window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sniper.config import MAX_RACE_COPIES
from sniper.live.clock import (
    AIM_MARGIN_MS,
    PLACE_ORDER_LIMIT,
    SPREAD_K,
    NetEstimate,
    ServerClock,
)
from sniper.live.fastpath import CHANNEL_SCHEDULED
from sniper.live.order import format_decimal
from sniper.live.outcomes import Outcome
from sniper.live.venue import OrderState, order_done, parse_envelope

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.executor import Answer, Attempt, Execution, OrderSender
    from sniper.live.order import PreparedOrder
    from sniper.live.reconcile import Holdings, HoldingsTracker, Reconciler

__all__ = [
    "AcceptedCopy",
    "CopiesFill",
    "CopyDropped",
    "Proof",
    "Verdict",
    "VolleyPlan",
    "Volleys",
    "combine_fills",
    "fly",
    "plan_volley",
    "read_fill",
    "send_copies",
    "verdict",
    "whole_balance_proof",
]

log = logging.getLogger("sniper.executor")

MAX_COPIES = MAX_RACE_COPIES  # copies of one volley, at most: the 10/s budget less RESERVE
RESERVE = 2  # place-order slots of the 1 s window a volley leaves free for retries
MIN_SPREAD_MS = 1.5  # below this one copy already lands close enough: no volley
# below this one way (loopback, a LAN) the measured spread is the local event loop's lateness,
# which delays every copy alike: copies do not help there
MIN_ONE_WAY_MS = 2.0
SPAN_FRACTION = 1.0  # the copies' aims span this fraction of the spread (x (n - 1) / n)
MAX_READ_AGE_S = 3.0  # a holdings read older than this at the fire proves nothing
SPIN_NS = 1_500_000  # the last 1.5 ms before a copy's instant: yield-spins, not timers


@dataclass(frozen=True)
class Proof:
    """Whether copies in flight are safe (:func:`whole_balance_proof`), and why in words."""

    ok: bool
    why: str


@dataclass(frozen=True)
class VolleyPlan:
    """``copies`` sent ``spacing_ms`` apart, the first ``lead_ms`` before the instant they aim
    at (exchange clock); ``copies == 1``: one copy, aimed as before."""

    copies: int
    spacing_ms: float
    lead_ms: float
    why: str = ""

    @property
    def span_ms(self) -> float:
        return (self.copies - 1) * self.spacing_ms

    @property
    def spread_ms(self) -> float:
        """The one-way spread the plan was made for (:func:`plan_volley`: spacing = SPAN_FRACTION
        x spread / copies)."""
        return self.spacing_ms * self.copies / SPAN_FRACTION if self.copies > 1 else 0.0

    @property
    def late_ms(self) -> float:
        """How late past its due time a further copy may still be written: about one round
        trip (twice the first copy's lead, which is at least the one way; at least the spread).
        Until then nothing is known of the earlier copies, and a copy held by a busy event loop
        still lands around the open (and it cannot sell twice: the proof); past it, their
        answers are back and the not-open pacer aims the next copy from them."""
        return max(self.spread_ms, 2.0 * self.lead_ms)


def whole_balance_proof(
    *,
    setting: int | None,
    size: str | None,
    total: str | None,
    reads: Sequence[Holdings],
    now_ns: int,
    moved: bool = False,
) -> Proof:
    """Copies in flight are safe only if the order sells everything held of the coin, per the
    freshest read, and the holdings never moved (the module docstring, conditions 1-4;
    ``moved``: two reads of the run differed, also before the fire's snapshot)."""
    if setting == 1:
        return Proof(False, "RACE_COPIES=1")
    try:
        amount = Decimal(size or "")
    except InvalidOperation:
        return Proof(False, "no order size")
    if not amount.is_finite() or amount <= 0:
        return Proof(False, "no order size")
    if total is not None and total != size:
        return Proof(False, "a chunk of a capped sale sells less than the balance")
    if not reads:
        return Proof(False, "no balance read")
    last = reads[-1]
    age_s = (now_ns - last.at_ns) / 1e9
    if age_s > MAX_READ_AGE_S:
        return Proof(False, f"the last balance read is {age_s:.1f}s old")
    if last.amount != amount:
        return Proof(
            False,
            f"the order sells {size} of {format(last.amount.normalize(), 'f')} held "
            "(not the whole balance, or part of it frozen)",
        )
    if moved or any(r.amount != last.amount for r in reads):
        return Proof(False, "the balance moved while armed (a deposit may still be landing)")
    return Proof(True, f"the order sells the whole balance ({size}): a second copy meets 43012")


def plan_volley(
    net: NetEstimate | None,
    offset_ms: float,
    *,
    setting: int | None,
    budget: int,
) -> VolleyPlan:
    """How many copies, how far apart, and the first one's lead (the module docstring). One
    copy (the single aim, :meth:`NetEstimate.lead_ms`) when unmeasured, off, or not worth it."""
    single = VolleyPlan(1, 0.0, 0.0 if net is None else net.lead_ms(offset_ms))
    if net is None or setting == 1:
        return single
    # worth it when either estimate says so: median - min reads low from a handful of round
    # trips, the stdev high after a few held ones; the copies are spaced by the robust one
    widest = SPREAD_K * max(net.jitter_ms, net.jitter_sd_ms)
    if widest < MIN_SPREAD_MS or net.one_way_ms < MIN_ONE_WAY_MS:
        return single
    spread = max(SPREAD_K * net.jitter_ms, MIN_SPREAD_MS)
    copies = min(MAX_COPIES, setting or MAX_COPIES, budget)
    if copies < 2:
        return single
    spacing = SPAN_FRACTION * spread / copies
    # the last copy aimed at the open at the earliest (no jitter margin: an early copy is only
    # refused, the others follow), the first one (copies - 1) spacings before it
    last_lead = (net.lag_ms - offset_ms) - AIM_MARGIN_MS
    why = f"{copies} copies {spacing:.2f} ms apart (one-way spread ~{spread:.1f} ms)"
    return VolleyPlan(copies, spacing, last_lead + (copies - 1) * spacing, why)


class CopyDropped(Exception):
    """A volley's further copy not written: too late, or an earlier copy already accepted."""


async def send_copies(
    sender: OrderSender, plan: VolleyPlan, first: Attempt, *, first_lane: int
) -> list[Attempt]:
    """The volley's copies after ``first`` (already written on ``first_lane``): copy k is
    written ``k x spacing`` after it, on the order connections in turn. Each is counted in the
    10/s window by the sender; a lane that fails before the write is retried by the sender.
    A copy is dropped, and the volley ends, when it would leave more than about a round trip
    (:attr:`VolleyPlan.late_ms`) after its due time (a wait for the rate window, a lane
    reconnect or a stalled event loop held it: the earlier copies' answers are due, and the
    retries aim from them) or once an earlier copy's reply came back accepted (the order is on
    the book: another copy can only be refused)."""
    out: list[Attempt] = []
    lanes = len(sender.lanes.lanes)
    late_ns = round(plan.late_ms * 1e6)
    for k in range(1, plan.copies):
        due_ns = first.written_ns + round(k * plan.spacing_ms * 1e6)
        await _sleep_until_ns(due_ns)
        written = [first, *out]

        def wanted(due_ns: int = due_ns, written: list[Attempt] = written) -> bool:
            return time.monotonic_ns() <= due_ns + late_ns and not _accepted_already(
                sender, written
            )

        previous = out[-1].number if out else first.number
        try:
            out.append(await sender.send(previous, lane=(first_lane + k) % lanes, wanted=wanted))
        except CopyDropped:
            log.info(
                "copies %d-%d of the volley not sent: %s",
                k + 1,
                plan.copies,
                "an earlier copy was accepted"
                if _accepted_already(sender, written)
                else f"more than {plan.late_ms:.1f} ms past their time (held by the 10/s "
                "window, a lane reconnect or a busy event loop)",
            )
            break
    return out


def _accepted_already(sender: OrderSender, written: Sequence[Attempt]) -> bool:
    """A reply to one of ``written`` already came back, and it is an acceptance."""
    for attempt in written:
        future = attempt.future
        if future is None or not future.done() or future.cancelled():
            continue
        if future.exception() is not None:
            continue
        reply = future.result()
        env = parse_envelope(reply.status, reply.body)
        if sender.venue.classify(env) is Outcome.ACCEPTED:
            return True
    return False


async def fly(sender: OrderSender, copies: list[Attempt], plan: VolleyPlan | None) -> Verdict:
    """``copies`` (the first one written) and, with a volley ``plan``, its further copies; then
    every copy's answer, and the :func:`verdict` on them."""
    if plan is not None and plan.copies > 1:
        copies = copies + await send_copies(sender, plan, copies[0], first_lane=copies[0].lane)
    return verdict(await asyncio.gather(*(sender.answer(c) for c in copies)))


async def _sleep_until_ns(due_ns: int) -> None:
    """Until ``time.monotonic_ns()`` reaches ``due_ns``: a timer, then yield-spins for the last
    ``SPIN_NS`` (asyncio timers round up to whole ms; the copies are ~0.5 ms apart)."""
    while (left := due_ns - time.monotonic_ns()) > 0:
        if left > SPIN_NS + 1_000_000:
            await asyncio.sleep((left - SPIN_NS) / 1e9)
        else:
            await asyncio.sleep(0)


# the order an outcome wins in when the copies of one volley answered differently: an acceptance
# is the order; an answer that proves nothing must be reconciled before anything else counts
_PRIORITY = (
    Outcome.ACCEPTED,
    None,  # no answer: may have executed
    Outcome.AMBIGUOUS,
    Outcome.DUPLICATE,
    Outcome.UNKNOWN,
    Outcome.REJECTED,
    Outcome.RESYNC,
    Outcome.RETRY,
    Outcome.NOT_OPEN_YET,
)


# answers that prove nothing about their copy: it may be an order of its own
_UNPROVEN = (None, Outcome.AMBIGUOUS, Outcome.UNKNOWN)


@dataclass(frozen=True)
class AcceptedCopy:
    """One copy of a volley the venue accepted: its own venue order."""

    order_id: str  # "" when the acceptance carried none (the chosen copy is then looked up)
    ack_ns: int  # ns, monotonic: first byte of its reply
    written_ns: int  # ns, monotonic: when it was written


@dataclass(frozen=True)
class Verdict:
    """The answer a volley is handled by (``chosen``) and the others (:func:`verdict`)."""

    chosen: Answer
    others: list[Answer] = field(default_factory=list)

    @property
    def accepted(self) -> list[Answer]:
        """Every accepted copy, the chosen one first: each is its own venue order."""
        return [a for a in (self.chosen, *self.others) if a.outcome is Outcome.ACCEPTED]

    @property
    def unproven(self) -> int:
        """Copies besides the chosen one whose answer proves nothing (no answer, ambiguous, a
        code no table knows): each may be a venue order of its own."""
        return sum(1 for a in self.others if a.outcome in _UNPROVEN)

    @property
    def maybe_orders(self) -> int:
        """Copies of this flight, the chosen one included, that may each be a venue order:
        accepted, or an answer that proves nothing (a final refusal, "not open yet", a
        duplicate or a refusal before the write are not orders of their own)."""
        return sum(
            1
            for a in (self.chosen, *self.others)
            if a.outcome is Outcome.ACCEPTED or a.outcome in _UNPROVEN
        )

    def copies(self, parse_ack: Callable[[Any], str]) -> tuple[AcceptedCopy, ...]:
        """The accepted copies' venue orders (``parse_ack``: the venue's orderId reader)."""
        return tuple(
            AcceptedCopy(
                parse_ack(a.env.data) if a.env is not None else "",
                a.reply.first_byte_ns if a.reply is not None else 0,
                a.attempt.written_ns,
            )
            for a in self.accepted
        )


def verdict(answers: Sequence[Answer]) -> Verdict:
    """The answer a volley is handled by, and the others. The first accepted copy wins (by
    when its reply came); else no answer / AMBIGUOUS (reconciled: may have executed); else a
    duplicate (an earlier copy landed); ...; all "not open yet": the latest refusal (the pacer
    aims from it). 43012 / 25202 or a duplicate next to an accepted copy is the backstop at
    work, logged, never a failure. A second accepted copy is a venue order of its own
    (:attr:`Verdict.accepted`): the report reads every one (:func:`read_fill`)."""
    if len(answers) == 1:
        return Verdict(answers[0], [])

    def key(a: Answer) -> tuple[int, float]:
        rank = _PRIORITY.index(a.outcome)
        if a.outcome is Outcome.NOT_OPEN_YET:
            stamp = a.env.request_time_ms if a.env is not None else None
            return rank, -(stamp or 0)  # the latest refusal
        return rank, a.reply.first_byte_ns if a.reply is not None else a.attempt.number

    ordered = sorted(answers, key=key)
    chosen, others = ordered[0], ordered[1:]
    if chosen.outcome is Outcome.ACCEPTED:
        for other in others:
            _log_sibling(chosen, other)
    return Verdict(chosen, others)


def _log_sibling(chosen: Answer, other: Answer) -> None:
    """What a copy next to the accepted one got: the backstop at work (INFO), or accepted too
    (ERROR: the coin was free again when it arrived)."""
    what = "no answer" if other.env is None else (other.env.code or f"HTTP {other.env.http_status}")
    if other.outcome is Outcome.ACCEPTED:
        log.error(
            "copy %d of the volley: %s — ALSO ACCEPTED (copy %d was too): the whole balance was "
            "free again when it arrived — an earlier accepted copy ended unfilled (cancelled: "
            "ioc/fok at the floor, or a market order without liquidity) and released the coin, "
            "or the holdings grew (a deposit) — so at most one of them sold, or the holdings "
            "did; the report reads every accepted copy by its orderId",
            other.attempt.number,
            what,
            chosen.attempt.number,
        )
        return
    log.info(
        "copy %d of the volley: %s (%s)",
        other.attempt.number,
        what,
        "arrived before the open: not executed"
        if other.outcome is Outcome.NOT_OPEN_YET
        else "expected: the whole balance is sold by the accepted copy",
    )


@dataclass(frozen=True)
class CopiesFill:
    """What the accepted order(s) of a run sold (:func:`read_fill`)."""

    fill: OrderState | None  # to report: the copy that sold, the total, or the chosen copy
    sold: tuple[str, ...] = ()  # orderIds with a nonzero fill, when several orders were read
    read: tuple[str, ...] = ()  # orderIds read by orderId (two or more venue orders)


async def read_fill(reconciler: Reconciler, execution: Execution, within_s: float) -> CopiesFill:
    """The fill to report for ``execution``. One accepted copy and no copy that may be an order
    of its own: by clientOid, as always (the order feed, ``orderInfo``). Else every accepted
    copy (or the order a lookup found) is read by its own orderId until each is final or
    ``within_s`` passed, and the copy that sold is reported (:func:`combine_fills`). When every
    order read ended unfilled and another copy went unproven, the clientOid is read too, every
    row (that copy may have sold); still none sold → the holdings must say so too
    (:func:`_check_holdings`), else :class:`~sniper.errors.OrderUnconfirmed` — never "0 sold"
    while a copy may have sold."""
    ids = tuple(dict.fromkeys(c.order_id for c in execution.accepted if c.order_id))
    if len(ids) < 2 and not execution.unproven_copies:
        return CopiesFill(await reconciler.fill(within_s))
    deadline = time.monotonic() + within_s
    states = await reconciler.fills_of(ids or (execution.order_id,), within_s)
    if execution.unproven_copies and _released(states):
        by_oid = await reconciler.fill(max(0.5, deadline - time.monotonic()))
        _add(states, [by_oid] if by_oid is not None else [])
        if _released(states):  # every row: v2 orderInfo's data is an array (§5.9)
            _add(states, await reconciler.lookup_rows())
        open_ids = [i for i, st in states.items() if st is not None and not order_done(st)]
        if open_ids:
            left = max(0.5, deadline - time.monotonic())
            states.update(await reconciler.fills_of(open_ids, left))
        if _released(states):
            await _check_holdings(reconciler, states, execution.unproven_copies)
    return combine_fills(execution.order_id, states)


def _add(states: dict[str, OrderState | None], found: Sequence[OrderState]) -> None:
    """``found`` orders into ``states``: new ones, and fresher reads of those still open."""
    for state in found:
        known = states.get(state.order_id)
        if known is None or not order_done(known):
            states[state.order_id] = state


def _released(states: Mapping[str, OrderState | None]) -> bool:
    """Every order read is final and sold nothing."""
    return all(s is not None and order_done(s) and not _sold(s) for s in states.values())


async def _check_holdings(
    reconciler: Reconciler, states: Mapping[str, OrderState | None], unproven: int
) -> None:
    """No order read sold, but ``unproven`` copies may be venue orders the clientOid lookup
    did not show (the venue answers a shared clientOid with one order, §5.9): the holdings now
    against the snapshot taken at the fire. Fallen (or risen in between: a deposit can hide a
    sale), or not readable → :class:`~sniper.errors.OrderUnconfirmed`."""
    from sniper.errors import OrderUnconfirmed

    coin = reconciler.config.base_coin
    oid = reconciler.client_oid
    snap = reconciler.snapshot
    now: Decimal | None = None
    for _ in range(3):
        if snap is None:
            break
        now = await reconciler.read_holdings()
        if now is not None:
            break
        await asyncio.sleep(0.2)
    if snap is None or now is None:
        why = f"the {coin} balance could not be compared with the one read at the fire"
    elif (rose := reconciler.holdings.rose_since(snap)) > 0:
        why = (
            f"the {coin} balance rose by {format_decimal(rose)} since the fire (a deposit can "
            "hide a sale)"
        )
    elif now < snap.amount:
        why = (
            f"the {coin} balance fell by {format_decimal(snap.amount - now)} since the fire, "
            "and no order read by its orderId or clientOid sold"
        )
    else:
        return
    raise OrderUnconfirmed(
        f"every order read of clientOid {oid} ended unfilled, but {unproven} other cop"
        f"{'y' if unproven == 1 else 'ies'} of the volley got no answer that proves it was not "
        f"an order of its own, and {why}: a copy may have sold — check your orders before "
        "running again"
    )


def combine_fills(chosen: str, states: Mapping[str, OrderState | None]) -> CopiesFill:
    """The fill to report from the venue orders of one clientOid: the one that sold (nonzero
    base volume); none sold: the ``chosen`` one's; more than one sold (the whole-balance proof
    broken: the holdings grew during the volley): their TOTAL — never under-reported."""
    read = tuple(states)
    sold = [s for s in states.values() if s is not None and _sold(s)]
    if not sold:
        return CopiesFill(states.get(chosen), (), read)
    if len(sold) == 1:
        return CopiesFill(sold[0], (sold[0].order_id,), read)
    total = _total(sold)
    log.error(
        "the sale exceeded one copy: orders %s of clientOid %s all sold (%s in total) — the "
        "whole-balance proof assumed the holdings could not grow during the volley, and they "
        "did (a deposit or transfer credited between the last balance read and the copies' "
        "arrival); the report shows the total",
        ", ".join(s.order_id for s in sold),
        total.client_oid,
        total.base_volume,
    )
    return CopiesFill(total, tuple(s.order_id for s in sold), read)


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def _sold(state: OrderState) -> bool:
    return _amount(state.base_volume) > 0


def _total(sold: Sequence[OrderState]) -> OrderState:
    """Several venue orders as one: base and quote volumes summed, the average price weighted
    by base volume; "filled" only when each is."""
    base = sum((_amount(s.base_volume) for s in sold), Decimal(0))
    quote = sum((_amount(s.quote_volume) for s in sold), Decimal(0))
    weighted = sum((_amount(s.price_avg) * _amount(s.base_volume) for s in sold), Decimal(0))
    unfinished = [s.status for s in sold if s.status not in ("filled", "full_fill")]
    return OrderState(
        order_id=sold[0].order_id,
        client_oid=sold[0].client_oid,
        status=unfinished[0] if unfinished else "filled",
        size=sold[0].size,
        base_volume=format_decimal(base),
        quote_volume=format_decimal(quote),
        price_avg=format_decimal(weighted / base) if base > 0 else sold[0].price_avg,
    )


class Volleys:
    """The volleys of one order: the plan the scheduled channel fires with
    (:meth:`scheduled_lead_ms`, then :meth:`at_fire`) and the not-open retries' plans
    (:meth:`plan_retry`), each only under :func:`whole_balance_proof`."""

    def __init__(
        self,
        *,
        setting: int | None,
        explicit_lead_ms: float | None,
        clock: ServerClock,
        order: PreparedOrder,
        holdings: HoldingsTracker,
        free_slots: Callable[[], int],
    ) -> None:
        self.setting = setting
        self.explicit_lead_ms = explicit_lead_ms  # SCHEDULE_LEAD_MS as a number: no volley
        self.clock = clock
        self.order = order
        self.holdings = holdings
        self.free_slots = free_slots  # place-order slots free in the sender's 1 s window
        self.scheduled: VolleyPlan | None = None  # the plan the schedule fires with
        self.said: set[str] = set()

    @classmethod
    def of(
        cls,
        config: Config,
        clock: ServerClock,
        order: PreparedOrder,
        holdings: HoldingsTracker,
        sender: OrderSender,
    ) -> Volleys:
        """The volleys of ``order`` under ``config`` (RACE_COPIES, SCHEDULE_LEAD_MS). The first
        one on ``clock`` (the run's order, not a later chunk's) gives the scheduled channel its
        lead (:meth:`ServerClock.schedule_lead_ms`)."""
        volleys = cls(
            setting=config.race_copies,
            explicit_lead_ms=config.schedule_lead_ms,
            clock=clock,
            order=order,
            holdings=holdings,
            free_slots=sender.free_slots,
        )
        if clock.scheduled_lead is None:
            clock.scheduled_lead = volleys.scheduled_lead_ms
        return volleys

    def proof(self) -> Proof:
        return whole_balance_proof(
            setting=self.setting,
            size=self.order.size,
            total=self.order.total,
            reads=self.holdings.reads(),
            now_ns=time.monotonic_ns(),
            moved=self.holdings.moved,
        )

    def plan(self, budget: int) -> VolleyPlan:
        """A volley when proven safe, else one copy (the reason logged once)."""
        single = plan_volley(self.clock.net(), self.clock.offset_ms, setting=1, budget=1)
        if self.setting == 1:
            return single
        plan = plan_volley(
            self.clock.net(),
            self.clock.offset_ms,
            setting=self.setting,
            budget=min(budget, self.free_slots()) - RESERVE,
        )
        if plan.copies < 2:
            return single
        proof = self.proof()
        if not proof.ok:
            self._say(f"one copy in flight: {proof.why}")
            return single
        self._say(f"aimed fire: {plan.why} — {proof.why}")
        return plan

    def scheduled_lead_ms(self) -> float:
        """The scheduled channel's lead (ms before the open): SCHEDULE_LEAD_MS when a number,
        else the first copy's lead of :meth:`plan` (remembered for :meth:`at_fire`)."""
        if self.explicit_lead_ms is not None:
            self.scheduled = None
            return self.explicit_lead_ms
        self.scheduled = self.plan(PLACE_ORDER_LIMIT)
        return self.scheduled.lead_ms

    def at_fire(self, channel: str) -> VolleyPlan | None:
        """Synchronous, in the trigger's callback, before the holdings snapshot: the plan of
        the copies to follow the trigger's (None: that copy alone). Only the scheduled channel
        aimed with a volley's lead, and only if the proof still holds now."""
        plan = self.scheduled if channel == CHANNEL_SCHEDULED else None
        if plan is None or plan.copies < 2:
            return None
        proof = self.proof()
        if not proof.ok:
            log.warning("no further copies: %s", proof.why)
            return None
        return plan

    def _say(self, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            log.info("%s", text)
