"""Harness for the sniper integration tests: credentials, env, in-process and subprocess runs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import sniper
from sniper.config import Config, load_config
from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings
from sniper.live import RunResult, Sniper

TARGET = "PAWSUSDT"
# Distinctive credentials: grepped for in every captured output.
API_KEY = "bg_KEYzq7DISTINCTIVEkey0001"
SECRET = "SECRETxw9DISTINCTIVEsecret00000000000002"
PASSPHRASE = "PASSvv3DISTINCTIVEpass03"
SECRETS = (API_KEY, SECRET, PASSPHRASE)

# Short timings (tunables via env) so each run takes a second or two.
FAST_TUNABLES: dict[str, str] = {
    "POLL_INTERVAL_MS": "50",
    "ORDER_TIMEOUT_S": "0.5",
    "LOOKUP_WINDOW_S": "0.3",
    "FILL_TIMEOUT_S": "1",
    "KEEPALIVE_INTERVAL_S": "1",
    "BALANCE_REFRESH_S": "0.2",
    "RESIGN_INTERVAL_S": "1",
    "WS_RECONNECT_MAX_S": "0.3",
    "WS_RESUBSCRIBE_S": "0.5",
    "ORDER_RETRY_WINDOW_S": "5",
}

SRC_ROOT = str(Path(sniper.__file__).resolve().parent.parent)

# Behaviour that must hold on both account generations: classic (v2 API) and UTA (v3 API).
both_modes = pytest.mark.parametrize("mode", ["classic", "uta"])

# v2 code -> the code the exchange answers a UTA (v3) order with (ExchangeSettings defaults,
# bitget-api.md §5.11)
V3_CODES = {
    "43012": "25202",
    "43118": "25212",
    "40034": "25100",
    "43001": "25204",
    "43115": "25101",
    "41114": "25102",
}


def code_for(ex: EmbeddedExchange, v2_code: str) -> str:
    """The exchange code the test account meets for a v2 code (25xxx on UTA)."""
    return V3_CODES.get(v2_code, v2_code) if account_mode(ex) == "uta" else v2_code


def account_mode(ex: EmbeddedExchange) -> str:
    return ex.account(API_KEY).mode


def ws_url_for(ex: EmbeddedExchange) -> str:
    """The public WS URL of the test account's generation (v3 for UTA)."""
    return ex.ws_url_v3 if account_mode(ex) == "uta" else ex.ws_url


def sniper_env(ex: EmbeddedExchange, **overrides: str) -> dict[str, str]:
    """The environment of a run against ``ex``. BITGET_ACCOUNT stays ``auto`` (detected);
    the WS URL is explicit (a test never reaches a real host), for the account's generation."""
    env = {
        "BITGET_API_KEY": API_KEY,
        "BITGET_SECRET_KEY": SECRET,
        "BITGET_PASSPHRASE": PASSPHRASE,
        "TARGET_TOKEN": TARGET,
        "COIN_AMOUNT": "1000",
        "BITGET_REST_URL": ex.rest_url,
        "BITGET_WS_URL": ws_url_for(ex),
        **FAST_TUNABLES,
    }
    if ex.settings.demo:
        env["BITGET_DEMO"] = "1"
    env.update(overrides)
    return env


def sniper_config(ex: EmbeddedExchange, **overrides: str) -> Config:
    return load_config(environ=sniper_env(ex, **overrides))


