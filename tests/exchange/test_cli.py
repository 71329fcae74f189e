"""`sniper exchange` (sniper.exchange.cli): prints a working .env and serves until SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import sniper
from sniper.exchange import cli as exchange_cli

SOURCE_ROOT = str(Path(sniper.__file__).resolve().parent.parent)  # where `sniper` came from
CHILD = (
    "import argparse, sys\n"
    "from sniper.exchange import cli\n"
    "p = argparse.ArgumentParser()\n"
    "cli.add_arguments(p)\n"
    "sys.exit(cli.main(p.parse_args(sys.argv[1:])))\n"
)


def test_arguments_and_defaults() -> None:
    parser = argparse.ArgumentParser()
    exchange_cli.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.tls, args.account_mode) == (
        "127.0.0.1",
        8600,
        False,
        "classic",
    )
    args = parser.parse_args(
        ["--list", "PAWSUSDT", "--open-in", "5", "--balance", "PAWS=10", "--balance", "USDT=1"]
    )
    assert args.balance == ["PAWS=10", "USDT=1"] and args.open_in == 5.0


async def test_cli_serves_and_prints_env() -> None:
    env = {**os.environ, "PYTHONPATH": SOURCE_ROOT}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        "--port",
        "0",
        "--list",
        "PAWSUSDT",
        "--open-in",
        "30",
        "--account-mode",
        "uta",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    values: dict[str, str] = {}
    try:
        async with asyncio.timeout(15):
            while "COIN_AMOUNT" not in values:
                line = (await proc.stdout.readline()).decode()
                assert line, "the CLI exited early"
                key, sep, value = line.strip().partition("=")
                if sep and key.isupper():
                    values[key] = value
        assert values["TARGET_TOKEN"] == "PAWSUSDT" and values["COIN_AMOUNT"] == "1000"
        assert values["BITGET_WS_URL"].endswith("/v3/ws/public")
        assert values["BITGET_ACCOUNT"] == "uta"
        # the printed credentials work against the printed URL (a UTA key on v3)
        async with aiohttp.ClientSession() as session:
            for target in (
                "/api/v3/market/instruments?category=SPOT&symbol=PAWSUSDT",
                "/api/v3/account/assets",
            ):
                headers = _signed(values, target)
                async with session.get(values["BITGET_REST_URL"] + target, headers=headers) as r:
                    body = await r.json()
                assert (r.status, body["code"]) == (200, "00000"), body
                if "instruments" in target:
                    assert body["data"][0]["status"] == "listed"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


def _signed(values: dict[str, str], target: str) -> dict[str, str]:
    ts = str(time.time_ns() // 1_000_000)
    prehash = (ts + "GET" + target).encode()
    digest = hmac.new(values["BITGET_SECRET_KEY"].encode(), prehash, hashlib.sha256).digest()
    return {
        "ACCESS-KEY": values["BITGET_API_KEY"],
        "ACCESS-SIGN": base64.b64encode(digest).decode(),
        "ACCESS-PASSPHRASE": values["BITGET_PASSPHRASE"],
        "ACCESS-TIMESTAMP": ts,
    }


def test_host_warning_only_for_non_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert exchange_cli.host_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        text = exchange_cli.host_warning(host)
        assert text is not None and f"--host {host} is not a loopback address" in text


def test_non_loopback_host_warns_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() says so before it binds anything (asyncio.run is stubbed: nothing listens)."""
    served: list[object] = []

    def fake_run(coro: Any) -> None:
        coro.close()  # never started: no socket is bound
        served.append(coro)

    monkeypatch.setattr(asyncio, "run", fake_run)
    parser = argparse.ArgumentParser()
    exchange_cli.add_arguments(parser)
    assert exchange_cli.main(parser.parse_args(["--host", "0.0.0.0", "--port", "0"])) == 0
    assert served and "not a loopback address" in capsys.readouterr().err
    assert exchange_cli.main(parser.parse_args(["--port", "0"])) == 0
    assert capsys.readouterr().err == ""
