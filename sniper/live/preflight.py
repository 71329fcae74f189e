"""The start-up checks of ``sniper run`` and ``sniper check``, and the frozen record of what they
found.

Each step logs what it found; each failure is one :class:`~sniper.errors.StartupError` line
(exit 2):

2. the exchange clock (:meth:`Preflight.sync_clock`) · 3. the account mode (``BITGET_ACCOUNT``,
or detected: ``/api/v3/account/settings`` answers a UTA key, 40084 a classic one) → the venue
(v2 or v3) and, unless ``BITGET_WS_URL`` is set, the WS URL · 4. credentials (a signed call)
and the balance · 5. the symbol's state, the order's size (a ``COIN_AMOUNT`` under one quantity
step is a :class:`~sniper.errors.ConfigError`), its value against the pair's minimum (45110)
and against the pair's market-order cap (45113).

``sniper run`` takes them all with :meth:`Preflight.run`; ``sniper check`` takes them one at a
time and carries on past a failure. Both read the outcome from :attr:`Preflight.readiness`, a
frozen :class:`Readiness` that each step replaces (never mutates). :func:`resolve_host` (DNS,
once for the whole run) is step 6's first part.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sniper.config import Config
from sniper.errors import ConfigError, CredentialsRejected, ExchangeUnavailable, StartupError
from sniper.live.clock import ServerClock
from sniper.live.order import band_warning, floor_price, format_decimal, order_size
from sniper.live.pacing import Backoff
from sniper.live.reconcile import Holdings
from sniper.live.report import iso_ms, open_time_text
from sniper.live.rest import RestClient
from sniper.live.venue import (
    Call,
    ClassicVenue,
    Envelope,
    SymbolState,
    Venue,
    account_settings_call,
    make_venue,
)

log = logging.getLogger("sniper.run")

STARTUP_ATTEMPTS = 5  # a start-up call is tried this often while its answer is transient


@dataclass(frozen=True)
class ValueCheck:
    """The order against one of the pair's limits: ``verdict`` (``ok`` | ``below`` | ``over`` |
    ``unknown`` | ``none``), the whole sentence (the run's log line) and the value alone (a
    ``sniper check`` cell)."""

    verdict: str
    text: str
    short: str = ""


@dataclass(frozen=True)
class Readiness:
    """What the start-up checks established, as of the last step taken. ``None`` (or the
    default) means "not established": the step was not taken, or failed."""

    config: Config  # resolved for the account mode once step 3 is done
    venue: Venue  # the account mode's venue (v2 classic / v3 UTA)
    account_source: str = ""  # how the mode was decided: given | BITGET_ACCOUNT | detected
    clock_synced: bool = False
    clock_offset_ms: float = 0.0  # exchange - local, ms
    clock_rtt_ms: float | None = None  # the best sample's round trip, ms
    available: Decimal | None = None  # the base coin's available balance
    holdings: Holdings | None = None  # available + frozen + locked, and when it was read
    symbol: SymbolState = field(default_factory=lambda: SymbolState("unknown"))
    open_time_ms: int | None = None  # server clock: the exchange's, else OPEN_TIME
    symbol_read_at: float = 0.0  # loop time of the symbols request (the poller's pacing)
    last_price: Decimal | None = None  # the pair's last price, when it has one
    order_value: ValueCheck | None = None  # against the minimum order value (45110)
    market_cap: ValueCheck | None = None  # against the market-order cap (45113)
    floor: ValueCheck | None = None  # MIN_PRICE: the limit price sent, against the price band

    def planned_size(self) -> str | None:
        """The size the order would have now (floored to the pair's quantityPrecision); None
        when there is nothing to sell yet. A fixed COIN_AMOUNT smaller than one quantity step
        raises :class:`ConfigError`."""
        size, _ = order_size(
            self.config.coin_amount, self.available, self.symbol.quantity_precision
        )
        return size


class Preflight:
    """Steps 2-5 against the exchange. Owns the REST client it opens (:meth:`close`)."""

    def __init__(
        self, config: Config, *, venue: Venue | None = None, clock: ServerClock | None = None
    ) -> None:
        self.clock = clock if clock is not None else ServerClock()
        self.rest: RestClient | None = None
        self._venue_given = venue is not None
        self._readiness = Readiness(
            config=config,
            venue=venue or ClassicVenue(config.target, config.base_coin),
            open_time_ms=config.open_time_ms,
        )

    @property
    def readiness(self) -> Readiness:
        return self._readiness

    def _update(self, **changes: Any) -> Readiness:
        self._readiness = replace(self._readiness, **changes)
        return self._readiness

    async def run(self) -> Readiness:
        """Every step, in order (``sniper run``). Each failure is one :class:`StartupError`."""
        await self.open_rest()
        await self.sync_clock()
        await self.resolve_account()
        cfg = self._readiness.config
        log.info("exchange: %s · feed: %s", cfg.rest_url, cfg.ws_url)
        await self.check_credentials()
        await self.read_symbol()
        self._readiness.planned_size()  # a COIN_AMOUNT below one quantity step stops here
        if self._readiness.symbol.status == "online":
            return self._readiness  # fire at once: no extra round trip (a 45110 says it too)
        check = await self.order_value_check()
        if check.verdict == "below":
            log.warning("order value: %s", check.text)
        else:
            log.info("order value: %s", check.text)
        cap = self.market_cap_check()
        if cap.verdict == "over":
            log.warning("market-order cap: %s", cap.text)
        elif cap.verdict != "none":
            log.info("market-order cap: %s", cap.text)
        floor = self.floor_check()
        if floor.verdict == "below":
            log.warning("floor: %s", floor.text)
        elif floor.verdict != "none":
            log.info("floor: %s", floor.text)
        if self._readiness.symbol.restricted_api:
            log.warning(
                "symbol: %s is restrictedAPI — the exchange does not let it be traded through "
                "the API (an order would get 25013); watching in case that changes",
                cfg.target,
            )
        return self._readiness

    async def open_rest(self) -> RestClient:
        if self.rest is None:
            r = self._readiness
            self.rest = RestClient(r.config, self.clock, r.venue)
            await self.rest.__aenter__()
        return self.rest

    async def close(self) -> None:
        if self.rest is not None:
            await self.rest.close()

    async def _startup_request(self, call: Call, *, signed: bool) -> Envelope:
        """One start-up call, retried a few times (~3 s) while the answer is transient (no
        connection, 429, 5xx); the last answer or error is returned or raised."""
        assert self.rest is not None
        venue = self._readiness.venue
        backoff = Backoff(0.2, 1.0)
        for attempt in range(1, STARTUP_ATTEMPTS + 1):
            last = attempt == STARTUP_ATTEMPTS
            try:
                env = await self.rest.request(call, signed=signed)
            except ExchangeUnavailable as exc:
                if last:
                    raise
                log.debug("start-up call %s failed (%s); retrying", call.path, exc.msg)
            else:
                if last or not venue.is_transient(env):
                    return env
                log.info("start-up call %s: %s; retrying", call.path, venue.explain(env))
            await asyncio.sleep(backoff.next())
        raise AssertionError("unreachable")  # pragma: no cover

    async def _server_time_startup(self) -> int:
        venue = self._readiness.venue
        env = await self._startup_request(venue.time_call(), signed=False)
        if not env.ok:
            raise ExchangeUnavailable(env.http_status, env.code, venue.explain(env))
        return venue.parse_server_time(env.data)

    async def sync_clock(self) -> None:
        """Step 2: the exchange clock (every signature and schedule uses it)."""
        assert self.rest is not None
        url = self._readiness.config.rest_url
        try:
            await self.clock.sync(self._server_time_startup, samples=5)
        except ExchangeUnavailable as exc:
            raise StartupError(
                f"cannot reach the exchange at {url} ({exc.msg}) — check BITGET_REST_URL and the "
                "network"
            ) from None
        except ValueError as exc:
            raise StartupError(
                f"{url} does not answer like Bitget ({exc}) — check BITGET_REST_URL"
            ) from None
        clock = self.clock
        self._update(clock_synced=True, clock_offset_ms=clock.offset_ms, clock_rtt_ms=clock.rtt_ms)
        log.info(
            "clock: synced to the exchange, offset %+.1f ms (best round trip %.1f ms)",
            clock.offset_ms,
            clock.rtt_ms or 0.0,
        )
        if abs(clock.offset_ms) > 5000:
            log.warning(
                "clock: this machine is %.1f s off the exchange; signing with exchange time",
                abs(clock.offset_ms) / 1000,
            )

    async def resolve_account(self) -> str:
        """Step 3: ``classic`` or ``uta``, from BITGET_ACCOUNT or detected with one signed call;
        then the venue and (unless BITGET_WS_URL is explicit) the WS URL follow the mode."""
        r = self._readiness
        cfg = r.config
        if self._venue_given:
            mode, source = r.venue.mode, "given"
        elif cfg.account in ("classic", "uta"):
            mode, source = cfg.account, "BITGET_ACCOUNT"
        else:
            mode, source = await self._detect_account(), "detected"
        venue = r.venue if self._venue_given else make_venue(mode, cfg.target, cfg.base_coin)
        r = self._update(config=cfg.with_account(mode), venue=venue, account_source=source)
        if self.rest is not None:
            self.rest.venue = r.venue
            self.rest.config = r.config
        log.info(
            "account: %s (%s) — %s API%s",
            "UTA" if mode == "uta" else "classic",
            source,
            "v3" if mode == "uta" else "v2",
            ", demo trading" if cfg.demo else "",
        )
        return mode

    async def _detect_account(self) -> str:
        venue = self._readiness.venue
        try:
            env = await self._startup_request(account_settings_call(), signed=True)
        except ExchangeUnavailable as exc:
            raise StartupError(
                f"cannot reach the exchange to detect the account mode ({exc.msg}) — check the "
                "network"
            ) from None
        if env.ok:
            return "uta"
        if env.code == "40084":  # a classic key on the v3 API (bitget-api.md §1)
            return "classic"
        if venue.is_auth_error(env):
            raise CredentialsRejected(f"credentials rejected: {venue.explain(env)}")
        raise StartupError(
            f"cannot tell whether the account is classic or UTA: {venue.explain(env)} — "
            "set BITGET_ACCOUNT=classic or BITGET_ACCOUNT=uta"
        )

    async def check_credentials(self) -> Envelope:
        """Step 4: a signed balance read (the credentials' proof), kept as the balance."""
        assert self.rest is not None
        venue = self._readiness.venue
        try:
            env = await self._startup_request(venue.assets_call(), signed=True)
        except ExchangeUnavailable as exc:
            raise StartupError(
                f"cannot reach the exchange to check the API key ({exc.msg}) — check the network"
            ) from None
        if not env.ok:
            if venue.is_auth_error(env):
                raise CredentialsRejected(f"credentials rejected: {venue.explain(env)}")
            raise StartupError(
                f"credential check failed: {venue.explain(env)} — try again in a moment"
            )
        log.info("credentials: accepted (signed call to %s)", venue.assets_call().path)
        holdings = Holdings(venue.parse_holdings(env.data), time.monotonic_ns())
        available = venue.parse_available(env.data)
        r = self._update(holdings=holdings, available=available)
        log_balance(r.config, available)
        return env

    async def read_symbol(self) -> SymbolState:
        """Step 5: the symbol's row (status, openTime, quantityPrecision, minimum value)."""
        assert self.rest is not None
        venue, target = self._readiness.venue, self._readiness.config.target
        try:
            self._update(symbol_read_at=asyncio.get_running_loop().time())
            env = await self._startup_request(venue.symbol_call(), signed=False)
            state = venue.parse_symbol(env, now_ms=self.clock.now_ms())
        except ExchangeUnavailable as exc:
            raise StartupError(
                f"cannot read the symbol list ({exc.msg}) — check the network"
            ) from None
        except ValueError:
            raise StartupError(
                f"cannot read {target} from the symbol list: {venue.explain(env)}"
            ) from None
        opens = (
            state.open_time_ms if state.open_time_ms is not None else self._readiness.open_time_ms
        )
        r = self._update(symbol=state, open_time_ms=opens)
        if state.status == "absent":
            log.info("symbol: %s is not listed yet: watching for it", target)
        elif state.status == "gray":
            log.info("symbol: %s is gray (pre-open)%s", target, open_time_text(opens, self.clock))
        elif state.status == "online":
            log.info("symbol: %s is already online", target)
        else:
            log.warning("symbol: %s is %s: watching for it to turn online", target, state.status)
        if state.open_time_ms is None and r.config.open_time_ms is not None:
            log.info(
                "openTime: the exchange shows none; using OPEN_TIME / --open-time %s",
                iso_ms(r.config.open_time_ms),
            )
        return state

    async def order_value_check(self) -> ValueCheck:
        """The order's value (size x last price) against the pair's minimum order value (v2
        ``minTradeUSDT``, v3 ``minOrderAmount``; below it the exchange answers 45110). The
        last price is read only when the minimum can be compared at all."""
        r = self._readiness
        check: ValueCheck | None
        try:
            size = r.planned_size()
        except ConfigError as exc:
            check = ValueCheck("below", str(exc))
        else:
            check = _value_not_comparable(r, size)
            if check is None:
                assert size is not None  # else not comparable
                check = await self._value_against_price(size)
        self._update(order_value=check)
        return check

    async def _value_against_price(self, size: str) -> ValueCheck:
        price = None
        r = self._readiness
        if self.rest is not None:
            try:
                env = await self.rest.request(r.venue.ticker_call(), signed=False)
                price = r.venue.parse_last_price(env)
            except ExchangeUnavailable:
                price = None
        r = self._update(last_price=price)
        return _value_against_minimum(r, size, price)

    def floor_check(self) -> ValueCheck:
        """MIN_PRICE: the limit price the order carries, against the pair's price band at the
        last price read (if any)."""
        check = floor_check(self._readiness)
        self._update(floor=check)
        return check

    def market_cap_check(self) -> ValueCheck:
        """The order against the pair's market-order cap, at the last price read (if any)."""
        check = market_cap_check(self._readiness, self._readiness.last_price)
        self._update(market_cap=check)
        return check


# =================================================================================================
# the verdicts (pure: the record in, a ValueCheck out)
def _value_not_comparable(r: Readiness, size: str | None) -> ValueCheck | None:
    """Why the order's value cannot be compared with the minimum (None: it can, given a price)."""
    minimum = r.symbol.min_order_value
    quote = r.config.quote_coin
    if r.symbol.status == "absent" or minimum is None:
        return ValueCheck(
            "unknown",
            "cannot be checked yet: the pair's minimum order value is not known",
            "not checkable yet",
        )
    if size is None:
        return ValueCheck(
            "unknown",
            f"cannot be checked yet: nothing to sell (minimum {minimum} {quote})",
            "not checkable yet",
        )
    if r.venue.mode == "classic" and quote != "USDT":
        # v2 states the minimum in USDT (minTradeUSDT); a BTC/ETH value is not comparable
        return ValueCheck(
            "unknown",
            f"cannot be checked: the minimum is {format_decimal(minimum)} USDT and the "
            f"order is valued in {quote}",
            "not checkable (minimum in USDT)",
        )
    return None


def _value_against_minimum(r: Readiness, size: str, price: Decimal | None) -> ValueCheck:
    minimum = r.symbol.min_order_value
    assert minimum is not None
    quote = r.config.quote_coin
    if price is None:
        return ValueCheck(
            "unknown",
            f"cannot be checked yet: no price before the pair trades (the minimum is "
            f"{format_decimal(minimum)} {quote}; the exchange checks it at the open, 45110)",
            f"not checkable yet (minimum {format_decimal(minimum)} {quote}, no price yet)",
        )
    value = Decimal(size) * price
    text = (
        f"≈ {format_decimal(value.quantize(Decimal('0.0001')))} {quote} ({size} x last price "
        f"{format_decimal(price)}), minimum {format_decimal(minimum)} {quote}"
    )
    if value < minimum:
        return ValueCheck(
            "below",
            text + " — under the minimum: the exchange would reject it (45110); raise COIN_AMOUNT",
            text,
        )
    return ValueCheck("ok", text, text)


def market_cap_check(r: Readiness, price: Decimal | None) -> ValueCheck:
    """The order against the pair's market-order cap (bitget-api.md §5.11, §10.8: v2
    ``maxMarketOrderValue`` in the quote coin, v3 ``maxMarketOrderQty`` in the base coin;
    over it the exchange answers 45113 and does not execute). Verdicts: ``none`` (the pair
    shows no cap), ``ok``, ``over``, ``unknown`` (a value cap and no price yet)."""
    qty_cap = r.symbol.max_market_order_qty
    value_cap = r.symbol.max_market_order_value
    if r.config.min_price is not None:
        return ValueCheck(
            "none", "the order is a limit sell (MIN_PRICE): no market-order cap applies", "n/a"
        )
    if qty_cap is None and value_cap is None:
        return ValueCheck("none", "the pair shows none", "none shown")
    try:
        size = r.planned_size()
    except ConfigError as exc:
        return ValueCheck("unknown", str(exc), "not checkable")
    base, quote = r.config.base_coin, r.config.quote_coin
    cap: Decimal
    if qty_cap is not None:
        cap, unit = qty_cap, base
        amount = Decimal(size) if size is not None else None
    else:
        assert value_cap is not None
        cap, unit = value_cap, quote
        amount = Decimal(size) * price if size is not None and price is not None else None
    cap_text = f"{format_decimal(cap)} {unit} per market order"
    if amount is None:
        return ValueCheck(
            "unknown",
            f"{cap_text}; cannot be compared yet (no "
            + ("size" if size is None else "price before the pair trades")
            + ")",
            f"{cap_text} (not comparable yet)",
        )
    shown = f"{format_decimal(amount.quantize(Decimal('0.0001')))} {unit}"
    if amount > cap:
        return ValueCheck(
            "over",
            f"the order ({shown}) exceeds the pair's cap of {cap_text}: the exchange "
            "answers 45113 and does not execute an order over it",
            f"{shown} > {cap_text}",
        )
    return ValueCheck("ok", f"{shown} within {cap_text}", f"{shown} ≤ {cap_text}")


def floor_check(r: Readiness) -> ValueCheck:
    """The floor (``MIN_PRICE``): the limit price sent (formatted to the pair's pricePrecision,
    rounded up) and, once a last price and ``sellLimitPriceRatio`` are known, whether the band
    lets it through (below it the exchange answers 40808). Verdicts: ``none`` (no MIN_PRICE: a
    market sell), ``ok``, ``below`` (under the band), ``unknown`` (the band cannot be checked
    yet), ``rounded`` (ok, but MIN_PRICE had more decimals than the pair allows)."""
    cfg = r.config
    if cfg.min_price is None:
        return ValueCheck("none", "no MIN_PRICE: a market sell", "none (market sell)")
    precision = r.symbol.price_precision
    price, warning = floor_price(cfg.min_price, precision)
    quote = cfg.quote_coin
    rest = "rests at the floor" if cfg.floor_tif == "gtc" else "is cancelled"
    short = f"limit sell at {price} {quote} ({cfg.floor_tif}: the unfilled rest {rest})"
    band = band_warning(price, r.last_price, r.symbol.sell_limit_price_ratio, quote)
    if band is not None:
        return ValueCheck("below", band, short)
    if warning is not None:
        return ValueCheck("rounded", f"{short} — {warning}", short)
    if r.last_price is None or r.symbol.sell_limit_price_ratio is None:
        why = "pricePrecision not known yet; " if precision is None else ""
        return ValueCheck(
            "unknown",
            f"{short}; {why}the price band cannot be checked yet (no last price or "
            "sellLimitPriceRatio)",
            short,
        )
    return ValueCheck(
        "ok",
        f"{short}; within the price band at the last price {format_decimal(r.last_price)}",
        short,
    )


def log_balance(config: Config, available: Decimal) -> None:
    """The balance as first read: enough, or short (the order still fires at the open)."""
    amount = config.coin_amount
    coin = config.base_coin
    if amount == "all":
        if available > 0:
            log.info("balance: %s %s available (selling all)", format_decimal(available), coin)
        else:
            log.warning("balance: 0 %s available — waiting for a deposit", coin)
    elif available < Decimal(amount):
        log.warning(
            "Insufficient balance: %s available, %s requested — waiting; the balance is "
            "re-read every %gs (the order still fires at the open)",
            format_decimal(available),
            amount,
            config.balance_refresh_s,
        )
    else:
        log.info("balance: %s %s available, selling %s", format_decimal(available), coin, amount)


async def resolve_host(rest_url: str) -> tuple[str, int, str]:
    """(Host header, port, IP address) of the REST host — resolved once for the whole run."""
    parts = urlsplit(rest_url)
    hostname = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host_header = hostname if parts.port is None else f"{hostname}:{parts.port}"
    if ":" in hostname and not host_header.startswith("["):  # IPv6 literal
        host_header = f"[{hostname}]" if parts.port is None else f"[{hostname}]:{parts.port}"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise StartupError(f"cannot resolve {hostname} ({exc}) — check BITGET_REST_URL") from None
    infos.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    addr = str(infos[0][4][0])
    log.info("dns: %s → %s (resolved once)", hostname, addr)
    return host_header, port, addr
