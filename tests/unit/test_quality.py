"""The fill-quality report (sniper.live.quality): the first push's best bid (v2 bidPr, v3
bid1Price), the slippage, open → first fill from the announced open or the first sighting."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from sniper.live.quality import best_bid, measure, quality_line


def push(row: dict[str, str]) -> bytes:
    return json.dumps({"action": "snapshot", "arg": {}, "data": [row]}).encode()


@pytest.mark.parametrize(
    ("payload", "bid"),
    [
        (push({"bidPr": "0.0122"}), D("0.0122")),
        (push({"bid1Price": "1.5"}), D("1.5")),
        (push({"bidPr": ""}), None),
        (push({"bidPr": "0"}), None),
        (push({"bidPr": "x"}), None),
        (b"not json", None),
        (b'{"data":[]}', None),
        (None, None),
    ],
)
def test_best_bid(payload: bytes | None, bid: D | None) -> None:
    assert best_bid(payload) == bid


def test_measure_from_the_announced_open() -> None:
    q = measure(
        price_avg="0.49",
        filled=D("1000"),
        first_hit=push({"bidPr": "0.5"}),
        open_time_ms=1_000_000,
        first_fill_server_ms=1_000_012.5,
        seen_ns=5,
        first_fill_ns=10,
    )
    assert (q.first_best_bid, q.slippage_pct) == ("0.5", -2.0)
    assert (q.open_to_first_fill_ms, q.open_basis) == (12.5, "announced")
    line = quality_line(q)
    assert line is not None and "slippage -2.00 %" in line
    assert "(announced) → first fill 12.5" in line


def test_measure_from_the_first_sighting_and_nothing_sold() -> None:
    q = measure(
        price_avg="0.5",
        filled=D("1"),
        first_hit=None,
        open_time_ms=None,
        first_fill_server_ms=None,
        seen_ns=1_000_000,
        first_fill_ns=4_000_000,
    )
    assert q.slippage_pct is None and (q.open_to_first_fill_ms, q.open_basis) == (3.0, "first seen")
    assert "no ticker push" in (quality_line(q) or "")
    none = measure(
        price_avg="0",
        filled=D("0"),
        first_hit=push({"bidPr": "0.5"}),
        open_time_ms=1,
        first_fill_server_ms=2.0,
        seen_ns=1,
        first_fill_ns=2,
    )
    assert none.slippage_pct is None and none.open_to_first_fill_ms is None
