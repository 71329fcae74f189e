"""What a run tells: :class:`RunResult`, the printed result (text or one JSON line), the armed
status line, and the outcome written to the journal.

Nothing here sends or waits on the network; :func:`dry_run_result` only waits for the trigger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Any

from sniper.errors import OrderRejected, SniperError
from sniper.live.order import format_decimal, masked_request
from sniper.live.quality import FillQuality, quality_line
from sniper.live.venue import OrderState

if TYPE_CHECKING:
    from sniper.live.clock import ServerClock
    from sniper.live.executor import Execution, Executor, Fired
    from sniper.live.journal import Journal, OrderRecord
    from sniper.live.order import PreparedOrder

log = logging.getLogger("sniper.run")


@dataclass
class RunResult:
    """What one run did. All ``*_ns`` are monotonic ns taken in this process."""

    client_oid: str
    channel: str  # the channel that fired: ws | poll | scheduled | startup
    order_id: str | None  # None for a dry run
    size: str | None
    detect_ns: int
    written_ns: int
    ack_ns: int | None = None
    accepted_written_ns: int | None = None  # when the accepted copy was written (retries)
    accepted_via: str = "reply"  # reply | lookup | dry-run
    attempts: int = 1
    codes: list[str] = field(default_factory=list)  # non-success answers before acceptance
    fill: OrderState | None = None
    dry_run: bool = False
    request_preview: str | None = None  # dry run: the request, credentials masked
    open_seen_by: str | None = None
    floor_price: str | None = None  # MIN_PRICE: the limit price the order carried
    floor_tif: str | None = None  # gtc | ioc, with a floor
    # a market sale over the pair's cap, sold in chunks (sniper.live.chunks): one entry per
    # chunk order (client_oid, size, order_id, fill, codes); ``fill`` is then their aggregate
    chunks: list[dict[str, Any]] = field(default_factory=list)
    # slippage vs the first best bid after the open, open → first fill (sniper.live.quality)
    quality: FillQuality | None = None
    # copies in flight (sniper.live.volley) when more than one venue order carries the
    # clientOid: every one, read by its orderId (``accepted_ids``), and those that sold
    # (``sold_ids``; ``order_id`` is the first; more than one: ``fill`` is their total)
    accepted_ids: list[str] = field(default_factory=list)
    sold_ids: list[str] = field(default_factory=list)

    # --- what was sold ------------------------------------------------------------------------
    @property
    def filled_qty(self) -> Decimal | None:
        """Base quantity executed, as the fill report says (None: no report)."""
        return _decimal(self.fill.base_volume) if self.fill is not None else None

    @property
    def remaining_qty(self) -> Decimal | None:
        """Base quantity of the order not executed (None: no fill report or no size)."""
        filled, size = self.filled_qty, _decimal(self.size)
        if filled is None or size is None:
            return None
        return max(size - filled, Decimal(0))

    @property
    def partial(self) -> bool:
        """Not everything sold: a fill report shows less executed than the order's size."""
        if self.dry_run:
            return False
        rest = self.remaining_qty
        return rest is not None and rest > 0

    @property
    def rest(self) -> str | None:
        """What became of the unsold rest (None: nothing is left, or no fill report)."""
        if not self.partial or self.fill is None:
            return None
        if self.fill.status in ("cancelled", "canceled"):
            return "was cancelled"
        if self.floor_price is not None:
            return f"is resting at the floor {self.floor_price}"
        return f"is still open ({self.fill.status})"

    @property
    def exit_code(self) -> int:
        """0 all sold (or not reported yet, or a dry run) · 5 partly sold: the rest is resting at
        the floor (gtc) or was cancelled (ioc, or a market order's thin book)."""
        return EXIT_PARTIAL if self.partial else 0

    @property
    def detect_to_written_us(self) -> float:
        return (self.written_ns - self.detect_ns) / 1e3

    @property
    def written_to_ack_ms(self) -> float | None:
        """Bytes of the accepted copy written → its reply's first byte (ms)."""
        if self.ack_ns is None:
            return None
        return (self.ack_ns - (self.accepted_written_ns or self.written_ns)) / 1e6

    @property
    def fired_to_ack_ms(self) -> float | None:
        """First bytes written (the hot path) → the accepting reply, retries included (ms)."""
        if self.ack_ns is None:
            return None
        return (self.ack_ns - self.written_ns) / 1e6

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fill"] = asdict(self.fill) if self.fill is not None else None
        doc["detect_to_written_us"] = round(self.detect_to_written_us, 3)
        for name in ("written_to_ack_ms", "fired_to_ack_ms"):
            value = getattr(self, name)
            doc[name] = None if value is None else round(value, 3)
        for name in ("filled_qty", "remaining_qty"):
            value = getattr(self, name)
            doc[name] = None if value is None else format_decimal(value)
        doc["rest"] = self.rest
        doc["exit_code"] = self.exit_code
        return doc


