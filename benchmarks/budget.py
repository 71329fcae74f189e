"""The latency budget of ``sniper``, as ratios measured in one run, and its check.

This file is the only place the budget lives. Ratios, not absolute times: on a shared 2-core
machine absolute microseconds are noise, while contestants measured interleaved in the same run
share the noise.

End to end (see ``benchmarks/e2e.py``): latency = listing ticker written by the embedded
exchange → first byte of the order received by it, on loopback, per contestant. Like is
compared with like (``E2E_LINES``, p50 / p50):

* ``sniper_spin_off`` (``sniper run``, SPIN=off: its event loop sleeps in epoll, and a timer
  runs a loopback warm frame through the read path every ``SLEEP_WARM_US``, 1 ms) against
  ``floor_block_warm`` (C, blocking ``recv`` — the least possible work — woken by a receive
  timeout as often, to run its loopback warmer: ``contestants/floor_warm.c``); every floor asks
  for the time slice the sniper asks for (``SCHED_SLICE_US``; ``e2e.FLOOR_SLICE``);
* ``sniper_spin_always`` (SPIN=always: the loop busy-polls, and its busy-poll keeps the read
  path warm with a loopback frame every 200 µs, ``sniper.live.warmer``) against
  ``floor_busy_warm`` (C, ``recv(MSG_DONTWAIT)`` in a loop, with the same loopback warmer:
  ``contestants/floor_warm.c``);
* the same two pairs over TLS (``wss://`` + ``https://`` on the embedded exchange's TLS mode):
  ``sniper_tls_spin_off`` / ``floor_tls_block_warm`` and ``sniper_tls_spin_always`` /
  ``floor_tls_busy_warm`` (OpenSSL, ``SSL_read`` blocking with the 1 ms warm wake-up, or on a
  non-blocking socket in a loop with the loopback warmer);
* ``baseline`` (an ordinary aiohttp + json.loads bot) against ``sniper_spin_off``.

Micro: ``TickerScanner.scan`` compiled module vs its pure-Python twin, both imported directly
(``sniper._fast.scanner`` and ``sniper._fast.scanner_py``), on three frames: a 1 KB miss (another
symbol: both take the byte-search shortcut), a 1 KB near miss (the target named on another
channel: both must parse it all) and the subscribe ack naming the target (an event: parsed).

A ratio is only judged on enough samples: every e2e line needs at least ``MIN_SAMPLES``
successful rounds per contestant it involves (fewer: the line FAILs, "too few samples").

The keep-awake (``benchmarks/keepawake.py``) is a diagnostic (``--keep-awake``): the budget is
judged with it off (``BUDGET_KEEP_AWAKE``), see BENCHMARKS.md.

Usage: ``python -m benchmarks [--runs N] [--seed S] [--json PATH] [--plot PATH]
[--contestants a,b] [--keep-awake | --keep-awake-us P]`` (also ``sniper bench``). Exit status 0
when every budget line passes, 1 otherwise. ``pytest benchmarks/test_e2e.py`` runs the same
check as tests (one per line).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "latest.json"

# ------------------------------------------------------------------------------------------
# THE BUDGET
# ------------------------------------------------------------------------------------------
SPIN_OFF_OVER_BLOCKING_FLOOR_MAX = 1.15  # sniper SPIN=off p50 <= 1.15 x (warmed) blocking floor
SPIN_ALWAYS_OVER_BUSY_FLOOR_MAX = 1.15  # sniper SPIN=always p50 <= 1.15 x busy-polling floor
TLS_OVER_TLS_FLOOR_MAX = 1.2  # each TLS sniper p50 <= 1.2 x the matching TLS floor p50
BASELINE_P50_OVER_SNIPER_P50_MIN = 8.0  # baseline p50 / sniper (SPIN=off) p50 >= 8
SCANNER_TWIN_OVER_COMPILED_MIN = 5.0  # compiled TickerScanner.scan >= 5x its twin, every frame
SNIPER_FAILURES_MAX = 0  # a fast sniper that misses a listing is not fast (every sniper_*)
MIN_SAMPLES = 15  # per contestant in an e2e line; fewer -> the line FAILs ("too few samples")
# The budget is judged with the keep-awake off (BENCHMARKS.md, "Keep-awake: a diagnostic"): a
# run with it on is a diagnostic run and its e2e lines FAIL as not judged.
BUDGET_KEEP_AWAKE = False
DEFAULT_RUNS = 25  # python -m benchmarks / sniper bench / pytest: rounds per contestant
# The e2e lines: (line, numerator contestant, denominator contestant, limit, kind), p50 / p50.
E2E_LINES: tuple[tuple[str, str, str, float, str], ...] = (
    (
        "sniper SPIN=off / warmed blocking floor (p50)",
        "sniper_spin_off",
        "floor_block_warm",
        SPIN_OFF_OVER_BLOCKING_FLOOR_MAX,
        "max",
    ),
    (
        "sniper SPIN=always / warmed busy-polling floor (p50)",
        "sniper_spin_always",
        "floor_busy_warm",
        SPIN_ALWAYS_OVER_BUSY_FLOOR_MAX,
        "max",
    ),
    (
        "TLS sniper SPIN=off / warmed TLS blocking floor (p50)",
        "sniper_tls_spin_off",
        "floor_tls_block_warm",
        TLS_OVER_TLS_FLOOR_MAX,
        "max",
    ),
    (
        "TLS sniper SPIN=always / warmed TLS busy-polling floor (p50)",
        "sniper_tls_spin_always",
        "floor_tls_busy_warm",
        TLS_OVER_TLS_FLOOR_MAX,
        "max",
    ),
    (
        "baseline / sniper SPIN=off (p50)",
        "baseline",
        "sniper_spin_off",
        BASELINE_P50_OVER_SNIPER_P50_MIN,
        "min",
    ),
)
# Each contestant's reference in the table (its budget partner; for the floors, what the wait
# mode or TLS costs).
REFERENCE = {
    "floor_busy": "floor_block",
    "floor_tls_block": "floor_block",
    "floor_tls_busy": "floor_busy",
    "floor_block_warm": "floor_block",
    "floor_tls_block_warm": "floor_tls_block",
    "sniper_spin_off": "floor_block_warm",
    "sniper_spin_always": "floor_busy_warm",
    "sniper_tls_spin_off": "floor_tls_block_warm",
    "sniper_tls_spin_always": "floor_tls_busy_warm",
    "baseline": "sniper_spin_off",
    "hosted_floor": "floor_block",
    "bare_picows_busy": "floor_busy",
    "bare_picows_off": "floor_block",
    "bare_picows_busy_asyncio": "floor_busy",
    "bare_raw_busy": "floor_busy",
    "bare_picows_busy_warm": "floor_busy",
    "sniper_spin_always_warm": "floor_busy_warm",
    "floor_busy_warm": "floor_busy",
    "floor_tls_busy_warm": "floor_tls_busy",
}
# ------------------------------------------------------------------------------------------
BOOTSTRAP_RESAMPLES = 2000  # for the ratios' 90 % confidence intervals (reported, not judged)


@dataclass
class BudgetLine:
    name: str
    measured: float | None  # the ratio, None when it could not be measured
    limit: float
    kind: str  # "max" (measured <= limit) or "min" (measured >= limit)
    note: str = ""
    # the value even when the line cannot be judged (too few samples...): shown, never passed
    measured_anyway: float | None = None

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
        shown = self.measured if self.measured is not None else self.measured_anyway
        got = "n/a" if shown is None else f"{shown:.2f}"
        if self.measured is None and shown is not None:
            got += " (not judged)"
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
    """~``size`` bytes naming the target on another channel (``books5``): the target token is in
    the frame, so neither implementation may take the shortcut; both parse it all."""
    return miss_frame(size).replace(b'"ticker"', b'"books5"').replace(b"BTCUSDT", TARGET.encode())


def ack_frame() -> bytes:
    """The subscribe ack naming the target (an ``event``: parsed, classified EVENT)."""
    return (
        b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"ticker","instId":"'
        + TARGET.encode()
        + b'"}}'
    )


# label -> (frame, the FrameKind both implementations must return, the path it must take)
MICRO_FRAMES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "miss_1k": (miss_frame, "OTHER", "shortcut"),
    "near_miss_1k": (near_miss_frame, "OTHER", "parse"),
    "ack": (ack_frame, "EVENT", "parse"),
}
MICRO_TITLES = {
    "miss_1k": "1 KB miss (other symbol)",
    "near_miss_1k": "1 KB near miss (target on books5)",
    "ack": "subscribe ack naming the target",
}


def _scan_path(frame: bytes) -> str:
    """Which path ``TickerScanner.scan`` takes on ``frame`` (the documented exact shortcut: no
    whole ``"TARGET"`` token and no ``"event"`` key -> OTHER without a parse)."""
    from sniper._fast import matcher_py

    if matcher_py.TargetMatcher(TARGET).find(frame) < 0 and b'"event"' not in frame:
        return "shortcut"
    return "parse"


def _per_call_ns(fn: Callable[[], object], *, repeat: int = 7, budget_s: float = 0.2) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * budget_s / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def _scan_call(scanner: Any, frame: bytes) -> Callable[[], object]:
    def call() -> object:
        return scanner.scan(frame)

    return call


def run_micro() -> dict[str, Any]:
    """Time ``TickerScanner.scan`` compiled vs twin per frame; ``error`` if not built."""
    from sniper._fast import codes_py, scanner_py  # the twin, imported directly

    try:
        from sniper._fast import scanner as compiled  # the extension module, directly
    except ImportError as exc:
        return {"error": f"compiled scanner not built: {exc}"}
    out: dict[str, Any] = {"target": TARGET}
    for label, (make, kind, path) in MICRO_FRAMES.items():
        frame = make()
        fast = compiled.TickerScanner(TARGET)
        twin = scanner_py.TickerScanner(TARGET)
        want = int(codes_py.FrameKind[kind])
        got = (int(fast.scan(frame)), int(twin.scan(frame)))
        if got != (want, want) or _scan_path(frame) != path:
            out[label] = {"error": f"{label}: expected {kind} via {path}, got {got}"}
            continue
        fast_ns = _per_call_ns(_scan_call(fast, frame))
        twin_ns = _per_call_ns(_scan_call(twin, frame))
        out[label] = {
            "bytes": len(frame),
            "kind": kind,
            "path": path,
            "compiled_ns": fast_ns,
            "twin_ns": twin_ns,
            "ratio": twin_ns / fast_ns,
        }
    return out


# --- confidence intervals --------------------------------------------------------------------


def bootstrap_ratio_ci(
    num_us: Sequence[float],
    den_us: Sequence[float],
    q: float,
    *,
    seed: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 90.0,
) -> tuple[float, float] | None:
    """Percentile-bootstrap ``level`` % CI of pXX(num) / pXX(den), each side resampled
    independently (the contestants' rounds are independent). Informational: the budget
    judges the point estimate, on at least ``MIN_SAMPLES`` per side."""
    from benchmarks.e2e import percentile

    if len(num_us) < 2 or len(den_us) < 2:
        return None
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        a = percentile(rng.choices(num_us, k=len(num_us)), q)
        b = percentile(rng.choices(den_us, k=len(den_us)), q)
        ratios.append(a / b)
    tail = (100.0 - level) / 2
    return percentile(ratios, tail), percentile(ratios, 100.0 - tail)


# --- the check -----------------------------------------------------------------------------


def _summary(result: dict[str, Any], name: str) -> dict[str, float] | None:
    c = result.get("contestants", {}).get(name)
    if not c or not c["summary"]["n"]:
        return None
    summary: dict[str, float] = c["summary"]
    return summary


def _samples_us(result: dict[str, Any], name: str) -> list[float]:
    c = result.get("contestants", {}).get(name)
    return [s / 1000.0 for s in c["samples_ns"]] if c else []


def ratio_cis(result: dict[str, Any]) -> dict[str, tuple[float, float] | None]:
    """90 % bootstrap CIs of the e2e budget ratios (p50 / p50), seeded from the run's seed:
    reproducible."""
    seed = int(result.get("meta", {}).get("seed", 0))
    return {
        line: bootstrap_ratio_ci(
            _samples_us(result, a), _samples_us(result, b), 50.0, seed=seed + i
        )
        for i, (line, a, b, _limit, _kind) in enumerate(E2E_LINES)
    }


def _sniper_names(result: dict[str, Any]) -> list[str]:
    from benchmarks.e2e import ALL_CONTESTANTS

    return [n for n in ALL_CONTESTANTS if n.startswith("sniper_")]


def evaluate(result: dict[str, Any], micro: dict[str, Any]) -> list[BudgetLine]:
    unavailable = result.get("unavailable", {})
    keep_awake = result.get("meta", {}).get("keep_awake", {})
    cis = ratio_cis(result)

    def why_not(*names: str) -> str:
        """Why a line over ``names`` cannot be judged ("" when it can)."""
        for n in names:  # an unavailable contestant (a floor that did not build) first
            if n in unavailable:
                return f"{n} unavailable: {unavailable[n].splitlines()[0]}"
        for n in names:
            s = _summary(result, n)
            if s is None:
                return f"{n} not measured"
            if s["n"] < MIN_SAMPLES:
                return f"too few samples: {n} n={s['n']:.0f} < {MIN_SAMPLES}"
        if bool(keep_awake.get("period_us")) != BUDGET_KEEP_AWAKE:
            return (
                f"keep-awake {'on' if keep_awake.get('period_us') else 'off'}: a diagnostic run; "
                f"the budget is judged with it {'on' if BUDGET_KEEP_AWAKE else 'off'} "
                "(BENCHMARKS.md)"
            )
        return ""

    lines = []
    for name, num, den, limit, kind in E2E_LINES:
        a, b = _summary(result, num), _summary(result, den)
        value = None if a is None or b is None else a["p50_us"] / b["p50_us"]
        problem = why_not(num, den)
        ci = cis.get(name)
        note = f"90% CI {ci[0]:.2f}-{ci[1]:.2f}" if ci else ""
        lines.append(
            BudgetLine(
                name,
                None if problem else value,
                limit,
                kind,
                problem or note,
                measured_anyway=value,
            )
        )
    for label in MICRO_FRAMES:
        m = micro.get(label) or {}
        ok = "ratio" in m
        lines.append(
            BudgetLine(
                f"scanner twin / compiled ({MICRO_TITLES[label]})",
                m["ratio"] if ok else None,
                SCANNER_TWIN_OVER_COMPILED_MIN,
                "min",
                f"{m['path']}: {m['compiled_ns']:.0f} ns vs {m['twin_ns']:.0f} ns"
                if ok
                else m.get("error") or micro.get("error", "not measured"),
            )
        )
    contestants = result.get("contestants", {})
    failures, rounds, problems = 0, 0, []
    for n in _sniper_names(result):
        c = contestants.get(n)
        if not c:
            problems.append(why_not(n) or f"{n} not measured")
            continue
        k = len(c["samples_ns"]) + c["failures"]
        failures += c["failures"]
        rounds += k
        if k < MIN_SAMPLES:
            problems.append(f"too few rounds: {n} {k} < {MIN_SAMPLES}")
    lines.append(
        BudgetLine(
            "sniper failures (every sniper_* contestant)",
            None if problems else float(failures),
            SNIPER_FAILURES_MAX,
            "max",
            "; ".join(problems) or f"of {rounds} rounds",
            measured_anyway=float(failures),
        )
    )
    return lines


def render_table(result: dict[str, Any]) -> str:
    rows = [
        f"{'contestant':<23} {'n':>4} {'p50 µs':>9} {'p90 µs':>9} {'p99 µs':>9} "
        f"{'vs':<16} {'p50/vs':>7} {'p90/vs':>7} {'fail':>5}"
    ]
    for name, c in result.get("contestants", {}).items():
        s = c["summary"]
        ref_name = REFERENCE.get(name, "")
        ref = _summary(result, ref_name) if ref_name else None
        if s["n"]:
            r50 = f"{s['p50_us'] / ref['p50_us']:.2f}x" if ref else "-"
            r90 = f"{s['p90_us'] / ref['p90_us']:.2f}x" if ref else "-"
            rows.append(
                f"{name:<23} {s['n']:>4} {s['p50_us']:>9.1f} {s['p90_us']:>9.1f} "
                f"{s['p99_us']:>9.1f} {ref_name if ref else '-':<16} {r50:>7} {r90:>7} "
                f"{c['failures']:>5}"
            )
        else:
            rows.append(
                f"{name:<23} {0:>4} {'-':>9} {'-':>9} {'-':>9} {'-':<16} {'-':>7} {'-':>7} "
                f"{c['failures']:>5}"
            )
    for name, why in result.get("unavailable", {}).items():
        rows.append(f"{name:<23} unavailable: {why.splitlines()[0]}")
    return "\n".join(rows)


def render_breakdown(result: dict[str, Any]) -> list[str]:
    """Median split of the e2e latency, for contestants that report their own stamps (sniper:
    frame callback entered / transport.write returned; floor: recv()/SSL_read() returned /
    write()/SSL_write() returned)."""
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
        detect = "on_ws_frame entered" if name.startswith(("sniper", "bare_")) else "read returned"

        def pct(key: str, q: float, rows: list = rows) -> float:
            return percentile([r[key] for r in rows], q)

        out.append(
            f"{name} breakdown (p50 / p90, n={len(rows)}): ticker written → {detect} "
            f"{pct('ticker_to_detect_us', 50):.1f} / {pct('ticker_to_detect_us', 90):.1f} µs · "
            f"→ write returned {pct('inproc_us', 50):.1f} / {pct('inproc_us', 90):.1f} µs · "
            f"write returned → exchange stamp {pct('written_to_first_byte_us', 50):+.1f} µs (p50)"
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
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.7 * max(1, len(names))), dpi=100)
    ax.boxplot(data, vert=False, whis=(10, 90), showfliers=False, widths=0.5)
    rng = random.Random(0)
    for i, xs in enumerate(data, start=1):
        ax.scatter(xs, [i + rng.uniform(-0.18, 0.18) for _ in xs], s=8, alpha=0.6)
    labels = [f"{n} (n={len(d)})" for n, d in zip(names, data, strict=True)]
    ax.set_yticks(range(1, len(names) + 1), labels)
    ax.set_xscale("log")
    ax.set_xlabel("listing ticker written → order first byte received (µs, log)")
    meta = result.get("meta", {})
    period = meta.get("keep_awake", {}).get("period_us", 0)
    awake = f"keep-awake {period:g} µs (diagnostic)" if period else "keep-awake off"
    ax.set_title(
        f"e2e loopback latency, {meta.get('date_utc', '')[:10]}, {meta.get('cpus', '?')} CPUs, "
        f"{awake}, seed {meta.get('seed')}\n(box p25-p75, line p50, whiskers p10-p90; "
        "TLS rounds against the TLS exchange)",
        fontsize=8,
    )
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- CLI -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmarks.e2e import (
        ALIASES,
        ALL_CONTESTANTS,
        DIAGNOSTIC_CONTESTANTS,
        KEEP_AWAKE_PERIOD_US,
    )

    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"rounds per contestant (default {DEFAULT_RUNS}; fewer than {MIN_SAMPLES} cannot "
        "pass the e2e lines)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="seed of the per-cycle round order (default: random; recorded in the JSON)",
    )
    parser.add_argument(
        "--keep-awake",
        action="store_const",
        const=KEEP_AWAKE_PERIOD_US,
        default=0.0,
        dest="keep_awake_us",
        help=f"diagnostic: run the keep-awake (one process per CPU waking every "
        f"{KEEP_AWAKE_PERIOD_US:g} µs) during every round; the e2e lines are then not judged",
    )
    parser.add_argument(
        "--keep-awake-us",
        type=float,
        dest="keep_awake_us",
        metavar="P",
        help="diagnostic: the keep-awake with this wake period, µs (0: off, the default)",
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
    old = ", ".join(f"{k}={v}" for k, v in ALIASES.items())
    parser.add_argument(
        "--contestants",
        default=",".join(ALL_CONTESTANTS),
        metavar="A,B",
        help=f"comma-separated, from {','.join(ALL_CONTESTANTS)} (the default: all) and the "
        f"diagnostic {','.join(DIAGNOSTIC_CONTESTANTS)} (not judged; see BENCHMARKS.md); the "
        f"old names map to today's ({old})",
    )


def run_budget(
    runs: int,
    contestants: Sequence[str],
    *,
    seed: int | None = None,
    keep_awake_us: float = 0.0,
    progress: Callable[[Any], None] | None = None,
) -> tuple[dict[str, Any], list[BudgetLine]]:
    """One e2e run plus the micro check, and the budget lines judged on them. The result dict
    carries ``micro`` and ``budget`` (the lines as dicts) besides the e2e run's keys."""
    from benchmarks.e2e import run_e2e

    result = run_e2e(
        runs=runs,
        contestants=contestants,
        seed=seed,
        keep_awake_us=keep_awake_us,
        progress=progress,
    )
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
            "measured_anyway": b.measured_anyway,
        }
        for b in lines
    ]
    return result, lines


