"""The exactly-once executor: takes the fired order to a known, accepted state.

One order, one clientOid for the whole run. The trigger (hot path) writes the first copy and
claims its reply; the runner hands both to :meth:`Executor.on_fired` (one way: the executor
never reaches back into the trigger or the lanes for them). From then on this executor owns
the order. This module is the attempt state machine only: the sources that reconcile an
unproven answer live in ``reconcile.py``, the channels' sightings of the open in
``sightings.py``.

* a reply ``00000`` → accepted;
* refused before execution (HTTP 429, 25004 rate limit, 25209 thin book, a lane that failed
  before any byte was written) → re-sign and resend the SAME clientOid, backing off, within
  ``order_retry_window_s`` and the 10 orders/s limit;
* the timestamp refused (40008/40004: a clock step or skew) → not executed: re-sync the
  clock, re-sign, resend;
* 43115 "opening soon" → not executed: the next copy is aimed to ARRIVE at the open when it is
  still ahead (from the ``requestTime`` the refusal reported and the measured one-way latency,
  :func:`~sniper.live.clock.retry_arrival_ms`), else ~100 ms after the refusal (1 s after a few
  seconds); never more than 10 arrivals in any second; immediately once another channel has
  seen the pair open. One copy in flight at a time — except a volley (``volley.py``): the
  aimed scheduled fire, and a retry aimed at the announced open, go as a few copies a fraction
  of a ms apart when the order sells the whole balance (a second copy can only meet 43012 /
  25202 or the duplicate clientOid). The volley is handled by one answer
  (:func:`~sniper.live.volley.verdict`): the first accepted copy wins; else any copy without a
  proof (no answer, ambiguous) is reconciled; every copy refused as final is settled
  (:meth:`Reconciler.settle`) before it is called a rejection. Every accepted copy is kept
  (``Execution.accepted``): one that ended cancelled unfilled frees the coin for a later copy,
  each is its own venue order, and the report reads them all by orderId
  (:meth:`Executor.report_fill`);
* unknown outcome (bytes written, then ``order_timeout_s`` or a disconnect) → never resent
  blindly: look it up by clientOid until known (see *The resend rule* below);
* 43118 / 25212 duplicate → an earlier copy landed: look it up;
* ambiguous (5xx, 40015/40010/40200/43059/45001/40725, 25000/25001/25003, a body that is no
  envelope — HTML, truncated, empty) → the order may exist: handled exactly like a copy that
  got no answer (reconciled: looked up, holdings read; never resent blindly);
* a code no table knows → no verdict either way: the copy may be the one that sold (in a
  volley, while its siblings met 43012) and orderInfo may lag, so a lookup that does not find
  it proves nothing. It is settled like an ambiguous answer (:meth:`Reconciler.settle`): found
  → accepted; proven not executed → sent again within ``order_retry_window_s``, saying so in
  the log (``retries.Pacing``); past the window, or never proven →
  :class:`~sniper.errors.OrderUnconfirmed` (exit 4), never a rejection;
* a code known to be final (43012/25202 balance, 45110/25611 minimum, 40808/25610 precision,
  400xx/25620 auth, 40034/25100 symbol, 25013 not API-tradable) ends the run:
  :class:`~sniper.errors.OrderRejected` (exit 3) — unless an earlier copy went unanswered (see
  *After an unanswered copy* below).

After an unanswered copy
------------------------
Once any copy was written and never answered, no later answer is a verdict on the order: that
copy may have executed. A resend of a sell-all that filled meets "Insufficient balance" (43012 /
25202) on a venue that checks the balance before the clientOid, and a venue that frees the
clientOid of a FILLED order (§5.6: idempotency "only valid when orders are unfilled") checks it
as a new order. So after an unanswered copy, a final answer (or running out of retries) makes the
executor look the order up by clientOid until the unknown-outcome deadline: found → accepted
(via lookup); still not found → :class:`~sniper.errors.OrderUnconfirmed` (exit 4), never
:class:`~sniper.errors.OrderRejected`. A duplicate answer is looked up the same way, and a
lookup refused for authentication (40012, ...) is an :class:`~sniper.errors.OrderUnconfirmed` too.

The resend rule
---------------
Bitget's clientOid idempotency is "only valid when orders are unfilled": a resend of a market
sell that already FILLED, but that orderInfo does not show yet, would sell a second time. So an
unproven copy is reconciled (:meth:`~sniper.live.reconcile.Reconciler.settle`) and resent only
once it is proven not executed: not found by clientOid for ``lookup_window_s`` (at least
``reconcile.MIN_LOOKUPS`` answers); a fresh read of the base coin's holdings (available +
frozen + locked) down by less than half the order size since the snapshot taken at the fire,
with no read in between showing them risen (a deposit can hide a sale); and the private order
feed, when there is one, up the whole time and silent. Anything short of that proof is no
proof: the sources keep being asked until the deadline (``max(order_retry_window_s,
2 * lookup_window_s)``), then :class:`~sniper.errors.OrderUnconfirmed` (exit 4) — never a
resend, never "rejected". The whole rule is the ``reconcile.py`` docstring.

After the fire the order is frozen (size and clientOid), so every resend is byte-for-byte the
same order, re-signed.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sniper.config import Config
from sniper.errors import ExchangeUnavailable, OrderRejected, OrderUnconfirmed
from sniper.live.clock import (
    GC_AFTER_S,
    GC_HOLD_S,
    PLACE_ORDER_LIMIT,
    GcHold,
    ServerClock,
    retry_arrival_ms,
    sleep_until,
)
from sniper.live.lanes import LaneClosed, OrderLanes, Reply
from sniper.live.order import PreparedOrder
from sniper.live.outcomes import Outcome
from sniper.live.pacing import RateWindow
from sniper.live.reconcile import Reconciler
from sniper.live.rest import RestClient
from sniper.live.retries import Pacing
from sniper.live.sightings import Sightings
from sniper.live.venue import Envelope, OrderState, Venue, parse_envelope
from sniper.live.volley import (
    AcceptedCopy,
    CopiesFill,
    CopyDropped,
    Verdict,
    VolleyPlan,
    Volleys,
    fly,
    read_fill,
)

__all__ = ["Answer", "Attempt", "Execution", "Executor", "Fired", "NotOpenPacer", "OrderSender"]

log = logging.getLogger("sniper.executor")

# 43115 pacing: ~10/s (the place-order limit) for this long after the first one, then 1/s.
NOT_OPEN_FAST_S = 5.0
NOT_OPEN_FAST_DELAY_S = 0.1
NOT_OPEN_SLOW_DELAY_S = 1.0
AIM_RECHECK_S = 0.5  # s: a long aimed wait re-reads the open time and the estimate this often


@dataclass
class Fired:
    """What the hot path reported when it fired (all ns are monotonic)."""

    channel: str
    lane: int  # lane written on, -1 = nothing written
    detect_ns: int
    written_ns: int


@dataclass
class Attempt:
    """One copy of the order."""

    number: int
    written_ns: int  # ns, monotonic (0: not written yet)
    future: asyncio.Future[Reply] | None  # the claimed reply; None = nothing to wait for
    written: bool = True  # False: nothing reached the wire, the next step is to send it
    lane: int = -1  # the order connection it was written on

    @classmethod
    def unsent(cls, number: int) -> Attempt:
        """The copy to send next (``number`` = copies written so far)."""
        return cls(number, 0, None, written=False)


@dataclass
class Answer:
    """What one written copy got: ``outcome`` None = no answer (timeout, connection lost)."""

    attempt: Attempt
    outcome: Outcome | None
    env: Envelope | None = None
    reply: Reply | None = None


@dataclass
class Execution:
    """The final, known state of the order."""

    order_id: str
    client_oid: str
    accepted_via: str  # "reply" | "lookup" | "feed"
    ack_ns: int  # ns, monotonic: first byte of the accepting reply (or the lookup that found it)
    written_ns: int  # ns, monotonic: when the accepted copy was written (0 if unknown)
    attempts: int
    codes: list[str] = field(default_factory=list)  # every non-success answer, in order
    # copies in flight (sniper.live.volley): every copy the venue accepted, each its own venue
    # order under the same clientOid, the chosen one (``order_id``) first; and how many copies
    # of that volley got an answer that proves nothing (no answer, ambiguous, an unknown code)
    accepted: tuple[AcceptedCopy, ...] = ()
    unproven_copies: int = 0

    @property
    def accepted_ids(self) -> tuple[str, ...]:
        """The orderIds of the accepted copies, the chosen one first (empty: one copy)."""
        return tuple(c.order_id for c in self.accepted)


class NotOpenPacer:
    """The 43115 / 25101 "not open yet" retries of one run (``Executor.execute``): when the next
    copy is sent (aimed to arrive at :func:`~sniper.live.clock.retry_arrival_ms`, or at once once
    a trusted channel has seen the open) and the wait until then. ``open_time_ms`` is the
    announced open (server clock, ms) as last read; ``sightings`` the run's channels."""

    def __init__(
        self,
        clock: ServerClock,
        open_time_ms: Callable[[], int | None],
        sightings: Sightings,
        plan: Callable[[int], VolleyPlan] | None = None,
    ) -> None:
        self.clock = clock
        self.open_time_ms = open_time_ms
        self.sightings = sightings
        self.open_seen = sightings.open_seen
        self.first_not_open: float | None = None  # s, monotonic: the first 43115
        self.not_open_count = 0
        self.arrivals: list[int] = []  # exchange ms: requestTime of each copy, in order
        # a retry aimed at the announced open may go as a volley (sniper.live.volley): the
        # planner, given the arrivals the 10/s window has room for; the plan of the next copy
        self._planner = plan
        self.plan: VolleyPlan | None = None

    def note(self, env: Envelope | None) -> None:
        """Another copy's arrival (a volley's sibling): it counts in the 10/s window too."""
        if env is not None and env.request_time_ms is not None:
            bisect.insort(self.arrivals, env.request_time_ms)

    async def retry(self, env: Envelope, attempt: Attempt) -> None:
        """43115 / 25101 "not open yet" (not executed, so a resend is safe): the next copy is
        sent so that it ARRIVES at :func:`~sniper.live.clock.retry_arrival_ms` — the open when
        it is still ahead of the refusal's ``requestTime``, else ~100 ms after it (1 s after
        ``NOT_OPEN_FAST_S``), never an 11th arrival within a second — or at once when a trusted
        channel has seen the open. Without a ``requestTime``: ~100 ms / 1 s, as a fixed wait."""
        now = time.monotonic()
        self.first_not_open = self.first_not_open or now
        channel = self.sightings.contradicted(attempt.written_ns)
        if channel is not None:
            # the exchange contradicts that channel (e.g. a gray pair that pushes tickers):
            # it is no longer trusted, or its every hit would make us retry at once
            log.warning("%s said open but the exchange says not yet: pacing retries", channel)
        slow = now - self.first_not_open >= NOT_OPEN_FAST_S
        refused_at = env.request_time_ms
        self.note(env)
        self.plan = None
        self.not_open_count += 1
        if self.open_seen.is_set():
            how = " now (open seen)"
        elif refused_at is None:
            delay = NOT_OPEN_SLOW_DELAY_S if slow else NOT_OPEN_FAST_DELAY_S
            how = f" every {delay * 1000:.0f} ms"
        else:
            how = f" aimed to arrive at {self._retry_arrival(refused_at, slow):.0f}"
        # the first one, then every 50th: a long early wait must not flood the log
        log.log(
            logging.INFO
            if self.not_open_count % 50 == 1 or self.open_seen.is_set()
            else logging.DEBUG,
            "pair not open yet (%s, %d so far): retrying%s",
            env.code,
            self.not_open_count,
            how,
        )
        if self.open_seen.is_set():
            return
        if refused_at is None:
            await self.sightings.wait_open(delay)
            return
        await self._wait_aimed(refused_at, slow)

    def _retry_arrival(self, refused_at: int, slow: bool) -> float:
        net = self.clock.net()
        return retry_arrival_ms(
            refused_at_ms=refused_at,
            open_ms=self.open_time_ms(),
            arrivals=self.arrivals,
            jitter_ms=net.jitter_ms if net is not None else 0.0,
            slow=slow,
        )

    def _plan(self, target: float) -> VolleyPlan | None:
        """A volley only when aimed at the announced open (a known instant), with room left
        in the 10/s window around it; else None (one copy)."""
        if self._planner is None or target != self.open_time_ms():
            return None
        guard = 2.0 * (net.jitter_ms if (net := self.clock.net()) is not None else 0.0) + 1.0
        recent = sum(1 for a in self.arrivals if a > target - 1000.0 - guard)
        return self._planner(PLACE_ORDER_LIMIT - recent)

    async def _wait_aimed(self, refused_at: int, slow: bool) -> None:
        """Until the instant the next copy must leave to arrive as aimed (re-aimed every
        ``AIM_RECHECK_S``: the open time and the estimate may change), or a channel sees the
        open. The garbage collector is paused from ``GC_HOLD_S`` before that instant to
        ``GC_AFTER_S`` after it (:class:`~sniper.live.clock.GcHold`), as for the scheduled
        fire: a full collection there would send the copy that many ms late."""
        clock = self.clock
        held = False
        while not self.open_seen.is_set():
            target = self._retry_arrival(refused_at, slow)
            self.plan = self._plan(target)
            send_at = target - (self.plan.lead_ms if self.plan else clock.aim_lead_ms())
            remaining = clock.seconds_until(send_at)
            if remaining <= GC_HOLD_S and not held:
                GcHold.hold_for(max(0.0, remaining) + GC_AFTER_S)
                held = True
            if remaining <= 0.02:
                await sleep_until(clock, send_at, self.open_seen.is_set)
                return
            await self.sightings.wait_open(min(remaining - 0.015, AIM_RECHECK_S))


