"""The latency budget of ``sniper``, as ratios measured in one run, and its check.

This file is the only place the budget lives. Ratios, not absolute times: on a shared 2-core
machine absolute microseconds are noise, while contestants measured interleaved in the same run
share the noise.

End to end (see ``benchmarks/e2e.py``): latency = listing ticker written by the embedded
exchange → first byte of the order received by it, on loopback, per contestant:
``floor`` (C, blocking sockets, the least possible work), ``sniper`` (``sniper run``, the
product) and ``baseline`` (an ordinary aiohttp + json.loads bot).

Micro: ``TickerScanner.scan`` on a 1 KB miss frame, compiled module vs its pure-Python twin,
both imported directly (``sniper._fast.scanner`` and ``sniper._fast.scanner_py``).

Usage: ``python -m benchmarks [--runs N] [--json PATH] [--plot PATH] [--contestants a,b]``
(also ``sniper bench``). Exit status 0 when every budget line passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "latest.json"

# ------------------------------------------------------------------------------------------
# THE BUDGET
# ------------------------------------------------------------------------------------------
SNIPER_P50_OVER_FLOOR_P50_MAX = 1.15  # sniper p50 <= 1.15 x floor p50
SNIPER_P90_OVER_FLOOR_P90_MAX = 1.30  # sniper p90 <= 1.3 x floor p90
BASELINE_P50_OVER_SNIPER_P50_MIN = 4.0  # baseline p50 / sniper p50 >= 4
SCANNER_TWIN_OVER_COMPILED_MIN = 5.0  # compiled TickerScanner.scan >= 5x its twin (1 KB miss)
SNIPER_FAILURES_MAX = 0  # a fast sniper that misses a listing is not fast
# ------------------------------------------------------------------------------------------


@dataclass
class BudgetLine:
    name: str
    measured: float | None  # the ratio, None when it could not be measured
    limit: float
    kind: str  # "max" (measured <= limit) or "min" (measured >= limit)
    note: str = ""

    @property
    def passed(self) -> bool:
        if self.measured is None or math.isnan(self.measured):
            return False
        if self.kind == "max":
            return self.measured <= self.limit
        return self.measured >= self.limit

    def render(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        op = "<=" if self.kind == "max" else ">="
        got = "n/a" if self.measured is None else f"{self.measured:.2f}"
        limit = f"{self.limit:g}"
        text = f"{verdict}  {self.name}: measured {got} (budget {op} {limit})"
        return text + (f"  [{self.note}]" if self.note else "")


# --- micro: compiled scanner vs twin -------------------------------------------------------

TARGET = "PAWSUSDT"


def miss_frame(size: int = 1024) -> bytes:
    """A ~``size``-byte v2 ticker push for another symbol (the common miss)."""
    head = (
        b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"BTCUSDT"},'
        b'"data":[{"instId":"BTCUSDT","lastPr":"43528.19","open24h":"42267.78",'
        b'"high24h":"44490.00","low24h":"41401.53","change24h":"0.03879","bidPr":"43528",'
        b'"askPr":"43528.01","bidSz":"0.0334","askSz":"0.1917","baseVolume":"15002.4216",'
        b'"quoteVolume":"648006446.7164","openUtc":"44071.18","changeUtc24h":"-0.01232",'
        b'"ts":"1701842994338","pad":"'
    )
    tail = b'"}],"ts":1701842994341}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def near_miss_frame(size: int = 1024) -> bytes:
    """~``size`` bytes naming the target on another channel: the twin must parse it all."""
    return miss_frame(size).replace(b'"ticker"', b'"books5"').replace(b"BTCUSDT", TARGET.encode())


def _per_call_ns(fn: Callable[[], object], *, repeat: int = 7, budget_s: float = 0.2) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * budget_s / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def run_micro() -> dict[str, Any]:
    """Time ``TickerScanner.scan`` compiled vs twin; {} entries carry an ``error`` if missing."""
    from sniper._fast import scanner_py  # the twin, imported directly

    try:
        from sniper._fast import scanner as compiled  # the extension module, directly
    except ImportError as exc:
        return {"error": f"compiled scanner not built: {exc}"}
    out: dict[str, Any] = {"target": TARGET}
    for label, frame in (("miss_1k", miss_frame()), ("near_miss_1k", near_miss_frame())):
        fast = compiled.TickerScanner(TARGET)
        twin = scanner_py.TickerScanner(TARGET)
        assert int(fast.scan(frame)) == int(twin.scan(frame)) == 0, "frame must be a miss"
        fast_ns = _per_call_ns(lambda f=fast, b=frame: f.scan(b))
        twin_ns = _per_call_ns(lambda t=twin, b=frame: t.scan(b))
        out[label] = {
            "bytes": len(frame),
            "compiled_ns": fast_ns,
            "twin_ns": twin_ns,
            "ratio": twin_ns / fast_ns,
        }
    return out


# --- the check -----------------------------------------------------------------------------


def _summary(result: dict[str, Any], name: str) -> dict[str, float] | None:
    c = result.get("contestants", {}).get(name)
    if not c or not c["summary"]["n"]:
        return None
    return c["summary"]


def evaluate(result: dict[str, Any], micro: dict[str, Any]) -> list[BudgetLine]:
    floor = _summary(result, "floor")
    sniper = _summary(result, "sniper")
    baseline = _summary(result, "baseline")
    unavailable = result.get("unavailable", {})

    def why_missing(*names: str) -> str:
        for n in names:
            if n in unavailable:
                return f"{n} unavailable"
            if _summary(result, n) is None:
                return f"{n} not measured"
        return ""

    def ratio(a: dict | None, ka: str, b: dict | None, kb: str) -> float | None:
        return None if a is None or b is None else a[ka] / b[kb]

    lines = [
        BudgetLine(
            "sniper p50 / floor p50",
            ratio(sniper, "p50_us", floor, "p50_us"),
            SNIPER_P50_OVER_FLOOR_P50_MAX,
            "max",
            why_missing("floor", "sniper"),
        ),
        BudgetLine(
            "sniper p90 / floor p90",
            ratio(sniper, "p90_us", floor, "p90_us"),
            SNIPER_P90_OVER_FLOOR_P90_MAX,
            "max",
            why_missing("floor", "sniper"),
        ),
        BudgetLine(
            "baseline p50 / sniper p50",
            ratio(baseline, "p50_us", sniper, "p50_us"),
            BASELINE_P50_OVER_SNIPER_P50_MIN,
            "min",
            why_missing("baseline", "sniper"),
        ),
    ]
    miss = micro.get("miss_1k")
    lines.append(
        BudgetLine(
            "scanner twin / compiled (1 KB miss)",
            miss["ratio"] if miss else None,
            SCANNER_TWIN_OVER_COMPILED_MIN,
            "min",
            "" if miss else micro.get("error", "not measured"),
        )
    )
    sn = result.get("contestants", {}).get("sniper")
    lines.append(
        BudgetLine(
            "sniper failures",
            float(sn["failures"]) if sn else None,
            SNIPER_FAILURES_MAX,
            "max",
            "" if sn else why_missing("sniper"),
        )
    )
    return lines


def render_table(result: dict[str, Any]) -> str:
    floor = _summary(result, "floor")
    rows = [
        f"{'contestant':<10} {'n':>4} {'p50 µs':>9} {'p90 µs':>9} {'p99 µs':>9} "
        f"{'p50/floor':>10} {'p90/floor':>10} {'fail':>5}"
    ]
    for name, c in result.get("contestants", {}).items():
        s = c["summary"]
        if s["n"]:
            r50 = f"{s['p50_us'] / floor['p50_us']:.2f}x" if floor else "-"
            r90 = f"{s['p90_us'] / floor['p90_us']:.2f}x" if floor else "-"
            rows.append(
                f"{name:<10} {s['n']:>4} {s['p50_us']:>9.1f} {s['p90_us']:>9.1f} "
                f"{s['p99_us']:>9.1f} {r50:>10} {r90:>10} {c['failures']:>5}"
            )
        else:
            rows.append(
                f"{name:<10} {0:>4} {'-':>9} {'-':>9} {'-':>9} {'-':>10} {'-':>10} "
                f"{c['failures']:>5}"
            )
    for name, why in result.get("unavailable", {}).items():
        rows.append(f"{name:<10} unavailable: {why.splitlines()[0]}")
    return "\n".join(rows)


def render_breakdown(result: dict[str, Any]) -> list[str]:
    """Median split of the e2e latency, for contestants that report their own stamps."""
    from benchmarks.e2e import percentile

    out = []
    for name in result.get("contestants", {}):
        rows = [
            r
            for r in result.get("rounds", [])
            if r["contestant"] == name and r["ok"] and r.get("ticker_to_detect_us") is not None
        ]
        if not rows:
            continue

        def med(key: str, rows: list = rows) -> float:
            return percentile([r[key] for r in rows], 50)

        out.append(
            f"{name} breakdown (medians, n={len(rows)}): ticker written → frame callback "
            f"{med('ticker_to_detect_us'):.1f} µs · callback → write() returned "
            f"{med('inproc_us'):.1f} µs · write() returned → exchange stamp "
            f"{med('written_to_first_byte_us'):+.1f} µs (negative: the kernel stamps the "
            "segment inside the write syscall)"
        )
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    """Latency distribution per contestant (log scale), small enough to commit."""
    import random

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, c in result["contestants"].items() if c["samples_ns"]]
    data = [[s / 1000.0 for s in result["contestants"][n]["samples_ns"]] for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.8 * max(1, len(names))), dpi=100)
    ax.boxplot(data, vert=False, whis=(10, 90), showfliers=False, widths=0.5)
    rng = random.Random(0)
    for i, xs in enumerate(data, start=1):
        ax.scatter(xs, [i + rng.uniform(-0.18, 0.18) for _ in xs], s=8, alpha=0.6)
    labels = [f"{n} (n={len(d)})" for n, d in zip(names, data, strict=True)]
    ax.set_yticks(range(1, len(names) + 1), labels)
    ax.set_xscale("log")
    ax.set_xlabel("listing ticker written → order first byte received (µs, log)")
    meta = result.get("meta", {})
    ax.set_title(
        f"e2e loopback latency, {meta.get('date_utc', '')[:10]}, {meta.get('cpus', '?')} CPUs "
        "(box p25-p75, line p50, whiskers p10-p90)",
        fontsize=9,
    )
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- CLI -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmarks.e2e import ALL_CONTESTANTS

    parser.add_argument(
        "--runs", type=int, default=30, metavar="N", help="rounds per contestant (default 30)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="write raw samples and summary here (default benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--plot", type=Path, default=None, metavar="PATH", help="write a PNG of the distributions"
    )
    parser.add_argument(
        "--contestants",
        default=",".join(ALL_CONTESTANTS),
        metavar="A,B",
        help=f"comma-separated subset of {','.join(ALL_CONTESTANTS)} (default: all)",
    )


def main(args: argparse.Namespace) -> int:
    from benchmarks.e2e import run_e2e

    names = [n.strip() for n in args.contestants.split(",") if n.strip()]
    if args.runs < 1:
        print("bench: --runs must be >= 1", file=sys.stderr)
        return 2

    def progress(r: Any) -> None:
        lat = f"{r.latency_ns / 1000:8.1f} µs" if r.ok else f"FAIL {r.reason[:160]}"
        print(f"  round {r.index:3d} {r.contestant:<9} {lat}", file=sys.stderr, flush=True)

    print(f"bench: {args.runs} rounds x {names}, interleaved", file=sys.stderr, flush=True)
    result = run_e2e(runs=args.runs, contestants=names, progress=progress)
    micro = run_micro()
    result["micro"] = micro
    lines = evaluate(result, micro)
    result["budget"] = [
        {
            "name": b.name,
            "measured": b.measured,
            "limit": b.limit,
            "kind": b.kind,
            "passed": b.passed,
            "note": b.note,
        }
        for b in lines
    ]

    meta = result["meta"]
    print()
    print(
        f"e2e latency, listing ticker written -> order first byte (loopback), {meta['date_utc']}, "
        f"{meta['cpu']} x{meta['cpus']}, Python {meta['python']}, {meta['duration_s']} s, "
        f"load avg (1 min) {meta['loadavg_1m_at_start']:.2f} -> {meta['loadavg_1m_at_end']:.2f}"
    )
    print(render_table(result))
    for label in ("miss_1k", "near_miss_1k"):
        m = micro.get(label)
        if m:
            print(
                f"micro TickerScanner.scan {label} ({m['bytes']} B): compiled "
                f"{m['compiled_ns']:.0f} ns, twin {m['twin_ns']:.0f} ns, {m['ratio']:.1f}x"
            )
    for line in render_breakdown(result):
        print(line)
    if "error" in micro:
        print(f"micro: {micro['error']}")
    print()
    for b in lines:
        print(b.render())
    ok = all(b.passed for b in lines)
    print("budget:", "PASS" if ok else "FAIL")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, default=str))
        print(f"raw samples: {args.json}")
    if args.plot:
        plot(result, args.plot)
        print(f"plot: {args.plot}")
    return 0 if ok else 1
