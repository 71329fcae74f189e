"""``sniper check``: validate everything ``sniper run`` needs, without trading.

It takes the start-up checks of ``sniper run`` one by one (the same :class:`~sniper.live.
preflight.Preflight` steps: exchange clock, account mode, credentials and balance, the symbol, the
order's size and value), reads what they found from its frozen
:class:`~sniper.live.preflight.Readiness` record, and adds the probes ``run`` does not need to
make:

* the key's trade permission: a place-order with an empty body (``{}``), which can never be an
  order — refused for its parameters (40019/40020) = the key may trade; 40014 = it may not;
* the REST round trip (5 public time calls) and the WebSocket: connect, subscribe (ack, or 30001
  while the pair is not on the WebSocket yet), one text ``ping`` → ``pong``;
* the front door: one keep-alive ``GET`` exactly as the order connections send it every few
  seconds (:func:`~sniper.live.lanes.keepalive_request`, ``User-Agent: sniper/<version>``), on a
  fresh connection to the REST host. A non-2xx answer (a Cloudflare-style 403 page) is FAIL with
  the status and the page's title: the order would be refused the same way.

It prints a readiness table (item · value · OK/WARN/FAIL · hint; SKIP = not checked because an
earlier item failed) and exits 0 only when no item FAILs. Policy:

* a pair that is absent (not listed yet) is WARN, gray (pre-open) is OK: that is the normal
  state before a listing; an already online pair is WARN (``run`` would sell at once);
* an insufficient balance is FAIL: ``run`` would still arm and fire at the open (a deposit may
  land meanwhile) but, as things stand, the sell would be rejected (43012 / 25202);
* the order value under the pair's minimum is FAIL; not checkable yet (no price before the pair
  trades) is WARN;
* a pair whose status is ``restrictedAPI`` (cannot be traded through the API, 25013) is FAIL; an
  order over the pair's market-order cap (``maxMarketOrderValue`` / ``maxMarketOrderQty``, 45113)
  is WARN (and WARN "not checkable yet" for a value cap before the pair has a price); a
  permission failure of the key (40014, v3 25620) is FAIL;
* the configuration's start-up warnings (a ``.env`` others may read, ``http://`` to a remote
  host) are WARN rows;
* the busy-poll row says when ``run`` will keep the event loop hot (``SPIN``,
  :mod:`sniper.live.spin`) and what it costs (one CPU core at 100 %); WARN on a one-CPU machine;
  and the sleeping loop's warm tick and its cost (``SLEEP_WARM_US``);
* the time slice the armed loop asks for (``SCHED_SLICE_US``, :mod:`sniper.live.sched`), asked
  from a throwaway thread: WARN where the kernel cannot grant it (Linux before 6.12).

Exit codes: 0 ready · 1 not ready (a FAIL) · 2 the configuration itself is unusable.
Never prints a credential (only masked).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any

from sniper import jsonio
from sniper.live.cli import add_config_arguments, load_command_config, setup_command_logging

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.lanes import FrontDoor
    from sniper.live.preflight import Preflight, Readiness, ValueCheck
    from sniper.live.rest import RestClient
    from sniper.live.venue import Venue

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
WS_STEP_TIMEOUT_S = 5.0  # s for each of: connect, the subscribe answer, the pong
REST_SAMPLES = 5
SLOW_REST_MS = 300.0  # a median round trip above this is worth a warning
FRONT_DOOR_TIMEOUT_S = 5.0  # s for the front-door probe: connect and answer
CLOCK_WARN_MS = 1000.0  # |local - exchange| above this is worth a warning
# answers to the empty probe order that mean "refused for its parameters" (§6)
PARAMETER_ERRORS = frozenset({"40017", "40019", "40020", "40808"})

log = logging.getLogger("sniper.check")


@dataclass
class Item:
    item: str
    value: str
    status: str  # OK | WARN | FAIL | SKIP
    hint: str = ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file", metavar="PATH", help="read variables from PATH instead of ./.env"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='one JSON document on stdout: {"ready": bool, "items": [{item, value, status, hint}]}',
    )
    add_config_arguments(parser)
    parser.add_argument("--verbose", "-v", action="store_true", help="log every step (stderr)")


def main(args: argparse.Namespace) -> int:
    from sniper.errors import ConfigError

    logger = setup_command_logging(args, library_level=logging.CRITICAL)
    if not args.verbose:
        logger.setLevel(logging.ERROR)  # the table says it all; step logs only with -v
    try:
        config = load_command_config(args)
    except ConfigError as exc:
        items = [
            Item(
                "configuration", " ".join(str(exc).split()), FAIL, "fix it in .env (or --env-file)"
            )
        ]
        _print(items, args.json, sys.stdout)
        return 2
    items = asyncio.run(run_checks(config))
    _print(items, args.json, sys.stdout)
    return 0 if ready(items) else 1


def ready(items: list[Item]) -> bool:
    return not any(i.status in (FAIL,) for i in items)


# =================================================================================================
async def run_checks(config: Config) -> list[Item]:
    """Every check, in order; never raises for an exchange problem (it becomes a FAIL row)."""
    from sniper.errors import ExtensionsMissing
    from sniper.secrets import mask

    items: list[Item] = []
    amount = config.coin_amount
    items.append(
        Item(
            "configuration",
            f"{config.target} · sell {amount} {config.base_coin} · key "
            f"{mask(config.api_key.reveal())}" + (" · demo trading" if config.demo else ""),
            OK,
        )
    )
    # start-up warnings of the configuration (http:// to a remote host, a readable .env)
    items.extend(Item("configuration", "warning", WARN, w) for w in config.warnings)
    try:
        from sniper.live.fastpath import IMPLEMENTATION  # refuses to load without the extensions
    except ExtensionsMissing as exc:
        items.append(Item("hot path", "not built", FAIL, " ".join(str(exc).split())))
        return items
    if IMPLEMENTATION == "compiled":
        items.append(Item("hot path", "compiled (Cython)", OK))
    else:
        items.append(
            Item(
                "hot path",
                IMPLEMENTATION,
                WARN,
                "SNIPER_PURE_PYTHON=1 runs the slow twins; unset it for a real listing",
            )
        )
    from sniper.live.preflight import Preflight

    preflight = Preflight(config)
    try:
        await _check_exchange(preflight, items)
    finally:
        await preflight.close()
    return items


async def _check_exchange(preflight: Preflight, items: list[Item]) -> None:
    from sniper.errors import StartupError

    cfg = preflight.readiness.config
    rest = await preflight.open_rest()
    # --- exchange clock ---------------------------------------------------------------------
    try:
        await preflight.sync_clock()
    except StartupError as exc:
        items.append(Item("exchange", cfg.rest_url, FAIL, _text(exc)))
        items.append(await _front_door(preflight.readiness))  # says why a front door refuses us
        for name in ("account mode", "credentials", "balance", "symbol", "WebSocket"):
            items.append(Item(name, "not checked", SKIP, "needs the exchange"))
        return
    offset = preflight.readiness.clock_offset_ms
    rtt = preflight.readiness.clock_rtt_ms
    net = preflight.clock.net()  # the aimed fire's estimate (sniper.live.clock)
    one_way = f"; one way ~{net.one_way_ms:.1f} ms ± {net.jitter_ms:.1f}" if net else ""
    items.append(
        Item(
            "exchange clock",
            f"offset {offset:+.1f} ms (best round trip {rtt or 0.0:.1f} ms{one_way})",
            WARN if abs(offset) > CLOCK_WARN_MS else OK,
            "this machine's clock is off; sniper signs with exchange time, but sync it (NTP)"
            if abs(offset) > CLOCK_WARN_MS
            else "",
        )
    )
    items.append(await _rest_round_trip(rest, preflight.readiness))
    items.append(await _front_door(preflight.readiness))
    signed_ok = await _check_account(preflight, items)
    if signed_ok:
        items.append(await _trade_permission(rest, preflight.readiness.venue))
        items.append(_balance(preflight.readiness))
    else:
        for name in ("trade permission", "balance"):
            items.append(Item(name, "not checked", SKIP, "needs accepted credentials"))
    await _check_symbol(preflight, items, signed_ok=signed_ok)
    readiness = preflight.readiness
    items.append(await _websocket(readiness, resolved=readiness.account_source != ""))


async def _check_account(preflight: Preflight, items: list[Item]) -> bool:
    """The account mode and the credentials; True when a signed call was accepted."""
    from sniper.errors import CredentialsRejected, StartupError

    signed_ok = False
    try:
        mode = await preflight.resolve_account()
    except CredentialsRejected as exc:  # the detection call is signed: the key is the problem
        items.append(Item("account mode", "not detected", SKIP, "needs accepted credentials"))
        items.append(Item("credentials", "rejected", FAIL, _text(exc)))
    except StartupError as exc:
        items.append(Item("account mode", preflight.readiness.config.account, FAIL, _text(exc)))
    else:
        items.append(
            Item(
                "account mode",
                f"{'UTA' if mode == 'uta' else 'classic'} ({preflight.readiness.account_source}) — "
                f"{'v3' if mode == 'uta' else 'v2'} API",
                OK,
            )
        )
        try:
            await preflight.check_credentials()
        except CredentialsRejected as exc:
            items.append(Item("credentials", "rejected", FAIL, _text(exc)))
        except StartupError as exc:
            items.append(Item("credentials", "not checked", FAIL, _text(exc)))
        else:
            signed_ok = True
            path = preflight.readiness.venue.assets_call().path
            items.append(Item("credentials", f"accepted (signed GET {path})", OK))
    return signed_ok


async def _check_symbol(preflight: Preflight, items: list[Item], *, signed_ok: bool) -> None:
    """The symbol, its open time and (with accepted credentials) the order's size and value."""
    from sniper.errors import ConfigError, StartupError

    cfg = preflight.readiness.config
    try:
        await preflight.read_symbol()
    except StartupError as exc:
        items.append(Item("symbol", cfg.target, FAIL, _text(exc)))
    else:
        items.append(_symbol(preflight.readiness))
        items.append(_open_time(preflight.readiness, preflight.clock.seconds_until))
        items.append(_spin(preflight.readiness, preflight.clock.seconds_until))
        items.append(_time_slice(preflight.readiness))
        if signed_ok:
            items.append(_order_size(preflight.readiness))
            try:
                preflight.readiness.planned_size()
            except ConfigError:
                pass
            else:
                items.append(_order_value(await preflight.order_value_check()))
                items.append(_market_cap(preflight.market_cap_check()))
                items.append(_floor(preflight.floor_check()))


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split())