@dataclass
class Run:
    sniper: Sniper
    out: io.StringIO = field(default_factory=io.StringIO)
    task: asyncio.Task[RunResult] | None = None

    async def armed(self, within: float = 5.0) -> None:
        assert self.task is not None
        waiter = asyncio.ensure_future(self.sniper.armed.wait())
        done, _ = await asyncio.wait(
            {waiter, self.task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            if self.task.done():
                self.task.result()  # raise the start-up error
            raise AssertionError("the sniper did not arm in time")

    async def result(self, within: float = 10.0) -> RunResult:
        assert self.task is not None
        return await asyncio.wait_for(self.task, within)


def start_sniper(config: Config, **kwargs: object) -> Run:
    run = Run(Sniper(config, out=io.StringIO(), status=False, **kwargs))  # type: ignore[arg-type]
    run.out = run.sniper.out  # type: ignore[assignment]
    run.task = asyncio.create_task(run.sniper.run())
    return run


async def run_cli(
    args: list[str], env: Mapping[str, str], within: float = 20.0
) -> tuple[int, str, str]:
    """``python -m sniper <args>`` in a subprocess; the exchange keeps serving meanwhile."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BITGET_", "SNIPER_"))}
    # the test's own journal and lock (tests/conftest.py), never the developer's
    full_env["SNIPER_STATE_DIR"] = os.environ["SNIPER_STATE_DIR"]
    full_env.update(env)
    full_env["PYTHONPATH"] = SRC_ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sniper",
        *args,
        env=full_env,
        cwd=SRC_ROOT,  # `-m` puts the working directory first on sys.path
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"sniper did not exit in {within}s:\n{err.decode()}") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a credential leaked into the output"
            assert secret[:12] not in text, "a credential prefix leaked into the output"


def ticker_v3(symbol: str = TARGET) -> str:
    """A v3 (UTA) public ticker push (bitget-api.md §5.10 / the exchange's v3 shape)."""
    return json.dumps(
        {
            "action": "snapshot",
            "arg": {"instType": "spot", "topic": "ticker", "symbol": symbol},
            "data": [{"symbol": symbol, "lastPrice": "0.0123"}],
            "ts": 1700000000000,
        }
    )


def ticker_for(ex: EmbeddedExchange, symbol: str = TARGET) -> str:
    return ticker_v3(symbol) if account_mode(ex) == "uta" else ticker(symbol)


def ticker(symbol: str = TARGET, *, channel: str = "ticker", data: object = None) -> str:
    if data is None:
        data = [
            {
                "instId": symbol,
                "lastPr": "0.0123",
                "bidPr": "0.0122",
                "askPr": "0.0124",
                "ts": "1700000000000",
            }
        ]
    return json.dumps(
        {
            "action": "snapshot",
            "arg": {"instType": "SPOT", "channel": channel, "instId": symbol},
            "data": data,
            "ts": 1700000000000,
        }
    )


def assert_one_accepted(ex: EmbeddedExchange, client_oid: str) -> None:
    accepted = [o for o in ex.records.orders if o.accepted]
    assert len(accepted) == 1, ex.records.orders
    assert all(o.client_oid == client_oid for o in ex.records.orders)
    assert accepted[0].side == "sell" and accepted[0].symbol == TARGET
    # on the account's own API generation (v3 for UTA)
    assert all(o.api == ("v3" if account_mode(ex) == "uta" else "v2") for o in ex.records.orders)


async def wait_until(predicate: Callable[[], object], within: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def funded_exchange(
    mode: str, *, demo: bool = False, btc: bool = True, **settings: Any
) -> AsyncIterator[EmbeddedExchange]:
    """The embedded exchange on 127.0.0.1 with the test account (1000 PAWS) in ``mode`` and
    (``btc``) BTCUSDT online: the ``ex`` fixture, each trial of a timing test, and with more
    ``ExchangeSettings`` the listing-day exchanges."""
    s = ExchangeSettings(port=0, tls=False, ticker_interval_s=(0.05, 0.1), demo=demo, **settings)
    async with EmbeddedExchange(s) as exchange:
        exchange.add_account(
            Account(
                API_KEY,
                SECRET,
                PASSPHRASE,
                mode="uta" if mode == "uta" else "classic",
                balances={"PAWS": "1000", "USDT": "0"},
            )
        )
        if btc:
            exchange.add_symbol("BTCUSDT", status="online", price="43000", quantity_precision=6)
        yield exchange
