"""``sniper demo``: a full listing rehearsal on 127.0.0.1.

Starts the embedded exchange in this process, schedules a listing a few seconds ahead
(absent → ``gray`` with ``openTime`` → ``online``), runs the real ``sniper run`` as a child
process against it over real sockets, and ends with what happened and the latency the exchange
measured (listing ticker written → the order's first byte received).

Credentials are made up for the embedded exchange on every start; no ``.env`` is read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets as pysecrets
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sniper

CHANNELS = ("ws", "poll", "scheduled")
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sniper.__file__)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--channel",
        choices=CHANNELS,
        default="ws",
        help="which detection channel should see the open first (default ws): poll mutes the "
        "exchange's ticker pushes; scheduled also slows polling so the timed fire wins",
    )
    parser.add_argument("--runs", type=int, default=1, help="listings to run in a row (default 1)")
    parser.add_argument("--tls", action="store_true", help="serve https/wss with a throwaway CA")
    parser.add_argument(
        "--account",
        choices=("classic", "uta"),
        default="classic",
        help="account mode of the embedded exchange (default classic)",
    )
    parser.add_argument(
        "--lead-s", type=float, default=4.0, help="seconds from arming to the open (default 4)"
    )
    parser.add_argument("--json", action="store_true", help="the child logs JSON lines")


@dataclass
class DemoRun:
    symbol: str
    exit_code: int
    latency_us: float | None  # listing ticker written -> order first byte (exchange side)
    channel_seen: str | None


def main(args: argparse.Namespace) -> int:
    if args.runs < 1:
        print("sniper demo: --runs must be >= 1", file=sys.stderr)
        return 2
    # The exchange side runs on the plain asyncio loop on purpose: it reads with recvmsg and
    # so gets kernel receive timestamps (SO_TIMESTAMPNS); uvloop does its own reads.
    return asyncio.run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

    settings = ExchangeSettings(host="127.0.0.1", port=0, tls=args.tls)
    runs: list[DemoRun] = []
    async with EmbeddedExchange(settings) as ex:
        with tempfile.TemporaryDirectory(prefix="sniper-demo-") as tmp:
            ca_file = None
            if args.tls:
                ca_file = Path(tmp) / "embedded-ca.pem"
                ca_file.write_bytes(ex.ca_pem or b"")
            _say(f"embedded exchange up: REST {ex.rest_url}  WS {_ws_url(ex, args.account)}")
            for n in range(1, args.runs + 1):
                runs.append(await _one_listing(ex, args, n, Path(tmp), ca_file, Account))
    return _summary(runs, args)


async def _one_listing(ex, args, n: int, tmp: Path, ca_file: Path | None, account_cls) -> DemoRun:
    symbol = f"DEMO{n}USDT" if args.runs > 1 else "PAWSUSDT"
    base = symbol[: -len("USDT")]
    key = "demo-" + pysecrets.token_hex(8)
    secret = pysecrets.token_hex(16)
    passphrase = pysecrets.token_urlsafe(9)
    ex.add_account(
        account_cls(
            api_key=key,
            secret=secret,
            passphrase=passphrase,
            mode=args.account,
            balances={base: "1020200", "USDT": "0"},
        )
    )
    ex.faults.mute_ws_pushes = args.channel in ("poll", "scheduled")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BITGET_")},
        "BITGET_API_KEY": key,
        "BITGET_SECRET_KEY": secret,
        "BITGET_PASSPHRASE": passphrase,
        "BITGET_REST_URL": ex.rest_url,
        "BITGET_WS_URL": _ws_url(ex, args.account),
        "BITGET_ACCOUNT": args.account,
        "TARGET_TOKEN": f"{base}/USDT",
        "COIN_AMOUNT": "1020200",
        "POLL_INTERVAL_MS": "5000" if args.channel == "scheduled" else "50",
        # ws: the open time is announced, but the timed fire is held back 250 ms so the
        # WebSocket ticker is what sees the open (otherwise the timed fire, which goes out at
        # the open instant itself, would beat it).
        "SCHEDULE_LEAD_MS": "-250" if args.channel == "ws" else "0",
        "KEEPALIVE_INTERVAL_S": "2",
    }
    if ca_file is not None:
        env["BITGET_CA_FILE"] = str(ca_file)
    # The rehearsal's journal and lock live with its throwaway account, not in the user's state
    # directory beside real runs.
    env["SNIPER_STATE_DIR"] = str(tmp / "state")
    # The child imports the same `sniper` as this process (an installed wheel, or a source
    # tree with an in-place build), never whatever its working directory would offer.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    # An empty env file: the demo must not pick up a .env with real credentials.
    empty_env = tmp / "demo.env"
    empty_env.write_text("")
    cmd = [sys.executable, "-m", "sniper", "run", "--env-file", str(empty_env)]
    if args.json:
        cmd.append("--json")

    async def list_gray(lead_s: float) -> int:
        open_at = ex.server_time_ms() + int(lead_s * 1000)
        await ex.list_symbol(
            symbol,
            open_at_ms=open_at,
            price="0.0123",
            quantity_precision=2,
            min_trade_usdt="1",
            # poll: no announced open time, so the timed fire cannot beat the poller
            announce_open_time=args.channel != "poll",
        )
        _say(f"[{n}/{args.runs}] {symbol} is gray, opening in {lead_s:.1f} s")
        return open_at

    if args.channel == "scheduled":
        # The open time must be known before the (slow) poller would see the open.
        open_at = await list_gray(args.lead_s + 1.0)
        _say(f"[{n}/{args.runs}] starting `sniper run`")
    else:
        _say(f"[{n}/{args.runs}] {symbol} is not listed yet; starting `sniper run`")
    # The child inherits our terminal, so its live status line shows while it is armed.
    # cwd: `-m` puts the working directory first on sys.path, and a source checkout there
    # (where `pip install .` was run) would shadow the installed, compiled package.
    child = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdin=asyncio.subprocess.DEVNULL, cwd=tmp
    )
    try:
        if args.channel != "scheduled":
            # List only once the sniper is armed (it has asked the WebSocket for the pair),
            # so a slow start on a busy machine cannot hand the open to another channel.
            await _armed(ex, symbol, child, timeout_s=30.0)
            open_at = await list_gray(args.lead_s)
        try:
            code = await asyncio.wait_for(child.wait(), timeout=args.lead_s + 30)
        except TimeoutError:
            child.kill()
            await child.wait()
            _say(f"[{n}/{args.runs}] sniper did not finish in time: killed")
            return DemoRun(symbol, 124, None, None)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    latency = None
    # ws: from the listing ticker's write; poll/scheduled: from the instant the pair opened.
    orders = [o for o in ex.records.orders if o.symbol == symbol]
    ticker_ns = ex.records.listing_ticker_ns.get(symbol)
    if ticker_ns is not None and orders and orders[0].first_byte_ns >= ticker_ns:
        start_ns, start_label = ticker_ns, "listing ticker"
    else:  # no ticker (pushes muted), or the order beat it (a timed fire at the open instant)
        start_ns, start_label = open_at * 1_000_000, "open instant"
    if orders:
        latency = (orders[0].first_byte_ns - start_ns) / 1000
    accepted = [o for o in orders if o.accepted]
    _say(
        f"[{n}/{args.runs}] exit {code}; exchange saw {len(orders)} order request(s), "
        f"{len(accepted)} accepted"
        + (f"; {start_label} → order first byte: {latency:.0f} µs" if latency is not None else "")
    )
    return DemoRun(symbol, code, latency, args.channel)


async def _armed(ex, symbol: str, child: asyncio.subprocess.Process, timeout_s: float) -> None:
    """Until the child has tried to subscribe to ``symbol`` (acked or 30001), or has exited."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline and child.returncode is None:
        if any(symbol in rec.arg.values() for rec in ex.records.ws_subscriptions):
            await asyncio.sleep(0.2)  # let the poller and the order lanes settle too
            return
        await asyncio.sleep(0.02)