async def _rest_round_trip(rest: RestClient, readiness: Readiness) -> Item:
    from sniper.errors import ExchangeUnavailable

    rtts: list[float] = []
    for _ in range(REST_SAMPLES):
        t0 = time.perf_counter()
        try:
            env = await rest.request(readiness.venue.time_call(), signed=False)
        except ExchangeUnavailable:
            continue
        if env.ok:
            rtts.append((time.perf_counter() - t0) * 1000)
    url = readiness.config.rest_url
    if not rtts:
        return Item("REST", url, FAIL, "the exchange stopped answering /public/time")
    median = statistics.median(rtts)
    return Item(
        "REST",
        f"{url} · round trip median {median:.1f} ms, best {min(rtts):.1f} ms ({len(rtts)} calls)",
        WARN if median > SLOW_REST_MS else OK,
        "slow: run closer to the exchange (AWS Tokyo is the best guess)"
        if median > SLOW_REST_MS
        else "",
    )


async def _trade_permission(rest: RestClient, venue: Venue) -> Item:
    from sniper.errors import ExchangeUnavailable

    call = venue.permission_probe_call()
    try:
        env = await rest.request(call, signed=True)
    except ExchangeUnavailable as exc:
        return Item("trade permission", "not confirmed", WARN, f"the probe failed: {exc.msg}")
    if env.code in ("40014", "25620"):  # v2 / v3 "permission" (§6, §5.11)
        value = "missing" if env.code == "40014" else "permission denied"
        return Item("trade permission", value, FAIL, venue.explain(env))
    if venue.is_auth_error(env):
        return Item("trade permission", "refused", FAIL, venue.explain(env))
    if env.code in PARAMETER_ERRORS:
        return Item(
            "trade permission",
            "spot trade allowed",
            OK,
            f"probe: an empty order (never a valid one) was refused for its parameters "
            f"({env.code}), not for permission",
        )
    return Item(
        "trade permission",
        "not confirmed",
        WARN,
        f"the empty probe order got {venue.explain(env)}; check the key has spot trade permission",
    )


