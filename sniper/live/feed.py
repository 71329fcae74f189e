"""The WebSocket feed: connect, subscribe, keep alive, reconnect, re-subscribe.

The frames themselves are handled by the hot path (``TickerListener``); this module is the
upkeep around it:

* text ``ping`` every ``ws_ping_interval_s`` through picows' auto-ping (the listener overrides
  ``send_user_specific_ping`` / ``is_user_specific_pong``); no ``pong`` within
  ``ws_pong_timeout_s`` → picows closes → we reconnect;
* reconnect with exponential backoff + jitter, capped at ``ws_reconnect_max_s``; subscribe again
  on every new connection;
* 30001 (the pair does not exist yet) → re-subscribe every ``ws_resubscribe_s``, every 2 s in
  the last minute before a known openTime, and at once when the poller first sees the pair —
  all within a per-connection budget below the documented 240 subscriptions/hour.

Shutdown (:meth:`Feed.close`) aborts the connection first, then waits for the tasks with a
bound; no ``asyncio.wait_for`` on a cancellable path (Python 3.11's can drop a cancel).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import picows

from sniper import jsonio
from sniper.config import Config
from sniper.live.fastpath import OrderTrigger, TickerListener
from sniper.live.pacing import Backoff, RateWindow
from sniper.live.venue import Venue

log = logging.getLogger("sniper.feed")
# picows' own messages (connection established, disconnected...) are debug detail for us.
_picows_log = logging.getLogger("sniper.feed.picows")

SUBSCRIBE_BUDGET_PER_HOUR = 200  # documented limit 240/h/connection; keep a margin
NEAR_OPEN_WINDOW_S = 60.0  # re-subscribe faster this close to a known openTime
NEAR_OPEN_RESUBSCRIBE_S = 2.0
STABLE_CONNECTION_S = 10.0  # a connection that lived this long resets the backoff


class Feed:
    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        scanner: Any,
        trigger: OrderTrigger,
        ssl_context: ssl.SSLContext | None,
        seconds_to_open: Callable[[], float | None],
    ) -> None:
        self.config = config
        self.venue = venue
        self.scanner = scanner
        self.trigger = trigger
        self.ssl_context = ssl_context
        self._seconds_to_open = seconds_to_open
        self.transport: picows.WSTransport | None = None
        self.listener: TickerListener | None = None
        self.up = False
        self.subscribed = False
        self.symbol_unknown = False  # last subscribe answered 30001
        self.connections = 0
        self.subscribes = 0
        self.last_rtt_ms: float | None = None
        self.budget = RateWindow(SUBSCRIBE_BUDGET_PER_HOUR, 3600.0)
        self.subscribed_event = asyncio.Event()
        self.first_attempt_done = asyncio.Event()
        self._poke = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="sniper-feed"),
            asyncio.create_task(self._resubscriber(), name="sniper-feed-resubscribe"),
        ]

    def stop(self) -> None:
        """Stop at once, synchronously: no frame is read after this returns (the connection is
        aborted), the tasks are cancelled. :meth:`close` then waits for them."""
        self._closing = True
        for t in self._tasks:
            t.cancel()
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    async def close(self, within_s: float = 1.0) -> None:
        """:meth:`stop`, then wait for the tasks at most ``within_s``: the connection is closed
        before any wait, so no task can be left waiting on it (see :mod:`sniper.live.lanes`)."""
        self.stop()
        tasks, self._tasks = self._tasks, []
        pending = [t for t in tasks if not t.done()]
        if pending:
            _, pending_set = await asyncio.wait(pending, timeout=within_s)
            for t in pending_set:
                log.debug("feed: task %s still running %.1f s after close", t.get_name(), within_s)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                log.debug("feed: task %s ended with %r", t.get_name(), t.exception())

    def poke(self) -> None:
        """The pair now exists (poller): re-subscribe at once if the last answer was 30001."""
        self._poke.set()

    # --- callbacks from the listener (off the hot path) ---------------------------------------
    def _on_event(self, payload: bytes) -> None:
        try:
            doc = jsonio.loads(payload)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        kind = self.venue.ws_event(doc)
        if kind == "subscribed":
            if not self.subscribed:
                log.info("feed: subscribed to %s ticker", self.config.target)
            self.subscribed = True
            self.symbol_unknown = False
            self.subscribed_event.set()
        elif kind == "unknown-symbol":
            if not self.symbol_unknown:
                log.info(
                    "feed: %s is not on the WebSocket yet (30001); re-subscribing every %gs",
                    self.config.target,
                    self.config.ws_resubscribe_s,
                )
            self.subscribed = False
            self.symbol_unknown = True
            self.subscribed_event.set()  # answered, even if negatively
        elif kind == "error":
            code, msg = doc.get("code"), str(doc.get("msg", ""))[:200]
            log.warning("feed: error event %s: %s", code, msg)

    def _on_pong(self, rtt_ns: int) -> None:
        if rtt_ns >= 0:
            self.last_rtt_ms = rtt_ns / 1e6

    def _subscribe(self) -> bool:
        transport = self.transport
        if transport is None or not self.up:
            return False
        if not self.budget.try_take():
            log.warning("feed: subscription budget spent for this hour; waiting")
            return False
        self.subscribes += 1
        transport.send(picows.WSMsgType.TEXT, self.venue.ws_subscribe())
        return True

    # --- tasks ----------------------------------------------------------------------------------
    async def _connect(self) -> picows.WSTransport:
        cfg = self.config
        _picows_log.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING)
        reply_timeout = min(cfg.ws_pong_timeout_s, cfg.ws_ping_interval_s)

        def factory() -> TickerListener:
            return TickerListener(self.scanner, self.trigger, self._on_event, self._on_pong)

        transport, listener = await picows.ws_connect(
            factory,
            cfg.ws_url,
            ssl_context=self.ssl_context if cfg.ws_url.startswith("wss") else None,
            websocket_handshake_timeout=5,
            enable_auto_ping=True,
            auto_ping_idle_timeout=cfg.ws_ping_interval_s,
            auto_ping_reply_timeout=reply_timeout,
            auto_ping_strategy=picows.WSAutoPingStrategy.PING_PERIODICALLY,
            logger_name=_picows_log,
        )
        self.listener = listener  # type: ignore[assignment]
        return transport

    async def _run(self) -> None:
        backoff = Backoff(0.1, self.config.ws_reconnect_max_s)
        failures = 0  # connection attempts failed in a row
        while not self._closing:
            try:
                transport = await self._connect()
            except Exception as exc:  # refused, TLS, handshake, timeout: all mean "retry later"
                delay = backoff.next()
                failures += 1
                log.log(
                    logging.WARNING if failures % 20 == 1 else logging.DEBUG,
                    "feed: cannot connect (%s); retrying in %.2fs (attempt %d)",
                    _short(exc),
                    delay,
                    failures,
                )
                self.first_attempt_done.set()
                await asyncio.sleep(delay)
                continue
            if self._closing:  # connected as close() ran (its cancel may have been lost)
                transport.disconnect(graceful=False)
                return
            failures = 0
            self.transport = transport
            self.up = True
            self.subscribed = False
            self.connections += 1
            self.budget.reset()  # the budget is per connection
            if self.connections > 1:
                log.info("feed: reconnected (connection #%d)", self.connections)
            self._subscribe()
            self.first_attempt_done.set()
            connected_at = time.monotonic()
            try:
                await transport.wait_disconnected()
            except Exception as exc:  # the listener raised: picows already disconnected
                log.warning("feed: listener error: %s", _short(exc))
            self.up = False
            self.subscribed = False
            self.transport = None
            if self._closing:
                return
            if time.monotonic() - connected_at > STABLE_CONNECTION_S:
                backoff.reset()
            delay = backoff.next()
            log.warning("feed: disconnected; reconnecting in %.2fs", delay)
            await asyncio.sleep(delay)

    def _resubscribe_interval(self) -> float:
        interval = self.config.ws_resubscribe_s
        to_open = self._seconds_to_open()
        if to_open is not None and -5.0 < to_open < NEAR_OPEN_WINDOW_S:
            interval = min(interval, NEAR_OPEN_RESUBSCRIBE_S)
        return interval

    async def _resubscriber(self) -> None:
        while not self._closing:
            poked = False
            try:  # asyncio.timeout, not wait_for: 3.11's wait_for can drop a cancel
                async with asyncio.timeout(self._resubscribe_interval()):
                    await self._poke.wait()
                poked = True
            except TimeoutError:
                pass
            self._poke.clear()
            if self.up and self.symbol_unknown and not self.subscribed:
                if poked:
                    log.info("feed: %s now exists: re-subscribing", self.config.target)
                self._subscribe()


def _short(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
