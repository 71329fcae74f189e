"""``sniper exchange``: serve the embedded exchange until Ctrl-C.

Creates one account with random throwaway credentials, optionally schedules a listing, and
prints the URLs and a ready-to-paste ``.env`` block for ``sniper run`` / ``sniper check``.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything but loopback prints a warning)",
    )
    parser.add_argument(
        "--port", type=int, default=8600, help="port, REST and WS (default 8600; 0 = any)"
    )
    parser.add_argument(
        "--tls", action="store_true", help="https/wss with a throwaway CA (file printed)"
    )
    parser.add_argument("--demo", action="store_true", help="require the `paptrading: 1` header")
    parser.add_argument(
        "--account-mode",
        choices=("classic", "uta"),
        default="classic",
        help="classic (v2 API) or uta (v3 API) account (default classic)",
    )
    parser.add_argument("--list", metavar="SYMBOL", help="a new pair to list, e.g. PAWSUSDT")
    parser.add_argument(
        "--open-in",
        type=float,
        metavar="SECONDS",
        default=None,
        help="open the listed pair this many seconds after start (gray until then; "
        "default: stays gray until Ctrl-C)",
    )
    parser.add_argument(
        "--price", default="0.0123", help="price of the listed pair (default 0.0123)"
    )
    parser.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="COIN=AMOUNT",
        help="starting balance, repeatable (default: 1000 of the listed coin, 50 USDT)",
    )
    parser.add_argument(
        "--ticker-interval-ms",
        type=float,
        default=None,
        metavar="MS",
        help="ticker push period (default: random 100-300 ms)",
    )
    parser.add_argument(
        "--wan-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="simulated one-way network delay, each way (default 0: loopback)",
    )
    parser.add_argument(
        "--wan-jitter-ms",
        type=float,
        default=None,
        metavar="MS",
        help="uniform jitter around --wan-ms, FIFO per connection (default: 10%% of --wan-ms)",
    )


def host_warning(host: str) -> str | None:
    """The stderr warning for a ``--host`` that is not a loopback address (None if it is)."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: cannot tell without resolving it, so say so
        loopback = False
    if loopback:
        return None
    return (
        f"sniper exchange: WARNING: --host {host} is not a loopback address. This simulator "
        "has no real security: its API key is printed below, it answers anyone who can reach "
        "the port, and it is not a real exchange. Use 127.0.0.1 unless you really want other "
        "machines to reach it."
    )


def _parse_balances(items: list[str], listed: str | None) -> dict[str, str]:
    from decimal import Decimal, InvalidOperation

    from .state import split_symbol

    balances: dict[str, str] = {}
    if not items:
        if listed:
            balances[split_symbol(listed)[0]] = "1000"
        balances["USDT"] = "50"
        return balances
    for item in items:
        coin, sep, amount = item.partition("=")
        try:
            ok = bool(sep and coin) and Decimal(amount) >= 0
        except InvalidOperation:
            ok = False
        if not ok:
            raise SystemExit(f"sniper exchange: --balance expects COIN=AMOUNT, got {item!r}")
        balances[coin.strip().upper()] = amount.strip()
    return balances


def wan_settings(args: argparse.Namespace) -> dict[str, float]:
    """``wan_one_way_ms`` / ``wan_jitter_ms`` from ``--wan-ms`` / ``--wan-jitter-ms``."""
    one_way = args.wan_ms
    jitter = args.wan_jitter_ms if args.wan_jitter_ms is not None else one_way / 10
    if not (one_way >= 0 and jitter >= 0):  # also refuses nan
        raise SystemExit("sniper exchange: --wan-ms and --wan-jitter-ms must be >= 0")
    return {"wan_one_way_ms": one_way, "wan_jitter_ms": jitter}


def main(args: argparse.Namespace) -> int:
    import asyncio
    import os
    import tempfile

    from .server import EmbeddedExchange
    from .settings import ExchangeSettings
    from .state import Account, random_credentials, split_symbol

    warning = host_warning(args.host)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    listed = args.list.upper() if args.list else None
    balances = _parse_balances(args.balance, listed)
    interval = (0.1, 0.3)
    wan = wan_settings(args)
    if args.ticker_interval_ms is not None:
        interval = (args.ticker_interval_ms / 1000, args.ticker_interval_ms / 1000)
    settings = ExchangeSettings(
        host=args.host,
        port=args.port,
        tls=args.tls,
        demo=args.demo,
        ticker_interval_s=interval,
        max_request_records=10_000,
        wan_one_way_ms=wan["wan_one_way_ms"],
        wan_jitter_ms=wan["wan_jitter_ms"],
    )

    async def serve() -> None:
        ex = EmbeddedExchange(settings)
        key, secret, passphrase = random_credentials()
        ex.add_account(Account(key, secret, passphrase, mode=args.account_mode, balances=balances))
        ex.add_symbol("BTCUSDT", price="43000", quantity_precision=6, price_precision=2)
        ex.add_symbol("ETHUSDT", price="2300", quantity_precision=4, price_precision=2)
        await ex.start()
        ca_path: str | None = None
        try:
            if listed:
                open_at = None
                if args.open_in is not None:
                    open_at = ex.server_time_ms() + int(args.open_in * 1000)
                await ex.list_symbol(listed, open_at_ms=open_at, price=args.price)
            ws_url = ex.ws_url_v3 if args.account_mode == "uta" else ex.ws_url
            out = [
                f"embedded exchange listening on {ex.rest_url}",
                f"  REST      {ex.rest_url}",
                f"  WS v2     {ex.ws_url}",
                f"  WS v3     {ex.ws_url_v3}",
                f"  account   {args.account_mode}, balances "
                + ", ".join(f"{c}={a}" for c, a in balances.items()),
            ]
            if wan["wan_one_way_ms"] or wan["wan_jitter_ms"]:
                out.append(
                    f"  WAN       {wan['wan_one_way_ms']:g} ms one way "
                    f"± {wan['wan_jitter_ms']:g} ms (round trip ~{2 * wan['wan_one_way_ms']:g} ms)"
                )
            if listed:
                when = f"in {args.open_in:.1f} s" if args.open_in is not None else "never (gray)"
                out.append(f"  listing   {listed} at {args.price}, opens {when}")
            if ex.ca_pem is not None:
                fd, ca_path = tempfile.mkstemp(prefix="sniper-exchange-ca-", suffix=".pem")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(ex.ca_pem)
                out.append(f"  CA        {ca_path}")
            # Printing these credentials is intended: they are the simulator's own throwaway
            # key, valid only against this process, generated fresh at every start.
            out += ["", "# .env for sniper run / sniper check against this exchange"]
            out += [
                f"BITGET_API_KEY={key}",
                f"BITGET_SECRET_KEY={secret}",
                f"BITGET_PASSPHRASE={passphrase}",
                f"BITGET_REST_URL={ex.rest_url}",
                f"BITGET_WS_URL={ws_url}",
                f"BITGET_ACCOUNT={args.account_mode}",
                f"BITGET_DEMO={1 if args.demo else 0}",
                f"TARGET_TOKEN={listed or 'PAWSUSDT'}",
                f"COIN_AMOUNT={balances.get(split_symbol(listed)[0], '1') if listed else '1'}",
            ]
            if ca_path:
                out.append(f"BITGET_CA_FILE={ca_path}")
            print("\n".join(out), flush=True)
            await asyncio.Event().wait()  # until Ctrl-C cancels the run
        finally:
            await ex.stop()
            if ca_path:
                os.unlink(ca_path)

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        print("embedded exchange stopped", file=sys.stderr)
    return 0