async def _front_door(readiness: Readiness) -> Item:
    from sniper.live.lanes import USER_AGENT

    try:
        door = await front_door_probe(readiness.config, readiness.venue)
    except TimeoutError:
        return Item(
            "front door",
            f"no answer within {FRONT_DOOR_TIMEOUT_S:g} s",
            FAIL,
            "the REST host did not answer the order connections' keep-alive: the order would "
            "meet the same — check BITGET_REST_URL, the network and any proxy",
        )
    except (OSError, ssl.SSLError) as exc:
        return Item(
            "front door",
            "cannot connect",
            FAIL,
            f"{type(exc).__name__}: {_text(exc)[:160]} — check BITGET_REST_URL and the network",
        )
    sent = f"keep-alive GET {readiness.venue.time_call().path} ({USER_AGENT})"
    if door.refused:
        return Item(
            "front door",
            f"HTTP {door.status}: {door.excerpt}",
            FAIL,
            f"the REST host's front door refuses the order connections ({sent}): the order "
            "would be refused too — check this machine's IP, network, VPN or proxy",
        )
    return Item("front door", f"HTTP {door.status} to a {sent}", OK)


async def front_door_probe(
    config: Config, venue: Venue, within_s: float = FRONT_DOOR_TIMEOUT_S
) -> FrontDoor:
    """One keep-alive ``GET`` (the order connections' exact bytes, :func:`keepalive_request`) on
    a new connection to the REST host; the answer as a :class:`FrontDoor`. Raises TimeoutError
    (no answer within ``within_s``), OSError / ssl.SSLError (cannot connect)."""
    from urllib.parse import urlsplit

    from sniper.live.lanes import FrontDoor, OrderLane, body_excerpt, keepalive_request
    from sniper.live.rest import client_ssl_context

    parts = urlsplit(config.rest_url)
    hostname = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = f"[{hostname}]" if ":" in hostname else hostname  # an IPv6 literal
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    request = keepalive_request(
        path=venue.time_call().path_with_query, host=host, locale=config.locale, demo=config.demo
    )
    tls: dict[str, Any] = {}
    if secure:
        tls = {"ssl": client_ssl_context(config), "server_hostname": hostname}
    loop = asyncio.get_running_loop()
    lane: OrderLane | None = None
    try:
        async with asyncio.timeout(within_s):
            _, lane = await loop.create_connection(
                lambda: OrderLane(0, lambda _lane: None), hostname, port, **tls
            )
            reply = await lane.send(request, "front-door")
    finally:
        if lane is not None:
            lane.abort()
    refused = not 200 <= reply.status < 300
    return FrontDoor(reply.status, body_excerpt(reply.body) if refused else "", time.monotonic_ns())


