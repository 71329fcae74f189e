"""Reconciliation: what happened to an order whose answer proved nothing.

After an ambiguous answer (5xx, 40015/40010/25000/25001, a body that is no envelope, a timeout,
a connection lost after the write) the order may or may not have executed. Bitget frees a
clientOid once its order is filled (§5.6 "idempotency ... only valid when orders are unfilled"),
so a resend of a market sell that filled sells a SECOND time: a resend is allowed only once the
previous copy is proven not executed. :class:`Reconciler` asks every source the venue gives,
and whichever answers first wins:

* the **private order feed** (:class:`~sniper.live.orderfeed.OrderFeed`, §7.4): a push for the
  clientOid means the order exists (it pushes ``live``/``new`` on acceptance, then fills);
* the **REST lookup** by clientOid (``orderInfo`` / ``order-info``);
* the **holdings** of the base coin (available + frozen + locked): a fresh read compared with
  the snapshot taken before the fire.

"Not executed" is proven only when ALL of these hold (:meth:`Reconciler.settle`):

1. the lookup answered "not found" at least ``MIN_LOOKUPS`` times over ``lookup_window_s``;
2. a fresh holdings read after that window fell by less than half the order size since the
   pre-fire snapshot, the snapshot is at most ``MAX_SNAPSHOT_AGE_S`` old at the fire, and no read
   since the snapshot showed the holdings *rising* (a deposit can hide a sale: then nothing is
   proven);
3. when an order feed runs: it was ready the whole time since before the write, its connection
   answers a ping now (:meth:`OrderFeed.confirm_covered`), at least ``FEED_MARGIN_S`` passed since
   the write, and it pushed nothing for the clientOid. A feed that is configured but was not
   ready the whole time cannot vouch: then nothing is proven.

Anything short of that is not a proof: the sources keep being asked until the deadline, then
:class:`~sniper.errors.OrderUnconfirmed` (exit 4) — never a resend, never "rejected".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sniper.errors import ExchangeUnavailable, OrderRejected, OrderUnconfirmed
from sniper.live.venue import OrderState, Venue, order_done

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.orderfeed import OrderFeed
    from sniper.live.rest import RestClient

log = logging.getLogger("sniper.reconcile")

LOOKUP_INTERVAL_S = 0.1  # orderInfo is 20/s/UID
MIN_LOOKUPS = 3  # "consistently not found": at least this many answers over lookup_window_s
BALANCE_RECHECK_S = 1.0  # s between holdings reads while a proof waits on them
MAX_SNAPSHOT_AGE_S = 15.0  # a pre-fire holdings snapshot older than this proves nothing
FEED_MARGIN_S = 1.0  # s after the write before the order feed's silence counts
EARLIER_LOOKUP_INTERVAL_S = 0.2  # s between lookups of an earlier run's order
FILLS_ROUND_S = 0.07  # s per order still open between rounds of fills_of (~14 lookups/s)


@dataclass(frozen=True)
class Holdings:
    """One read of the base coin's holdings (available + frozen + locked)."""

    amount: Decimal
    at_ns: int  # ns, monotonic: when the read was answered


class HoldingsTracker:
    """The holdings reads of the run, kept so a fire can take the freshest one as its snapshot
    and a proof can see whether the holdings rose since (a deposit)."""

    def __init__(self) -> None:
        self.last: Holdings | None = None
        self._reads: list[Holdings] = []  # since the last snapshot (bounded)
        # two reads of the run ever differed (kept across the snapshot: the proof of copies in
        # flight for a retry after the fire must see a balance that moved while armed)
        self.moved = False

    def record(self, amount: Decimal, at_ns: int | None = None) -> None:
        read = Holdings(amount, time.monotonic_ns() if at_ns is None else at_ns)
        if self.last is not None and self.last.amount != amount:
            self.moved = True
        self.last = read
        self._reads.append(read)
        del self._reads[:-64]

    def snapshot(self) -> Holdings | None:
        """The freshest read, taken as the pre-fire baseline; later reads are tracked."""
        self._reads = [self.last] if self.last is not None else []
        return self.last

    def reads(self) -> tuple[Holdings, ...]:
        """The reads kept since the last snapshot (before the fire: the run's, the last 64),
        oldest first — :mod:`sniper.live.volley` proves the holdings never moved."""
        return tuple(self._reads)

    def rose_since(self, snapshot: Holdings) -> Decimal:
        """How much the holdings rose above ``snapshot`` at the highest read since (0: never)."""
        top = max((r.amount for r in self._reads), default=snapshot.amount)
        return max(Decimal(0), top - snapshot.amount)