EXIT_PARTIAL = 5  # partly sold: the rest is resting at the floor (gtc) or was cancelled


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch (server clock) as ``2025-01-02 03:04:05.678Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def open_time_text(open_time_ms: int | None, clock: ServerClock) -> str:
    """``, opens <when> (in <s> s)`` — the tail of the symbol and ``armed`` log lines."""
    if open_time_ms is None:
        return ", openTime not announced"
    return f", opens {iso_ms(open_time_ms)} (in {clock.seconds_until(open_time_ms):.1f} s)"


# =================================================================================================
# the results
def sold_result(
    execution: Execution,
    fired: Fired,
    *,
    size: str | None,
    fill: OrderState | None,
    open_seen_by: str | None,
    floor_price: str | None = None,
    floor_tif: str | None = None,
    accepted_ids: Sequence[str] = (),
    sold_ids: Sequence[str] = (),
) -> RunResult:
    """The result of an accepted order (its fill read back, or None). With copies in flight
    (``accepted_ids``: the venue orders of the clientOid read by orderId) the order reported
    is the copy that sold (``sold_ids[0]``, its own reply's timing), not the first accepted."""
    order_id, via = execution.order_id, execution.accepted_via
    ack_ns = execution.ack_ns if via == "reply" else None
    written_ns: int | None = execution.written_ns or None
    if sold_ids and sold_ids[0] != order_id:
        order_id = sold_ids[0]
        seller = next((c for c in execution.accepted if c.order_id == order_id), None)
        if seller is None:  # a copy without a proof, found by clientOid
            ack_ns, written_ns, via = None, None, "lookup"
        else:
            ack_ns, written_ns = seller.ack_ns or None, seller.written_ns or None
    return RunResult(
        client_oid=execution.client_oid,
        channel=fired.channel,
        order_id=order_id,
        size=size,
        detect_ns=fired.detect_ns,
        written_ns=fired.written_ns,
        ack_ns=ack_ns,
        accepted_written_ns=written_ns,
        accepted_via=via,
        attempts=execution.attempts,
        codes=list(execution.codes),
        fill=fill,
        open_seen_by=open_seen_by,
        floor_price=floor_price,
        floor_tif=floor_tif if floor_price is not None else None,
        accepted_ids=list(accepted_ids),
        sold_ids=list(sold_ids) if accepted_ids else [],
    )


def log_accepted(execution: Execution) -> None:
    """The executor's verdict: the order was accepted (by its reply, or found by a lookup)."""
    log.info(
        "order accepted: orderId %s (%s, %d attempt%s)",
        execution.order_id,
        execution.accepted_via,
        execution.attempts,
        "" if execution.attempts == 1 else "s",
    )


async def dry_run_result(executor: Executor, order: PreparedOrder) -> RunResult:
    """Once a channel fired (nothing was written): the order that would have been sent."""
    await executor.fired_event.wait()
    fired = executor.fired
    assert fired is not None
    request = order.resign()
    preview = masked_request(request) if request is not None else "(no order could be built)"
    result = RunResult(
        client_oid=order.client_oid,
        channel=fired.channel,
        order_id=None,
        size=order.size,
        detect_ns=fired.detect_ns,
        written_ns=fired.written_ns,
        ack_ns=None,
        accepted_via="dry-run",
        attempts=0,
        dry_run=True,
        request_preview=preview,
        open_seen_by=executor.open_seen_by,
    )
    log.info("dry run: open detected by %s — no order sent", fired.channel)
    return result