def _balance(readiness: Readiness) -> Item:
    from decimal import Decimal

    from sniper.live.order import format_decimal

    cfg = readiness.config
    available = readiness.available if readiness.available is not None else Decimal(0)
    have = f"{format_decimal(available)} {cfg.base_coin} available"
    code = "25202" if readiness.venue.mode == "uta" else "43012"
    if cfg.coin_amount == "all":
        if available > 0:
            return Item("balance", f"{have}, selling all", OK)
        return Item(
            "balance",
            f"{have}, selling all: nothing to sell",
            FAIL,
            "deposit the coins first (`run` would wait for them, but sells nothing now)",
        )
    if available >= Decimal(cfg.coin_amount):
        return Item("balance", f"{have}, selling {cfg.coin_amount}", OK)
    return Item(
        "balance",
        f"{have}, {cfg.coin_amount} requested",
        FAIL,
        f"insufficient: deposit or lower COIN_AMOUNT (`run` would still fire at the open, "
        f"and the exchange would reject the sell with {code} if still short)",
    )


def _symbol(readiness: Readiness) -> Item:
    t = readiness.config.target
    status = readiness.symbol.status
    if readiness.symbol.restricted_api:
        return Item(
            "symbol",
            f"{t} is restrictedAPI",
            FAIL,
            "the exchange does not let this pair be traded through the API (an order gets "
            "25013): `run` cannot sell it",
        )
    if status == "gray":
        return Item("symbol", f"{t} is gray (pre-open)", OK, "the normal state before the open")
    if status == "absent":
        return Item(
            "symbol",
            f"{t} is not listed yet",
            WARN,
            "normal before the listing (`run` watches for it); if it should exist by now, check "
            "TARGET_TOKEN",
        )
    if status == "online":
        return Item(
            "symbol",
            f"{t} is already online",
            WARN,
            "`sniper run` would sell at once, at the market price",
        )
    return Item(
        "symbol",
        f"{t} is {status}",
        WARN,
        "not trading: `run` waits for it to turn online",
    )


