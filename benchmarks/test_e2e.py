"""A short end-to-end run (few rounds per contestant) so ``pytest benchmarks/`` exercises the
whole harness: build the floor, start each contestant against the embedded exchange, measure.

It checks that every contestant sells exactly once per round and that the latencies are sane;
it does not enforce the budget (a few rounds are too few: run ``python -m benchmarks``).
The runs/contestants can be overridden with ``SNIPER_BENCH_E2E_RUNS`` and
``SNIPER_BENCH_E2E_CONTESTANTS`` (comma-separated).
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("sniper.exchange")

from benchmarks.e2e import ALL_CONTESTANTS, run_e2e

RUNS = int(os.environ.get("SNIPER_BENCH_E2E_RUNS", "3"))
CONTESTANTS = [
    c
    for c in os.environ.get("SNIPER_BENCH_E2E_CONTESTANTS", ",".join(ALL_CONTESTANTS)).split(",")
    if c
]


@pytest.mark.integration
@pytest.mark.timeout(60 + 40 * RUNS * len(CONTESTANTS))
def test_e2e_short() -> None:
    result = run_e2e(runs=RUNS, contestants=CONTESTANTS)
    if "floor" in result["unavailable"]:
        pytest.fail(f"floor unavailable: {result['unavailable']['floor']}")
    lines = []
    for name in CONTESTANTS:
        c = result["contestants"][name]
        s = c["summary"]
        lines.append(
            f"{name}: n={s['n']} p50={s['p50_us']:.1f} µs max={s['max_us']:.1f} µs "
            f"failures={c['failures']} {c['failure_reasons']}"
        )
    lines.append(f"seed={result['meta']['seed']} keep_awake={result['meta']['keep_awake']}")
    report = "\n".join(lines)
    print(report)
    for name in CONTESTANTS:
        c = result["contestants"][name]
        assert c["failures"] == 0, report
        assert len(c["samples_ns"]) == RUNS, report
        # loopback: anything outside (0, 1 s) means the stamps are not what we think
        assert all(0 < ns < 1_000_000_000 for ns in c["samples_ns"]), report
    assert {r["contestant"] for r in result["rounds"]} == set(CONTESTANTS)
