"""The durable journal of ``sniper run``: what each run meant to sell, what it fired, how it ended.

Contract
========

Location. One directory holds every journal and lock file: ``$SNIPER_STATE_DIR`` if set, else
``$XDG_STATE_HOME/sniper`` (only when ``XDG_STATE_HOME`` is an absolute path, per the XDG base
directory spec), else ``~/.local/state/sniper``. ``sniper`` creates it with mode 0700 and every
file in it with mode 0600. Per account and per target there is one journal,
``<state dir>/<account>-<TARGET>.jsonl``, and one lock file, ``<account>-<TARGET>.lock``
(:mod:`sniper.live.lock`). ``<account>`` is :func:`account_id`: the first 12 hex digits of
SHA-256 of the API key. It names the account without revealing the key. The journal never
holds the key, the secret or the passphrase; outcome messages are scrubbed of them as well.

Format. The file is human-readable JSON lines, appended to and never rewritten: one event per
line, one ``os.write`` per event on an ``O_APPEND`` descriptor. Every event names its ``run``
id and its ``clientOid``, so a run with several orders (chunks) is several clientOids under one
run id. Readers ignore fields they do not know. Three events exist today (``"v": 1``):

* ``intent``: written and fsynced before arming. Fields: ``run``, ``clientOid``, ``target``,
  ``amount`` (as configured: a decimal or ``all``), ``size`` (the decimal that will be sent),
  ``mode`` (``classic``/``uta``), ``pid``, ``time`` (the host's wall clock, ISO 8601 UTC, µs),
  plus any extra fields the caller adds.
* ``fired``: written right after the order bytes were written. Fields: ``run``, ``clientOid``,
  ``pid``, ``channel`` (``ws``/``poll``/``scheduled``/``startup``...), ``lane``, ``time``.
* ``outcome``: how the order ended, as far as this run knows. Fields: ``run``, ``clientOid``,
  ``outcome`` (one of :data:`OUTCOMES`), ``orderId``, ``fill`` (an object, e.g. status and
  volumes), ``exitCode``, ``message``, ``time``, and ``by`` (the run that recorded it, when that
  is not the run that fired: a later run reconciling an old clientOid). A clientOid may get
  several outcomes (``accepted`` then ``filled``); the last one counts.

Pending orders. :meth:`Journal.pending` lists the clientOids that were fired and whose fate is
not proven: no outcome, or a last outcome outside :data:`PROVEN_OUTCOMES` (``unconfirmed``, or
an ``interrupted-before-fire`` that contradicts a ``fired`` line). A new run that finds one must
not fire: it reconciles that clientOid first. Call it while holding the instance lock, so the
run that fired them is known to be gone. ``pending(include_unfired=True)`` also lists intents
that never got a ``fired`` line nor an outcome (a run killed between arming and the end): the
fired line follows the write by microseconds, so a kill in between is unlikely, not impossible.

Torn lines. A crash in the middle of a write can leave a last line without its newline. Readers
skip any line that is not a journal event, with a warning, and never fail. When a journal is
opened for writing and its last byte is not a newline, a newline is appended first, so the torn
fragment cannot swallow the next event.

The cost of ``record_fired`` (the only call on the hot path)
============================================================

It runs synchronously inside the trigger's callback after the order bytes were written, so it
must be cheap and must never raise: the line is pre-formatted at :meth:`Journal.record_intent`
except for the channel, lane and wall time; the call is one ``os.write`` of one line on the
descriptor opened at arm time; the journal's sync thread, which runs ``os.fdatasync`` off the
event loop, is woken ``FIRED_SYNC_DELAY_S`` (50 ms) later by the running loop, after a
volley's further copies (a fraction of a ms apart, ~4 ms in all at 20 ms ± 2 ms) are written.
Woken at once, the thread wants the GIL back while the loop writes those copies; on a 2-vCPU
machine it may hold it, preempted, for a scheduler tick. Measured in the race benchmark (one run
each, 420 copies, 2026-12-02): the copies' wake-up lateness p90 1.1 ms / p99 9.2 ms with the
wake at once, 0.28 ms / 5.9 ms deferred. The deferral costs nothing a crash can see: the line is
written before. Any exception is caught and logged.

Once ``os.write`` returns, the line is in the kernel's page cache: it survives the process
being killed (Ctrl-C, SIGKILL, a crash). ``fdatasync`` adds only survival of a power loss or a
kernel crash, and costs a round trip to the disk. Measured on this machine (2-core
"Intel(R) Xeon(R) Processor" VM shared with other work, ext4 on a virtio disk, 2000 calls,
``.venv/bin/python benchmarks/journal_fired.py``; calls spaced 2 ms apart, like a single fire
after an idle moment): ``record_fired`` median ≈ 35 µs, p99 ≈ 90 µs (a bare ``os.write`` of
the same line ≈ 10 µs; the wake-up ≈ 5 µs; the rest is cold Python), back to back
(``--gap-ms 0``) ≈ 2-3 µs; ``os.write`` + ``fdatasync`` inline median ≈ 0.2-0.3 ms, p99
≈ 3.5-4.5 ms (and a laptop disk can be slower). Inline ``fdatasync`` would hold the event loop
(and the reading of the order's answer) for milliseconds, so it runs in the sync thread. None
of it delays the order: the bytes are out before ``record_fired`` is called.
:meth:`Journal.wait_durable` waits for the sync; :meth:`Journal.close` waits for it too.
``record_intent`` (before arming, never on the hot path) fsyncs inline and raises if it cannot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import queue
import re
import secrets as _random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sniper.errors import StartupError
from sniper.secrets import Secret

if TYPE_CHECKING:
    from sniper.config import Config

log = logging.getLogger("sniper.journal")

STATE_DIR_VARIABLE = "SNIPER_STATE_DIR"
FIRED_SYNC_DELAY_S = 0.05  # the sync thread is woken this long after a fire (module docstring)
SCHEMA_VERSION = 1

OUTCOMES = frozenset(
    {
        "accepted",
        "filled",
        "partially_filled",
        "rejected",
        "unconfirmed",
        "cancelled",
        "interrupted-before-fire",
    }
)
# Outcomes that prove the order's fate: after one of these, nobody needs to reconcile it.
PROVEN_OUTCOMES = frozenset({"accepted", "filled", "partially_filled", "rejected", "cancelled"})

# the fire channels pre-encoded for the "fired" line (any other name is JSON-encoded on the spot)
_CHANNELS = {c: f'"{c}"'.encode() for c in ("ws", "poll", "scheduled", "startup", "rest")}
_TARGET_RE = re.compile(r"^[A-Z0-9_-]{1,40}$")
_JOURNAL_NAME_RE = re.compile(r"^([0-9a-f]{12})-([A-Z0-9_-]{1,40})\.jsonl$")


# =================================================================================================
# where the files are


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory of journals and locks (not created here; see the module docstring)."""
    env = os.environ if environ is None else environ
    explicit = env.get(STATE_DIR_VARIABLE, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_STATE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "sniper"
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".local" / "state" / "sniper"


def ensure_state_dir(directory: Path) -> Path:
    """Create ``directory`` (mode 0700) and its parents if missing; raises ``StartupError``."""
    try:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
    except OSError as exc:
        raise StartupError(
            f"cannot create the state directory {directory}: {exc.strerror or exc} "
            f"(set {STATE_DIR_VARIABLE} to a writable directory)"
        ) from None
    return directory


def account_id(api_key: Secret | str) -> str:
    """12 hex digits naming the account of ``api_key`` (SHA-256 prefix; the key stays secret)."""
    key = api_key.reveal() if isinstance(api_key, Secret) else api_key
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _stem(account: str, target: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{12}", account):
        raise ValueError(f"account id must be 12 hex digits, got {account!r}")
    if not _TARGET_RE.match(target):
        raise ValueError(f"target must be a normalised symbol like PAWSUSDT, got {target!r}")
    return f"{account}-{target}"


def journal_path(directory: Path, account: str, target: str) -> Path:
    return directory / f"{_stem(account, target)}.jsonl"


def lock_path(directory: Path, account: str, target: str) -> Path:
    return directory / f"{_stem(account, target)}.lock"


def new_run_id() -> str:
    """``20261201T170003Z-3f9a1c``: the start time (UTC) and 6 random hex digits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + _random.token_hex(3)


_iso_second: tuple[int, str] = (-1, "")  # (epoch second, "YYYY-MM-DDTHH:MM:SS"), last call


def iso_now() -> str:
    """The host's wall clock, ISO 8601 UTC with microseconds. Cheap on the hot path: the
    date-and-second part is formatted once per second and reused."""
    global _iso_second
    seconds, rest = divmod(time.time_ns(), 1_000_000_000)
    cached = _iso_second  # one tuple, replaced whole: safe from any thread
    if cached[0] != seconds:
        cached = _iso_second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{cached[1]}.{rest // 1000:06d}Z"


def _dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str)


# =================================================================================================
# writing


class Journal:
    """The journal of one (account, target), opened for appending by one run.

    ``Journal.open(config)`` (or ``Journal(path, target=...)``) opens the file (creating the
    state directory and the file as needed) and starts the sync thread; raises ``StartupError``
    when the file cannot be opened. Use it as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: Path,
        *,
        target: str,
        run_id: str | None = None,
        secrets: Iterable[Secret] = (),
    ) -> None:
        self.path = Path(path)
        self.target = target
        self.run_id = run_id or new_run_id()
        self.pid = os.getpid()
        # credentials only to scrub them out of free text (Secret: masked repr, never written)
        self._secrets = tuple(s for s in secrets if len(s) >= 4)
        self._runs: dict[str, str] = {}  # clientOid -> run id that owns it
        self._fired_prefix: dict[str, bytes] = {}  # clientOid -> pre-formatted "fired" head
        self._torn = False  # a short write left a partial line: start the next one afresh
        self._written = 0  # events written (incremented after each os.write)
        self._synced = 0  # events known durable (set by the sync thread)
        self._sync_error: str | None = None
        self._sync_cond = threading.Condition()
        self._wake: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._fd = self._open_for_append()
        self._thread = threading.Thread(
            target=self._sync_loop, name="sniper-journal-sync", daemon=True
        )
        self._thread.start()

    @classmethod
    def open(
        cls, config: Config, *, run_id: str | None = None, directory: Path | None = None
    ) -> Journal:
        """The journal of ``config``'s account and target, in :func:`state_dir` unless
        ``directory`` is given."""
        where = directory if directory is not None else state_dir()
        path = journal_path(where, account_id(config.api_key), config.target)
        secrets = (config.api_key, config.secret_key, config.passphrase)
        return cls(path, target=config.target, run_id=run_id, secrets=secrets)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, run {self.run_id})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------
    def record_intent(
        self, client_oid: str, *, amount: str, size: str, mode: str, **extra: Any
    ) -> None:
        """Record (and fsync) what this run is about to arm; call it before arming. Prepares
        the ``fired`` line of ``client_oid``. Raises ``StartupError`` if it cannot be made
        durable: a run without its journal must not arm."""
        self._runs[client_oid] = self.run_id
        doc: dict[str, Any] = {
            "event": "intent",
            "v": SCHEMA_VERSION,
            "run": self.run_id,
            "clientOid": client_oid,
            "target": self.target,
            "amount": amount,
            "size": size,
            "mode": mode,
            "pid": self.pid,
            "time": iso_now(),
        }
        doc.update({k: self._scrub(v) for k, v in extra.items() if k not in doc})
        self._fired_prefix[client_oid] = self._fired_head(client_oid, self.run_id)
        try:
            self._append(_dumps(doc).encode("utf-8"))
            goal = self._written
            os.fdatasync(self._fd)
        except OSError as exc:
            raise StartupError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}"
            ) from None
        with self._sync_cond:
            self._synced = max(self._synced, goal)

    def record_fired(self, client_oid: str, channel: str, lane: int = -1) -> None:
        """Hot path, right after the order bytes were written: one ``os.write`` of one line;
        the sync thread (``fdatasync`` off the loop) is woken ``FIRED_SYNC_DELAY_S`` later by
        the running loop (at once without one). Never raises."""
        try:
            head = self._fired_prefix.get(client_oid)
            if head is None:  # not announced by record_intent: still record it
                head = self._fired_head(client_oid, self._runs.get(client_oid, self.run_id))
            chan = _CHANNELS.get(channel) or json.dumps(channel).encode()
            line = b'%s"channel":%s,"lane":%d,"time":"%s"}\n' % (
                head,
                chan,
                lane,
                iso_now().encode(),
            )
            if self._torn:
                line = b"\n" + line
            written = os.write(self._fd, line)
            if written != len(line):
                self._torn = True
                raise OSError(f"short write ({written} of {len(line)} bytes)")
            self._torn = False
            self._written += 1
            self._wake_later()
        except Exception as exc:  # the order is out: whatever failed here, the caller goes on
            log.error(
                "journal: could not record that clientOid %s was fired (%s: %s) — the order "
                "WAS sent; the run goes on",
                client_oid,
                type(exc).__name__,
                exc,
            )

    def record_outcome(
        self,
        client_oid: str,
        outcome: str,
        *,
        order_id: str | None = None,
        fill: Mapping[str, Any] | None = None,
        exit_code: int | None = None,
        message: str = "",
        run_id: str | None = None,
    ) -> bool:
        """Record how ``client_oid`` ended (``outcome`` in :data:`OUTCOMES`, else ValueError).
        ``run_id``: the run that owns the clientOid when it is not this one nor known to this
        journal (a pending order of an earlier run). Returns False (and logs) if the line could
        not be written; never raises OSError."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
        owner = run_id or self._runs.get(client_oid, self.run_id)
        doc: dict[str, Any] = {
            "event": "outcome",
            "v": SCHEMA_VERSION,
            "run": owner,
            "clientOid": client_oid,
            "outcome": outcome,
            "orderId": order_id,
            "fill": self._scrub(dict(fill)) if fill is not None else None,
            "exitCode": exit_code,
            "message": self._scrub(message),
            "time": iso_now(),
        }
        if owner != self.run_id:
            doc["by"] = self.run_id
        return self.record("outcome", doc)

    def record(self, event: str, doc: Mapping[str, Any]) -> bool:
        """Append any other event (the schema is open): ``doc`` must name ``run`` and
        ``clientOid``. Free-text values are scrubbed of credentials. Never raises OSError."""
        if not doc.get("run") or not doc.get("clientOid"):
            raise ValueError("every journal event names its run and its clientOid")
        line: dict[str, Any] = {"event": event, "v": SCHEMA_VERSION}
        line.update({k: self._scrub(v) for k, v in doc.items() if k not in line})
        try:
            self._append(_dumps(line).encode("utf-8"))
        except OSError as exc:
            log.error("journal: could not write to %s: %s", self.path, exc.strerror or exc)
            return False
        self._wake.put(True)
        return True

    def _wake_later(self) -> None:
        """The sync thread woken ``FIRED_SYNC_DELAY_S`` from now by the running event loop, or
        at once outside one. A loop closed before that: :meth:`close` syncs what was written."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._wake.put(True)
            return
        loop.call_later(FIRED_SYNC_DELAY_S, self._wake.put, True)

    def pending(self, *, include_unfired: bool = False) -> list[OrderRecord]:
        """The orders of this journal whose fate is unknown (see the module docstring)."""
        found = [r for r in read_orders(self.path) if r.needs_reconciliation(include_unfired)]
        for record in found:
            self._runs.setdefault(record.client_oid, record.run_id)
        return found

    def wait_durable(self, timeout: float = 2.0) -> bool:
        """Block until every event written so far is fsynced (True), or ``timeout`` s pass or
        the sync failed (False, logged). From async code: ``await asyncio.to_thread(...)``."""
        goal = self._written
        with self._sync_cond:
            self._sync_cond.wait_for(
                lambda: self._synced >= goal or self._sync_error is not None, timeout
            )
            ok = self._synced >= goal
        if not ok:
            log.warning(
                "journal: %s not confirmed on disk (%s)",
                self.path,
                self._sync_error or f"fsync still running after {timeout:g} s",
            )
        return ok

    def close(self, timeout: float = 2.0) -> None:
        """Wait for the sync thread (at most ``timeout`` s), then close the file. Idempotent."""
        if self._fd < 0:
            return
        self._wake.put(False)
        self._thread.join(timeout)
        if self._thread.is_alive():  # fdatasync hangs (dead network disk): leave the fd to exit
            log.warning("journal: %s still syncing after %g s; not waiting", self.path, timeout)
            return
        fd, self._fd = self._fd, -1
        os.close(fd)

    # ---------------------------------------------------------------------------------------------
    def _open_for_append(self) -> int:
        ensure_state_dir(self.path.parent)
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StartupError(
                f"cannot open the journal {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            os.fchmod(fd, 0o600)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                log.warning("journal: %s ends with a torn line; starting a new line", self.path)
                self._torn = True
            if created:  # make the new directory entry durable too
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            os.close(fd)
            raise StartupError(
                f"cannot prepare the journal {self.path}: {exc.strerror or exc}"
            ) from None
        return fd

    def _append(self, line: bytes) -> None:
        """One ``os.write`` of one line; raises OSError."""
        data = (b"\n" if self._torn else b"") + line + b"\n"
        written = os.write(self._fd, data)
        if written != len(data):
            self._torn = True
            raise OSError(f"short write ({written} of {len(data)} bytes)")
        self._torn = False
        self._written += 1

    def _fired_head(self, client_oid: str, run_id: str) -> bytes:
        head: dict[str, Any] = {"event": "fired", "v": SCHEMA_VERSION, "run": run_id}
        head.update(clientOid=client_oid, pid=self.pid)
        return _dumps(head)[:-1].encode("utf-8") + b","

    def _scrub(self, value: Any) -> Any:
        """``value`` with every credential replaced by ``***`` (strings, nested in dicts/lists)."""
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret.reveal(), "***")
            return value
        if isinstance(value, Mapping):
            return {str(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        if isinstance(value, Secret):
            return "***"
        return value

    def _sync_loop(self) -> None:
        """The sync thread: one ``fdatasync`` per batch of wake-ups; exits on ``False``."""
        while True:
            go_on = self._wake.get()
            try:  # coalesce: one fdatasync covers every line written before it starts
                while go_on:
                    go_on = self._wake.get_nowait()
            except queue.Empty:
                pass
            goal = self._written
            if goal > self._synced:
                try:
                    os.fdatasync(self._fd)
                except OSError as exc:
                    log.error("journal: fsync of %s failed: %s", self.path, exc.strerror or exc)
                    with self._sync_cond:
                        self._sync_error = str(exc.strerror or exc)
                        self._sync_cond.notify_all()
                else:
                    with self._sync_cond:
                        self._synced = max(self._synced, goal)
                        self._sync_cond.notify_all()
            if not go_on:
                return


# =================================================================================================
# reading


@dataclass
class OrderRecord:
    """What a journal says about one clientOid."""

    run_id: str
    client_oid: str
    target: str = ""
    amount: str = ""
    size: str = ""
    mode: str = ""
    pid: int | None = None
    armed_at: str | None = None  # intent time, ISO UTC
    fired_at: str | None = None  # fired time, ISO UTC
    channel: str | None = None
    outcome: str | None = None  # the last outcome
    order_id: str | None = None
    fill: dict[str, Any] | None = None
    exit_code: int | None = None
    message: str = ""
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # every outcome event

    @property
    def state(self) -> str:
        """The last outcome, else ``fired``, else ``armed``."""
        if self.outcome is not None:
            return self.outcome
        return "fired" if self.fired_at is not None else "armed"

    def needs_reconciliation(self, include_unfired: bool = False) -> bool:
        if self.outcome in PROVEN_OUTCOMES:
            return False
        if self.fired_at is not None:
            return True
        return include_unfired and self.outcome is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "clientOid": self.client_oid,
            "target": self.target,
            "amount": self.amount,
            "size": self.size,
            "mode": self.mode,
            "pid": self.pid,
            "state": self.state,
            "armedAt": self.armed_at,
            "firedAt": self.fired_at,
            "channel": self.channel,
            "outcome": self.outcome,
            "orderId": self.order_id,
            "fill": self.fill,
            "exitCode": self.exit_code,
            "message": self.message,
        }


@dataclass
class RunRecord:
    run_id: str
    orders: list[OrderRecord]


@dataclass(frozen=True)
class JournalFile:
    path: Path
    account: str
    target: str


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every event of the journal at ``path`` in file order (``[]`` when it does not exist).
    A line that is not a journal event (a torn last line after a crash, garbage) is skipped
    with a warning; this never raises for bad content."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    events = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        last = number == len(lines)  # no newline after it: a crash mid-write
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            doc = None
        if (
            isinstance(doc, dict)
            and isinstance(doc.get("event"), str)
            and isinstance(doc.get("clientOid"), str)
            and isinstance(doc.get("run"), str)
        ):
            events.append(doc)
            continue
        what = "a torn last line (a crash mid-write?)" if last else "not a journal event"
        log.warning("journal %s: line %d is %s; ignored", path, number, what)
    return events


def read_orders(path: Path) -> list[OrderRecord]:
    """One :class:`OrderRecord` per clientOid, in the order they first appear."""
    orders: dict[str, OrderRecord] = {}
    for ev in read_events(path):
        oid = ev["clientOid"]
        rec = orders.get(oid)
        if rec is None:
            rec = orders[oid] = OrderRecord(run_id=ev["run"], client_oid=oid)
        kind = ev["event"]
        if kind == "intent":
            rec.run_id = ev["run"]
            rec.target = _text(ev.get("target"))
            rec.amount = _text(ev.get("amount"))
            rec.size = _text(ev.get("size"))
            rec.mode = _text(ev.get("mode"))
            rec.pid = ev.get("pid") if isinstance(ev.get("pid"), int) else None
            rec.armed_at = _text(ev.get("time")) or None
        elif kind == "fired":
            if rec.fired_at is None:  # the first fire is the one that counts
                rec.fired_at = _text(ev.get("time")) or "?"
                rec.channel = _text(ev.get("channel")) or None
        elif kind == "outcome" and isinstance(ev.get("outcome"), str):
            rec.outcomes.append(ev)
            rec.outcome = ev["outcome"]
            rec.order_id = _text(ev.get("orderId")) or rec.order_id
            fill = ev.get("fill")
            rec.fill = fill if isinstance(fill, dict) else rec.fill
            code = ev.get("exitCode")
            rec.exit_code = code if isinstance(code, int) else rec.exit_code
            rec.message = _text(ev.get("message"))
    return list(orders.values())


def read_runs(path: Path) -> list[RunRecord]:
    """The orders of the journal grouped by run, in the order the runs first appear."""
    runs: dict[str, RunRecord] = {}
    for order in read_orders(path):
        runs.setdefault(order.run_id, RunRecord(order.run_id, [])).orders.append(order)
    return list(runs.values())


def list_journals(directory: Path) -> list[JournalFile]:
    """Every journal in ``directory`` (``[]`` if it does not exist), sorted by file name."""
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        m = _JOURNAL_NAME_RE.match(name)
        if m:
            found.append(JournalFile(Path(directory) / name, m.group(1), m.group(2)))
    return found


def _text(value: object) -> str:
    return "" if value is None else str(value)
