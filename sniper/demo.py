"""``sniper demo``: a full listing rehearsal on 127.0.0.1.

Starts the embedded exchange in this process, schedules a listing a few seconds ahead
(absent → ``gray`` with ``openTime`` → ``online``), runs the real ``sniper run`` as a child
process against it over real sockets, and ends with what happened and the latency the exchange
measured (listing ticker written → the order's first byte received).

``--wan-ms N`` puts a simulated wide-area network between them (N ms one way ± 10 %, each way:
``sniper.exchange.wan``) and races the announced open: the scheduled channel aims the order to
ARRIVE just after the open (``SCHEDULE_LEAD_MS=auto``), and the demo shows where each order
landed relative to the open (exchange clock) and how many attempts it took.

``--scenario`` rehearses a listing day (issue 13), end to end:

* ``thin-book``: the bids at the open straddle a floor (``MIN_PRICE``): the limit sell takes
  every bid at or above it and no other; the rest rests at the floor (exit 5, "PARTLY SOLD");
* ``market-refused``: the exchange refuses market orders for 3 s after the open; with a floor
  the sniper sells by limit at once, never below it;
* ``capped``: the pair caps a market order far below the amount: the sale goes out as chunk
  orders under the cap, each with its own clientOid, adding up exactly to ``COIN_AMOUNT``.

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
SCENARIOS = ("thin-book", "market-refused", "capped")
DEMO_PRICE = "0.0123"
DEMO_AMOUNT = "1020200"
# --scenario: (the bids at the open, MIN_PRICE or None, the exit code that means it worked)
SCENARIO_BOOKS: dict[str, tuple[list[tuple[str, str]], str | None, int]] = {
    # 600 000 at or above the 0.012 floor, a million below it: partly sold, the rest rests
    "thin-book": ([("0.0130", "300000"), ("0.0125", "300000"), ("0.0100", "1000000")], "0.012", 5),
    "market-refused": ([("0.0125", "600000"), ("0.0121", "600000")], "0.011", 0),
    "capped": ([(DEMO_PRICE, "5000000")], None, 0),
}
CAP_QTY = "300000"  # --scenario capped, v3: maxMarketOrderQty
CAP_VALUE = "3000"  # --scenario capped, v2: maxMarketOrderValue (USDT; ~243 900 at 0.0123)
WAN_JITTER = 0.10  # --wan-ms: the jitter, a fraction of the one-way delay
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sniper.__file__)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--channel",
        choices=CHANNELS,
        default=None,
        help="which detection channel should see the open first (default ws; scheduled with "
        "--wan-ms): poll mutes the exchange's ticker pushes; scheduled also slows polling so the "
        "timed fire wins",
    )
    parser.add_argument(
        "--wan-ms",
        type=float,
        default=0.0,
        help="simulate a network of this many ms one way (± 10 %% jitter) between the sniper and "
        "the exchange, and show where the first order arrived relative to the open (default 0)",
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
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default=None,
        help="a listing-day case: thin-book (a floor on a thin book: partly sold, exit 5), "
        "market-refused (no market orders for 3 s after the open: sold by limit at the floor), "
        "capped (a market-order cap below the amount: sold in chunks)",
    )


@dataclass
class DemoRun:
    symbol: str
    exit_code: int
    latency_us: float | None  # listing ticker written -> order first byte (exchange side)
    channel_seen: str | None
    landed_ms: float | None = None  # --wan-ms: the first accepted order's arrival - the open


def main(args: argparse.Namespace) -> int:
    if args.runs < 1:
        print("sniper demo: --runs must be >= 1", file=sys.stderr)
        return 2
    if not (0 <= args.wan_ms <= 1000):
        print("sniper demo: --wan-ms must be between 0 and 1000", file=sys.stderr)
        return 2
    if args.channel is None:  # a race on a network is the timed fire's
        args.channel = "scheduled" if args.wan_ms > 0 else "ws"
    # The exchange side runs on the plain asyncio loop on purpose: it reads with recvmsg and
    # so gets kernel receive timestamps (SO_TIMESTAMPNS); uvloop does its own reads.
    return asyncio.run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

    settings = ExchangeSettings(
        host="127.0.0.1",
        port=0,
        tls=args.tls,
        wan_one_way_ms=args.wan_ms,
        wan_jitter_ms=args.wan_ms * WAN_JITTER,
        market_orders_refused_for_s=3.0 if args.scenario == "market-refused" else 0.0,
    )
    runs: list[DemoRun] = []
    async with EmbeddedExchange(settings) as ex:
        with tempfile.TemporaryDirectory(prefix="sniper-demo-") as tmp:
            ca_file = None
            if args.tls:
                ca_file = Path(tmp) / "embedded-ca.pem"
                ca_file.write_bytes(ex.ca_pem or b"")
            _say(f"embedded exchange up: REST {ex.rest_url}  WS {_ws_url(ex, args.account)}")
            if args.wan_ms > 0:
                _say(
                    f"simulated network: {args.wan_ms:g} ms ± {args.wan_ms * WAN_JITTER:g} ms "
                    "each way (an order arrives that much after it is sent)"
                )
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
            balances={base: DEMO_AMOUNT, "USDT": "0"},
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
        "COIN_AMOUNT": DEMO_AMOUNT,
        "POLL_INTERVAL_MS": "5000" if args.channel == "scheduled" else "50",
        # ws: the open time is announced, but the timed fire is held back 250 ms so the
        # WebSocket ticker is what sees the open (otherwise the timed fire, which goes out at
        # the open instant itself, would beat it).
        "SCHEDULE_LEAD_MS": "-250" if args.channel == "ws" else "0",
        "KEEPALIVE_INTERVAL_S": "2",
    }
    floor = SCENARIO_BOOKS[args.scenario][1] if args.scenario else None
    if floor is not None:
        env["MIN_PRICE"] = floor
    if args.wan_ms > 0 and args.channel == "scheduled":
        # the race: aimed to arrive just after the open (the default a user runs with)
        env["SCHEDULE_LEAD_MS"] = "auto"
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
        caps: dict[str, str] = {}
        if args.scenario == "capped":
            caps = (
                {"max_market_order_qty": CAP_QTY}
                if args.account == "uta"
                else {"max_market_order_value": CAP_VALUE}
            )
        await ex.list_symbol(
            symbol,
            open_at_ms=open_at,
            price=DEMO_PRICE,
            quantity_precision=2,
            min_trade_usdt="1",
            # poll: no announced open time, so the timed fire cannot beat the poller
            announce_open_time=args.channel != "poll",
            **caps,
        )
        _say(f"[{n}/{args.runs}] {symbol} is gray, opening in {lead_s:.1f} s")
        if args.scenario:
            _scenario_intro(ex, symbol, args, caps, floor, n)
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
    if orders and args.wan_ms == 0:  # with a WAN the race report below says where it landed
        latency = (orders[0].first_byte_ns - start_ns) / 1000
    accepted = [o for o in orders if o.accepted]
    _say(
        f"[{n}/{args.runs}] exit {code}; exchange saw {len(orders)} order request(s), "
        f"{len(accepted)} accepted"
        + (f"; {start_label} → order first byte: {latency:.0f} µs" if latency is not None else "")
    )
    landed = None
    if args.wan_ms > 0 and orders:
        landed = _race_report(ex, symbol, n, args)
    if args.scenario:
        ok = _scenario_report(ex, symbol, key, n, args, floor, code)
        code = 0 if ok else code or 1
    return DemoRun(symbol, code, latency, args.channel, landed)


def _scenario_intro(
    ex, symbol: str, args: argparse.Namespace, caps: dict[str, str], floor: str | None, n: int
) -> None:
    """The listing-day case: the book at the open, the exchange's rule, the sniper's floor."""
    bids = SCENARIO_BOOKS[args.scenario][0]
    ex.state.set_book(symbol, bids)
    book = ", ".join(f"{size} @ {price}" for price, size in bids)
    _say(f"[{n}/{args.runs}] scenario {args.scenario}: bids at the open: {book}")
    if floor is not None:
        _say(f"[{n}/{args.runs}] the sniper sells {DEMO_AMOUNT} with MIN_PRICE={floor} (gtc)")
    if args.scenario == "market-refused":
        _say(f"[{n}/{args.runs}] the exchange refuses MARKET orders for 3 s after the open")
    for name, value in caps.items():
        _say(f"[{n}/{args.runs}] the pair caps a market order: {name} = {value}")


def _scenario_report(
    ex, symbol: str, key: str, n: int, args: argparse.Namespace, floor: str | None, code: int
) -> bool:
    """What the exchange executed: each order (clientOid, size, answer), every fill, the
    total — never below the floor, never more than the amount. True: the case went as it
    should (and the sniper's exit code is the expected one)."""
    from decimal import Decimal

    for o in (o for o in ex.records.orders if o.symbol == symbol):
        _say(f"[{n}/{args.runs}]   order {o.client_oid} size {o.size} → {o.code}")
    fills = [f for f in ex.state.fills if f.symbol == symbol and f.api_key == key]
    for f in fills:
        kind = f"{f.order_type} {f.force}" if f.order_type == "limit" else f.order_type
        _say(f"[{n}/{args.runs}]   fill {f.base_qty} @ {f.price} ({kind}, {f.client_oid})")
    sold = sum((f.base_qty for f in fills), Decimal(0))
    low = min((f.price for f in fills), default=None)
    expected = SCENARIO_BOOKS[args.scenario][2]
    ok = (
        sold <= Decimal(DEMO_AMOUNT)
        and (floor is None or low is None or low >= Decimal(floor))
        and code == expected
    )
    _say(
        f"[{n}/{args.runs}] scenario {args.scenario}: sold {sold} of {DEMO_AMOUNT} in "
        f"{len(fills)} fill(s)"
        + (f", lowest price {low}" if low is not None else "")
        + (f" (floor {floor})" if floor is not None else "")
        + f"; the sniper exited {code} (expected {expected})"
        + ("" if ok else " — UNEXPECTED")
    )
    return ok


# what the race's refusals mean (bitget-api.md §5.11, §10.8): an early copy, and the volley's
# backstop (a copy after the one that sold meets the balance, or the clientOid still unfilled)
_REFUSALS = {
    "43115": "not open yet",
    "25101": "not open yet",
    "43012": "insufficient balance: an earlier copy sold it",
    "25202": "insufficient balance: an earlier copy sold it",
    "43118": "duplicate clientOid: an earlier copy is on the book",
    "25212": "duplicate clientOid: an earlier copy is on the book",
}


def _race_report(ex, symbol: str, n: int, args: argparse.Namespace) -> float | None:
    """Where each order ARRIVED relative to the open (exchange clock); the first accepted one."""
    arrivals = ex.arrivals(symbol)
    for i, (offset, answer, ok) in enumerate(arrivals, 1):
        verdict = (
            "accepted" if ok else f"refused ({answer}: {_REFUSALS.get(answer, 'see the code')})"
        )
        _say(f"[{n}/{args.runs}]   attempt {i}: arrived {offset:+.2f} ms from the open — {verdict}")
    first = next((offset for offset, _, ok in arrivals if ok), None)
    if first is not None:
        _say(
            f"[{n}/{args.runs}] race: the first order landed {first:+.2f} ms after the open "
            f"after {len(arrivals)} attempt(s); sent at the open it would have landed "
            f"~{args.wan_ms:+.0f} ms after it"
        )
    return first


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
    done = f"went as scenario {args.scenario} expects" if args.scenario else "sold exactly once"
    _say(f"demo finished: {len(ok)}/{len(runs)} listing(s) {done}")
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
    landed = sorted(r.landed_ms for r in runs if r.landed_ms is not None)
    if len(landed) > 1:
        _say(
            f"race over {len(landed)} runs: the first order landed p50 "
            f"{statistics.median(landed):+.2f} ms, max {landed[-1]:+.2f} ms after the open"
        )
    return 0 if len(ok) == len(runs) else 1


def _say(text: str) -> None:
    # On a terminal the child's live status line may be on screen: clear it first.
    clear = "\r\x1b[K" if sys.stdout.isatty() else ""
    print(f"{clear}demo: {text}", flush=True)
