"""EmbeddedExchange: one aiohttp app on one 127.0.0.1 port serving REST and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from collections.abc import Iterator
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

from .faults import Faults
from .net import STAMPING_SUPPORTED, StampingServer, make_listener, wait_kernel_stamping
from .private_ws import PrivateWsHub
from .ratelimit import RateLimiter
from .recorder import OrderRecord, Records
from .rest import RestApi
from .settings import ExchangeSettings
from .state import SYMBOL_STATUSES, Account, ExchangeState, Symbol, split_symbol
from .wan import WanModel
from .ws import WsHub


class EmbeddedExchange:
    """A Bitget-shaped spot exchange on loopback. See the package docstring for the tour."""

    def __init__(self, settings: ExchangeSettings | None = None) -> None:
        self.settings = settings or ExchangeSettings()
        self.state = ExchangeState(self.settings)
        self.faults = Faults(self)
        self.records = Records()
        self.limiter = RateLimiter(self.settings.rate_limit_table())
        self.wan = WanModel(self.settings)  # the simulated WAN (wan.py); off at 0 ms
        # symbol -> (the instant it went online, exchange ms; its status, visible, open_at_ms
        # and opened_at_ms just before): what a request that ARRIVED before that instant but
        # is processed after it must see (symbol_as_of)
        self._before_open: dict[str, tuple[int, str, bool, int | None, int | None]] = {}
        self.ws_hub = WsHub(self)
        self.private_ws = PrivateWsHub(self)  # /v2/ws/private, /v3/ws/private
        self.rest = RestApi(self)
        self.ca_pem: bytes | None = None
        self._ca: Any = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._open_tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped: asyncio.Event | None = None
        self._withheld: set[asyncio.Transport] = set()  # connections of withheld replies
        # True once start() has seen the kernel stamp a loopback TCP packet (see net.py)
        self.kernel_stamping = False

    # --- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> EmbeddedExchange:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("EmbeddedExchange already started")
        s = self.settings
        self._stopped = asyncio.Event()
        ssl_ctx = self._make_tls() if s.tls else None
        app = self.rest.build_app()
        self.private_ws.add_routes(app)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=0.5,
            keepalive_timeout=s.http_keepalive_timeout_s,
        )
        await runner.setup()
        assert runner.server is not None
        # Swap in the protocol factory that stamps each request's first byte (see net.py),
        # and carries the simulated WAN to every connection.
        if STAMPING_SUPPORTED:
            runner.server.__class__ = StampingServer
            runner.server.wan = self.wan  # type: ignore[attr-defined]
        elif self.wan.active:
            await runner.cleanup()
            raise RuntimeError("the simulated WAN needs the stamping protocol (net.py)")
        sock = make_listener(s.host, s.port)
        site = web.SockSite(runner, sock, ssl_context=ssl_ctx)
        try:
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = sock.getsockname()[1]
        self._runner = runner
        if STAMPING_SUPPORTED:
            # the listener holds packet stamping on; make sure the kernel has switched it on
            self.kernel_stamping = await wait_kernel_stamping()
        self.ws_hub.start()
        self.private_ws.start()
        now_ms = self.server_time_ms()
        for sym in self.state.symbols.values():
            if sym.status_at(now_ms) == "online":
                self.ws_hub.ensure_ticker(sym.symbol)
            elif sym.open_at_ms is not None:
                self._schedule_open(sym)

    async def stop(self) -> None:
        runner = self._runner
        if runner is None:
            return
        self._runner = None
        for task in self._open_tasks.values():
            task.cancel()
        for task in list(self._open_tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._open_tasks.clear()
        for transport in list(self._withheld):
            transport.abort()
        assert self._stopped is not None
        self._stopped.set()
        await self.ws_hub.stop()
        await self.private_ws.stop()
        await runner.cleanup()

    async def wait_stopped(self, request: web.Request) -> None:
        """Park a withheld request until stop(); its connection is aborted, never answered."""
        assert self._stopped is not None
        transport = request.transport
        if transport is not None:
            self._withheld.add(transport)
        try:
            await self._stopped.wait()
        finally:
            if transport is not None:
                self._withheld.discard(transport)

    def _make_tls(self) -> ssl.SSLContext:
        import trustme  # a runtime dependency, imported only when TLS is asked for

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._ca = ca
        self.ca_pem = ca.cert_pem.bytes()
        return ctx

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this exchange's throwaway CA (TLS mode only)."""
        if self._ca is None:
            raise RuntimeError("client_ssl_context() needs ExchangeSettings(tls=True) and start()")
        ctx = ssl.create_default_context()
        self._ca.configure_trust(ctx)
        return ctx

    # --- addresses ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the exchange is not started")
        return self._port

    @property
    def host(self) -> str:
        host = self.settings.host
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).version == 6:
                return f"[{host}]"
        return host

    @property
    def rest_url(self) -> str:
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://{self.host}:{self.port}/v2/ws/public"

    @property
    def ws_url_v3(self) -> str:
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://{self.host}:{self.port}/v3/ws/public"

    @property
    def ws_private_url(self) -> str:
        """The private WebSocket, v2 (classic keys): login, ``orders`` / ``fill`` / ``account``."""
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://{self.host}:{self.port}/v2/ws/private"

    @property
    def ws_private_url_v3(self) -> str:
        """The private WebSocket, v3 (UTA keys): login, ``order`` / ``fill`` / ``account``."""
        scheme = "wss" if self.settings.tls else "ws"
        return f"{scheme}://{self.host}:{self.port}/v3/ws/private"

    # --- clock ----------------------------------------------------------------------------
    def server_time_ms(self) -> int:
        """The exchange clock in ms: host CLOCK_REALTIME plus ``faults.clock_skew_ms``."""
        return time.time_ns() // 1_000_000 + self.faults.clock_skew_ms

    def server_time_ns(self) -> int:
        """The exchange clock in ns (CLOCK_REALTIME + skew)."""
        return time.time_ns() + self.faults.clock_skew_ms * 1_000_000

    def to_server_ns(self, realtime_ns: int) -> int:
        """A CLOCK_REALTIME instant (a record's ``arrival_ns``, ...) on the exchange clock."""
        return realtime_ns + self.faults.clock_skew_ms * 1_000_000

    # --- accounts -------------------------------------------------------------------------
    def add_account(self, account: Account) -> Account:
        self.state.accounts[account.api_key] = account
        return account

    def account(self, api_key: str) -> Account:
        return self.state.accounts[api_key]

    def set_balance(self, api_key: str, coin: str, amount: str | int | Decimal) -> None:
        self.state.accounts[api_key].available[coin.upper()] = Decimal(str(amount))
        self.private_ws.publish_balance(api_key, [coin])  # a deposit: an `account` push

    def balance(self, api_key: str, coin: str) -> Decimal:
        return self.state.accounts[api_key].balance(coin)

    # --- symbols --------------------------------------------------------------------------
    def add_symbol(
        self,
        symbol: str,
        *,
        status: str = "online",
        price: str | Decimal = "1",
        quantity_precision: int = 4,
        price_precision: int = 4,
        quote_precision: int | None = None,
        min_trade_usdt: str = "1",
        base_coin: str | None = None,
        quote_coin: str | None = None,
        open_time_ms: int | None = None,
        min_order_qty: str = "0",
        max_order_qty: str | None = None,
        max_market_order_value: str | None = None,
        max_market_order_qty: str | None = None,
        restricted_api: bool = False,
    ) -> Symbol:
        """A symbol visible right away with ``status`` (gray / online / halt / offline).

        Listing-day fields (§5.1, §5.11, §10.8): ``max_market_order_value`` (v2 row
        ``maxMarketOrderValue``, quote coin) and ``max_market_order_qty`` (v3 row
        ``maxMarketOrderQty``, base coin) cap a market order (over it: 45113, not executed);
        ``restricted_api``: the v3 row shows ``restrictedAPI`` and v3 orders get 25013.
        ``min_order_qty`` / ``max_order_qty`` bound the base quantity (45111/45112, v3
        25207/25208). None / "0": no cap, no bound.
        """
        if status not in SYMBOL_STATUSES:
            raise ValueError(f"status must be one of {SYMBOL_STATUSES}, got {status!r}")
        sym = self._new_symbol(
            symbol,
            price,
            quantity_precision,
            price_precision,
            quote_precision,
            min_trade_usdt,
            base_coin,
            quote_coin,
            min_order_qty=min_order_qty,
            max_order_qty=max_order_qty,
            max_market_order_value=max_market_order_value,
            max_market_order_qty=max_market_order_qty,
            restricted_api=restricted_api,
        )
        sym.status = status
        sym.open_time_ms = open_time_ms
        if status != "gray":
            # a pre-existing market opened before: its row shows that open (real online and
            # halt rows carry their past openTime, rest_symbols_v2)
            sym.opened_at_ms = self.server_time_ms()
        if status == "online":
            sym.listing_pushed = True  # a pre-existing market: no listing ticker
            if self._runner is not None:
                self.ws_hub.ensure_ticker(symbol)
        return sym

    def _new_symbol(
        self,
        symbol: str,
        price: str | Decimal,
        quantity_precision: int,
        price_precision: int,
        quote_precision: int | None,
        min_trade_usdt: str,
        base_coin: str | None,
        quote_coin: str | None,
        *,
        min_order_qty: str,
        max_order_qty: str | None,
        max_market_order_value: str | None,
        max_market_order_qty: str | None,
        restricted_api: bool,
    ) -> Symbol:
        if base_coin is None or quote_coin is None:
            base, quote = split_symbol(symbol)
            base_coin = base_coin or base
            quote_coin = quote_coin or quote
        sym = Symbol(
            symbol=symbol,
            base_coin=base_coin,
            quote_coin=quote_coin,
            status="gray",
            price=Decimal(str(price)),
            quantity_precision=quantity_precision,
            price_precision=price_precision,
            quote_precision=price_precision if quote_precision is None else quote_precision,
            min_trade_usdt=str(min_trade_usdt),
            taker_fee_rate=self.settings.taker_fee_rate,
            maker_fee_rate=self.settings.taker_fee_rate,
            min_order_qty=str(min_order_qty),
            max_order_qty=None if max_order_qty is None else str(max_order_qty),
            max_market_order_value=(
                None if max_market_order_value is None else str(max_market_order_value)
            ),
            max_market_order_qty=None
            if max_market_order_qty is None
            else str(max_market_order_qty),
            restricted_api=restricted_api,
        )
        self.state.symbols[symbol] = sym
        return sym

    async def list_symbol(
        self,
        symbol: str,
        *,
        open_at_ms: int | None = None,
        price: str | Decimal = "1",
        quantity_precision: int = 2,
        price_precision: int = 4,
        quote_precision: int | None = None,
        min_trade_usdt: str = "1",
        gray: bool = True,
        announce_open_time: bool = True,
        base_coin: str | None = None,
        quote_coin: str | None = None,
        min_order_qty: str = "0",
        max_order_qty: str | None = None,
        max_market_order_value: str | None = None,
        max_market_order_qty: str | None = None,
        restricted_api: bool = False,
    ) -> Symbol:
        """A new listing: absent -> gray (if ``gray``) -> online exactly at ``open_at_ms``.

        ``open_at_ms`` is on the exchange clock (:meth:`server_time_ms`). REST sees the pair
        online from that ms on; a timer flips it and writes the listing ticker to every
        subscriber (within ~1 ms, the event loop's timer resolution). ``open_at_ms=None``: it
        stays gray (or absent) until :meth:`open_symbol`. ``announce_open_time=False``: the
        gray row shows the unannounced placeholder (v2 ``openTime``
        ``settings.v2_unannounced_open_time``, v3 ``launchTime``
        ``settings.v3_unannounced_launch_time``). The caps, bounds and ``restricted_api`` are
        those of :meth:`add_symbol`.
        """
        sym = self._new_symbol(
            symbol,
            price,
            quantity_precision,
            price_precision,
            quote_precision,
            min_trade_usdt,
            base_coin,
            quote_coin,
            min_order_qty=min_order_qty,
            max_order_qty=max_order_qty,
            max_market_order_value=max_market_order_value,
            max_market_order_qty=max_market_order_qty,
            restricted_api=restricted_api,
        )
        sym.status = "gray"
        sym.visible = gray
        sym.open_at_ms = open_at_ms
        sym.open_time_ms = open_at_ms if announce_open_time else None
        if open_at_ms is not None and self._runner is not None:
            self._schedule_open(sym)
        return sym

    def _schedule_open(self, sym: Symbol) -> None:
        old = self._open_tasks.pop(sym.symbol, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._open_when_due(sym))
        self._open_tasks[sym.symbol] = task

    async def _open_when_due(self, sym: Symbol) -> None:
        while sym.open_at_ms is not None:
            delay_ns = sym.open_at_ms * 1_000_000 - self.server_time_ns()
            if delay_ns <= 0:
                break
            # Re-evaluated after each sleep (the skew may change). asyncio rounds timer
            # waits up to whole ms, so sleep to ~2 ms before the open and then yield in a
            # tight loop: the flip lands within a few hundred µs of open_at_ms.
            if delay_ns > 2_000_000:
                await asyncio.sleep((delay_ns - 2_000_000) / 1e9)
            else:
                await asyncio.sleep(0)
        self._open_tasks.pop(sym.symbol, None)
        self.open_symbol(sym.symbol)

    def open_symbol(self, symbol: str) -> None:
        """Online now: REST shows ``online``, the listing ticker is written to subscribers."""
        sym = self.state.symbols[symbol]
        task = self._open_tasks.pop(symbol, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        now_ms = self.server_time_ms()
        opened_at = sym.open_at_ms if sym.open_at_ms is not None else now_ms
        before = sym.status_at(opened_at - 1)
        if before != "online":
            self._before_open[symbol] = (
                opened_at,
                sym.status,
                sym.visible,
                sym.open_at_ms,
                sym.opened_at_ms,
            )
        sym.status = "online"
        sym.visible = True
        sym.open_at_ms = None
        sym.opened_at_ms = opened_at
        if sym.open_time_ms is None:
            sym.open_time_ms = opened_at
        if self._runner is not None:
            self.ws_hub.push_ticker(symbol)  # the listing ticker (if anyone subscribed)
            self.ws_hub.ensure_ticker(symbol)

    def set_symbol_status(self, symbol: str, status: str) -> None:
        """Move an existing symbol to gray / online / halt / offline (no listing push)."""
        if status not in SYMBOL_STATUSES:
            raise ValueError(f"status must be one of {SYMBOL_STATUSES}, got {status!r}")
        if status == "online":
            self.open_symbol(symbol)
            return
        sym = self.state.symbols[symbol]
        sym.status = status
        sym.visible = True
        sym.open_at_ms = None

    def set_price(self, symbol: str, price: str | Decimal) -> None:
        self.state.symbols[symbol].price = Decimal(str(price))

    def format_price(self, sym: Symbol) -> str:
        return f"{sym.price:.{sym.price_precision}f}"

    def usdt_price(self, coin: str) -> Decimal:
        if coin in ("USDT", "USDC"):
            return Decimal(1)
        sym = self.state.symbols.get(f"{coin}USDT")
        return sym.price if sym is not None else Decimal(0)

    @contextlib.contextmanager
    def symbol_as_of(self, symbol: str, at_ms: int) -> Iterator[None]:
        """The symbol as it stood at ``at_ms`` (exchange ms), for the synchronous body only.

        With the simulated WAN a request is decided at its arrival instant, but processed a few
        µs to ms later; if the symbol went online in between (the listing flip), the request
        must still meet the pair as it was (gray: 43115 / 25101; absent; halt). Inside the
        block the symbol's status, visibility and scheduled open are those from just before
        the flip; they are restored on exit. Never await inside the block.
        """
        sym = self.state.symbols.get(symbol)
        before = self._before_open.get(symbol)
        if sym is None or before is None or at_ms >= before[0] or sym.status != "online":
            yield
            return
        now = (sym.status, sym.visible, sym.open_at_ms, sym.opened_at_ms)
        _, sym.status, sym.visible, sym.open_at_ms, sym.opened_at_ms = before
        try:
            yield
        finally:
            sym.status, sym.visible, sym.open_at_ms, sym.opened_at_ms = now

    def open_instant_ms(self, symbol: str) -> int:
        """The symbol's open on the exchange clock: when it went online, else its scheduled
        ``open_at_ms``; ValueError when it has neither."""
        sym = self.state.symbols[symbol]
        if sym.open_at_ms is not None:  # scheduled (the flip may be a moment behind)
            return sym.open_at_ms
        if sym.opened_at_ms is not None:
            return sym.opened_at_ms
        raise ValueError(f"{symbol} has no open instant (neither opened nor scheduled)")

    def arrivals(self, symbol: str) -> list[tuple[float, str | None, bool]]:
        """Every place-order for ``symbol`` this trial: (arrival offset from the open in ms,
        on the exchange clock; the envelope code answered, None if never answered; accepted).

        The arrival is the simulated one (``OrderRecord.arrival_ns``; the request's last byte
        without a WAN); the open is :meth:`open_instant_ms`. Negative: arrived before the open.
        ``records.clear()`` starts a new trial.
        """
        open_ms = self.open_instant_ms(symbol)
        return [
            ((o.arrival_server_ns - open_ms * 1_000_000) / 1e6, o.code, o.accepted)
            for o in self.records.orders
            if o.symbol == symbol
        ]

    # --- records --------------------------------------------------------------------------
    # `timeout` is the documented public API (tests read better with it than with a wrapper)
    async def wait_for_order(self, timeout: float = 5.0) -> OrderRecord:  # noqa: ASYNC109
        """The first accepted order (OrderRecord); TimeoutError after ``timeout`` s."""
        return await self.records.wait_for_order(timeout)