def earlier_result(record: OrderRecord, state: OrderState) -> RunResult:
    """An earlier run's order, found by its clientOid: this run's result (nothing was sent)."""
    return RunResult(
        client_oid=record.client_oid,
        channel=record.channel or "earlier run",
        order_id=state.order_id,
        size=record.size or state.size,
        detect_ns=0,
        written_ns=0,
        accepted_via="lookup",
        attempts=0,
        fill=state,
    )


def write_result(r: RunResult, out: IO[str], *, json_output: bool) -> None:
    """The run's result on ``out``: a few lines of text, or one JSON line (``--json``)."""
    if json_output:
        event = "dry-run" if r.dry_run else "partial" if r.partial else "sold"
        doc = {"event": event, **r.as_dict()}
        out.write(json.dumps(doc, separators=(",", ":"), default=str) + "\n")
        out.flush()
        return
    lines = _dry_run_lines(r) if r.dry_run else _sold_lines(r)
    out.write("\n".join(lines) + "\n")
    out.flush()


def _dry_run_lines(r: RunResult) -> list[str]:
    lines = [
        f"DRY RUN — open detected by {r.channel}; this order would have been sent "
        f"(clientOid {r.client_oid}):"
    ]
    lines.extend("  " + ln for ln in (r.request_preview or "").splitlines())
    lines.append(f"  detect → fire: {r.detect_to_written_us:.1f} µs (in-process)")
    return lines


def _sold_lines(r: RunResult) -> list[str]:
    head = "PARTLY SOLD" if r.partial else "SOLD"
    lines = [f"{head}: orderId {r.order_id} · clientOid {r.client_oid} · fired by {r.channel}"]
    if r.floor_price is not None:
        lines.append(f"  order: limit sell at the floor {r.floor_price} ({r.floor_tif})")
    ack = r.written_to_ack_ms
    lines.append(
        f"  detect → bytes written: {r.detect_to_written_us:.1f} µs (in-process) · "
        f"written → acknowledged: "
        + (f"{ack:.2f} ms" if ack is not None else f"n/a (confirmed by {r.accepted_via})")
    )
    if r.codes:
        total = r.fired_to_ack_ms
        lines.append(
            f"  answers before acceptance: {', '.join(r.codes)} ({r.attempts} attempts"
            + (f"; first write → accepted {total:.1f} ms)" if total is not None else ")")
        )
    f = r.fill
    if f is None:
        lines.append("  fill: not confirmed yet (orderInfo gave nothing)")
    else:
        lines.append(
            f"  fill: status {f.status} · size {f.size} · baseVolume {f.base_volume} · "
            f"priceAvg {f.price_avg} · quoteVolume {f.quote_volume}"
        )
        filled, rest = r.filled_qty, r.remaining_qty
        if filled is not None:
            lines.append(
                f"  filled {format_decimal(filled)} of {r.size or '?'} · remainder "
                + (format_decimal(rest) if rest is not None else "?")
                + (f" ({r.rest})" if r.rest else "")
                + f" · average price {f.price_avg or '?'} · quote received {f.quote_volume or '?'}"
            )
    if len(r.accepted_ids) > 1:
        lines.append(
            f"  copies in flight: {len(r.accepted_ids)} accepted under this clientOid "
            f"(orderIds {', '.join(r.accepted_ids)}), each read by its orderId; "
            + (
                f"{len(r.sold_ids)} sold: the fill above is their TOTAL"
                if len(r.sold_ids) > 1
                else f"sold by {r.sold_ids[0]}"
                if r.sold_ids
                else "none sold"
            )
        )
    if r.quality is not None and f is not None:
        line = quality_line(r.quality)
        if line:
            lines.append(line)
    if r.chunks:
        lines.append(f"  sold in {len(r.chunks)} chunks under the pair's market-order cap:")
        for c in r.chunks:
            cf = c.get("fill") or {}
            lines.append(
                f"    {c['client_oid']} · size {c['size']} · orderId {c.get('order_id')} · "
                f"status {cf.get('status', '?')} · baseVolume {cf.get('base_volume', '?')} · "
                f"quoteVolume {cf.get('quote_volume', '?')}"
            )
    if r.partial:
        lines.append(
            f"  exit code {EXIT_PARTIAL}: partly sold — the rest {r.rest}"
            + (
                "; cancel it on Bitget if you no longer want it"
                if r.fill and r.rest and r.rest.startswith("is resting")
                else ""
            )
        )
    return lines


