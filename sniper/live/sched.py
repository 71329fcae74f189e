"""A short scheduler time slice for the armed event loop (``SCHED_SLICE_US``, issue 15).

When the listing frame lands, the kernel wakes the event loop's thread. If another program is
running on that CPU — on a busy server, or the exchange itself in the loopback benchmark — the
Linux scheduler (EEVDF, 6.6 and later) lets it finish its *time slice* first unless the woken
thread is due sooner; a thread that woke often lately (the REST poll, the warm tick) is often
not, and waits for the other program to yield: measured with ftrace in the loopback benchmark,
the listing's wake-up then took ~170 µs instead of ~30-70 µs (BENCHMARKS.md, "Where the time
goes: the wake-up").

Since Linux 6.12 a thread may ask for a shorter slice than the default (about 0.7-3 ms):
``sched_setattr`` with its policy and nice value unchanged and ``sched_runtime`` set
(clamped by the kernel to 100 µs-100 ms). A shorter slice gives the thread an earlier deadline
each time it wakes, and a woken thread whose slice is shorter than the running one's preempts
it (the kernel's ``PREEMPT_SHORT``). It needs no privilege, changes neither the policy nor the
priority, and is a request for latency, not for more CPU: the thread still gets its fair share.

:func:`request_slice` applies it to the calling thread (the event loop's; threads it starts
later inherit it) and reads it back. It never raises: on an older kernel, another OS or an
unknown CPU architecture it reports why nothing changed, and the sniper runs as before.
Nothing here is on the hot path.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import struct
import sys
import threading
from dataclasses import dataclass

from sniper.config import MAX_SLICE_US, MIN_SLICE_US  # the kernel's clamp: 0.1 ms-100 ms

# sched_setattr(2) / sched_getattr(2): syscall numbers per architecture (no libc wrapper
# before glibc 2.41); struct sched_attr as of Linux 4.13 (56 bytes; the first 48 are the
# original layout, which is what we send).
_SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275), "arm64": (274, 275)}
_ATTR = struct.Struct("=IIQiIQQQII")  # size, policy, flags, nice, priority, runtime, ...
_ATTR_V0 = struct.Struct("=IIQiIQQQ")
_RESET_ON_FORK = 0x01  # SCHED_FLAG_RESET_ON_FORK: kept as it was
_FAIR_POLICIES = (0, 3)  # SCHED_OTHER, SCHED_BATCH: the ones a slice applies to


@dataclass(frozen=True)
class SliceResult:
    """``applied``: the kernel now reports ``slice_us`` for this thread; else ``reason``."""

    applied: bool
    slice_us: int | None
    reason: str = ""

    def text(self) -> str:
        if self.applied:
            return f"{self.slice_us} µs time slice for the event loop thread"
        return f"default time slice ({self.reason})"


def _syscalls() -> tuple[int, int] | None:
    if not sys.platform.startswith("linux") or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # a 32-bit Python on a 64-bit kernel has other syscall numbers
    return _SYSCALLS.get(platform.machine())


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _set_runtime(nums: tuple[int, int], before: tuple[int, int, int, int], runtime_ns: int) -> int:
    """sched_setattr with ``before``'s policy, nice value and reset-on-fork, and
    ``runtime_ns`` (0: the kernel's default slice); the syscall's return value."""
    policy, flags, nice, _runtime = before
    attr = _ATTR_V0.pack(_ATTR_V0.size, policy, flags & _RESET_ON_FORK, nice, 0, runtime_ns, 0, 0)
    return int(_libc().syscall(nums[0], 0, ctypes.create_string_buffer(attr), 0))


def current_attr() -> tuple[int, int, int, int] | None:
    """(policy, flags, nice, runtime ns) of the calling thread, or None where it cannot be
    read."""
    nums = _syscalls()
    if nums is None:
        return None
    buf = ctypes.create_string_buffer(_ATTR.size)
    if _libc().syscall(nums[1], 0, buf, _ATTR.size, 0) != 0:
        return None
    _size, policy, flags, nice, _prio, runtime, *_rest = _ATTR.unpack(buf.raw)
    return policy, flags, nice, runtime


def request_slice(slice_us: int) -> SliceResult:
    """Ask the kernel for a ``slice_us`` µs time slice for the calling thread (0: leave the
    default; else clamped to 100-100000 µs, as the kernel does). Policy and nice value are
    kept; a thread under a real-time or deadline policy is left alone."""
    if slice_us <= 0:
        return SliceResult(False, None, "SCHED_SLICE_US=0")
    nums = _syscalls()
    if nums is None:
        return SliceResult(False, None, f"not supported on {sys.platform}/{platform.machine()}")
    before = current_attr()
    if before is None:
        return SliceResult(False, None, f"sched_getattr: {os.strerror(ctypes.get_errno())}")
    if before[0] not in _FAIR_POLICIES:
        return SliceResult(False, None, f"the thread runs under scheduling policy {before[0]}")
    want_ns = min(max(slice_us, MIN_SLICE_US), MAX_SLICE_US) * 1000
    if _set_runtime(nums, before, want_ns) != 0:
        return SliceResult(False, None, f"sched_setattr: {os.strerror(ctypes.get_errno())}")
    after = current_attr()
    if after is None or after[3] != want_ns:
        # before Linux 6.12 a fair thread's sched_runtime is ignored (and read back as 0)
        return SliceResult(False, None, "the kernel has no per-thread slice (Linux < 6.12)")
    return SliceResult(True, want_ns // 1000)


def reset_slice() -> None:
    """Back to the kernel's default slice for the calling thread (policy and nice kept)."""
    nums = _syscalls()
    before = current_attr() if nums is not None else None
    if nums is not None and before is not None and before[0] in _FAIR_POLICIES:
        _set_runtime(nums, before, 0)


def probe_slice(slice_us: int) -> SliceResult:
    """What :func:`request_slice` would give, asked from a throwaway thread (``sniper
    check``: the calling thread's own slice is left as it is)."""
    out: list[SliceResult] = []
    thread = threading.Thread(target=lambda: out.append(request_slice(slice_us)), daemon=True)
    thread.start()
    thread.join()
    return out[0] if out else SliceResult(False, None, "the probe thread failed")


__all__ = ["SliceResult", "current_attr", "probe_slice", "request_slice", "reset_slice"]