def _ws_url(ex, account: str) -> str:
    return str(ex.ws_url_v3 if account == "uta" else ex.ws_url)


def _summary(runs: list[DemoRun], args: argparse.Namespace) -> int:
    ok = [r for r in runs if r.exit_code == 0]
    _say(f"demo finished: {len(ok)}/{len(runs)} listing(s) sold exactly once")
    lat = sorted(r.latency_us for r in runs if r.latency_us is not None)
    what = "listing ticker written" if args.channel == "ws" else "open instant"
    if lat:
        if len(lat) == 1:
            _say(f"exchange-side latency ({what} → order first byte): {lat[0]:.0f} µs")
        else:
            p90 = lat[min(len(lat) - 1, round(0.9 * (len(lat) - 1)))]
            _say(
                f"exchange-side latency ({what} → order first byte) over {len(lat)} runs: "
                f"p50 {statistics.median(lat):.0f} µs, p90 {p90:.0f} µs, "
                f"min {lat[0]:.0f} µs, max {lat[-1]:.0f} µs"
            )
    return 0 if len(ok) == len(runs) else 1


def _say(text: str) -> None:
    # On a terminal the child's live status line may be on screen: clear it first.
    clear = "\r\x1b[K" if sys.stdout.isatty() else ""
    print(f"{clear}demo: {text}", flush=True)