def _open_time(readiness: Readiness, seconds_until: Callable[[float], float]) -> Item:
    """``seconds_until``: seconds from now until the exchange clock reads a time (ms)."""
    from sniper.live.report import iso_ms

    ms = readiness.open_time_ms
    if ms is None:
        return Item(
            "open time",
            "not announced",
            OK,
            "WebSocket + polling watch; OPEN_TIME / --open-time arms the scheduled channel",
        )
    symbol = readiness.symbol
    source = "exchange" if symbol.open_time_ms is not None else "OPEN_TIME / --open-time"
    seconds = seconds_until(ms)
    when = f"{iso_ms(ms)} (in {seconds:.1f} s, from the {source})"
    if seconds < -5 and symbol.status != "online":
        return Item(
            "open time", when, WARN, "already past: the scheduled channel will not fire on it"
        )
    return Item("open time", when, OK)


def _spin(readiness: Readiness, seconds_until: Callable[[float], float]) -> Item:
    """SPIN: when the event loop will busy-poll instead of sleeping, and what it costs."""
    import os

    from sniper.live.spin import SLEEP_WARM_COST, plan_text

    cfg = readiness.config
    ms = readiness.open_time_ms
    to_open = seconds_until(ms) if ms is not None else None
    text = plan_text(cfg.spin, to_open, before_s=cfg.spin_before_s, max_s=cfg.spin_max_s)
    if cfg.spin_warm and cfg.sleep_warm_us and cfg.spin != "always":
        text += (
            f"; while it sleeps, a warm frame every {cfg.sleep_warm_us} µs keeps the receive "
            f"path in the caches (SLEEP_WARM_US; {SLEEP_WARM_COST})"
        )
    if cfg.spin != "off" and (os.cpu_count() or 1) < 2:
        return Item(
            "busy-poll",
            text,
            WARN,
            "this machine has one CPU: the busy-poll would take all of it (SPIN=off avoids it)",
        )
    return Item("busy-poll", text, OK)


