"""Micro benchmarks of ``sniper._fast``: compiled vs pure-Python twin, side by side.

Run: ``python -m pytest benchmarks/test_micro.py`` (``--benchmark-only`` skips the budget test)
(plain ``pytest`` does not collect this directory: ``testpaths = ["tests"]``).
Each group holds the same operation for both implementations; compare them within one run
(absolute times on a shared machine are noise, ratios are not). ``test_json_loads`` compares the
JSON seam (``sniper.jsonio.loads``, pysimdjson) with ``json.loads`` on a full symbols list.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sniper import jsonio
from sniper._fast import matcher, matcher_py, scanner, scanner_py, signer, signer_py

SYM = "PAWSUSDT"
IMPLS: dict[str, tuple[Any, Any, Any]] = {
    "compiled": (scanner.TickerScanner, matcher.TargetMatcher, signer.OrderTemplate),
    "twin": (scanner_py.TickerScanner, matcher_py.TargetMatcher, signer_py.OrderTemplate),
}


def _ticker(symbol: str, inst_type: str = "SPOT") -> bytes:
    """A v2 ticker push (~430 bytes), the shape of bitget-api.md §7.2 (spot by default)."""
    data = {
        "instId": symbol,
        "lastPr": "43528.19",
        "open24h": "42267.78",
        "high24h": "44490.00",
        "low24h": "41401.53",
        "change24h": "0.03879",
        "bidPr": "43528",
        "askPr": "43528.01",
        "bidSz": "0.0334",
        "askSz": "0.1917",
        "baseVolume": "15002.4216",
        "quoteVolume": "648006446.7164",
        "openUtc": "44071.18",
        "changeUtc24h": "-0.01232",
        "ts": "1701842994338",
    }
    frame = {
        "action": "snapshot",
        "arg": {"instType": inst_type, "channel": "ticker", "instId": symbol},
        "data": [data],
        "ts": 1701842994341,
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def _books(symbol: str, levels: int) -> bytes:
    """A v2 books snapshot of another symbol; ``levels`` per side sets the size."""
    frame = {
        "action": "snapshot",
        "arg": {"instType": "SPOT", "channel": "books", "instId": symbol},
        "data": [
            {
                "asks": [[f"43528.{i:02d}", "1.2345"] for i in range(levels)],
                "bids": [[f"43527.{i:02d}", "0.5000"] for i in range(levels)],
                "checksum": 0,
                "seq": 123,
                "ts": "1701842994338",
            }
        ],
        "ts": 1701842994341,
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def _measure(benchmark: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """Run *fn(*args)* in rounds of many iterations: sub-microsecond calls timed one by one
    would mostly measure the timer. Each round lasts ~0.5 ms; reported times are per call."""
    for _ in range(10):  # warm up
        fn(*args)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.01:
        fn(*args)
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    iterations = max(1, min(100_000, int(500e-6 / per_call)))
    return benchmark.pedantic(fn, args=args, iterations=iterations, rounds=200, warmup_rounds=5)


HIT = _ticker(SYM)
MISS_TICKER = _ticker("BTCUSDT")
# the target's futures ticker: it has the target token, so it is fully parsed (a hit's cost)
MISS_FUTURES = _ticker(SYM, "USDT-FUTURES")
MISS_1K = _books("BTCUSDT", 20)
MISS_64K = _books("BTCUSDT", 1380)
SCAN_CASES = {
    "scan-miss-1k": MISS_1K,
    "scan-miss-other-ticker": MISS_TICKER,
    "scan-hit": HIT,
    "scan-miss-futures-ticker": MISS_FUTURES,
    "scan-miss-64k": MISS_64K,
}
EXPECTED = {"scan-hit": 1}


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("case", list(SCAN_CASES))
def test_scan(benchmark, impl, case):
    payload = SCAN_CASES[case]
    benchmark.group = f"{case} ({len(payload)} B)"
    scan = IMPLS[impl][0](SYM).scan
    assert _measure(benchmark, scan, payload) == EXPECTED.get(case, 0)


@pytest.mark.parametrize("impl", list(IMPLS))
def test_matcher_find_miss_1k(benchmark, impl):
    benchmark.group = f"find-miss-1k ({len(MISS_1K)} B)"
    find = IMPLS[impl][1](SYM).find
    assert _measure(benchmark, find, MISS_1K) == -1


@pytest.mark.parametrize("impl", list(IMPLS))
def test_matcher_find_hit(benchmark, impl):
    benchmark.group = f"find-hit ({len(HIT)} B)"
    find = IMPLS[impl][1](SYM).find
    assert _measure(benchmark, find, HIT) > 0


@pytest.mark.parametrize("impl", list(IMPLS))
def test_resign(benchmark, impl):
    benchmark.group = "order-template-resign"
    template = IMPLS[impl][2](
        method="POST",
        host="api.bitget.com",
        path="/api/v2/spot/trade/place-order",
        body=(
            b'{"symbol":"PAWSUSDT","side":"sell","orderType":"market","force":"gtc",'
            b'"size":"1234.56","clientOid":"snipe-1"}'
        ),
        api_key="bg_0123456789abcdef0123456789abcdef",
        secret="test-secret-not-real",
        passphrase="passphrase",
        timestamp_ms=1700000000000,
    )
    _measure(benchmark, template.resign, 1700000000001)
    assert template.timestamp_ms == 1700000000001


def test_payload_sizes():
    assert 400 <= len(HIT) <= 460
    assert 400 <= len(MISS_FUTURES) <= 480
    assert 900 <= len(MISS_1K) <= 1100
    assert 60_000 <= len(MISS_64K) <= 64 * 1024


# --- the JSON seam ----------------------------------------------------------------------------
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "bitget-samples.json"
SYMBOLS_ROWS = 823  # rows of the real capture the corpus excerpt comes from (its ``source``)


def _symbols_body(rows: int = SYMBOLS_ROWS) -> bytes:
    """A ``GET /api/v2/spot/public/symbols`` reply of ``rows`` rows, built from the corpus'
    real 6-row excerpt (``rest_symbols_v2``): its envelope, its 6 rows verbatim, then copies of
    them in turn whose ``symbol``/``baseCoin`` get a numeric suffix (``LUMIA7`` / ``LUMIA7USDT``)
    so that every symbol is distinct. Compact, as the venue sends it. The real capture has 823
    rows in ~334 kB compact; this body is within a few per cent of that size."""
    doc = json.loads(CORPUS.read_text(encoding="utf-8"))
    body = next(s["body"] for s in doc["samples"] if s["kind"] == "rest_symbols_v2")
    envelope = json.loads(body)
    real = envelope["data"]
    out = list(real)
    for i in range(len(real), rows):
        row = dict(real[i % len(real)])
        row["baseCoin"] = f"{row['baseCoin']}{i}"
        row["symbol"] = f"{row['baseCoin']}{row['quoteCoin']}"
        out.append(row)
    envelope["data"] = out
    return json.dumps(envelope, separators=(",", ":")).encode()


SYMBOLS_BODY = _symbols_body()
JSON_PARSERS: dict[str, Callable[[bytes], Any]] = {"jsonio": jsonio.loads, "json": json.loads}


@pytest.mark.parametrize("parser", list(JSON_PARSERS))
def test_json_loads(benchmark, parser):
    benchmark.group = f"json-symbols-{SYMBOLS_ROWS}-rows ({len(SYMBOLS_BODY)} B)"
    doc = _measure(benchmark, JSON_PARSERS[parser], SYMBOLS_BODY)
    assert doc == json.loads(SYMBOLS_BODY)


def test_symbols_body_shape():
    doc = json.loads(SYMBOLS_BODY)
    symbols = [row["symbol"] for row in doc["data"]]
    assert len(symbols) == len(set(symbols)) == SYMBOLS_ROWS
    assert symbols[:2] == ["LUMIAUSDT", "MCHUSDT"]  # the real rows first, verbatim
    assert 320_000 <= len(SYMBOLS_BODY) <= 350_000


# --- the budget's micro line: compiled TickerScanner.scan >= 5x its twin, on every frame -----
@pytest.fixture(scope="module")
def micro_budget() -> dict[str, Any]:
    from benchmarks.budget import run_micro

    return run_micro()


@pytest.mark.parametrize("label", ["miss_1k", "near_miss_1k", "ack"])
def test_scanner_budget(micro_budget: dict[str, Any], label: str) -> None:
    """FAILS on a missed line (``budget.SCANNER_TWIN_OVER_COMPILED_MIN``; the frames and the
    path each must take are ``budget.MICRO_FRAMES``)."""
    from benchmarks.budget import MICRO_FRAMES, SCANNER_TWIN_OVER_COMPILED_MIN

    assert label in MICRO_FRAMES
    m = micro_budget.get(label) or {}
    assert "ratio" in m, m.get("error") or micro_budget.get("error", "not measured")
    assert m["ratio"] >= SCANNER_TWIN_OVER_COMPILED_MIN, (
        f"{label} ({m['path']}): twin {m['twin_ns']:.0f} ns / compiled {m['compiled_ns']:.0f} ns "
        f"= {m['ratio']:.1f}x < {SCANNER_TWIN_OVER_COMPILED_MIN:g}x"
    )
