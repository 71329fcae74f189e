"""The fill-quality report of a sale (issue 13): how well it sold, measured after the fact.

* **Slippage** of the average fill price against the best bid of the first ticker push after
  the open, when the feed saw one (the hot path keeps a copy of that push's bytes AFTER the
  fire: ``TickerListener.first_hit``; it is parsed here, off the hot path): ``(avg - bid) / bid``
  in percent — negative: sold below that bid (a market order walking a thin book), positive:
  above it.
* **Open → first fill**: from the open — the announced open time when there is one (server
  clock), else the instant a channel first saw the pair trading — to the first fill. The
  exchange matches an order before it answers it, so the first fill is taken at the accepting
  reply of the first order that executed (its first byte).

Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sniper import jsonio

# the best-bid field of a ticker push: v2 ``bidPr``, v3 ``bid1Price`` (bitget-api.md §7, §5.10)
BID_FIELDS = ("bidPr", "bid1Price")


def best_bid(payload: bytes | None) -> Decimal | None:
    """The best bid of a ticker push (None: no push, not JSON, no positive bid in it)."""
    if not payload:
        return None
    try:
        doc = jsonio.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    for name in BID_FIELDS:
        value = data[0].get(name)
        if value in (None, ""):
            continue
        try:
            bid = Decimal(str(value))
        except InvalidOperation:
            return None
        return bid if bid.is_finite() and bid > 0 else None
    return None


@dataclass(frozen=True)
class FillQuality:
    first_best_bid: str | None  # the first push's best bid, as it said it
    slippage_pct: float | None  # (avg - bid) / bid x 100
    open_to_first_fill_ms: float | None
    open_basis: str | None  # "announced" | "first seen"

    def as_fields(self) -> dict[str, Any]:
        return {
            "first_best_bid": self.first_best_bid,
            "slippage_pct": self.slippage_pct,
            "open_to_first_fill_ms": self.open_to_first_fill_ms,
            "open_basis": self.open_basis,
        }


def measure(
    *,
    price_avg: str | None,
    filled: Decimal | None,
    first_hit: bytes | None,
    open_time_ms: int | None,
    first_fill_server_ms: float | None,
    seen_ns: int | None,
    first_fill_ns: int | None,
) -> FillQuality:
    """The report for a sale whose average price is ``price_avg`` and executed quantity
    ``filled``. The open: ``open_time_ms`` (announced, server clock) compared with
    ``first_fill_server_ms`` (server clock), else ``seen_ns`` compared with ``first_fill_ns``
    (monotonic)."""
    sold = filled is not None and filled > 0
    bid = best_bid(first_hit)
    slippage = None
    if sold and bid is not None and price_avg:
        try:
            avg = Decimal(price_avg)
        except InvalidOperation:
            avg = None
        if avg is not None and avg.is_finite() and avg > 0:
            slippage = round(float((avg - bid) / bid * 100), 4)
    open_ms = basis = None
    if sold and open_time_ms is not None and first_fill_server_ms is not None:
        open_ms, basis = round(first_fill_server_ms - open_time_ms, 3), "announced"
    elif sold and seen_ns and first_fill_ns:
        open_ms, basis = round((first_fill_ns - seen_ns) / 1e6, 3), "first seen"
    return FillQuality(
        str(bid) if bid is not None else None,
        slippage,
        open_ms,
        basis,
    )


def quality_line(q: FillQuality) -> str | None:
    """The printed line (None when there is nothing to say)."""
    parts = []
    if q.slippage_pct is not None:
        parts.append(
            f"slippage {q.slippage_pct:+.2f} % vs the first best bid {q.first_best_bid} "
            "(the first ticker push after the open)"
        )
    elif q.first_best_bid is None:
        parts.append("slippage: n/a (the feed saw no ticker push after the open)")
    if q.open_to_first_fill_ms is not None:
        parts.append(f"open ({q.open_basis}) → first fill {q.open_to_first_fill_ms:.1f} ms")
    return "  fill quality: " + " · ".join(parts) if parts else None
