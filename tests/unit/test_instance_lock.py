"""The single-instance lock (``sniper.live.lock``): one holder per account and target, a second
acquirer gets one line naming the holder, and the lock dies with its process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sniper.config import Config, load_config
from sniper.errors import AlreadyRunning, StartupError
from sniper.live.journal import account_id
from sniper.live.lock import InstanceLock

API_KEY = "bg_LOCKkey7DISTINCTIVEkey0001"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {
        "BITGET_API_KEY": API_KEY,
        "BITGET_SECRET_KEY": "SECRETlk9DISTINCTIVEsecret0002",
        "BITGET_PASSPHRASE": "PASSlk3DISTINCTIVEpass03",
        "TARGET_TOKEN": "PAWSUSDT",
        "COIN_AMOUNT": "1000",
    }
    return load_config(env_file=empty, environ=env)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_lock_file_next_to_the_journal_private_with_the_holder(config: Config, state: Path) -> None:
    with InstanceLock.for_config(config, directory=state) as lock:
        assert lock.held
        assert lock.path == state / f"{account_id(API_KEY)}-PAWSUSDT.lock"
        assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        holder = json.loads(lock.path.read_text())
        assert holder["pid"] == os.getpid() and holder["target"] == "PAWSUSDT"
        assert holder["started"] == lock.started and lock.started.endswith("Z")
    assert not lock.held
    assert lock.path.exists() and lock.path.read_text() == ""  # kept, emptied


def test_second_lock_in_the_same_process_is_refused(config: Config, state: Path) -> None:
    first = InstanceLock.for_config(config, directory=state).acquire()
    second = InstanceLock.for_config(config, directory=state)
    with pytest.raises(AlreadyRunning) as info:
        second.acquire()
    err = info.value
    assert isinstance(err, StartupError) and err.exit_code == 2
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"another sniper run (pid {os.getpid()}, started ")
    assert first.started.split(".")[0] + "Z" in text  # the start time, to the second
    assert "is already watching PAWSUSDT for this account" in text
    assert text.endswith(f"— lock {first.path}")
    assert not second.held
    first.release()
    second.acquire()  # free again
    assert second.held
    second.release()


def test_other_targets_and_accounts_do_not_conflict(config: Config, state: Path) -> None:
    with InstanceLock.for_config(config, directory=state):
        other_target = config.with_overrides(target="BTCUSDT")
        with InstanceLock.for_config(other_target, directory=state) as lock:
            assert lock.held
        from sniper.secrets import Secret

        other_key = config.with_overrides(api_key=Secret("bg_another_key_0001"))
        with InstanceLock.for_config(other_key, directory=state) as lock:
            assert lock.held


def _hold_in_child(path: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from sniper.live.lock import InstanceLock
        lock = InstanceLock(Path({str(path)!r}), target="PAWSUSDT").acquire()
        print("locked", flush=True)
        sys.stdin.readline()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_second_process_is_refused_and_the_lock_dies_with_its_holder(
    config: Config, state: Path
) -> None:
    mine = InstanceLock.for_config(config, directory=state)
    state.mkdir(parents=True)
    child = _hold_in_child(mine.path)
    try:
        with pytest.raises(AlreadyRunning, match=rf"\(pid {child.pid}, started 20\d\d-"):
            mine.acquire()
        child.send_signal(signal.SIGKILL)  # a crash: no release, no cleanup
        child.wait(10)
        mine.acquire()  # the kernel dropped the flock with the process
        assert mine.held
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdin:
            child.stdin.close()
        if child.stdout:
            child.stdout.close()
        mine.release()


def test_a_holder_that_has_not_written_its_name_yet(config: Config, state: Path) -> None:
    import fcntl

    lock = InstanceLock.for_config(config, directory=state)
    state.mkdir(parents=True)
    fd = os.open(lock.path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        t0 = time.monotonic()
        with pytest.raises(AlreadyRunning, match=r"\(pid unknown\)"):
            lock.acquire()
        assert time.monotonic() - t0 < 2
    finally:
        os.close(fd)


def test_unusable_directory_is_a_startup_error(config: Config, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StartupError, match="state directory") as info:
        InstanceLock.for_config(config, directory=blocker / "x").acquire()
    assert not isinstance(info.value, AlreadyRunning)