# =================================================================================================
# the armed status line
def status_text(
    *,
    lanes: Any,
    feed: Any,
    orderfeed: Any,
    polls: int,
    available: Decimal | None,
    seconds_to_open: float | None,
    one_way_ms: float | None = None,
) -> str:
    """The armed status line: a refusing front door first (the order would meet it), the
    public feed, the one-way latency to the exchange as measured (``one_way_ms``: the clock's
    estimate, None: not shown), the private order feed when there is one, polls, balance, time
    to open. ``lanes`` / ``feed`` / ``orderfeed``: the run's parts, None when it has none
    (yet)."""
    parts: list[str] = []
    if lanes is not None and lanes.front_door.refused:
        parts.append(lanes.front_door.describe())
    if feed is None:
        feed_text = "feed -"
    elif feed.up:
        feed_text = "feed up" + ("" if feed.subscribed else " (pair unknown)")
    else:
        feed_text = "feed DOWN"
    rtt = feed.last_rtt_ms if feed is not None else None
    parts += [feed_text, f"ping {rtt:.1f} ms" if rtt is not None else "ping -"]
    if one_way_ms is not None:
        parts.append(f"one way {one_way_ms:.1f} ms")
    if orderfeed is not None:
        if orderfeed.ready.is_set():
            parts.append("private feed up")
        else:
            refused = " (login refused)" if orderfeed.login_error else ""
            parts.append(f"private feed DOWN{refused}")
    parts += [
        f"polls {polls}",
        f"balance {format_decimal(available) if available is not None else '?'}",
    ]
    parts.append(
        f"open in {seconds_to_open:.1f} s" if seconds_to_open is not None else "openTime ?"
    )
    return " · ".join(parts)


# =================================================================================================
# the journal's outcome line
def record_result(journal: Journal, result: RunResult, *, run_id: str | None = None) -> None:
    """A reported sale (``run_id``: the earlier run whose order this run confirmed)."""
    if result.dry_run:
        return
    fill = result.fill
    status = fill.status if fill is not None else ""
    outcome = {
        "filled": "filled",
        "full_fill": "filled",
        "partially_filled": "partially_filled",
        "cancelled": "cancelled",
        "canceled": "cancelled",
    }.get(status, "accepted")
    if result.partial and (result.filled_qty or 0) > 0:
        outcome = "partially_filled"  # some sold; the rest rests (gtc) or was cancelled
    extra: dict[str, Any] = {}
    if fill is not None:
        for name in ("filled_qty", "remaining_qty"):
            value = getattr(result, name)
            extra[name] = None if value is None else format_decimal(value)
        extra["rest"] = result.rest
    if result.floor_price is not None:
        extra["floor_price"] = result.floor_price
        extra["floor_tif"] = result.floor_tif
    if result.accepted_ids:  # copies in flight: the venue orders of the clientOid, the sellers
        extra["accepted_order_ids"] = list(result.accepted_ids)
        extra["sold_order_ids"] = list(result.sold_ids)
    if result.quality is not None:
        extra.update(result.quality.as_fields())
    journal.record_outcome(
        result.client_oid,
        outcome,
        order_id=result.order_id,
        fill={**asdict(fill), **extra} if fill is not None else None,
        exit_code=result.exit_code,
        run_id=run_id,
    )


def record_failure(
    journal: Journal, client_oid: str, *, fired: bool, exc: SniperError | None
) -> None:
    """The run ended without a sale it could report (``exc`` None: interrupted): say why."""
    if isinstance(exc, OrderRejected):
        outcome = "rejected"
    elif fired:
        outcome = "unconfirmed"  # interrupted or unconfirmed after the write: fate unknown
    else:
        outcome = "interrupted-before-fire"
    journal.record_outcome(
        client_oid,
        outcome,
        exit_code=exc.exit_code if exc is not None else None,
        message=" ".join(str(exc).split()) if exc is not None else "interrupted",
    )
