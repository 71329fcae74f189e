"""Where a round's time goes between the exchange's write and the order's write: ftrace.

A diagnostic (root; tracefs), not part of the budget. It runs the e2e benchmark
(``benchmarks/e2e.py``) with kernel tracing on — the scheduler's wake-ups and switches, the CPU
idle states and the read/write/epoll system calls — and a trace marker written by the harness
right before each ``ex.open_symbol()``. Then, per round, from the trace:

* ``wake`` — the exchange's ``sendto`` of the listing ticker → the contestant switched in (the
  kernel's loopback send, the wake-up, and any wait for the CPU);
* ``same CPU`` — the contestant woke on the CPU the exchange runs on; ``waited`` — there, it
  did not preempt the exchange (no need-resched flag on its wake-up) and waited for it to
  yield (on the other, idle, CPU it runs when that CPU wakes);
* ``user`` — switched in → the order's write entered (the contestant's own work: the rest of
  its wake-up path, reading and decrypting the frame, matching, building and writing the
  order, and the system calls between).

``python -m benchmarks.schedtrace --contestants floor_tls_block_warm,sniper_tls_spin_off
--runs 15`` prints one table; ``--keep PATH`` keeps the raw trace. Findings are in
BENCHMARKS.md, "Where the time goes: the sleeping loop".
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TRACEFS = Path("/sys/kernel/tracing")
EVENTS = (
    "sched:sched_waking",
    "sched:sched_wakeup",
    "sched:sched_switch",
    "power:cpu_idle",
    "syscalls:sys_enter_write",
    "syscalls:sys_enter_sendto",
    "syscalls:sys_exit_epoll_wait",
    "syscalls:sys_exit_epoll_pwait",
    "syscalls:sys_exit_read",
    "syscalls:sys_exit_recvfrom",
)
MARK = "OPEN "
ORDER_MIN_BYTES = 0x100  # the order's write; a WebSocket pong or a keep-alive is smaller
WINDOW_S = 0.005  # a round's events are looked for this long after the exchange's write
_LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+): (\w+)((?:: |\(| -> ).*)$")


@dataclass(frozen=True)
class Event:
    comm: str
    pid: int
    cpu: int
    flags: str
    t: float  # s
    name: str
    rest: str


@dataclass(frozen=True)
class Round:
    contestant: str
    wake_us: float
    user_us: float
    preempted: bool
    same_cpu: bool

    @property
    def total_us(self) -> float:
        return self.wake_us + self.user_us


def parse_events(lines: Iterable[str]) -> list[Event]:
    out = []
    for line in lines:
        m = _LINE.match(line)
        if m:
            rest = m.group(7)
            rest = rest[2:] if rest.startswith(": ") else rest
            out.append(
                Event(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4),
                      float(m.group(5)), m.group(6), rest)
            )  # fmt: skip
    return out


def _field(rest: str, name: str) -> int | None:
    m = re.search(rf"\b{name}[=:] ?(0x[0-9a-f]+|\d+)", rest)
    if m is None:
        return None
    text = m.group(1)
    return int(text, 16) if text.startswith("0x") else int(text)


def _is_order_write(e: Event) -> bool:
    if e.name not in ("sys_sendto", "sys_write") or "->" in e.rest:
        return False
    return (_field(e.rest, "len") or _field(e.rest, "count") or 0) >= ORDER_MIN_BYTES


def rounds(events: Sequence[Event], contestant_of: Mapping[str, str]) -> list[Round]:
    """One :class:`Round` per trace marker (``OPEN <symbol>``) that could be followed to the
    order's write; ``contestant_of``: symbol → contestant (the harness's rounds)."""
    out = []
    marks = [
        i
        for i, e in enumerate(events)
        if e.name == "tracing_mark_write" and e.rest.startswith(MARK)
    ]
    for i in marks:
        symbol = events[i].rest[len(MARK) :].strip()
        harness = events[i].pid
        send = next(
            (
                e
                for e in events[i + 1 :]
                if e.pid == harness and e.name in ("sys_sendto", "sys_write")
            ),
            None,
        )
        if send is None:
            continue
        later = [e for e in events[events.index(send, i) + 1 :] if e.t - send.t < WINDOW_S]
        waking = next(
            (e for e in later if e.name == "sched_waking" and _field(e.rest, "pid") != harness
             and not e.rest.startswith("comm=kworker") and not e.rest.startswith("comm=ksoftirqd")),
            None,
        )  # fmt: skip
        if waking is None:
            continue
        pid = _field(waking.rest, "pid")
        wakeup = next(
            (e for e in later if e.name == "sched_wakeup" and _field(e.rest, "pid") == pid), None
        )
        run = next(
            (e for e in later if e.name == "sched_switch" and f"next_pid={pid} " in e.rest), None
        )
        order = next((e for e in later if e.pid == pid and _is_order_write(e)), None)
        if run is None or order is None or wakeup is None:
            continue
        out.append(
            Round(
                contestant=contestant_of.get(symbol, waking.rest.split()[0]),
                wake_us=(run.t - send.t) * 1e6,
                user_us=(order.t - run.t) * 1e6,
                preempted="N" in wakeup.flags,
                same_cpu=_field(wakeup.rest, "target_cpu") == send.cpu,
            )
        )
    return out


def table(found: Sequence[Round]) -> str:
    lines = [
        f"{'contestant':24} {'n':>3} {'wake':>7} {'user':>7} {'total':>7}  same CPU  waited",
    ]
    for name in dict.fromkeys(r.contestant for r in found):
        rs = [r for r in found if r.contestant == name]
        n = len(rs)
        wake, user, total = (
            statistics.median(getattr(r, k) for r in rs) for k in ("wake_us", "user_us", "total_us")
        )
        same = sum(r.same_cpu for r in rs)
        waited = sum(r.same_cpu and not r.preempted for r in rs)
        lines.append(
            f"{name:24} {n:3d} {wake:7.1f} {user:7.1f} {total:7.1f}  {same:4d}/{n:<4d} "
            f"{waited:4d}/{n}"
        )
    lines.append("(p50 µs from the exchange's sendto of the listing ticker; see the module's doc)")
    return "\n".join(lines)


def _tracefs(events: Sequence[str]) -> None:
    if not (TRACEFS / "trace_marker").exists():
        os.system(f"mount -t tracefs nodev {TRACEFS} 2>/dev/null")
    (TRACEFS / "tracing_on").write_text("0")
    (TRACEFS / "trace").write_text("")
    (TRACEFS / "trace_clock").write_text("mono")
    (TRACEFS / "buffer_size_kb").write_text("300000")
    (TRACEFS / "set_event").write_text("\n".join(events) + "\n")


def main(argv: list[str] | None = None) -> int:
    from benchmarks import e2e

    parser = argparse.ArgumentParser(prog="python -m benchmarks.schedtrace", description=__doc__)
    parser.add_argument("--contestants", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the raw trace here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("schedtrace needs root (tracefs)", file=sys.stderr)
        return 2
    _tracefs(EVENTS)
    marker = os.open(TRACEFS / "trace_marker", os.O_WRONLY)
    adapter = e2e._adapter
    plain_open = adapter.open_symbol

    def open_symbol(ex: object, symbol: str) -> None:
        os.write(marker, f"{MARK}{symbol}".encode())
        plain_open(ex, symbol)

    adapter.open_symbol = open_symbol  # type: ignore[method-assign]
    (TRACEFS / "tracing_on").write_text("1")
    try:
        result = e2e.run_e2e(
            runs=args.runs,
            contestants=[c.strip() for c in args.contestants.split(",") if c.strip()],
            seed=args.seed,
        )
    finally:
        (TRACEFS / "tracing_on").write_text("0")
        adapter.open_symbol = plain_open  # type: ignore[method-assign]
    raw = (TRACEFS / "trace").read_text()
    (TRACEFS / "set_event").write_text("")
    (TRACEFS / "buffer_size_kb").write_text("1408")
    if args.keep is not None:
        args.keep.write_text(raw)
    contestant_of = {r["symbol"]: r["contestant"] for r in result["rounds"]}
    print(table(rounds(parse_events(raw.splitlines()), contestant_of)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
