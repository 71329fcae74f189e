"""Suite-wide settings. Tests import the installed ``sniper`` (README); the header says which."""

from __future__ import annotations

import gc
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import sniper

REPO = Path(__file__).resolve().parent.parent
# test-side helper modules (``bitget_corpus``) import by name, whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_report_header(config: pytest.Config) -> list[str]:
    import sniper._fast as fast

    where = Path(sniper.__file__).resolve().parent
    return [f"sniper {sniper.__version__} from {where} ({fast.IMPLEMENTATION})"]


@pytest.fixture(autouse=True)
def _no_ambient_bitget_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's real credentials in the shell must never leak into a test run, and no test
    reads or writes the developer's sniper journal: each test has its own state directory."""
    for name in list(os.environ):
        if name.startswith("BITGET_") or name in ("TARGET_TOKEN", "COIN_AMOUNT", "OPEN_TIME"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNIPER_STATE_DIR", str(tmp_path / "sniper-state"))


@pytest.fixture(autouse=True)
def _collector_back_on() -> Iterator[None]:
    """A run left within a second of its aimed fire pauses the garbage collector
    (``clock.GcHold``) until its aimed send is past; the next test starts with it on."""
    from sniper.live.clock import GcHold

    yield
    if GcHold.holds or GcHold.paused:
        GcHold.holds, GcHold.paused = 0, False
        gc.enable()


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or host in _LOOPBACK_NAMES:
        return isinstance(host, str)
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _default_time_slice() -> Iterator[None]:
    """An armed run asks for a short time slice for its thread (``SCHED_SLICE_US``); the
    test's thread goes back to the kernel's default afterwards."""
    from sniper.live.sched import reset_slice

    yield
    reset_slice()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the test suite may reach a real host: name look-ups and connects from this
    process are refused unless they are for loopback (child processes are pointed at
    127.0.0.1 by the tests themselves)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host is not None and not _is_loopback(host):
            raise OSError(f"test suite: refused to resolve non-loopback host {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: object) -> None:
        if isinstance(address, tuple) and address and not _is_loopback(address[0]):
            raise OSError(f"test suite: refused to connect to non-loopback {address!r}")

    def connect(self, address):  # type: ignore[no-untyped-def]
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
