"""The README's main job and the top-level CLI, run as a user runs them (subprocesses)."""

from __future__ import annotations

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


@pytest.mark.timeout(120)
def test_demo_tls_runs() -> None:
    out = _sniper("demo", "--tls", "--runs", "2", "--lead-s", "1.5", timeout=110)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "https://127.0.0.1" in text and "2/2 listing(s) sold exactly once" in text
    assert "p50" in text