class OrderSender:
    """Puts copies of the one order on the order connections and classifies their answers;
    counts the copies written and the codes answered. Decides nothing."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        lanes: OrderLanes,
        order: PreparedOrder,
    ) -> None:
        self.config = config
        self.venue = venue
        self.rest = rest  # its clock signs the copies
        self.lanes = lanes  # resends only: the first copy's reply comes from the trigger
        self.order = order
        self._rate = RateWindow(10, 1.0)  # the place-order limit
        self.attempts = 0  # copies written
        self.codes: list[str] = []  # every non-success answer, in order

    def first(self, lane: int, written_ns: int, reply: asyncio.Future[Reply] | None) -> Attempt:
        """The copy the trigger wrote (``lane`` -1: none) with the reply it claimed."""
        if lane < 0:
            return Attempt.unsent(0)
        self._rate.try_take()
        self.attempts = 1
        return Attempt(1, written_ns, reply, lane=lane)

    def free_slots(self) -> int:
        """Place-order slots free in the 1 s window now."""
        return self._rate.available()

    async def send(
        self,
        previous: int,
        lane: int | None = None,
        *,
        wanted: Callable[[], bool] | None = None,
    ) -> Attempt:
        """Re-sign and write one more copy on a lane (``lane`` if up, else an idle one if
        possible). A lane that fails before the write is retried here; the caller sees only
        written attempts. ``wanted`` (a volley's further copy): asked right before the write,
        after any wait for the rate window or a lane — False → :class:`CopyDropped`, nothing
        written."""
        while True:
            wait = self._rate.wait_time()
            if wait > 0:
                await asyncio.sleep(wait)
            if wanted is not None and not wanted():
                raise CopyDropped
            if self.order.template is None:
                raise OrderRejected(
                    None,
                    None,
                    "no order could be built",
                    hint="nothing to sell: COIN_AMOUNT=all and the available balance is 0",
                )
            try:
                chosen = self.lanes.lanes[lane] if lane is not None else None
                if chosen is None or not chosen.up:
                    chosen = await self.lanes.wait_lane(max(1.0, self.config.order_timeout_s))
                    if wanted is not None and not wanted():
                        raise CopyDropped
                request = self.order.resign()
                assert request is not None
                future = chosen.send(request, "order")
            except LaneClosed as exc:
                log.warning("order connection unavailable (%s): retrying", exc)
                await asyncio.sleep(0.05)
                continue
            written_ns = time.monotonic_ns()
            self._rate.try_take()
            self.attempts += 1
            return Attempt(previous + 1, written_ns, future, lane=chosen.index)

    async def resync_clock(self) -> None:
        """Re-sync the exchange clock the copies are signed on (a local clock step, or skew past
        the 30 s window)."""
        try:
            moved = await self.rest.clock.sync(self.rest.server_time_ms, samples=3)
        except (ExchangeUnavailable, ValueError) as exc:
            log.warning("clock re-sync failed (%s): resending signed with the old offset", exc)
            await asyncio.sleep(NOT_OPEN_FAST_DELAY_S)
            return
        log.info("clock: re-synced, offset moved %+.1f ms", moved)

    async def answer(self, attempt: Attempt) -> Answer:
        """The answer to a written copy, classified."""
        if attempt.future is None:
            log.warning("the order was written but its reply could not be claimed")
            return Answer(attempt, None)
        try:
            async with asyncio.timeout(self.config.order_timeout_s):
                reply = await asyncio.shield(attempt.future)
        except TimeoutError:
            log.warning("no answer to the order within %.2fs", self.config.order_timeout_s)
            self.lanes.abort_waiting(attempt.future)  # its FIFO is stuck behind the reply
            return Answer(attempt, None)
        except LaneClosed as exc:
            if not exc.written:
                return Answer(attempt, Outcome.RETRY, Envelope(0, None, str(exc), None))
            log.warning("order connection lost after the order was written (%s)", exc)
            return Answer(attempt, None)
        env = parse_envelope(reply.status, reply.body)
        if env.request_time_ms is not None:  # when this copy arrived: a network sample
            clock: ServerClock = self.rest.clock
            age_ms = (time.monotonic_ns() - attempt.written_ns) / 1e6
            clock.observe_arrival(clock.wall_ms() - age_ms, env.request_time_ms)
        outcome = self.venue.classify(env)
        if outcome is not Outcome.ACCEPTED:
            self.codes.append(env.code or f"HTTP {env.http_status}")
        return Answer(attempt, outcome, env, reply)


class Executor:
    """The attempt state machine of the module docstring."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        lanes: OrderLanes,
        order: PreparedOrder,
        reconciler: Reconciler | None = None,
        open_time_ms: Callable[[], int | None] | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self.order = order
        self.clock: ServerClock = rest.clock  # the exchange clock the not-open retries aim on
        # the announced open (server clock, ms) as last read; None: unknown
        self.open_time_ms: Callable[[], int | None] = open_time_ms or (lambda: None)
        self.sender = OrderSender(config=config, venue=venue, rest=rest, lanes=lanes, order=order)
        # the order's fate after an answer that proved nothing: feed, lookups, holdings
        self.reconciler = reconciler or Reconciler(
            config=config, venue=venue, rest=rest, client_oid=lambda: order.client_oid
        )
        self.sightings = Sightings()
        self.open_seen = self.sightings.open_seen  # a channel saw the pair trading
        self.fired_size: str | None = None  # the size of the fired order (frozen from then on)
        self.fired: Fired | None = None
        self.first_attempt: Attempt | None = None
        self.fired_event = asyncio.Event()
        # copies in flight, only when a second one provably cannot sell (sniper.live.volley)
        self.volleys = Volleys.of(config, self.clock, order, self.reconciler.holdings, self.sender)
        self.fired_plan: VolleyPlan | None = None  # the copies following the trigger's
        self.flown: Verdict | None = None  # the answers of the copies last flown (volley or one)

    @property
    def unanswered(self) -> bool:
        """A copy was written and never proven: from then on no answer is final (see above)."""
        return self.reconciler.unanswered

    @unanswered.setter
    def unanswered(self, value: bool) -> None:
        self.reconciler.unanswered = value

    @property
    def attempts(self) -> int:
        """Copies of the order written so far."""
        return self.sender.attempts

    @property
    def codes(self) -> list[str]:
        """Every non-success answer, in order."""
        return self.sender.codes

    @property
    def open_seen_by(self) -> str | None:
        """The channel whose sighting counts as the open (None: none yet)."""
        return self.sightings.open_seen_by

    @property
    def seen(self) -> list[tuple[str, int]]:
        """Later channel hits: (channel, detect_ns)."""
        return self.sightings.seen

    # --- called synchronously by the trigger's callback, right after the write ------------------
    def on_fired(
        self,
        channel: str,
        lane: int,
        detect_ns: int,
        written_ns: int,
        reply: asyncio.Future[Reply] | None,
    ) -> None:
        """The trigger fired: ``lane`` -1 = nothing written; ``reply`` = the reply the trigger
        claimed on that lane (None when written but not claimed: then the copy is unanswered)."""
        try:
            self.fired = Fired(channel, lane, detect_ns, written_ns)
            # (before the snapshot below: the proof reads the holdings the run kept)
            self.fired_plan = self.volleys.at_fire(channel) if lane >= 0 else None
            # the holdings before the order: a baseline of the proof that it did not execute
            self.reconciler.on_fired(written_ns)
            self.fired_size = self.order.size
            self.sightings.fired(channel, detect_ns)
            self.first_attempt = self.sender.first(lane, written_ns, reply)
        finally:
            self.fired_event.set()

    def on_seen(self, channel: str, detect_ns: int) -> None:
        self.sightings.later(channel, detect_ns)

    # --- the state machine ----------------------------------------------------------------------
    async def execute(self) -> Execution:
        """Wait for the trigger, then drive the order to a known state: each answer goes to
        the handler of its outcome, which returns the execution, raises the final error, or
        returns None after its wait — then the same clientOid is sent again."""
        await self.fired_event.wait()
        assert self.first_attempt is not None
        copies, plan = [self.first_attempt], self.fired_plan
        pacing = Pacing(
            config=self.config,
            venue=self.venue,
            reconciler=self.reconciler,
            sender=self.sender,
        )
        # the open time is read at each retry (the runner sets ``open_time_ms`` after building)
        pacing.not_open = pacer = NotOpenPacer(
            self.clock, lambda: self.open_time_ms(), self.sightings, self.volleys.plan
        )
        while True:
            if not copies[0].written:
                copies = [await self.sender.send(copies[0].number)]
                plan = plan if plan is None or self.volleys.proof().ok else None
            flown = self.flown = await fly(self.sender, copies, plan)
            answer = flown.chosen
            for other in flown.others if answer.outcome is Outcome.NOT_OPEN_YET else ():
                pacer.note(other.env)
            done = await self._handle(flown, pacing)
            if done is not None:
                return done
            plan = pacer.plan if answer.outcome is Outcome.NOT_OPEN_YET else None
            copies = [Attempt.unsent(max(c.number for c in copies))]

    async def _handle(self, flown: Verdict, pacing: Pacing) -> Execution | None:
        answer, volley = flown.chosen, bool(flown.others)
        outcome, env = answer.outcome, answer.env
        if outcome is Outcome.ACCEPTED:
            return await self._accepted(flown)
        if outcome in (Outcome.DUPLICATE, Outcome.AMBIGUOUS, None) or (
            outcome is Outcome.UNKNOWN and volley
        ):
            # in a volley a code no table knows outranks the siblings' final refusals (43012:
            # maybe the backstop after it executed): it may be the copy that sold, and a
            # resend after one lookup would meet 43012 — settled like an ambiguous answer
            return await self._unproven(answer)
        assert env is not None
        if outcome is Outcome.REJECTED or (outcome is Outcome.UNKNOWN and self.unanswered):
            return await self._final(env, volley=volley)
        if outcome is Outcome.UNKNOWN:  # no verdict: settled, sent again only once proven
            return await self._unknown(env, pacing)
        if outcome is Outcome.NOT_OPEN_YET:
            assert pacing.not_open is not None
            await pacing.not_open.retry(env, answer.attempt)
        elif pacing.expired() and self.unanswered:  # RETRY / RESYNC past the window
            return await self._confirm_after_unanswered(env, "still answers")
        else:  # RETRY / RESYNC: refused before execution, sent again after the wait
            await pacing.refused(env, outcome)
        return None

    async def _accepted(self, flown: Verdict) -> Execution:
        """``00000``: the order is on the book (with a volley: every accepted copy is kept,
        each its own venue order — the report reads them all, ``volley.read_fill``)."""
        answer = flown.chosen
        assert answer.env is not None and answer.reply is not None
        copies = flown.copies(self.venue.parse_order_ack)
        order_id = copies[0].order_id
        if not order_id:  # an acceptance without an id: ask the exchange
            deadline = time.monotonic() + self._unknown_window_s()
            order_id = (await self.reconciler.find(deadline)).order_id
            copies = (AcceptedCopy(order_id, copies[0].ack_ns, copies[0].written_ns), *copies[1:])
        return Execution(
            order_id,
            self.order.client_oid,
            "reply",
            answer.reply.first_byte_ns,
            answer.attempt.written_ns,
            self.attempts,
            self.codes,
            copies if len(copies) > 1 or flown.unproven else (),
            flown.unproven,
        )

    async def _unproven(self, answer: Answer) -> Execution | None:
        """No answer (None), AMBIGUOUS (25001 timed out, a 200 that is no envelope: the order
        may exist) or DUPLICATE (43118: an earlier copy landed): found, or proven not executed
        (None: resend), or :class:`OrderUnconfirmed`."""
        outcome, env = answer.outcome, answer.env
        if outcome is not Outcome.DUPLICATE:
            self.unanswered = True
        if env is None:
            why = "no answer"
        elif outcome is Outcome.DUPLICATE:
            why = f"duplicate clientOid ({env.code})"
        else:
            why = self.venue.explain(env)
        log.warning(
            "order outcome unknown (%s): reconciling by clientOid%s",
            why,
            " (an earlier unanswered copy may have executed)"
            if env is not None and self.unanswered
            else "",
        )
        if outcome is Outcome.DUPLICATE:
            deadline = time.monotonic() + self._unknown_window_s()
            return self._found(await self.reconciler.find(deadline), "lookup")
        found, proof = await self._settle()
        if found is None:
            log.warning("proven not executed (%s): resending (same clientOid)", proof)
        return found

    async def _unknown(self, env: Envelope, pacing: Pacing) -> Execution | None:
        """A code no table knows, on a single copy: no verdict either way — the copy may have
        sold (and orderInfo may lag), so a lookup that does not find it proves nothing. It is
        settled like an ambiguous answer (:meth:`Reconciler.settle`): found → accepted; proven
        not executed → None (sent again, within ``ORDER_RETRY_WINDOW_S``,
        :meth:`Pacing.unknown_proven`); neither by the deadline → :class:`OrderUnconfirmed`."""
        log.warning(
            "the exchange answered %s — a code sniper does not know, so no verdict: settling "
            "the order by clientOid before anything is sent again",
            self.venue.explain(env),
        )
        found, proof = await self._settle()
        if found is None:
            pacing.unknown_proven(env, proof)
        return found

    async def _final(self, env: Envelope, *, volley: bool = False) -> Execution:
        """A final code (or, after an unanswered copy, a code no table knows). After a volley
        (every copy refused, e.g. 43012: maybe the backstop refusing copies after one that
        executed) the order is settled first: found → accepted; proven not executed
        (:meth:`Reconciler.settle`) → the rejection; unproven → exit 4."""
        if self.unanswered:
            return await self._confirm_after_unanswered(env, "answered")
        if volley:
            why = self.venue.explain(env)
            log.warning("every copy in flight was refused (%s): settling the order first", why)
            found, _ = await self._settle()
            if found is not None:
                return found
        raise OrderRejected(
            env.http_status, env.code, env.msg, hint=f"order rejected: {self.venue.explain(env)}"
        )

    async def _settle(self) -> tuple[Execution | None, str]:
        """:meth:`Reconciler.settle` until the unknown-outcome deadline: (the order found, "")
        or (None, the proof it did not execute, in words); neither → :class:`OrderUnconfirmed`."""
        deadline = time.monotonic() + self._unknown_window_s()
        settled = await self.reconciler.settle(size=self._size(), deadline=deadline)
        if settled.state is not None:
            return self._found(settled.state, settled.via), ""
        return None, settled.proof

    async def _confirm_after_unanswered(self, env: Envelope, verb: str) -> Execution:
        """A final-looking answer after an unanswered copy: the order is found by clientOid
        (accepted via lookup), or :class:`OrderUnconfirmed` at the unknown-outcome deadline."""
        what = self.venue.explain(env)
        log.warning(
            "the exchange %s %s, but an earlier copy of this order went unanswered and may have "
            "executed: looking it up by clientOid before calling it rejected",
            verb,
            what,
        )
        deadline = time.monotonic() + self._unknown_window_s()
        try:
            state = await self.reconciler.find(deadline)
        except OrderUnconfirmed:
            raise OrderUnconfirmed(
                f"an earlier copy of the order went unanswered and may have executed; a resend "
                f"got {what}; clientOid {self.order.client_oid} could not be confirmed — check "
                "your orders before running again"
            ) from None
        return self._found(state, "lookup")

    def _size(self) -> Decimal:
        try:
            return Decimal(self.fired_size or self.order.size or "0")
        except InvalidOperation:
            return Decimal(0)

    def _found(self, state: OrderState, via: str) -> Execution:
        """The order as found by a lookup (or a push). After a volley whose copies got no
        acceptance, the copy found is one venue order of the clientOid, not necessarily the one
        that sold: every other copy that may be an order of its own is carried
        (``unproven_copies``), so the report reads more than the clientOid's one answer
        (:func:`~sniper.live.volley.read_fill`)."""
        log.info("order found by %s: orderId %s (%s)", via, state.order_id, state.status)
        others = max(0, self.flown.maybe_orders - 1) if self.flown is not None else 0
        if others:
            log.warning(
                "order found by %s after a volley: %d other cop%s may be venue orders of the "
                "same clientOid (one accepted and cancelled unfilled frees the coin for the "
                "next): the report reads them all",
                via,
                others,
                "y" if others == 1 else "ies",
            )
        return Execution(
            state.order_id,
            self.order.client_oid,
            via,
            time.monotonic_ns(),
            0,
            self.attempts,
            self.codes,
            (),
            others,
        )

    def _unknown_window_s(self) -> float:
        """How long an unknown outcome may stay unknown before the run stops (s)."""
        return max(self.config.order_retry_window_s, 2 * self.config.lookup_window_s)

    # --- after the state machine ----------------------------------------------------------------
    async def fill(self, within_s: float) -> OrderState | None:
        """The order's state once it is done (filled/cancelled) or ``within_s`` passed."""
        return await self.reconciler.fill(within_s)

    async def report_fill(self, execution: Execution, within_s: float) -> CopiesFill:
        """What ``execution`` sold: with several copies accepted (or unproven) in its volley,
        every one read by its own orderId (:func:`~sniper.live.volley.read_fill`)."""
        return await read_fill(self.reconciler, execution, within_s)
