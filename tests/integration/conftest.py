"""Integration fixtures: the embedded exchange on 127.0.0.1 with one funded account."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

# The test modules import their harness by name, whatever import mode pytest uses.
sys.path.insert(0, str(Path(__file__).parent))
from sniper_harness import API_KEY, PASSPHRASE, SECRET


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def mode() -> str:
    """The account mode of the test account; a test runs on both with ``@both_modes``
    (``pytest.mark.parametrize("mode", ["classic", "uta"])`` overrides this fixture)."""
    return "classic"


@pytest.fixture
def demo() -> bool:
    """Demo trading on the exchange (``paptrading: 1`` required); parametrize to turn it on."""
    return False


@pytest.fixture
async def ex(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str, demo: bool
) -> AsyncIterator[EmbeddedExchange]:
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    settings = ExchangeSettings(port=0, tls=False, ticker_interval_s=(0.05, 0.1), demo=demo)
    async with EmbeddedExchange(settings) as exchange:
        exchange.add_account(
            Account(
                API_KEY,
                SECRET,
                PASSPHRASE,
                mode="uta" if mode == "uta" else "classic",
                balances={"PAWS": "1000", "USDT": "0"},
            )
        )
        exchange.add_symbol("BTCUSDT", status="online", price="43000", quantity_precision=6)
        yield exchange


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the ``sniper`` logger (DEBUG and up) during the test."""
    got: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record)

    logger = logging.getLogger("sniper")
    handler = _Collect(level=logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield got
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
