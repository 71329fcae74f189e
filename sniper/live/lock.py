"""One ``sniper run`` per account and target: an ``flock`` held for the life of the run.

Contract
========

The lock file is ``<state dir>/<account>-<TARGET>.lock``, next to the journal (paths and the
account id: :mod:`sniper.live.journal`), mode 0600. :meth:`InstanceLock.acquire` opens it and
takes ``fcntl.flock(LOCK_EX | LOCK_NB)``, then writes one JSON line naming the holder
(``pid``, ``started`` ISO 8601 UTC, ``target``, ``host``). A second acquirer (another process,
or the same process through another :class:`InstanceLock`: flock belongs to the open file)
gets :class:`~sniper.errors.AlreadyRunning` (a ``StartupError``: exit 2) with one line naming
the holder and the lock file, e.g.::

    another sniper run (pid 1234, started 2026-12-01T17:00:03Z) is already watching PAWSUSDT
    for this account — lock /home/u/.local/state/sniper/3f9a1c0b7d2e-PAWSUSDT.lock

The kernel drops an flock when the last descriptor of its open file closes, so the lock is
released when the process ends, however it ends (crash, SIGKILL). :meth:`InstanceLock.release`
releases it earlier. The file itself is never deleted: deleting a lock file lets a third process
lock a new file while a second one still holds the old one. Its content is only informative
(the flock is the lock). The descriptor is not inherited by child processes (``O_CLOEXEC``).
flock is reliable on local file systems; keep the state directory off NFS.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sniper.errors import AlreadyRunning, StartupError
from sniper.live.journal import account_id, ensure_state_dir, iso_now, lock_path, state_dir

if TYPE_CHECKING:
    from sniper.config import Config

# How long a second acquirer waits for the holder to finish writing its name into the file.
_HOLDER_WAIT_S = 0.2


class InstanceLock:
    """The single-instance lock of one (account, target). ``with InstanceLock(...):`` or
    :meth:`acquire` / :meth:`release`."""

    def __init__(self, path: Path, *, target: str) -> None:
        self.path = Path(path)
        self.target = target
        self.started = ""  # ISO time this process took the lock
        self._fd = -1

    @classmethod
    def for_config(cls, config: Config, *, directory: Path | None = None) -> InstanceLock:
        """The lock of ``config``'s account and target, in :func:`state_dir` unless
        ``directory`` is given (not acquired yet)."""
        where = directory if directory is not None else state_dir()
        return cls(
            lock_path(where, account_id(config.api_key), config.target), target=config.target
        )

    def __repr__(self) -> str:
        return f"InstanceLock({str(self.path)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def acquire(self) -> InstanceLock:
        """Take the lock or raise :class:`AlreadyRunning`; ``StartupError`` when the lock file
        cannot be opened. Returns ``self``."""
        if self.held:
            return self
        ensure_state_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StartupError(
                f"cannot open the lock file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise AlreadyRunning(self._busy_message(holder)) from None
        except OSError as exc:
            os.close(fd)
            raise StartupError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        self.started = iso_now()
        holder_line = {
            "pid": os.getpid(),
            "started": self.started,
            "target": self.target,
            "host": socket.gethostname(),
        }
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder_line) + "\n").encode(), 0)
        except OSError as exc:
            os.close(fd)  # also drops the flock
            raise StartupError(f"cannot write the lock file {self.path}: {exc}") from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (idempotent). The holder line is cleared first, so a reader never
        sees a stale one for a free lock."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # informative content only; the flock below is what matters
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _busy_message(self, holder: dict[str, Any]) -> str:
        pid = holder.get("pid")
        started = holder.get("started")
        who = f"pid {pid}" if isinstance(pid, int) else "pid unknown"
        if isinstance(started, str) and started:
            who += f", started {_seconds(started)}"
        host = holder.get("host")
        if isinstance(host, str) and host and host != socket.gethostname():
            who += f", on host {host}"
        return (
            f"another sniper run ({who}) is already watching {self.target} for this account — "
            f"lock {self.path}"
        )


def _read_holder(fd: int) -> dict[str, Any]:
    """The holder line of a locked file; it may be written a moment after the flock is taken,
    so an empty file is read again for up to ``_HOLDER_WAIT_S``."""
    deadline = time.monotonic() + _HOLDER_WAIT_S
    while True:
        try:
            raw = os.pread(fd, 4096, 0)
        except OSError:
            return {}
        if raw.strip() or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    try:
        doc = json.loads(raw.decode("utf-8", "replace").splitlines()[0]) if raw.strip() else {}
    except (ValueError, IndexError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _seconds(iso: str) -> str:
    """``2026-12-01T17:00:03.123456Z`` → ``2026-12-01T17:00:03Z`` (the message stays short)."""
    head, dot, _ = iso.partition(".")
    return f"{head}Z" if dot and iso.endswith("Z") else iso
