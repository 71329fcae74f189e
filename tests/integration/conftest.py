"""Integration fixtures: the embedded exchange on 127.0.0.1 with one funded account.

Event loops. ``sniper run`` runs on uvloop (``sniper/live/cli.py``), so every in-process async
test here runs on uvloop — the test and its async fixtures (the exchange included) share one
uvloop loop per test. The modules in :data:`DEFAULT_LOOP_TOO` run a second time on the default
asyncio loop (test ids ``[asyncio]`` / ``[uvloop]``): a representative subset — the executor
against a misbehaving exchange, the exactly-once paths, reconciliation and the warm lanes —
for whoever embeds :class:`~sniper.live.Sniper` in a plain asyncio program, where
cancellation and transport timing differ (Python 3.11's ``wait_for``). That second pass costs
~75 s of wall time (measured: the four modules take ~74 s per loop); doubling the whole set
would add ~110 s more for little, the rest being loop-independent shell code. Tests that
build their own loops (``asyncio.Runner`` over both kinds: ``test_order_lanes``,
``test_orderfeed``, ``test_sniper_shutdown_hang``) and the CLI tests (a ``sniper`` subprocess,
on uvloop like production) are untouched. The loops come from pytest-asyncio's
``pytest_asyncio_loop_factories`` hook (pytest-asyncio >= 1.4).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
import uvloop

from sniper.exchange import EmbeddedExchange

# The test modules import their harness by name, whatever import mode pytest uses.
sys.path.insert(0, str(Path(__file__).parent))
from sniper_harness import funded_exchange

UVLOOP_ONLY: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop
}
BOTH_LOOPS: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
# the test modules (file names) whose async tests run on the default asyncio loop too
DEFAULT_LOOP_TOO = frozenset(
    {
        "test_sniper_orders.py",
        "test_sniper_exactly_once.py",
        "test_sniper_reconcile.py",
        "test_sniper_lanes.py",
    }
)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """uvloop for every async test here; the default loop as well for :data:`DEFAULT_LOOP_TOO`."""
    return BOTH_LOOPS if Path(str(item.fspath)).name in DEFAULT_LOOP_TOO else UVLOOP_ONLY


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
    async with funded_exchange(mode, demo=demo) as exchange:
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