def _time_slice(readiness: Readiness) -> Item:
    """SCHED_SLICE_US: whether this kernel gives the armed loop its short time slice."""
    from sniper.live.sched import probe_slice

    slice_us = readiness.config.sched_slice_us
    result = probe_slice(slice_us)
    if result.applied or not slice_us:
        return Item("time slice", result.text(), OK)
    return Item(
        "time slice",
        result.text(),
        WARN,
        "the listing's wake-up may wait for another program's slice (up to a few ms)",
    )


def _order_size(readiness: Readiness) -> Item:
    from sniper.errors import ConfigError
    from sniper.live.order import order_size

    cfg = readiness.config
    precision = readiness.symbol.quantity_precision
    try:
        size, warning = order_size(cfg.coin_amount, readiness.available, precision)
    except ConfigError as exc:
        return Item("order size", cfg.coin_amount, FAIL, _text(exc))
    if size is None:
        return Item("order size", "nothing to sell yet", FAIL, "no available balance")
    scale = (
        f"quantityPrecision {precision}"
        if precision is not None
        else "the pair's quantityPrecision is not known yet; floored to it once it is"
    )
    kind = "market sell" if cfg.min_price is None else f"limit sell at {cfg.min_price} floor"
    text = f"{kind} {size} {cfg.base_coin} ({scale})"
    if warning:
        return Item("order size", text, WARN, warning)
    return Item("order size", text, OK)


def _order_value(check: ValueCheck) -> Item:
    if check.verdict == "ok":
        return Item("order value", check.short, OK)
    if check.verdict == "below":
        return Item(
            "order value",
            check.short,
            FAIL,
            "under the pair's minimum: the exchange would reject it (45110); raise COIN_AMOUNT",
        )
    return Item("order value", check.short, WARN, check.text)


def _market_cap(check: ValueCheck) -> Item:
    if check.verdict == "over":
        return Item(
            "market-order cap",
            check.short,
            WARN,
            "COIN_AMOUNT exceeds the pair's market-order cap: a single market order would get "
            "45113 (not executed)",
        )
    if check.verdict == "unknown":
        return Item("market-order cap", check.short, WARN, check.text)
    return Item("market-order cap", check.short, OK)


def _floor(check: ValueCheck) -> Item:
    """MIN_PRICE: the limit price sent and the price band (below it: 40808, refused)."""
    if check.verdict == "below":
        return Item("floor", check.short, FAIL, check.text)
    if check.verdict in ("unknown", "rounded"):
        return Item("floor", check.short, WARN, check.text)
    return Item("floor", check.short, OK)


async def _websocket(readiness: Readiness, *, resolved: bool) -> Item:
    from sniper.live.venue import make_venue

    cfg = readiness.config
    url = cfg.ws_url
    venue = readiness.venue
    if not resolved:  # account mode unknown (the key was refused): speak the URL's generation
        mode = "uta" if "/v3/" in url else "classic"
        venue = make_venue(mode, cfg.target, cfg.base_coin)
    try:
        connect_ms, answer, pong_ms = await ws_probe(cfg, venue)
    except TimeoutError as exc:
        return Item("WebSocket", url, FAIL, f"{exc} — check BITGET_WS_URL and the network")
    except Exception as exc:  # refused, TLS, handshake: all mean "cannot connect"
        return Item(
            "WebSocket",
            url,
            FAIL,
            f"cannot connect ({type(exc).__name__}: {_text(exc)[:160]}) — check BITGET_WS_URL",
        )
    parts = [url, f"connect {connect_ms:.1f} ms"]
    status, hint = OK, ""
    if answer == "subscribed":
        parts.append("ticker subscribed (ack)")
    elif answer == "unknown-symbol":
        parts.append("pair not on the WebSocket yet (30001)")
        hint = "normal before the listing: `run` re-subscribes until it appears"
    else:
        parts.append(f"subscribe answered: {answer}")
        status, hint = WARN, "unexpected answer to the ticker subscription"
    parts.append(f"ping→pong {pong_ms:.1f} ms")
    return Item("WebSocket", " · ".join(parts), status, hint)


