"""Keep-awake: a tiny process per CPU that wakes every ``--period-us`` so no vCPU sits idle long.

Why it exists (see BENCHMARKS.md, *Keep-awake: a diagnostic*): on the VM the benchmark runs on,
a vCPU with nothing to do halts; waking it for the listing ticker costs tens to hundreds of µs
that have nothing to do with the contestant's code, and a contestant that keeps its own CPU
busier (``sniper run`` polls REST every 50 ms) pays less of that than one asleep in ``recv()``.
Since issue 15 the budget compares like with like instead (a sleeping sniper with a sleeping C
floor, a busy-polling one with a busy-polling floor) and is judged with this off; the harness
runs one of these per CPU for the whole run only when asked (``python -m benchmarks
--keep-awake``), as a diagnostic of how much of a number is the machine's idle states.

Usage (the harness starts it; standalone for experiments)::

    python -I benchmarks/keepawake.py --cpu 0 --period-us 1000 [--spin-us 0] [--max-s 3600]

* pinned to ``--cpu`` (one process per CPU: a single unpinned sleeper only warms the CPU it
  happens to be on);
* ``prctl(PR_SET_TIMERSLACK, 1 ns)`` so a 100 µs sleep is 100 µs, not 100 µs + the default
  50 µs slack;
* ``--spin-us`` > 0 busy-waits that long after each wake (measured, not the default: it loads
  the CPU for little gain);
* bounded: exits after ``--max-s`` seconds, or within a second of its parent going away.

Not a contestant and not on the measured path: it never touches the network.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys
import time

PR_SET_TIMERSLACK = 29


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU (default: none)")
    parser.add_argument("--period-us", type=float, default=1000.0, help="sleep per wake, µs")
    parser.add_argument("--spin-us", type=float, default=0.0, help="busy-wait per wake, µs")
    parser.add_argument("--max-s", type=float, default=3600.0, help="exit after this long, s")
    args = parser.parse_args(argv)

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)

    parent = os.getppid()
    period_s = args.period_us / 1e6
    spin_ns = int(args.spin_us * 1000)
    deadline = time.monotonic() + args.max_s
    check_every = max(1, int(1.0 / max(period_s, 1e-6)))  # look at the parent ~once a second
    n = 0
    sleep = time.sleep
    now = time.monotonic_ns
    while True:
        sleep(period_s)
        if spin_ns:
            until = now() + spin_ns
            while now() < until:
                pass
        n += 1
        if n % check_every == 0 and (os.getppid() != parent or time.monotonic() > deadline):
            return 0


if __name__ == "__main__":
    sys.exit(main())
