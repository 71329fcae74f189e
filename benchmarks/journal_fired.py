"""The cost of ``Journal.record_fired`` (the hot path's only journal call), with and without an
inline ``fdatasync``.

    .venv/bin/python benchmarks/journal_fired.py [--calls 2000] [--dir PATH]

Three variants, each timed with ``perf_counter_ns`` around one call, on a journal file in
``--dir`` (default: a temporary directory; point it at the disk that will hold the real state
directory). Calls are spaced by ``--gap-ms`` (default 2 ms) so each one meets an idle sync
thread, as the single fire of a real run does:

* ``record_fired``: what the hot path pays (``os.write`` + waking the sync thread);
* ``os.write only``: the floor (no durability beyond the page cache);
* ``write + fdatasync inline``: the alternative that was not chosen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sniper.live.journal import Journal


def _timed(call: Callable[[], None], calls: int, gap_s: float) -> list[int]:
    samples = []
    for _ in range(calls):
        if gap_s:
            time.sleep(gap_s)
        t0 = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - t0)
    return samples


def _line(name: str, samples: list[int]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:28s} median {statistics.median(ordered) / 1000:8.1f} µs"
        f"   p99 {p99 / 1000:8.1f} µs   (n={len(ordered)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    gap = args.gap_ms / 1000
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        journal = Journal(Path(tmp) / "0123456789ab-PAWSUSDT.jsonl", target="PAWSUSDT")
        with journal:
            oid = "snp-0123456789abcdef01234567"
            journal.record_intent(oid, amount="1000", size="1000", mode="classic")
            fired = _timed(lambda: journal.record_fired(oid, "ws", 0), args.calls, gap)
            journal.wait_durable(10)
        line = b'{"event":"fired","v":1,"run":"x","clientOid":"y","channel":"ws"}\n'
        fd = os.open(Path(tmp) / "raw.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:

            def write_only_call() -> None:
                os.write(fd, line)

            write_only = _timed(write_only_call, args.calls, gap)

            def write_sync() -> None:
                os.write(fd, line)
                os.fdatasync(fd)

            inline = _timed(write_sync, args.calls, gap)
        finally:
            os.close(fd)
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if "model name" in ln), "?")
    where = args.dir or tempfile.gettempdir()
    print(f"CPU: {cpu}; Python {sys.version.split()[0]}; journal in {where}")
    print(_line("record_fired", fired))
    print(_line("os.write only", write_only))
    print(_line("write + fdatasync inline", inline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
