"""Chunk planning under a market-order cap (sniper.live.chunks): sizes under the cap adding up
exactly to the sale; the cap in base units (v3 quantity, v2 value at a price with a margin);
the clientOids; the aggregate fill."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from sniper.live.chunks import (
    MAX_CHUNKS,
    VALUE_CAP_MARGIN,
    ChunkResult,
    aggregate,
    cap_quantity,
    chunk_oid,
    first_chunk,
    plan,
)
from sniper.live.venue import OrderState, SymbolState


@pytest.mark.parametrize(
    ("total", "cap", "precision", "sizes"),
    [
        ("1000", "300", 2, ["300", "300", "300", "100"]),
        ("900", "300", 2, ["300", "300", "300"]),
        ("100", "300", 2, ["100"]),
        ("1", "0.333", 2, ["0.33", "0.33", "0.33", "0.01"]),
        ("10.5", "4.99", 0, ["4", "4", "2.5"]),
    ],
)
def test_plan_adds_up_exactly_under_the_cap(
    total: str, cap: str, precision: int, sizes: list[str]
) -> None:
    got = plan(D(total), D(cap), precision)
    assert got == sizes
    assert sum(D(s) for s in got) == D(total)
    assert all(D(s) <= D(cap) for s in got)


def test_plan_refuses_a_cap_below_one_step_or_too_many_orders() -> None:
    with pytest.raises(ValueError, match="below one quantity step"):
        plan(D("10"), D("0.001"), 2)
    with pytest.raises(ValueError, match="orders"):
        plan(D(MAX_CHUNKS + 1), D("1"), 0)


def test_cap_quantity() -> None:
    assert cap_quantity(SymbolState("gray", max_market_order_qty=D("300")), None) == D("300")
    value = SymbolState("gray", max_market_order_value=D("150"))
    assert cap_quantity(value, None) is None  # no price: unknown in base units
    assert cap_quantity(value, D("0.5")) == D("300") * VALUE_CAP_MARGIN
    assert cap_quantity(SymbolState("gray"), D("1")) is None


def test_first_chunk() -> None:
    sym = SymbolState("gray", quantity_precision=2, max_market_order_qty=D("300"))
    assert first_chunk("1000", sym, None, market=True) == ("300", 4)
    assert first_chunk("1000", sym, None, market=False) == ("1000", 1)  # a limit: no cap
    assert first_chunk("200", sym, None, market=True) == ("200", 1)


def test_chunk_oid() -> None:
    assert chunk_oid("snp-0123456789abcdef01234567", 2) == "snp-0123456789abcdef01234567-2"
    with pytest.raises(ValueError):
        chunk_oid("x" * 39, 10)


def test_aggregate() -> None:
    def chunk(oid: str, status: str, base: str, quote: str) -> ChunkResult:
        fill = OrderState(oid, oid, status, base, base, quote, "0")
        return ChunkResult(oid, base, oid, fill)

    a = chunk("a", "filled", "300", "150")
    whole = aggregate([a, chunk("b", "filled", "100", "60")], "400")
    assert whole is not None
    assert (whole.status, whole.base_volume, whole.quote_volume) == ("filled", "400", "210")
    assert D(whole.price_avg) == D("0.525") and whole.order_id == "a" and whole.size == "400"
    thin = aggregate([a, chunk("b", "cancelled", "50", "20")], "400")
    assert thin is not None and thin.status == "cancelled" and thin.base_volume == "350"
    assert aggregate([ChunkResult("a", "1")], "1") is None