async def ws_probe(cfg: Config, venue: Venue) -> tuple[float, str, float]:
    """(connect ms, the subscribe answer, ping→pong ms) on the configured public WS."""
    import picows

    from sniper.live.rest import client_ssl_context

    frames: asyncio.Queue[bytes] = asyncio.Queue()

    class Listener(picows.WSListener):
        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.TEXT:
                frames.put_nowait(frame.get_payload_as_bytes())

    ssl_ctx = client_ssl_context(cfg) if cfg.ws_url.startswith("wss") else None
    t0 = time.perf_counter()
    # asyncio.timeout, not wait_for: 3.11's wait_for can drop a cancel (and leak the connection)
    async with asyncio.timeout(WS_STEP_TIMEOUT_S):
        transport, _ = await picows.ws_connect(
            Listener, cfg.ws_url, ssl_context=ssl_ctx, websocket_handshake_timeout=5
        )
    connect_ms = (time.perf_counter() - t0) * 1000
    try:
        transport.send(picows.WSMsgType.TEXT, venue.ws_subscribe())
        answer = await _first(frames, lambda doc: _subscribe_answer(venue, doc), "subscribe")
        t1 = time.perf_counter()
        transport.send(picows.WSMsgType.TEXT, b"ping")
        await _first(frames, lambda doc: "pong" if doc == "pong" else None, "pong")
        pong_ms = (time.perf_counter() - t1) * 1000
    finally:
        transport.disconnect()
    return connect_ms, answer, pong_ms


def _subscribe_answer(venue: Any, doc: Any) -> str | None:
    if not isinstance(doc, dict) or "event" not in doc:
        return None  # a ticker push, a pong: not the answer
    kind: str = venue.ws_event(doc)
    if kind == "error":
        return f"error {doc.get('code')}: {str(doc.get('msg', ''))[:80]}"
    return kind if kind != "other" else None


async def _first(frames: asyncio.Queue[bytes], pick: Any, what: str) -> str:
    deadline = time.monotonic() + WS_STEP_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {what} answer within {WS_STEP_TIMEOUT_S:g}s")
        try:
            async with asyncio.timeout(remaining):
                payload = await frames.get()
        except TimeoutError:
            raise TimeoutError(f"no {what} answer within {WS_STEP_TIMEOUT_S:g}s") from None
        if payload == b"pong":
            doc: Any = "pong"
        else:
            try:
                doc = jsonio.loads(payload)
            except ValueError:
                continue
        got = pick(doc)
        if got is not None:
            return str(got)


# =================================================================================================
def render(items: list[Item]) -> str:
    """The readiness table, plain text, columns aligned."""
    header = Item("ITEM", "VALUE", "STATUS", "HINT")
    rows = [header, *items]
    w_item = max(len(r.item) for r in rows)
    w_value = max(len(r.value) for r in rows)
    w_status = max(len(r.status) for r in rows)
    lines = []
    for r in rows:
        line = f"{r.item:<{w_item}}  {r.value:<{w_value}}  {r.status:<{w_status}}  {r.hint}"
        lines.append(line.rstrip())
    verdict = "READY" if ready(items) else "NOT READY"
    fails = sum(1 for i in items if i.status == FAIL)
    warns = sum(1 for i in items if i.status == WARN)
    lines.append("")
    lines.append(f"{verdict}: {fails} FAIL, {warns} WARN")
    return "\n".join(lines)


def _print(items: list[Item], as_json: bool, out: IO[str]) -> None:
    if as_json:
        doc = {"ready": ready(items), "items": [asdict(i) for i in items]}
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    else:
        out.write(render(items) + "\n")
    out.flush()
