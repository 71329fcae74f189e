"""End-to-end latency on loopback: listing ticker written → order's first byte received.

The embedded exchanges (``sniper.exchange``) run in this process, on the default asyncio event
loop (not uvloop: the exchange's kernel receive timestamps need asyncio's own socket reads):
one plain (``http://`` + ``ws://``) and, when a TLS contestant runs, one in TLS mode
(``https://`` + ``wss://``, a throwaway CA handed to the contestants as ``BITGET_CA_FILE``).
Each contestant is a separate process speaking the same environment contract as
``sniper run``, started with an allow-listed environment (:func:`contestant_env`) plus its own
setting (``FLOOR_WAIT`` for a floor, ``SPIN`` for the sniper: ``CONTESTANT_SPECS``) in an empty
working directory (no ``.env`` to pick up). Rounds run in cycles, one round per contestant per
cycle (each against its transport's exchange), in an order shuffled per cycle from a recorded
seed, so slow drifts of the shared machine hit every contestant alike and no contestant always
follows the same one.

The keep-awake (``benchmarks/keepawake.py``, one tiny process per CPU waking every
``KEEP_AWAKE_PERIOD_US``) is a diagnostic, off unless asked for (``keep_awake_us``): it keeps
the vCPUs out of long idle for the whole run (see BENCHMARKS.md).

One round:
  1. list a fresh gray symbol (``PAWS<n>USDT``, no open time) and credit the base coin;
  2. start the contestant; wait until the exchange has recorded its ticker subscription for
     that symbol, then a settle delay (the contestant finishes its warm-up);
  3. ``ex.open_symbol(symbol)``: the exchange stamps ``listing_ticker_ns[symbol]`` right
     before it writes the listing ticker;
  4. wait (event-driven, the harness does nothing else) for the accepted order; the sample is
     ``OrderRecord.first_byte_ns - listing_ticker_ns[symbol]``;
  5. wait for the process to exit 0 (timeout → kill; any miss counts as a failure).

Both stamps are CLOCK_REALTIME ns taken by the exchange process: ``listing_ticker_ns`` in user
space just before the transport write, ``first_byte_ns`` by the kernel (``SO_TIMESTAMPNS``) when
the first segment of the order request reached the exchange's socket.

``run_e2e(runs=N, contestants=[...], seed=S)`` returns a dict with the raw samples; see
``budget.py`` for the table, the plot and the budget check.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sniper
from sniper.config import DEFAULT_SCHED_SLICE_US, DEFAULT_SLEEP_WARM_US

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SNIPER_ROOT = Path(sniper.__file__).resolve().parent.parent  # where the imported sniper lives
CONTESTANTS_DIR = HERE / "contestants"
FLOOR_SOURCE = CONTESTANTS_DIR / "floor.c"
BASELINE_SCRIPT = CONTESTANTS_DIR / "baseline_bot.py"
KEEP_AWAKE_SCRIPT = HERE / "keepawake.py"

# The contestants the budget judges (budget.py), as (kind, transport, extra environment).
# kind: "floor" (floor.c; FLOOR_WAIT picks the wait), "sniper" (``sniper run``; SPIN picks
# whether its event loop busy-polls), "baseline" (aiohttp bot), "hosted_floor" and
# "bare_picows" (diagnostics).
# transport "tls": the round runs against the TLS exchange (wss:// + https://, throwaway CA in
# BITGET_CA_FILE) and a floor is the -DFLOOR_TLS build; "plain": the plain exchange.
# Like with like: every floor asks for the time slice `sniper run` asks for by default
# (SCHED_SLICE_US, sniper/live/sched.py), and the blocking floors that stand against SPIN=off
# wake as often as its sleeping warm tick (SLEEP_WARM_US) and warm the same way (floor_warm.c).
FLOOR_SLICE = ("FLOOR_SLICE_US", str(DEFAULT_SCHED_SLICE_US))
SLEEP_WARM = (
    ("FLOOR_WAIT", "block"),
    ("FLOOR_TICK_US", str(DEFAULT_SLEEP_WARM_US)),  # the blocking read wakes this often
    ("FLOOR_WARM_US", str(DEFAULT_SLEEP_WARM_US * 9 // 10)),  # and warms on each wake
    FLOOR_SLICE,
)
CONTESTANT_SPECS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "floor_block": ("floor", "plain", (("FLOOR_WAIT", "block"), FLOOR_SLICE)),
    "floor_busy": ("floor", "plain", (("FLOOR_WAIT", "busy"), FLOOR_SLICE)),
    "floor_tls_block": ("floor", "tls", (("FLOOR_WAIT", "block"), FLOOR_SLICE)),
    "floor_tls_busy": ("floor", "tls", (("FLOOR_WAIT", "busy"), FLOOR_SLICE)),
    # the blocking floors warmed like SPIN=off's sleeping loop: the SPIN=off lines' limit
    "floor_block_warm": ("floor_warm", "plain", SLEEP_WARM),
    "floor_tls_block_warm": ("floor_warm", "tls", SLEEP_WARM),
    "sniper_spin_off": ("sniper", "plain", (("SPIN", "off"),)),
    "sniper_spin_always": ("sniper", "plain", (("SPIN", "always"),)),
    "sniper_tls_spin_off": ("sniper", "tls", (("SPIN", "off"),)),
    "sniper_tls_spin_always": ("sniper", "tls", (("SPIN", "always"),)),
    "baseline": ("baseline", "plain", ()),
    # diagnostic, not judged: the floor's C loop (blocking) inside a CPython process
    "hosted_floor": ("hosted_floor", "plain", (("FLOOR_WAIT", "block"),)),
    # diagnostic, not judged: the smallest client on the sniper's stack (uvloop + aiofastnet +
    # picows, a bytes check in on_ws_frame; contestants/bare_picows.py), busy-polling or not,
    # and busy-polling on picows' plain asyncio transports instead of aiofastnet's
    "bare_picows_busy": ("bare_picows", "plain", (("BARE_SPIN", "busy"),)),
    "bare_picows_off": ("bare_picows", "plain", (("BARE_SPIN", "off"),)),
    "bare_picows_busy_asyncio": (
        "bare_picows",
        "plain",
        (("BARE_SPIN", "busy"), ("BARE_AIOFASTNET", "0")),
    ),
    # the same without picows: WebSocket by hand on an aiofastnet transport (picows' share)
    "bare_raw_busy": ("bare_picows", "plain", (("BARE_SPIN", "busy"), ("BARE_WS", "raw"))),
    # busy, and the read path exercised every 200 µs by an in-process frame (cold caches?)
    "bare_picows_busy_warm": (
        "bare_picows",
        "plain",
        (("BARE_SPIN", "busy"), ("BARE_WARM_US", "200")),
    ),
    # sniper run SPIN=always with that warmer injected into its spin turn (sniper_warm.py)
    "sniper_spin_always_warm": ("sniper_warm", "plain", (("SPIN", "always"), ("WARM_US", "200"))),
    # the busy floors with the same loopback warmer as the product's busy-poll
    # (contestants/floor_warm.c; sniper.live.warmer): the SPIN=always lines' like-for-like limit;
    # over TLS both warm pairs speak TLS
    "floor_busy_warm": (
        "floor_warm",
        "plain",
        (("FLOOR_WAIT", "busy"), ("FLOOR_WARM_US", "200"), FLOOR_SLICE),
    ),
    "floor_tls_busy_warm": (
        "floor_warm",
        "tls",
        (("FLOOR_WAIT", "busy"), ("FLOOR_WARM_US", "200"), FLOOR_SLICE),
    ),
}
ALL_CONTESTANTS = (
    "floor_block",
    "floor_block_warm",
    "floor_busy",
    "floor_busy_warm",
    "floor_tls_block",
    "floor_tls_block_warm",
    "floor_tls_busy",
    "floor_tls_busy_warm",
    "sniper_spin_off",
    "sniper_spin_always",
    "sniper_tls_spin_off",
    "sniper_tls_spin_always",
    "baseline",
)
# Not judged by the budget; run on request (``--contestants floor_block,...,hosted_floor``):
# hosted_floor = the floor's C loop inside a CPython process (contestants/hosted_floor.py);
# bare_picows_* = the least Python client on the sniper's stack (contestants/bare_picows.py).
DIAGNOSTIC_CONTESTANTS = (
    "hosted_floor",
    "bare_picows_busy",
    "bare_picows_off",
    "bare_picows_busy_asyncio",
    "bare_raw_busy",
    "bare_picows_busy_warm",
    "sniper_spin_always_warm",
)
# The names of earlier runs (session 1-3 JSON, scripts): the same contestants as then.
ALIASES = {"floor": "floor_block", "sniper": "sniper_spin_off"}
HOSTED_FLOOR_SCRIPT = CONTESTANTS_DIR / "hosted_floor.py"
BARE_PICOWS_SCRIPT = CONTESTANTS_DIR / "bare_picows.py"
SNIPER_WARM_SCRIPT = CONTESTANTS_DIR / "sniper_warm.py"

COIN_AMOUNT = "1000"  # base coin sold per round
SETTLE_S = 0.3  # after the subscription is seen: let the contestant finish warming up
READY_TIMEOUT_S = 20.0  # start → subscribed (python start-up + imports + REST warm-up)
ORDER_TIMEOUT_S = 5.0  # listing ticker → accepted order
EXIT_TIMEOUT_S = 10.0  # accepted order → process exit
# The keep-awake's wake period when the diagnostic is on, µs. 1 ms: see BENCHMARKS.md for the
# measurement that chose it (steadies the floor for ~2 % of each CPU; 5 ms did as well).
KEEP_AWAKE_PERIOD_US = 1000.0

# Parent variables a contestant may inherit; everything else it gets is set by the harness.
ENV_ALLOW = ("PATH", "HOME", "LANG")


class FloorUnavailable(RuntimeError):
    """The C floor could not be built (no gcc, no libcrypto)."""


# --- the floor: build at bench time -------------------------------------------------------


def build_floor(
    out_dir: Path, *, library: bool = False, tls: bool = False, warm: bool = False
) -> Path:
    """Compile floor.c (cached per ``out_dir``).

    Plain: the OpenSSL headers first, then the header-less prototypes (libcrypto's HMAC is all
    it needs). ``tls``: the ``-DFLOOR_TLS`` build (libssl), which needs the headers: no
    fallback. ``library``: the shared object with ``floor_main()`` (for ``hosted_floor``)
    instead of the executable. Raises :class:`FloorUnavailable` with the compiler output when
    no attempt builds. ``warm``: ``floor_warm.c`` (floor.c plus a loopback cache warmer in its
    busy loop; executables only, plain or ``tls``).
    """
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise FloorUnavailable("no C compiler (gcc/cc) on PATH")
    out = out_dir / (
        ("libfloor" if library else "floor")
        + ("_tls" if tls else "")
        + ("_warm" if warm else "")
        + (".so" if library else "")
    )
    source = str(CONTESTANTS_DIR / "floor_warm.c") if warm else str(FLOOR_SOURCE)
    if out.exists():
        return out
    flags = ["-O2", *(["-DFLOOR_AS_LIBRARY", "-fPIC", "-shared"] if library else [])]
    if tls:
        attempts = [[gcc, *flags, "-DFLOOR_TLS", source, "-o", str(out), "-lssl", "-lcrypto"]]
    else:
        attempts = [
            [gcc, *flags, source, "-o", str(out), "-lcrypto"],
            [
                gcc,
                *flags,
                "-DFLOOR_NO_OPENSSL_HEADERS",
                source,
                "-o",
                str(out),
                "-l:libcrypto.so.3",
            ],
        ]
    errors = []
    for cmd in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return out
        errors.append(f"$ {' '.join(cmd)}\n{proc.stderr.strip()}")
    hint = " (the TLS floor needs the OpenSSL headers: apt-get install libssl-dev)" if tls else ""
    raise FloorUnavailable(
        f"cannot build the {'TLS ' if tls else ''}floor{hint}:\n" + "\n".join(errors)
    )


# --- same wake-up conditions for every contestant -----------------------------------------


class KeepAwake:
    """One ``keepawake.py`` process per CPU for the whole run (``period_us`` 0: none).

    ``stop()`` returns what they cost: CPU seconds used and that as % of one CPU over the
    wall-clock time they ran (read from ``/proc/<pid>/stat`` just before they are killed).
    """

    def __init__(self, period_us: float, spin_us: float = 0.0) -> None:
        self.period_us = period_us
        self.spin_us = spin_us
        self.cpus = sorted(os.sched_getaffinity(0))
        self._procs: list[asyncio.subprocess.Process] = []
        self._started = 0.0

    @property
    def enabled(self) -> bool:
        return self.period_us > 0

    def describe(self) -> dict[str, Any]:
        return {
            "period_us": self.period_us,
            "spin_us": self.spin_us,
            "cpus": self.cpus if self.enabled else [],
            "script": str(KEEP_AWAKE_SCRIPT.relative_to(REPO)),
        }

    async def start(self) -> None:
        if not self.enabled:
            return
        env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
        for cpu in self.cpus:
            argv = [sys.executable, "-I", str(KEEP_AWAKE_SCRIPT), "--cpu", str(cpu)]
            argv += ["--period-us", str(self.period_us), "--spin-us", str(self.spin_us)]
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
            )
            self._procs.append(proc)
        self._started = time.monotonic()
        await asyncio.sleep(0.3)  # interpreters up and looping before the first round
        dead = [p.returncode for p in self._procs if p.returncode is not None]
        if dead:
            await self.stop()
            raise RuntimeError(f"keep-awake exited at start (codes {dead})")

    async def stop(self) -> dict[str, float]:
        cpu_s = sum(_cpu_seconds(p.pid) for p in self._procs)
        wall = time.monotonic() - self._started if self._procs else 0.0
        for p in self._procs:
            await _kill(p)
        self._procs = []
        return {
            "cpu_s": round(cpu_s, 2),
            "wall_s": round(wall, 1),
            "pct_of_one_cpu": round(100.0 * cpu_s / wall, 2) if wall else 0.0,
        }


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, s (0.0 if it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def contestant_env(settings: Mapping[str, str]) -> dict[str, str]:
    """A contestant's whole environment: ``ENV_ALLOW`` from the parent, ``PYTHONPATH`` = the
    directory the harness imported ``sniper`` from (the contestant imports the same build: an
    installed wheel or an in-place build, never a stray source tree), then ``settings`` (the
    BITGET_*/TARGET_TOKEN/COIN_AMOUNT of the round). Nothing else leaks in: no
    ``SNIPER_PURE_PYTHON``, no ``SNIPER_*`` tuning, no parent ``PYTHONPATH``."""
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env["PYTHONPATH"] = str(SNIPER_ROOT)
    # every round its own journal and lock: a round killed after its fire must not make the
    # next round reconcile instead of firing, and no benchmark writes to the user's state dir
    env["SNIPER_STATE_DIR"] = tempfile.mkdtemp(prefix="sniper-bench-state-")
    env.update(settings)
    return env


# --- contestants --------------------------------------------------------------------------


@dataclass(frozen=True)
class Contestant:
    name: str
    argv: tuple[str, ...]
    extra_env: tuple[tuple[str, str], ...] = ()
    transport: str = "plain"  # "tls": rounds against the TLS exchange


def canonical(name: str) -> str:
    """A contestant's name, with the old names (``floor``, ``sniper``) mapped to today's."""
    return ALIASES.get(name, name)


def _argv(name: str, work_dir: Path) -> tuple[str, ...]:
    """The command line of a known contestant; builds the floor (executable or shared object)
    where needed, raising :class:`FloorUnavailable` when it cannot."""
    kind, transport, _env = CONTESTANT_SPECS[name]
    if kind == "floor":
        return (str(build_floor(work_dir, tls=transport == "tls")),)
    if kind == "floor_warm":
        return (str(build_floor(work_dir, tls=transport == "tls", warm=True)),)
    if kind == "hosted_floor":
        lib = build_floor(work_dir, library=True)
        return (sys.executable, str(HOSTED_FLOOR_SCRIPT), str(lib))
    if kind == "bare_picows":
        return (sys.executable, str(BARE_PICOWS_SCRIPT))
    if kind == "sniper_warm":
        return (sys.executable, str(SNIPER_WARM_SCRIPT))
    if kind == "sniper":
        # --json: the result (with its monotonic detect/written stamps) as one JSON line on
        # stdout, logs as JSON lines; off the hot path, it only feeds the diagnostics.
        return (sys.executable, "-m", "sniper", "run", "--json")
    return (sys.executable, str(BASELINE_SCRIPT))  # baseline


def make_contestants(
    names: Sequence[str], work_dir: Path
) -> tuple[list[Contestant], dict[str, str]]:
    """The runnable contestants, and {name: reason} for those that are unavailable. Old names
    (``ALIASES``) are accepted and mapped; a name asked twice runs once."""
    wanted = list(dict.fromkeys(canonical(n) for n in names))
    unknown = [n for n in wanted if n not in CONTESTANT_SPECS]
    if unknown:
        known = [*CONTESTANT_SPECS, *ALIASES]
        raise ValueError(f"unknown contestant(s) {unknown}; choose from {known}")
    runnable: list[Contestant] = []
    unavailable: dict[str, str] = {}
    for name in wanted:
        _kind, transport, extra_env = CONTESTANT_SPECS[name]
        try:
            argv = _argv(name, work_dir)
        except FloorUnavailable as exc:
            unavailable[name] = str(exc)
            print(f"e2e: {name} unavailable, skipped: {exc}", file=sys.stderr)
            continue
        runnable.append(Contestant(name, argv, extra_env, transport))
    return runnable, unavailable


# --- results ------------------------------------------------------------------------------


@dataclass
class RoundResult:
    index: int
    contestant: str
    symbol: str
    ok: bool
    cycle: int = 0  # 1-based cycle (one round per contestant per cycle)
    position: int = 0  # 0-based place of this round in its cycle's shuffled order
    latency_ns: int | None = None
    reason: str = ""
    exit_code: int | None = None
    ready_s: float | None = None  # start → subscribed, s
    first_byte_source: str | None = None  # "kernel" or "user"
    # diagnostics (evidence for "where the time goes"), not part of the budget; from the
    # contestant's own monotonic stamps (sniper: frame callback entered / transport.write
    # returned; floor: recv() returned / write() returned):
    inproc_us: float | None = None  # contestant's own detect → bytes written, if it reports it
    ticker_to_detect_us: float | None = None  # ticker written → contestant's detect stamp
    written_to_first_byte_us: float | None = None  # its write() returned → exchange's stamp
    since_last_request_us: float | None = None  # its last REST request's first byte → ticker
    requests_after_ticker: int | None = None  # REST requests it started within 5 ms after
    # the exchange's side: listing ticker stamp → ex.open_symbol() returned (its write, over
    # TLS its encryption first, and its book-keeping after; synchronous, before the harness awaits)
    exchange_write_us: float | None = None


@dataclass
class ContestantResult:
    name: str
    samples_ns: list[int] = field(default_factory=list)
    failures: int = 0
    failure_reasons: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(samples_ns: Sequence[int]) -> dict[str, float]:
    us = [s / 1000.0 for s in samples_ns]
    return {
        "n": len(us),
        "p50_us": percentile(us, 50),
        "p90_us": percentile(us, 90),
        "p99_us": percentile(us, 99),
        "min_us": min(us) if us else float("nan"),
        "max_us": max(us) if us else float("nan"),
    }


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_1m_at_start": os.getloadavg()[0],
    }


# --- the harness ---------------------------------------------------------------------------


class _Round:
    """Book-keeping shared by the rounds of one run."""

    def __init__(self, ex: Any, work_dir: Path) -> None:
        self.ex = ex
        self.work_dir = work_dir
        self.counter = 0


async def _wait_subscribed(ex: Any, symbol: str, proc: asyncio.subprocess.Process) -> None:
    """Until the exchange acknowledged a ticker subscription for ``symbol``.

    Polls every 5 ms: this happens before the listing, so the polling does not touch the
    measured interval.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        for sub in ex.records.ws_subscriptions:
            arg = sub.arg
            if (
                sub.result == "ok"
                and (arg.get("instId") == symbol or arg.get("symbol") == symbol)
                and (arg.get("channel") == "ticker" or arg.get("topic") == "ticker")
            ):
                return
        if proc.returncode is not None:
            raise RuntimeError(f"exited with {proc.returncode} before subscribing")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not subscribed to {symbol} after {READY_TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.005)


