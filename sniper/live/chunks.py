"""Selling more than the pair's market-order cap: the sale as N chunk orders under the cap.

Bitget symbols may cap a market order (bitget-api.md §5.11, §10.8): v2 ``maxMarketOrderValue``
(quote coin), v3 ``maxMarketOrderQty`` (base coin). An order over the cap gets 45113 and is NOT
executed. So:

* **At arm time** (:func:`first_chunk`, called by the upkeep when it sizes the pre-signed
  order): when the cap is known in base units (v3; v2 once a last price is known, with
  :data:`VALUE_CAP_MARGIN` under it since the price moves), the pre-signed order is the first
  chunk, and ``PreparedOrder.total`` the whole sale.
* **At the fire**: the first chunk goes out on the hot path like any order; once it is known
  (accepted, its fill read) :class:`ChunkSeller` sells the rest — each chunk a market order
  pre-built and signed with its own clientOid (:func:`chunk_oid`: the run's clientOid + ``-N``),
  journalled (intent, fired, outcome) and driven by its own
  :class:`~sniper.live.executor.Executor` (the whole exactly-once contract per chunk: a chunk
  whose answer proves nothing is reconciled, never resent blindly), back to back, never more
  than 10 orders/s (one shared place-order budget).
* **A 45113 at fire time** (the cap was unknown — a v2 value cap before any price — or it
  changed): that chunk was not executed; the cap and the price are read again and the remainder
  is re-planned (:data:`MAX_REPLANS` times at most).
* **The total never exceeds the sale**: the chunk sizes add up exactly to it, and nothing is
  ever sold again to make up for a chunk that filled only partly (a thin book): that shortfall
  is reported (exit 5), not chased.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sniper.errors import ExchangeUnavailable, OrderRejected
from sniper.live.order import PreparedOrder, format_decimal
from sniper.live.pacing import RateWindow
from sniper.live.report import RunResult
from sniper.live.venue import OrderState, SymbolState

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.clock import ServerClock
    from sniper.live.executor import Execution, Executor
    from sniper.live.journal import Journal
    from sniper.live.rest import RestClient
    from sniper.live.venue import Venue

log = logging.getLogger("sniper.run")

CAP_CODES = frozenset({"45113"})  # over the market-order cap: not executed (§10.8)
VALUE_CAP_MARGIN = Decimal("0.9")  # a value cap turned into a quantity at a moving price
MAX_REPLANS = 3  # 45113 re-plans of the remainder before the run gives up (exit 3)
MAX_CHUNKS = 100  # a cap so small that the sale needs more orders is refused at arm time


def _dec(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def cap_quantity(symbol: SymbolState, price: Decimal | None) -> Decimal | None:
    """The largest market sell the pair accepts, in base units: v3 ``maxMarketOrderQty`` as
    is; v2 ``maxMarketOrderValue`` / ``price`` x :data:`VALUE_CAP_MARGIN` (None without a
    price); None when the pair shows no cap."""
    if symbol.max_market_order_qty is not None and symbol.max_market_order_qty > 0:
        return symbol.max_market_order_qty
    value = symbol.max_market_order_value
    if value is not None and value > 0 and price is not None and price > 0:
        return value / price * VALUE_CAP_MARGIN
    return None


def plan(total: Decimal, cap: Decimal, precision: int | None) -> list[str]:
    """Chunk sizes, each at most ``cap`` (floored to ``precision`` decimals), adding up
    exactly to ``total``. ``[total]`` when it fits. ValueError when the cap is below one
    quantity step or the sale would need more than :data:`MAX_CHUNKS` orders."""
    if total <= cap:
        return [format_decimal(total)]
    step = Decimal(1).scaleb(-precision) if precision is not None and precision >= 0 else None
    chunk = cap.quantize(step, rounding=ROUND_DOWN) if step is not None else cap
    if chunk <= 0:
        raise ValueError(f"the market-order cap {format_decimal(cap)} is below one quantity step")
    count = int((total / chunk).to_integral_value(rounding="ROUND_CEILING"))
    if count > MAX_CHUNKS:
        raise ValueError(
            f"selling {format_decimal(total)} under a cap of {format_decimal(chunk)} per "
            f"market order needs {count} orders (more than {MAX_CHUNKS})"
        )
    sizes = []
    left = total
    while left > 0:
        size = min(chunk, left)
        sizes.append(format_decimal(size))
        left -= size
    return sizes


def first_chunk(
    size: str, symbol: SymbolState, price: Decimal | None, *, market: bool
) -> tuple[str, int]:
    """(the size of the order to pre-sign, how many chunks the sale is planned in) for a sale
    of ``size``: the first chunk under the cap when the cap is known in base units and the
    order is a market one, else ``size`` itself (1)."""
    cap = cap_quantity(symbol, price) if market else None
    if cap is None:
        return size, 1
    try:
        sizes = plan(Decimal(size), cap, symbol.quantity_precision)
    except ValueError as exc:
        log.warning("market-order cap: %s — the order is sent whole (45113 expected)", exc)
        return size, 1
    return sizes[0], len(sizes)


def chunk_oid(base: str, n: int) -> str:
    """Chunk ``n`` (2, 3, ...) of the sale whose first order is ``base``: ``<base>-<n>``
    (≤ 40 chars, Bitget's clientOid alphabet)."""
    oid = f"{base}-{n}"
    if len(oid) > 40:
        raise ValueError(f"clientOid {oid!r} is over 40 characters")
    return oid


@dataclass
class ChunkResult:
    """One chunk of the sale: its order and, once read, its fill."""

    client_oid: str
    size: str
    order_id: str | None = None
    fill: OrderState | None = None
    codes: list[str] = field(default_factory=list)

    @property
    def filled(self) -> Decimal:
        f = self.fill
        return (_dec(f.base_volume) or Decimal(0)) if f is not None else Decimal(0)

    @property
    def quote(self) -> Decimal:
        f = self.fill
        return (_dec(f.quote_volume) or Decimal(0)) if f is not None else Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fill"] = asdict(self.fill) if self.fill is not None else None
        return doc


def aggregate(chunks: list[ChunkResult], total: str) -> OrderState | None:
    """The sale's fill over every chunk: quantities and quote added, the average price over
    them, ``filled`` only when every chunk is (else the last chunk's status: ``cancelled`` for
    a thin book's rest); the first chunk's orderId and clientOid. None without any fill."""
    with_fill = [c for c in chunks if c.fill is not None]
    if not with_fill:
        return None
    base = sum((c.filled for c in chunks), Decimal(0))
    quote = sum((c.quote for c in chunks), Decimal(0))
    statuses = [c.fill.status for c in with_fill if c.fill is not None]
    not_done = [s for s in statuses if s not in ("filled", "full_fill")]
    status = not_done[-1] if not_done else "filled"
    avg = format_decimal((quote / base).quantize(Decimal(1).scaleb(-12))) if base > 0 else "0"
    first = chunks[0]
    return OrderState(
        order_id=first.order_id or "",
        client_oid=first.client_oid,
        status=status,
        size=total,
        base_volume=format_decimal(base),
        quote_volume=format_decimal(quote),
        price_avg=avg,
    )


def chunk_outcome(fill: OrderState | None) -> str:
    """The journal outcome of one chunk from its fill."""
    status = fill.status if fill is not None else ""
    return {
        "filled": "filled",
        "full_fill": "filled",
        "partially_filled": "partially_filled",
        "cancelled": "cancelled",
        "canceled": "cancelled",
    }.get(status, "accepted")


class ChunkSeller:
    """Sells what is left of a capped sale, chunk by chunk (module docstring). ``make_executor``
    builds the exactly-once executor of one chunk's prepared order (the runner's own factory,
    so each chunk has the same evidence sources as the first order)."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        clock: ServerClock,
        host: str,
        make_executor: Callable[[PreparedOrder], Executor],
        journal: Journal | None,
        base_oid: str,
        symbol: SymbolState,
    ) -> None:
        self.config = config
        self.venue = venue
        self.rest = rest
        self.clock = clock
        self.host = host
        self.make_executor = make_executor
        self.journal = journal
        self.base_oid = base_oid
        self.symbol = symbol
        self.rate = RateWindow(10, 1.0)  # one place-order budget for every chunk
        self.chunks: list[ChunkResult] = []
        self._next = 2  # the number of the next chunk's clientOid
        self.replans = 0

    async def sell(self, remainder: Decimal, cap: Decimal | None) -> None:
        """Sell ``remainder`` in chunks under ``cap`` (None: read it now), re-planning on
        45113. Each chunk's result is appended to :attr:`chunks` as it ends."""
        sizes = await self._plan(remainder, cap)
        while sizes:
            size = sizes.pop(0)
            try:
                await self._one(size)
            except OrderRejected as exc:
                if exc.code not in CAP_CODES or self.replans >= MAX_REPLANS:
                    raise
                self.replans += 1
                left = Decimal(size) + sum((Decimal(s) for s in sizes), Decimal(0))
                log.warning(
                    "market-order cap: chunk of %s refused (%s, not executed) — re-reading the "
                    "cap and re-planning the remaining %s",
                    size,
                    exc.code,
                    format_decimal(left),
                )
                sizes = await self._plan(left, None, shrink_from=Decimal(size))

    async def replan_all(self, total: Decimal, refused_size: Decimal) -> None:
        """The first order (hot path) met 45113: nothing was sold; sell ``total`` in chunks."""
        self.replans += 1
        sizes = await self._plan(total, None, shrink_from=refused_size)
        await self.sell(total, Decimal(sizes[0]))  # the plan's chunk size is its first

    async def _plan(
        self, amount: Decimal, cap: Decimal | None, *, shrink_from: Decimal | None = None
    ) -> list[str]:
        if cap is None:
            cap = await self._read_cap()
        if cap is None or (shrink_from is not None and cap >= shrink_from):
            # no cap to read, or one the refused size was already under: halve it
            base = shrink_from if shrink_from is not None else amount
            cap = base / 2
        try:
            sizes = plan(amount, cap, self.symbol.quantity_precision)
        except ValueError as exc:
            raise OrderRejected(None, "45113", str(exc), hint="market-order cap") from None
        log.info(
            "market-order cap: %s %s in %d chunk%s of at most %s",
            format_decimal(amount),
            self.config.base_coin,
            len(sizes),
            "" if len(sizes) == 1 else "s",
            sizes[0],
        )
        return sizes

    async def _read_cap(self) -> Decimal | None:
        """The pair's cap as the exchange shows it now, in base units (a v2 value cap at the
        current last price)."""
        try:
            env = await self.rest.request(self.venue.symbol_call(), signed=False)
            symbol = self.venue.parse_symbol(env, self.clock.now_ms())
            self.symbol = symbol
            price = None
            if symbol.max_market_order_qty is None and symbol.max_market_order_value is not None:
                env = await self.rest.request(self.venue.ticker_call(), signed=False)
                price = self.venue.parse_last_price(env)
        except (ExchangeUnavailable, ValueError) as exc:
            log.warning("market-order cap: could not read it (%s)", exc)
            return None
        return cap_quantity(symbol, price)

    async def _one(self, size: str) -> ChunkResult:
        """One chunk: pre-built and signed with its own clientOid, journalled, driven to a
        known state by its own executor, its fill read."""
        oid = chunk_oid(self.base_oid, self._next)
        self._next += 1
        order = PreparedOrder(
            self.config, self.venue, self.clock, self.host, lambda _b: None, client_oid=oid
        )
        order.build(size)
        executor = self.make_executor(order)
        executor.sender._rate = self.rate
        if self.journal is not None:
            self.journal.record_intent(
                oid, amount=self.config.coin_amount, size=size, mode=self.venue.mode, chunk=True
            )
            # before the write (the executor writes it): a crash in between leaves it pending,
            # to be looked up by the next run — the safe side
            self.journal.record_fired(oid, "chunk", -1)
        now = time.monotonic_ns()
        executor.on_fired("chunk", -1, now, now, None)  # nothing written yet: it sends
        chunk = ChunkResult(oid, size)
        try:
            execution: Execution = await executor.execute()
        except OrderRejected as exc:
            chunk.codes = list(executor.codes)
            if self.journal is not None:
                self.journal.record_outcome(
                    oid, "rejected", exit_code=exc.exit_code, message=" ".join(str(exc).split())
                )
            raise
        chunk.order_id = execution.order_id
        chunk.codes = list(execution.codes)
        chunk.fill = await executor.fill(self.config.fill_timeout_s)
        self.chunks.append(chunk)
        if self.journal is not None:
            fill = chunk.fill
            self.journal.record_outcome(
                oid,
                chunk_outcome(fill),
                order_id=execution.order_id,
                fill=asdict(fill) if fill is not None else None,
                exit_code=0,
            )
        log.info(
            "chunk %s: orderId %s, sold %s",
            oid,
            execution.order_id,
            format_decimal(chunk.filled) if chunk.fill is not None else "?",
        )
        return chunk


class ChunkedSale:
    """A market sale over the pair's cap, end to end: the first order was its first chunk (an
    ``execution`` and its ``fill``) or was refused over the cap (``refused``: not executed); the
    rest is sold chunk by chunk (:class:`ChunkSeller`), each journalled with its outcome, and
    the whole is one :class:`~sniper.live.report.RunResult` (its fill the chunks' aggregate).
    ``executor`` and ``order`` are the run's first order's."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        clock: ServerClock,
        make_executor: Callable[[PreparedOrder], Executor],
        journal: Journal | None,
        executor: Executor,
        order: PreparedOrder,
        symbol: SymbolState,
    ) -> None:
        self.executor = executor
        self.order = order
        self.journal = journal
        self.total = order.total or order.size or "0"
        self.first_size = executor.fired_size or order.size or self.total
        self.seller = ChunkSeller(
            config=config,
            venue=venue,
            rest=rest,
            clock=clock,
            host=order.host_header,
            make_executor=make_executor,
            journal=journal,
            base_oid=order.client_oid,
            symbol=symbol,
        )

    async def run(
        self,
        execution: Execution | None,
        fill: OrderState | None,
        *,
        refused: OrderRejected | None = None,
    ) -> RunResult:
        """Sell the rest; a chunk rejected after some of the sale filled ends the sale and
        reports what was sold (nothing sold: the rejection is raised)."""
        seller = self.seller
        try:
            if execution is not None:
                await self._after_first(execution, fill)
            else:
                assert refused is not None
                await self._after_refused(refused)
        except OrderRejected as exc:
            if not any(c.filled > 0 for c in seller.chunks):
                raise
            log.error("a chunk was rejected (%s): reporting what was sold", exc)
        return self._result(execution)

    async def _after_first(self, execution: Execution, fill: OrderState | None) -> None:
        """The first order was the first chunk: journal its outcome, sell the remainder."""
        order, journal, first_size = self.order, self.journal, self.first_size  # logged
        first = ChunkResult(
            order.client_oid, first_size, execution.order_id, fill, list(execution.codes)
        )
        self.seller.chunks.append(first)
        if journal is not None:
            journal.record_outcome(
                first.client_oid,
                chunk_outcome(fill),
                order_id=execution.order_id,
                fill=asdict(fill) if fill is not None else None,
                exit_code=0,
            )
        await self.seller.sell(Decimal(self.total) - Decimal(first_size), Decimal(first_size))

    async def _after_refused(self, refused: OrderRejected) -> None:
        """The first order was refused over the cap (not executed): sell it all in chunks."""
        log.warning(
            "market-order cap: the order of %s was refused (%s, not executed): selling "
            "%s in chunks under the cap",
            self.first_size,
            refused.code,
            self.total,
        )
        if self.journal is not None:
            self.journal.record_outcome(
                self.order.client_oid,
                "rejected",
                exit_code=refused.exit_code,
                message=" ".join(str(refused).split()),
            )
        await self.seller.replan_all(Decimal(self.total), Decimal(self.first_size))

    def _result(self, execution: Execution | None) -> RunResult:
        """The whole sale as one result (without its fill-quality report: the runner's)."""
        executor, total = self.executor, self.total
        fired = executor.fired
        assert fired is not None
        chunks = self.seller.chunks
        later = chunks[1:] if execution is not None else chunks  # the chunk seller's orders
        return RunResult(
            client_oid=chunks[0].client_oid,
            channel=fired.channel,
            order_id=chunks[0].order_id,
            size=total,
            detect_ns=fired.detect_ns,
            written_ns=fired.written_ns,
            ack_ns=execution.ack_ns
            if execution is not None and execution.accepted_via == "reply"
            else None,
            accepted_written_ns=(execution.written_ns or None) if execution is not None else None,
            accepted_via=execution.accepted_via if execution is not None else "chunks",
            attempts=executor.attempts + sum(len(c.codes) + 1 for c in later),
            codes=list(executor.codes) + [code for c in later for code in c.codes],
            fill=aggregate(chunks, total),
            open_seen_by=executor.open_seen_by,
            chunks=[c.as_dict() for c in chunks],
        )
