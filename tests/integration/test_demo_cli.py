"""The README's main job and the top-level CLI, run as a user runs them (subprocesses)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import sniper

# `python -m` puts the working directory first on sys.path: run beside the package under test
# so a source checkout cannot shadow the installed wheel.
PACKAGE_ROOT = Path(sniper.__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def _sniper(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sniper", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=PACKAGE_ROOT,
    )


def test_version_and_help() -> None:
    out = _sniper("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"sniper {sniper.__version__}"
    out = _sniper("--help")
    assert out.returncode == 0
    for command in ("run", "demo", "check", "exchange", "bench"):
        assert command in out.stdout


def test_no_command_is_usage_error() -> None:
    assert _sniper().returncode == 2


@pytest.mark.parametrize("channel", ["ws", "poll", "scheduled"])
@pytest.mark.timeout(90)
def test_demo_sells_exactly_once(channel: str) -> None:
    out = _sniper("demo", "--channel", channel, "--lead-s", "1.5")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "1/1 listing(s) sold exactly once" in text
    assert f"fired by {channel}" in text
    assert "exchange saw 1 order request(s), 1 accepted" in text
    assert "→ order first byte" in text


@pytest.mark.timeout(90)
def test_demo_wan_shows_where_the_first_order_landed() -> None:
    """Issue 14: ``--wan-ms 20``: a 20 ms ± 2 ms network; the scheduled channel aims the order
    to arrive just after the open, and the demo says where it landed."""
    out = _sniper("demo", "--wan-ms", "20", "--lead-s", "2.5")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "simulated network: 20 ms ± 2 ms each way" in text
    assert "fired by scheduled" in text
    landed = re.search(r"race: the first order landed ([+-][0-9.]+) ms after the open", text)
    assert landed is not None, text
    assert 0.0 <= float(landed.group(1)) <= 10.0, text  # sent at the open: ~+20 ms
    assert "attempt 1: arrived" in text
    # every refusal named for what it is: early (not open yet), or the volley's backstop
    refusals = re.findall(
        r"arrived [+-][0-9.]+ ms from the open — refused \((\d+): ([^)]*)\)", text
    )
    for code, meaning in refusals:
        if code in ("43115", "25101"):
            assert meaning == "not open yet", text
        else:
            assert "not open" not in meaning, text


@pytest.mark.timeout(120)
def test_demo_tls_runs() -> None:
    out = _sniper("demo", "--tls", "--runs", "2", "--lead-s", "1.5", timeout=110)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "https://127.0.0.1" in text and "2/2 listing(s) sold exactly once" in text
    assert "p50" in text
