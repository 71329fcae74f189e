"""The exactly-once executor: takes the fired order to a known, accepted state.

One order, one clientOid for the whole run. The trigger (hot path) writes the first copy; from
then on this executor owns the order:

* a reply ``00000`` → accepted;
* refused before execution (HTTP 429, 25004 rate limit, 25209 thin book, a lane that failed
  before any byte was written) → re-sign and resend the SAME clientOid, backing off, within
  ``order_retry_window_s`` and the 10 orders/s limit;
* the timestamp refused (40008/40004: a clock step or skew) → not executed: re-sync the
  clock, re-sign, resend;
* 43115 "opening soon" → retry ~every 100 ms (slower after a few seconds), and immediately once
  another channel has seen the pair open;
* unknown outcome (bytes written, then ``order_timeout_s`` or a disconnect) → never resent
  blindly: look it up by clientOid until known (see *The resend rule* below);
* 43118 / 25212 duplicate → an earlier copy landed: look it up;
* ambiguous (5xx, 40015/40010/40200/43059/45001/40725, 25000/25001/25003, a body that is no
  envelope — HTML, truncated, empty) → the order may exist: handled exactly like a copy that
  got no answer (reconciled: looked up, holdings read; never resent blindly);
* a code no table knows → no verdict: the order is looked up by clientOid (found → accepted);
  not found → tried again, paced (~100 ms, slowing to 1 s), within ``order_retry_window_s``,
  saying so in the log; still unknown at the end of the window →
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
sell that already FILLED, but that orderInfo does not show yet, would sell a second time. So
after an unanswered order the executor looks it up every 100 ms, and only when it was
consistently not found for ``lookup_window_s`` (default 5 s, at least 3 answers) does it
consider a resend, and then only if the coin balance proves the order did not execute:

1. it reads the base coin's holdings (available + frozen + locked, whatever the venue reports)
   and compares them with the snapshot taken before the order fired (the runner's last
   background balance read, captured in :meth:`Executor.on_fired`);
2. holdings did not drop (by less than half the order size) → resend the same clientOid;
3. holdings dropped by half the order size or more → the order very probably executed: never
   resend; keep looking it up until the deadline (``max(order_retry_window_s,
   2 * lookup_window_s)`` from the first lookup), then stop with
   :class:`~sniper.errors.OrderUnconfirmed` (exit 4) — "the order probably executed (balance
   fell by X) but clientOid Y could not be confirmed — check your orders";
4. the balance cannot be read (or there is no snapshot) → do not resend; keep looking up,
   re-reading the balance about once a second (a later read may still allow step 2); at the
   deadline, :class:`~sniper.errors.OrderUnconfirmed` as well.

After the fire the order is frozen (size and clientOid), so every resend is byte-for-byte the
same order, re-signed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sniper.config import Config
from sniper.errors import ExchangeUnavailable, OrderRejected, OrderUnconfirmed
from sniper.live.fastpath import CHANNEL_SCHEDULED
from sniper.live.lanes import LaneClosed, OrderLane, OrderLanes, Reply
from sniper.live.order import PreparedOrder
from sniper.live.outcomes import Outcome
from sniper.live.pacing import Backoff, RateWindow
from sniper.live.reconcile import Reconciler
from sniper.live.rest import RestClient
from sniper.live.venue import Envelope, OrderState, Venue, parse_envelope

log = logging.getLogger("sniper.executor")

# 43115 pacing: ~10/s (the place-order limit) for this long after the first one, then 1/s.
NOT_OPEN_FAST_S = 5.0
NOT_OPEN_FAST_DELAY_S = 0.1
NOT_OPEN_SLOW_DELAY_S = 1.0
LOOKUP_INTERVAL_S = 0.1  # orderInfo is 20/s/UID
MIN_LOOKUPS = 3  # "consistently not found": at least this many answers over lookup_window_s
BALANCE_RECHECK_S = 1.0  # s between balance reads while a resend waits on an unreadable balance


@dataclass
class Fired:
    """What the hot path reported when it fired (all ns are monotonic)."""

    channel: str
    lane: int  # lane written on, -1 = nothing written
    detect_ns: int
    written_ns: int


@dataclass
class Attempt:
    """One copy of the order on the wire."""

    number: int
    written_ns: int  # ns, monotonic
    future: asyncio.Future[Reply] | None  # None = nothing was written
    lane: OrderLane | None = None


@dataclass
class Execution:
    """The final, known state of the order."""

    order_id: str
    client_oid: str
    accepted_via: str  # "reply" | "lookup"
    ack_ns: int  # ns, monotonic: first byte of the accepting reply (or the lookup that found it)
    written_ns: int  # ns, monotonic: when the accepted copy was written (0 if unknown)
    attempts: int
    codes: list[str] = field(default_factory=list)  # every non-success answer, in order


class Executor:
    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        lanes: OrderLanes,
        order: PreparedOrder,
        reconciler: Reconciler | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self.rest = rest
        self.lanes = lanes
        self.order = order
        # the order's fate after an answer that proved nothing: feed, lookups, holdings
        self.reconciler = reconciler or Reconciler(
            config=config, venue=venue, rest=rest, client_oid=lambda: order.client_oid
        )
        self.fired_size: str | None = None  # the size of the fired order (frozen from then on)
        self.fired: Fired | None = None
        self.first_attempt: Attempt | None = None
        self.fired_event = asyncio.Event()
        self.open_seen = asyncio.Event()  # a channel saw the pair trading (not the schedule)
        self.open_seen_by: str | None = None
        # channels whose "open" was contradicted by a 43115: their hits no longer count as open
        self._distrusted: set[str] = set()
        self._open_seen_ns = 0  # ns, monotonic: detection time of the open_seen evidence
        self.seen: list[tuple[str, int]] = []  # later channel hits: (channel, detect_ns)
        self._order_rate = RateWindow(10, 1.0)
        # pacing after an answer whose code no table knows (~10/s at first, then slower)
        self._unknown_backoff = Backoff(NOT_OPEN_FAST_DELAY_S, NOT_OPEN_SLOW_DELAY_S)
        self.attempts = 0
        self.codes: list[str] = []

    @property
    def unanswered(self) -> bool:
        """A copy was written and never proven: from then on no answer is final (see above)."""
        return self.reconciler.unanswered

    @unanswered.setter
    def unanswered(self, value: bool) -> None:
        self.reconciler.unanswered = value

    # --- called synchronously by the OrderTrigger, right after the write ------------------------
    def on_fired(self, channel: str, lane: int, detect_ns: int, written_ns: int) -> None:
        try:
            self.fired = Fired(channel, lane, detect_ns, written_ns)
            # the holdings before the order: a baseline of the proof that it did not execute
            self.reconciler.on_fired(written_ns)
            self.fired_size = self.order.size
            if channel != CHANNEL_SCHEDULED:
                self._mark_open(channel, detect_ns)
            future = None
            lane_obj = None
            if lane >= 0:
                lane_obj = self.lanes.lanes[lane]
                if lane_obj is not None:
                    # Claim the reply before control returns to the loop (FIFO per lane).
                    future = lane_obj.expect("order", written_ns)
                    self._order_rate.try_take()
            self.attempts = 1 if future is not None else 0
            self.first_attempt = Attempt(self.attempts, written_ns, future, lane_obj)
        finally:
            self.fired_event.set()

    def on_seen(self, channel: str, detect_ns: int) -> None:
        if len(self.seen) < 64:
            self.seen.append((channel, detect_ns))
        if channel != CHANNEL_SCHEDULED:
            self._mark_open(channel, detect_ns)

    def _mark_open(self, channel: str, detect_ns: int) -> None:
        if channel in self._distrusted:
            return
        if not self.open_seen.is_set():
            self.open_seen_by = channel
            self._open_seen_ns = detect_ns
            self.open_seen.set()

    # --- the state machine --------------------------------------------------------------------
    async def execute(self) -> Execution:
        """Wait for the trigger, then drive the order to a known state."""
        await self.fired_event.wait()
        assert self.first_attempt is not None
        attempt = self.first_attempt
        started = time.monotonic()
        retry_deadline = started + self.config.order_retry_window_s
        backoff = Backoff(0.1, 1.0)
        first_not_open: float | None = None
        not_open_count = 0
        while True:
            if attempt.future is None:
                attempt = await self._send(attempt.number)
            outcome, env, reply = await self._await_reply(attempt)
            if outcome is Outcome.ACCEPTED:
                assert env is not None and reply is not None
                order_id = self.venue.parse_order_ack(env.data)
                if not order_id:  # an acceptance without an id: ask the exchange
                    deadline = time.monotonic() + self._unknown_window_s()
                    order_id = (await self.reconciler.find(deadline)).order_id
                return Execution(
                    order_id,
                    self.order.client_oid,
                    "reply",
                    reply.first_byte_ns,
                    attempt.written_ns,
                    self.attempts,
                    self.codes,
                )
            if outcome in (Outcome.DUPLICATE, Outcome.AMBIGUOUS, None):
                # None: written, then no answer. AMBIGUOUS (25001 timed out, a 200 that is no
                # envelope): the order may exist. 43118: an earlier copy landed.
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
                deadline = time.monotonic() + self._unknown_window_s()
                if outcome is Outcome.DUPLICATE:
                    return self._found(await self.reconciler.find(deadline), "lookup")
                settled = await self.reconciler.settle(size=self._size(), deadline=deadline)
                if settled.state is not None:
                    return self._found(settled.state, settled.via)
                log.warning("proven not executed (%s): resending (same clientOid)", settled.proof)
                attempt = Attempt(attempt.number, 0, None)
                continue
            assert env is not None
            if outcome is Outcome.REJECTED or (outcome is Outcome.UNKNOWN and self.unanswered):
                if self.unanswered:
                    return await self._confirm_after_unanswered(env, "answered")
                raise OrderRejected(env.http_status, env.code, env.msg, hint=self._final_hint(env))
            if outcome is Outcome.UNKNOWN:
                found = await self._after_unknown_code(env, retry_deadline)
                if found is not None:
                    return found
            elif outcome is Outcome.NOT_OPEN_YET:
                now = time.monotonic()
                first_not_open = first_not_open or now
                if self.open_seen.is_set() and attempt.written_ns >= self._open_seen_ns:
                    # the exchange contradicts that channel (e.g. a gray pair that pushes
                    # tickers): stop trusting it, or its every hit would make us retry at once
                    assert self.open_seen_by is not None
                    log.warning(
                        "%s said open but the exchange says not yet: pacing retries",
                        self.open_seen_by,
                    )
                    self._distrusted.add(self.open_seen_by)
                    self.open_seen.clear()
                if self.open_seen.is_set():
                    delay = 0.0
                elif now - first_not_open < NOT_OPEN_FAST_S:
                    delay = NOT_OPEN_FAST_DELAY_S
                else:
                    delay = NOT_OPEN_SLOW_DELAY_S
                not_open_count += 1
                # the first one, then every 50th: a long early wait must not flood the log
                log.log(
                    logging.INFO if not_open_count % 50 == 1 or not delay else logging.DEBUG,
                    "pair not open yet (%s, %d so far): retrying%s",
                    env.code,
                    not_open_count,
                    " now (open seen)" if not delay else f" every {delay * 1000:.0f} ms",
                )
                await self._wait_or_open(delay)
            else:  # Outcome.RETRY / Outcome.RESYNC: refused before execution
                if time.monotonic() > retry_deadline:
                    if self.unanswered:
                        return await self._confirm_after_unanswered(env, "still answers")
                    raise OrderRejected(
                        env.http_status,
                        env.code,
                        env.msg,
                        hint=f"still failing after {self.config.order_retry_window_s:g}s of "
                        f"retries: {self.venue.explain(env)}",
                    )
                if outcome is Outcome.RESYNC:
                    log.warning(
                        "order answer %s: the timestamp was refused, so it did not execute — "
                        "re-syncing the clock, re-signing and resending (same clientOid)",
                        self.venue.explain(env),
                    )
                    await self._resync_clock()
                else:
                    delay = backoff.next()
                    log.warning(
                        "order answer %s: retrying in %.0f ms (same clientOid)",
                        self.venue.explain(env),
                        delay * 1000,
                    )
                    await asyncio.sleep(delay)
            attempt = Attempt(attempt.number, 0, None)

    async def _resync_clock(self) -> None:
        """Re-sync to the exchange clock (a local clock step, or skew past the 30 s window)."""
        try:
            moved = await self.rest.clock.sync(self.rest.server_time_ms, samples=3)
        except (ExchangeUnavailable, ValueError) as exc:
            log.warning("clock re-sync failed (%s): resending signed with the old offset", exc)
            await asyncio.sleep(NOT_OPEN_FAST_DELAY_S)
            return
        log.info("clock: re-synced, offset moved %+.1f ms", moved)

    async def _after_unknown_code(self, env: Envelope, retry_deadline: float) -> Execution | None:
        """A code no table knows is no verdict while the pair may be opening: look the order up
        by clientOid (found → accepted via lookup). Not found → the caller tries again after a
        paced wait, within the retry window; past it → :class:`OrderUnconfirmed` (exit 4:
        an unknown code is never reported as a rejection)."""
        what = self.venue.explain(env)
        state: OrderState | None = None
        while True:  # one answered lookup (a failed lookup is asked again, paced)
            answered, state = await self.reconciler.lookup()
            if answered or time.monotonic() > retry_deadline:
                break
            await asyncio.sleep(LOOKUP_INTERVAL_S)
        if state is not None:
            log.warning("the exchange answered %s, but the order exists", what)
            return self._found(state, "lookup")
        if time.monotonic() > retry_deadline:
            raise OrderUnconfirmed(
                f"the exchange kept answering a code sniper does not know ({what}) for "
                f"{self.config.order_retry_window_s:g}s, and clientOid {self.order.client_oid} "
                "was not found — nothing is known to have sold: check your orders and the "
                "exchange's announcements before running again"
            )
        delay = self._unknown_backoff.next()
        log.warning(
            "the exchange answered %s — a code sniper does not know, so no verdict: the order "
            "was not found by clientOid; trying again in %.0f ms (until ORDER_RETRY_WINDOW_S)",
            what,
            delay * 1000,
        )
        await self._wait_or_open(delay)
        return None

    def _final_hint(self, env: Envelope) -> str:
        return f"order rejected: {self.venue.explain(env)}"

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
        log.info("order found by %s: orderId %s (%s)", via, state.order_id, state.status)
        return Execution(
            state.order_id,
            self.order.client_oid,
            via,
            time.monotonic_ns(),
            0,
            self.attempts,
            self.codes,
        )

    async def _wait_or_open(self, delay: float) -> None:
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):  # not wait_for: 3.11's can drop a cancel
                await self.open_seen.wait()

    async def _send(self, previous: int) -> Attempt:
        """Re-sign and write one more copy on a lane (idle if possible). A lane that fails before
        the write is retried here; the caller sees only written attempts."""
        while True:
            wait = self._order_rate.wait_time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.order.template is None:
                raise OrderRejected(
                    None,
                    None,
                    "no order could be built",
                    hint="nothing to sell: COIN_AMOUNT=all and the available balance is 0",
                )
            try:
                lane = await self.lanes.wait_lane(max(1.0, self.config.order_timeout_s))
                request = self.order.resign()
                assert request is not None
                future = lane.send(request, "order")
            except LaneClosed as exc:
                log.warning("order connection unavailable (%s): retrying", exc)
                await asyncio.sleep(0.05)
                continue
            written_ns = time.monotonic_ns()
            self._order_rate.try_take()
            self.attempts += 1
            return Attempt(previous + 1, written_ns, future, lane)

    async def _await_reply(
        self, attempt: Attempt
    ) -> tuple[Outcome | None, Envelope | None, Reply | None]:
        """(outcome, envelope, reply); outcome None = unknown (written, no answer)."""
        assert attempt.future is not None
        try:
            async with asyncio.timeout(self.config.order_timeout_s):
                reply = await asyncio.shield(attempt.future)
        except TimeoutError:
            log.warning("no answer to the order within %.2fs", self.config.order_timeout_s)
            if attempt.lane is not None:
                attempt.lane.abort()  # its FIFO is stuck behind the missing reply
            return None, None, None
        except LaneClosed as exc:
            if not exc.written:
                return Outcome.RETRY, Envelope(0, None, str(exc), None), None
            log.warning("order connection lost after the order was written (%s)", exc)
            return None, None, None
        env = parse_envelope(reply.status, reply.body)
        outcome = self.venue.classify(env)
        if outcome is not Outcome.ACCEPTED:
            self.codes.append(env.code or f"HTTP {env.http_status}")
        return outcome, env, reply

    def _unknown_window_s(self) -> float:
        """How long an unknown outcome may stay unknown before the run stops (s)."""
        return max(self.config.order_retry_window_s, 2 * self.config.lookup_window_s)

    async def fill(self, within_s: float) -> OrderState | None:
        """The order's state once it is done (filled/cancelled) or ``within_s`` passed."""
        return await self.reconciler.fill(within_s)

    def describe(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "codes": list(self.codes), "seen": len(self.seen)}
