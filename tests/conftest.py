"""Suite-wide settings. Tests import the installed ``sniper`` (README); the header says which."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sniper

REPO = Path(__file__).resolve().parent.parent


def pytest_report_header(config: pytest.Config) -> list[str]:
    import sniper._fast as fast

    where = Path(sniper.__file__).resolve().parent
    return [f"sniper {sniper.__version__} from {where} ({fast.IMPLEMENTATION})"]


@pytest.fixture(autouse=True)
def _no_ambient_bitget_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real credentials in the shell must never leak into a test run."""
    for name in list(os.environ):
        if name.startswith("BITGET_") or name in ("TARGET_TOKEN", "COIN_AMOUNT", "OPEN_TIME"):
            monkeypatch.delenv(name, raising=False)