# CLOCK_REALTIME - CLOCK_MONOTONIC (ns), both system-wide: converts a contestant's monotonic
# stamps to the exchange's clock. Stable over a run unless NTP steps the clock.
def _realtime_minus_monotonic_ns() -> int:
    best = None
    for _ in range(5):
        a = time.monotonic_ns()
        r = time.time_ns()
        b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) // 2)
    assert best is not None
    return best[1]


def _read_self_report(res: RoundResult, text: str, ticker_ns: int | None) -> None:
    """Parse what the contestant says about itself (a JSON line with monotonic ``detect_ns`` /
    ``written_ns``: ``sniper run --json``'s result, the floor's last line) into the round's
    diagnostics."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not (line.startswith("{") and "detect_ns" in line):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "detect_ns" not in doc:
            doc = next((v for v in doc.values() if isinstance(v, dict) and "detect_ns" in v), {})
        detect, written = doc.get("detect_ns"), doc.get("written_ns")
        if not (isinstance(detect, int) and isinstance(written, int)):
            continue
        res.inproc_us = (written - detect) / 1000.0
        if ticker_ns is not None and res.latency_ns is not None:
            offset = _realtime_minus_monotonic_ns()
            res.ticker_to_detect_us = (detect + offset - ticker_ns) / 1000.0
            res.written_to_first_byte_us = (ticker_ns + res.latency_ns - written - offset) / 1000.0
        return


def _diagnose(ex: Any, res: RoundResult, ticker_ns: int, order_ns: int) -> None:
    """What else the contestant was doing around the listing (its REST traffic, e.g. polls)."""
    before = [r.first_byte_ns for r in ex.records.requests if r.first_byte_ns < ticker_ns]
    if before:
        res.since_last_request_us = (ticker_ns - max(before)) / 1000.0
    res.requests_after_ticker = sum(
        1
        for r in ex.records.requests
        if ticker_ns <= r.first_byte_ns < ticker_ns + 5_000_000 and r.first_byte_ns != order_ns
    )


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)


async def _one_round(
    ex: Any,
    contestant: Contestant,
    index: int,
    symbol: str,
    log_dir: Path,
    cwd: Path,
    *,
    cycle: int = 0,
    position: int = 0,
    ca_file: Path | None = None,
) -> RoundResult:
    res = RoundResult(
        index=index,
        contestant=contestant.name,
        symbol=symbol,
        ok=False,
        cycle=cycle,
        position=position,
    )
    ex.records.clear()  # this round's records only (wait_for_order takes the first order)
    api_key, secret, passphrase = _adapter.new_account(ex, symbol, COIN_AMOUNT)
    await _adapter.list_gray(ex, symbol)
    env = contestant_env(
        {
            "BITGET_API_KEY": api_key,
            "BITGET_SECRET_KEY": secret,
            "BITGET_PASSPHRASE": passphrase,
            "TARGET_TOKEN": symbol,
            "COIN_AMOUNT": COIN_AMOUNT,
            "BITGET_REST_URL": _adapter.rest_url(ex),
            "BITGET_WS_URL": _adapter.ws_url(ex),
            "BITGET_ACCOUNT": "classic",
            **({"BITGET_CA_FILE": str(ca_file)} if ca_file is not None else {}),
            **dict(contestant.extra_env),
        }
    )
    log_path = log_dir / f"{index:03d}-{contestant.name}.log"
    ticker_ns: int | None = None  # ns, CLOCK_REALTIME (exchange's listing_ticker_ns)
    with open(log_path, "wb") as log:  # noqa: ASYNC230 - before the round, not measured
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *contestant.argv,
            env=env,
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                await _wait_subscribed(ex, symbol, proc)
            except (TimeoutError, RuntimeError) as exc:
                res.reason = f"not ready: {exc}"
                return res
            res.ready_s = time.monotonic() - t0
            await asyncio.sleep(SETTLE_S)
            if proc.returncode is not None:
                res.reason = f"exited with {proc.returncode} before the listing"
                return res
            # --- measured interval: the harness only awaits from here on ---
            _adapter.open_symbol(ex, symbol)
            opened_ns = time.time_ns()  # the exchange's synchronous write(s) have returned
            try:
                order = await _adapter.wait_for_order(ex, symbol, ORDER_TIMEOUT_S)
            except TimeoutError:
                res.reason = f"no accepted order within {ORDER_TIMEOUT_S:.0f} s"
                return res
            # --- end of measured interval ---
            ticker_ns = ex.records.listing_ticker_ns.get(symbol)
            if ticker_ns is None:
                res.reason = "exchange recorded no listing ticker"
                return res
            res.latency_ns = order.first_byte_ns - ticker_ns
            res.exchange_write_us = (opened_ns - ticker_ns) / 1000.0
            res.first_byte_source = _adapter.first_byte_source(ex, order)
            _diagnose(ex, res, ticker_ns, order.first_byte_ns)
            try:
                res.exit_code = await asyncio.wait_for(proc.wait(), EXIT_TIMEOUT_S)
            except TimeoutError:
                res.reason = f"did not exit within {EXIT_TIMEOUT_S:.0f} s of the order"
                return res
            if res.exit_code != 0:
                res.reason = f"exit code {res.exit_code}"
                return res
            if res.latency_ns <= 0:
                res.reason = f"order before the listing ticker ({res.latency_ns} ns)"
                return res
            res.ok = True
            return res
        finally:
            await _kill(proc)
            text = log_path.read_bytes()[-8000:].decode(errors="replace")
            _read_self_report(res, text, ticker_ns)
            if not res.ok:
                tail = text[-600:].strip()
                res.reason += f" [log {log_path.name}: ...{tail[-300:]}]" if tail else ""


def _contestant_cwd(work: Path) -> Path:
    """An empty working directory for the contestants: no ``.env`` (``sniper run`` reads
    ``./.env``), no source tree for ``python -m`` to pick up."""
    cwd = work / "cwd"
    cwd.mkdir(exist_ok=True)
    if any(cwd.iterdir()):
        raise RuntimeError(f"contestant working directory {cwd} is not empty")
    return cwd


async def run_e2e_async(
    runs: int = 30,
    contestants: Sequence[str] = ALL_CONTESTANTS,
    *,
    seed: int | None = None,
    keep_awake_us: float = 0.0,
    progress: Callable[[RoundResult], None] | None = None,
    keep_logs: Path | None = None,
) -> dict[str, Any]:
    """Shuffled cycles of rounds against the embedded exchange(s); see the module docstring.

    ``seed`` fixes the per-cycle order (``None``: drawn at random, and recorded in the result
    either way); ``keep_awake_us`` is the keep-awake period (0: off).
    """
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="sniper-bench-") as tmp:
        work = Path(tmp)
        log_dir = keep_logs or work / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        cwd = _contestant_cwd(work)
        runnable, unavailable = make_contestants(list(contestants), work)
        results = {c.name: ContestantResult(c.name) for c in runnable}
        rounds: list[RoundResult] = []
        orders: list[list[str]] = []
        meta = machine_info()
        keep_awake = KeepAwake(keep_awake_us)
        started = time.monotonic()
        transports = sorted({c.transport for c in runnable})
        async with contextlib.AsyncExitStack() as stack:
            # one exchange per transport, both up for the whole run: every cycle shuffles all
            # the contestants together, each round against its own transport's exchange
            exchanges = {
                t: await stack.enter_async_context(_adapter.start_exchange(tls=t == "tls"))
                for t in transports
            }
            ca_file = None
            if "tls" in exchanges:
                ca_file = work / "exchange-ca.pem"
                ca_file.write_bytes(_adapter.ca_pem(exchanges["tls"]))
            meta["exchange"] = {t: _adapter.describe(ex) for t, ex in exchanges.items()}
            await keep_awake.start()
            try:
                index = 0
                for cycle in range(1, runs + 1):
                    order = rng.sample(runnable, len(runnable))
                    orders.append([c.name for c in order])
                    for position, c in enumerate(order):
                        index += 1
                        symbol = f"PAWS{index}{os.getpid() % 1000}USDT"
                        ex = exchanges[c.transport]
                        r = await _one_round(
                            ex,
                            c,
                            index,
                            symbol,
                            log_dir,
                            cwd,
                            cycle=cycle,
                            position=position,
                            ca_file=ca_file if c.transport == "tls" else None,
                        )
                        rounds.append(r)
                        cr = results[c.name]
                        if r.ok and r.latency_ns is not None:
                            cr.samples_ns.append(r.latency_ns)
                        else:
                            cr.failures += 1
                            cr.failure_reasons.append(f"round {index}: {r.reason}")
                        if progress is not None:
                            progress(r)
                        _adapter.after_round(ex, symbol)
            finally:
                keep_awake_cost = await keep_awake.stop()
        meta["duration_s"] = round(time.monotonic() - started, 1)
        meta["loadavg_1m_at_end"] = os.getloadavg()[0]
        meta["runs_per_contestant"] = runs
        meta["seed"] = seed
        meta["cycle_orders"] = orders
        meta["settle_s"] = SETTLE_S
        meta["keep_awake"] = {**keep_awake.describe(), **keep_awake_cost}
        meta["contestant_env"] = [
            *sorted(contestant_env({})),
            "BITGET_*",
            "TARGET_TOKEN",
            "COIN_AMOUNT",
            "per contestant: FLOOR_WAIT (floors), SPIN (snipers)",
        ]
        meta["contestants"] = {
            c.name: {"transport": c.transport, "env": dict(c.extra_env), "argv0": c.argv[-1]}
            for c in runnable
        }
        meta["contestant_cwd"] = "empty temporary directory"
    return {
        "meta": meta,
        "unavailable": unavailable,
        "contestants": {
            name: {**asdict(cr), "summary": summarize(cr.samples_ns)}
            for name, cr in results.items()
        },
        "rounds": [asdict(r) for r in rounds],
    }


def run_e2e(
    runs: int = 30,
    contestants: Sequence[str] = ALL_CONTESTANTS,
    *,
    seed: int | None = None,
    keep_awake_us: float = 0.0,
    progress: Callable[[RoundResult], None] | None = None,
    keep_logs: Path | None = None,
) -> dict[str, Any]:
    """Synchronous entry point (its own asyncio loop; not uvloop, see the module docstring)."""
    return asyncio.run(
        run_e2e_async(
            runs,
            contestants,
            seed=seed,
            keep_awake_us=keep_awake_us,
            progress=progress,
            keep_logs=keep_logs,
        )
    )


# --- the exchange adapter: the only place that knows sniper.exchange's API ---------------


class _ExchangeAdapter:
    """Thin layer over :class:`sniper.exchange.EmbeddedExchange` used by the rounds."""

    def start_exchange(self, *, tls: bool = False) -> Any:
        from sniper.exchange import EmbeddedExchange, ExchangeSettings

        settings = ExchangeSettings(
            host="127.0.0.1",
            port=0,
            tls=tls,  # https:// + wss:// with a throwaway CA (ca_pem)
            # one fresh account per round, so per-key buckets never bite; public buckets are
            # per IP and every contestant's polls share 127.0.0.1: off, they are not measured.
            rate_limits=False,
        )
        return EmbeddedExchange(settings)

    def describe(self, ex: Any) -> dict[str, Any]:
        return {
            "where": "in the harness process, default asyncio loop",
            "tls": bool(ex.settings.tls),
            "rest_url": ex.rest_url,
            "ws_url": ex.ws_url,
            "ticker_interval_s": list(ex.settings.ticker_interval_s),
        }

    def ca_pem(self, ex: Any) -> bytes:
        """The TLS exchange's throwaway CA (PEM), for the contestants' BITGET_CA_FILE."""
        pem = getattr(ex, "ca_pem", None)
        if not pem:
            raise RuntimeError("the TLS exchange has no CA (ExchangeSettings(tls=True)?)")
        return bytes(pem)

    def rest_url(self, ex: Any) -> str:
        return str(ex.rest_url)

    def ws_url(self, ex: Any) -> str:
        return str(ex.ws_url)

    def new_account(self, ex: Any, symbol: str, amount: str) -> tuple[str, str, str]:
        from sniper.exchange import Account, random_credentials

        key, secret, passphrase = random_credentials()
        base = symbol[: -len("USDT")]
        ex.add_account(
            Account(
                api_key=key,
                secret=secret,
                passphrase=passphrase,
                mode="classic",
                balances={base: amount, "USDT": "10"},
            )
        )
        return key, secret, passphrase

    async def list_gray(self, ex: Any, symbol: str) -> None:
        if symbol in ex.state.symbols:
            raise RuntimeError(f"{symbol} already listed")
        await ex.list_symbol(symbol, open_at_ms=None, price="1", quantity_precision=2)

    def open_symbol(self, ex: Any, symbol: str) -> None:
        ex.open_symbol(symbol)

    async def wait_for_order(self, ex: Any, symbol: str, timeout_s: float) -> Any:
        order = await ex.wait_for_order(timeout=timeout_s)
        if order.symbol != symbol:
            raise RuntimeError(f"accepted order for {order.symbol}, expected {symbol}")
        return order

    def first_byte_source(self, ex: Any, order: Any) -> str | None:
        """How the order's ``first_byte_ns`` was taken ("kernel": SO_TIMESTAMPNS), from the
        request record that carried it (``OrderRecord`` does not repeat it)."""
        source = getattr(order, "first_byte_source", None)
        if source is not None:
            return str(source)
        for req in ex.records.requests:
            if req.first_byte_ns == order.first_byte_ns and req.path.endswith("/place-order"):
                return str(req.first_byte_source)
        return None

    def after_round(self, ex: Any, symbol: str) -> None:
        """Take the symbol offline and stop its periodic ticker task, so finished rounds leave
        no timers waking the loop during later measurements."""
        with contextlib.suppress(KeyError, ValueError):
            ex.set_symbol_status(symbol, "offline")
        tasks = getattr(ex.ws_hub, "_ticker_tasks", {})
        task = tasks.pop(symbol, None)
        if task is not None:
            task.cancel()


_adapter = _ExchangeAdapter()