@dataclass(frozen=True)
class Settled:
    """The order's fate as far as it is known: ``state`` (found) or proven not executed."""

    state: OrderState | None  # None: proven NOT executed (a resend is allowed)
    via: str  # "feed" | "lookup" | "proof"
    proof: str = ""  # the evidence for "not executed", in words


class Reconciler:
    """Asks the venue's sources about one clientOid (see the module docstring)."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        client_oid: Callable[[], str],
        orderfeed: OrderFeed | None = None,
        holdings: HoldingsTracker | None = None,
    ) -> None:
        self.config = config
        self.venue = venue
        self.rest = rest
        self._client_oid = client_oid
        self.orderfeed = orderfeed
        self.holdings = holdings if holdings is not None else HoldingsTracker()
        self.snapshot: Holdings | None = None  # taken at the fire
        self.fired_ns = 0  # ns, monotonic: when the first copy was written
        # a copy was written and never proven: from then on no answer is final
        self.unanswered = False

    @property
    def client_oid(self) -> str:
        return self._client_oid()

    def on_fired(self, written_ns: int) -> None:
        """Synchronous, in the trigger's callback: the baseline for the holdings proof."""
        self.fired_ns = written_ns
        self.snapshot = self.holdings.snapshot()

    # --- the sources ----------------------------------------------------------------------------
    def pushed(self) -> OrderState | None:
        """What the order feed pushed for the clientOid (None: nothing, or no feed)."""
        return self.orderfeed.latest(self.client_oid) if self.orderfeed is not None else None

    async def lookup(self) -> tuple[bool, OrderState | None]:
        """(answered, state): answered=False when the lookup itself failed transiently. A push
        of the order feed counts as found."""
        pushed = self.pushed()
        if pushed is not None:
            return True, pushed
        try:
            env = await self.rest.request(
                self.venue.order_info_call(self.client_oid), signed=True, time_limit_s=2.0
            )
        except ExchangeUnavailable as exc:
            log.debug("order lookup failed: %s", exc)
            return False, self.pushed()
        if self.venue.is_auth_error(env):
            if self.unanswered:
                # the lookups cannot run, and an earlier copy may have executed: not "rejected"
                raise OrderUnconfirmed(
                    f"an earlier copy of the order went unanswered and may have executed, and "
                    f"the order lookup is refused: {self.venue.explain(env)} — clientOid "
                    f"{self.client_oid} could not be confirmed: check your orders before "
                    "running again"
                )
            raise OrderRejected(env.http_status, env.code, env.msg, hint=self.venue.explain(env))
        try:
            state = self.venue.parse_order_info(env)
        except ValueError:
            log.debug("order lookup answered %s", self.venue.explain(env))
            return False, self.pushed()
        return True, state if state is not None else self.pushed()

    async def read_holdings(self) -> Decimal | None:
        """A fresh read of the base coin's holdings (recorded), None when it fails."""
        try:
            env = await self.rest.request(self.venue.assets_call(), signed=True, time_limit_s=2.0)
        except ExchangeUnavailable as exc:
            log.debug("balance read failed: %s", exc)
            return None
        if not env.ok:
            log.debug("balance read answered %s", self.venue.explain(env))
            return None
        try:
            amount = self.venue.parse_holdings(env.data)
        except (ValueError, TypeError, InvalidOperation):
            return None
        self.holdings.record(amount)
        return amount

    # --- the verdicts ---------------------------------------------------------------------------
    async def find(self, deadline: float) -> OrderState:
        """Look the order up until it is found; past ``deadline`` (monotonic s) →
        :class:`OrderUnconfirmed`."""
        while True:
            _, state = await self.lookup()
            if state is not None:
                return state
            if time.monotonic() > deadline:
                raise OrderUnconfirmed(
                    f"clientOid {self.client_oid} could not be confirmed — the order may have "
                    "executed: check your orders before running again"
                )
            await self._pause(LOOKUP_INTERVAL_S)

    async def settle(self, *, size: Decimal, deadline: float) -> Settled:
        """Found (by a push or a lookup), or proven not executed; otherwise keep asking until
        ``deadline`` (monotonic s), then :class:`OrderUnconfirmed`. Never returns "not executed"
        without the whole proof of the module docstring."""
        window = self.config.lookup_window_s
        first_nf: float | None = None
        not_found = 0
        next_read = 0.0
        said: set[str] = set()
        while True:
            answered, state = await self.lookup()
            if state is not None:
                return Settled(state, "feed" if self.pushed() is state else "lookup")
            now = time.monotonic()
            if answered:
                not_found += 1
                first_nf = first_nf or now
            window_done = first_nf is not None and now - first_nf >= window
            # the order feed's silence counts only FEED_MARGIN_S after the write
            feed_done = self.orderfeed is None or now >= self.fired_ns / 1e9 + FEED_MARGIN_S
            if not_found >= MIN_LOOKUPS and window_done and feed_done and now >= next_read:
                next_read = now + BALANCE_RECHECK_S
                proof, why = await self._not_executed(size)
                if proof:
                    return Settled(None, "proof", why)
                if why not in said:
                    said.add(why)
                    log.warning("order not found, but %s: NOT resending; still looking", why)
            if time.monotonic() > deadline:
                reason = next(iter(said), "it was never proven not executed")
                raise OrderUnconfirmed(
                    f"clientOid {self.client_oid} could not be confirmed and was not resent "
                    f"({reason}) — the order may have executed: check your orders before "
                    "running again"
                )
            await self._pause(LOOKUP_INTERVAL_S)

    async def _not_executed(self, size: Decimal) -> tuple[bool, str]:
        """(proven, words): the holdings and order-feed parts of the proof."""
        coin = self.config.base_coin
        snap = self.snapshot
        if snap is None or size <= 0:
            return False, f"there is no {coin} balance from before the fire to compare with"
        age = (self.fired_ns - snap.at_ns) / 1e9
        if age > MAX_SNAPSHOT_AGE_S:
            return False, f"the {coin} balance read before the fire was {age:.0f}s old"
        now_amount = await self.read_holdings()
        if now_amount is None:
            return False, f"the {coin} balance cannot be read"
        drop = snap.amount - now_amount
        if drop * 2 >= size:
            return False, (
                f"the {coin} balance fell by {format(drop.normalize(), 'f')} since the fire "
                "(it probably executed)"
            )
        rose = self.holdings.rose_since(snap)
        if rose > 0:
            return False, (
                f"the {coin} balance rose by {format(rose.normalize(), 'f')} since before the "
                "fire (a deposit can hide a sale)"
            )
        feed = self.orderfeed
        if feed is not None:
            if (time.monotonic_ns() - self.fired_ns) / 1e9 < FEED_MARGIN_S:
                return False, "the order feed has not been watched long enough since the write"
            # subscribed before the first copy went out, and up ever since
            if not await feed.confirm_covered(self.fired_ns, timeout=2.0):
                return False, "the private order feed was not up the whole time to vouch for it"
            if self.pushed() is not None:
                return False, "the order feed just pushed it"
        held = format(drop.normalize(), "f")
        return True, (
            f"not found by clientOid over {self.config.lookup_window_s:g}s, the {coin} balance "
            f"moved by {held} (under half the size)"
            + (", and the order feed was up and silent" if feed is not None else "")
        )

    async def _pause(self, seconds: float) -> None:
        """Sleep, woken early by a push of the order feed for our clientOid."""
        feed = self.orderfeed
        if feed is None:
            await asyncio.sleep(seconds)
            return
        await feed.wait(self.client_oid, timeout=seconds)

    async def fill(self, within_s: float) -> OrderState | None:
        """The order's state once it is done (filled/cancelled) or ``within_s`` passed."""
        deadline = time.monotonic() + within_s
        last: OrderState | None = None
        feed = self.orderfeed
        while True:
            if feed is not None:
                done = await feed.wait_done(
                    self.client_oid, timeout=min(0.2, max(0.0, deadline - time.monotonic()))
                )
                if done is not None:
                    return done
            _, state = await self.lookup()
            if state is not None:
                last = state
                if state.status in ("filled", "full_fill", "cancelled", "canceled"):
                    return state
            if time.monotonic() >= deadline:
                return last
            if feed is None:
                await asyncio.sleep(0.1)

    async def lookup_rows(self) -> list[OrderState]:
        """Every venue order the lookup by clientOid answers with (v2 ``data`` is an array,
        §5.9), and the order feed's last push (``[]``: none, or no answer)."""
        pushed = self.pushed()
        try:
            env = await self.rest.request(
                self.venue.order_info_call(self.client_oid), signed=True, time_limit_s=2.0
            )
            rows = self.venue.parse_order_infos(env)
        except (ExchangeUnavailable, ValueError) as exc:
            log.debug("order lookup failed: %s", exc)
            rows = []
        return rows + ([pushed] if pushed is not None else [])

    async def lookup_id(self, order_id: str) -> OrderState | None:
        """The venue order ``order_id`` (None: not found, or no answer). Copies of one volley
        share their clientOid, so a clientOid names more than one order once two of them were
        accepted: each is read by its own orderId (a push counts only when it is of that order
        and final)."""
        pushed = self.pushed()
        if pushed is not None and pushed.order_id == order_id and order_done(pushed):
            return pushed
        call = self.venue.order_info_call(self.client_oid, order_id=order_id)
        try:
            env = await self.rest.request(call, signed=True, time_limit_s=2.0)
            state = self.venue.parse_order_info(env)
        except (ExchangeUnavailable, ValueError) as exc:
            log.debug("order %s lookup failed: %s", order_id, exc)
            return None
        return state if state is not None and state.order_id == order_id else None

    async def fills_of(
        self, order_ids: Sequence[str], within_s: float
    ) -> dict[str, OrderState | None]:
        """Each venue order of ``order_ids`` once it is done (filled/cancelled), or as last read
        when ``within_s`` passed (None: never read). One lookup per order still open per round,
        in turn, the rounds paced to stay well under orderInfo's 20/s/UID."""
        deadline = time.monotonic() + within_s
        states: dict[str, OrderState | None] = dict.fromkeys(order_ids)
        while True:
            pending = [i for i, st in states.items() if st is None or not order_done(st)]
            for order_id in pending:
                states[order_id] = await self.lookup_id(order_id) or states[order_id]
            pending = [i for i, st in states.items() if st is None or not order_done(st)]
            left = deadline - time.monotonic()
            if not pending or left <= 0:
                return states
            await asyncio.sleep(min(FILLS_ROUND_S * len(pending), left))


async def look_up_until(
    rest: RestClient, venue: Venue, config: Config, client_oid: str, *, window_s: float
) -> OrderState | None:
    """The order with this clientOid, asked by REST until found, or None once at least
    ``MIN_LOOKUPS`` lookups answered "not found" and ``window_s`` passed (a transport failure or
    an unreadable answer is no answer). For an earlier run's order, found in the journal: it
    may have executed, so a refused lookup (40012, ...) is :class:`OrderUnconfirmed`, exactly as
    after an unanswered copy (the one :meth:`Reconciler.lookup` serves both)."""
    reconciler = Reconciler(config=config, venue=venue, rest=rest, client_oid=lambda: client_oid)
    reconciler.unanswered = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window_s
    answers = 0
    while True:
        answered, state = await reconciler.lookup()
        if state is not None:
            return state
        answers += answered
        if answers >= MIN_LOOKUPS and loop.time() > deadline:
            return None
        await asyncio.sleep(EARLIER_LOOKUP_INTERVAL_S)
