"""``sniper.live.sched``: the armed loop's time slice (SCHED_SLICE_US). Every request runs in a
thread of its own, so the test's thread keeps its scheduling."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from sniper.live import sched
from sniper.live.sched import SliceResult, current_attr, probe_slice, request_slice, reset_slice

T = TypeVar("T")
SUPPORTED = probe_slice(100).applied
needs_slices = pytest.mark.skipif(not SUPPORTED, reason="no per-thread slice here (Linux < 6.12)")


def in_thread(fn: Callable[[], T]) -> T:
    out: list[T] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0]


def test_zero_leaves_the_default() -> None:
    def body() -> tuple[SliceResult, object, object]:
        before = current_attr()
        return request_slice(0), before, current_attr()

    result, before, after = in_thread(body)
    assert not result.applied and result.slice_us is None
    assert "SCHED_SLICE_US=0" in result.reason and "default time slice" in result.text()
    assert before == after


@needs_slices
def test_the_slice_is_applied_and_read_back() -> None:
    def body() -> tuple[SliceResult, object]:
        return request_slice(100), current_attr()

    result, attr = in_thread(body)
    assert result == SliceResult(True, 100)
    assert result.text() == "100 µs time slice for the event loop thread"
    assert attr is not None and attr[0] == 0 and attr[3] == 100_000


@needs_slices
@pytest.mark.parametrize(("asked", "granted"), [(1, 100), (99, 100), (250, 250), (10**7, 100_000)])
def test_the_slice_is_clamped_as_the_kernel_does(asked: int, granted: int) -> None:
    result = in_thread(lambda: request_slice(asked))
    assert result.applied and result.slice_us == granted


@needs_slices
def test_the_nice_value_is_kept_and_reset_restores_the_default() -> None:
    def body() -> tuple[object, object, object]:
        default = current_attr()
        os.nice(3)  # Linux: this thread only
        request_slice(200)
        during = current_attr()
        reset_slice()
        return default, during, current_attr()

    default, during, after = in_thread(body)
    assert default is not None and during is not None and after is not None
    assert during[2] == 3 and during[3] == 200_000  # nice kept, slice set
    assert after[2] == 3 and after[3] == default[3]  # nice kept, default slice back


def test_the_probe_leaves_the_calling_thread_alone() -> None:
    def body() -> tuple[object, SliceResult, object]:
        before = current_attr()
        return before, probe_slice(300), current_attr()

    before, result, after = in_thread(body)
    assert before == after
    assert result.applied == SUPPORTED


def test_an_unknown_architecture_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sched.platform, "machine", lambda: "sparc64")
    result = in_thread(lambda: request_slice(100))
    assert not result.applied and "not supported" in result.reason
    assert current_attr() is None


def test_a_real_time_thread_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(sched, "current_attr", lambda: (1, 0, 0, 0))  # SCHED_FIFO
    monkeypatch.setattr(sched, "_libc", lambda: calls.append(1))
    result = request_slice(100)
    assert not result.applied and "policy 1" in result.reason
    assert calls == []  # nothing was set


def test_a_kernel_without_slices_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    class Libc:
        def syscall(self, *args: object) -> int:
            return 0  # accepted, and ignored: what a kernel before 6.12 does

    monkeypatch.setattr(sched, "current_attr", lambda: (0, 0, 0, 0))
    monkeypatch.setattr(sched, "_libc", Libc)
    result = request_slice(100)
    assert not result.applied and "Linux < 6.12" in result.reason


def test_a_refused_request_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    class Libc:
        def syscall(self, *args: object) -> int:
            sched.ctypes.set_errno(1)
            return -1

    monkeypatch.setattr(sched, "current_attr", lambda: (0, 0, 0, 0))
    monkeypatch.setattr(sched, "_libc", Libc)
    result = request_slice(100)
    assert not result.applied and result.reason.startswith("sched_setattr: ")