def render_report(result: dict[str, Any], lines: Sequence[BudgetLine]) -> str:
    """The table, the CIs, the micro figures, the breakdown and the budget lines, as text."""
    meta = result["meta"]
    ka = meta.get("keep_awake", {})
    out = [
        f"e2e latency, listing ticker written -> order first byte (loopback), {meta['date_utc']}, "
        f"{meta['cpu']} x{meta['cpus']}, Python {meta['python']}, {meta['duration_s']} s, "
        f"load avg (1 min) {meta['loadavg_1m_at_start']:.2f} -> {meta['loadavg_1m_at_end']:.2f}",
        render_table(result),
        f"seed {meta['seed']}; keep-awake "
        + (
            f"{ka.get('period_us', 0):g} µs on CPUs {ka.get('cpus')} (diagnostic): "
            f"{ka.get('pct_of_one_cpu', 0):.1f} % of one CPU"
            if ka.get("period_us")
            else "off"
        ),
    ]
    for line, ci in ratio_cis(result).items():
        if ci:
            out.append(f"{line}: 90% bootstrap CI {ci[0]:.2f} - {ci[1]:.2f}")
    micro = result.get("micro", {})
    for label in MICRO_FRAMES:
        m = micro.get(label) or {}
        if "ratio" in m:
            out.append(
                f"micro TickerScanner.scan, {MICRO_TITLES[label]} ({m['bytes']} B, {m['path']}): "
                f"compiled {m['compiled_ns']:.0f} ns, twin {m['twin_ns']:.0f} ns, "
                f"{m['ratio']:.1f}x"
            )
    if "error" in micro:
        out.append(f"micro: {micro['error']}")
    out.extend(render_breakdown(result))
    sources: dict[str, int] = {}
    for r in result.get("rounds", []):
        if r["ok"]:
            key = str(r.get("first_byte_source"))
            sources[key] = sources.get(key, 0) + 1
    out.append(
        "order first-byte stamps: " + ", ".join(f"{k} in {v} rounds" for k, v in sources.items())
    )
    out.append("")
    out.extend(b.render() for b in lines)
    out.append("budget: " + ("PASS" if all(b.passed for b in lines) else "FAIL"))
    return "\n".join(out)


def main(args: argparse.Namespace) -> int:
    from benchmarks.e2e import canonical

    names = list(
        dict.fromkeys(canonical(n.strip()) for n in args.contestants.split(",") if n.strip())
    )
    if args.runs < 1:
        print("bench: --runs must be >= 1", file=sys.stderr)
        return 2
    keep_awake_us = args.keep_awake_us or 0.0

    def progress(r: Any) -> None:
        lat = f"{r.latency_ns / 1000:8.1f} µs" if r.ok else f"FAIL {r.reason[:160]}"
        print(f"  round {r.index:3d} {r.contestant:<23} {lat}", file=sys.stderr, flush=True)

    print(
        f"bench: {args.runs} cycles x {names}, shuffled per cycle, keep-awake "
        + (f"{keep_awake_us:g} µs (diagnostic)" if keep_awake_us else "off"),
        file=sys.stderr,
        flush=True,
    )
    result, lines = run_budget(
        args.runs, names, seed=args.seed, keep_awake_us=keep_awake_us, progress=progress
    )
    print()
    print(render_report(result, lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, default=str))
        print(f"raw samples: {args.json}")
    if args.plot:
        plot(result, args.plot)
        print(f"plot: {args.plot}")
    return 0 if all(b.passed for b in lines) else 1
