"""``sniper demo --scenario thin-book|market-refused|capped`` (issue 13), run as a user runs it:
each listing-day case end to end, in both account modes."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

import sniper

PACKAGE_ROOT = Path(sniper.__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def demo(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "sniper", "demo", "--lead-s", "1.5", *args],
        capture_output=True,
        text=True,
        timeout=80,
        stdin=subprocess.DEVNULL,
        cwd=PACKAGE_ROOT,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "listing(s) went as scenario" in text and "UNEXPECTED" not in text
    return text


def fills(text: str) -> list[tuple[D, D, str]]:
    """(size, price, order kind) of every fill the demo listed."""
    return [(D(m[1]), D(m[2]), m[3]) for m in re.finditer(r"fill (\S+) @ (\S+) \(([a-z ]+),", text)]


@pytest.mark.parametrize("account", ["classic", "uta"])
@pytest.mark.timeout(90)
def test_thin_book_sells_only_at_or_above_the_floor_and_exits_5(account: str) -> None:
    text = demo("--scenario", "thin-book", "--account", account)
    got = fills(text)
    assert [(size, price) for size, price, _ in got] == [
        (D("300000"), D("0.0130")),
        (D("300000"), D("0.0125")),
    ]
    assert all(kind == "limit gtc" for _, _, kind in got)
    assert "PARTLY SOLD" in text and "remainder 420200 (is resting at the floor 0.012)" in text
    assert "the sniper exited 5 (expected 5)" in text


@pytest.mark.parametrize("account", ["classic", "uta"])
@pytest.mark.timeout(90)
def test_market_refused_sells_by_limit_at_once(account: str) -> None:
    text = demo("--scenario", "market-refused", "--account", account)
    got = fills(text)
    assert sum(size for size, _, _ in got) == D("1020200")
    assert all(price >= D("0.011") and kind.startswith("limit") for _, price, kind in got)
    assert "exchange saw 1 order request(s), 1 accepted" in text


@pytest.mark.parametrize(("account", "cap"), [("classic", D("243902.44")), ("uta", D("300000"))])
@pytest.mark.timeout(90)
def test_capped_sells_exactly_the_amount_in_chunks_under_the_cap(account: str, cap: D) -> None:
    text = demo("--scenario", "capped", "--account", account)
    got = fills(text)
    assert sum(size for size, _, _ in got) == D("1020200") and len(got) >= 4
    assert all(size <= cap and kind == "market" for size, _, kind in got)
    accepted = re.findall(r"order (\S+) size (\S+) → 00000", text)
    assert len({oid for oid, _ in accepted}) == len(accepted) == len(got)
    assert "chunks under the pair's market-order cap" in text
