"""Keeping an armed run current until the open, off the hot path.

* :class:`Balance`: the base coin's balance as last read, every change logged once, and every
  holdings read kept (:class:`~sniper.live.reconcile.HoldingsTracker`) for the proof that an
  unanswered order did not execute.
* :class:`Upkeep`: the pre-signed sell's size (re-templated when the balance or the pair's
  quantityPrecision changes) and its signature (re-signed every ``resign_interval_s``, and when
  the exchange clock moved), the clock re-sync (every ``clock_sync_interval_s``, and a burst of
  up to ``PRE_OPEN_SAMPLES`` round trips ``PRE_OPEN_SYNC_S`` before a known open: the freshest
  network estimate for the aimed fire, :mod:`sniper.live.clock`), the balance re-read (every
  ``balance_refresh_s``, and once just before a known open: at once when armed later than that).

Balance policy: an insufficient balance is warned about and re-read, but it never stops the
shot: when the pair opens the order fires anyway (a deposit may have landed since the last
read); the exchange's 43012 is then final and reported. Once the order has fired nothing here
changes it: every resend is the same order, and a falling balance is the sell itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sniper.errors import ConfigError, ExchangeUnavailable
from sniper.live.chunks import first_chunk
from sniper.live.order import floor_price, format_decimal, order_size
from sniper.live.preflight import log_balance
from sniper.live.reconcile import HoldingsTracker

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.channels import SymbolWatch
    from sniper.live.order import PreparedOrder
    from sniper.live.preflight import Readiness
    from sniper.live.rest import RestClient
    from sniper.live.venue import Venue

log = logging.getLogger("sniper.run")

PRE_OPEN_BALANCE_S = 1.0  # s before a known open of the last background balance read
# armed later than that: the read goes at once, unless the open is this close (s, round trips)
PRE_OPEN_MIN_S = 0.25
PRE_OPEN_MIN_RTTS = 4
RETRY_READ_S = 0.2  # s before a failed balance read is tried again
CLOCK_MOVE_MS = 50.0  # a re-sync that moves the offset more than this re-signs the order
PRE_OPEN_SYNC_S = 2.0  # s before a known open of the pre-open clock re-sync
PRE_OPEN_SAMPLES = 10  # round trips of the pre-open re-sync (fewer when the open is closer)
SYNC_SPACING_S = 0.1  # s between the re-sync's requests (the 20 req/s/IP public limit)


class Balance:
    """The base coin's balance: seeded from the start-up checks, then every background read.
    ``fired()`` says the order is out (a falling balance is then the sell, not news);
    ``on_change()`` is called when selling ``all`` and the available amount changed."""

    def __init__(
        self,
        config: Config,
        readiness: Readiness,
        *,
        fired: Callable[[], bool],
        on_change: Callable[[], None],
    ) -> None:
        self.config = config
        self.available: Decimal | None = readiness.available
        self.tracker = HoldingsTracker()  # every holdings read, for the not-executed proof
        if readiness.holdings is not None:
            self.tracker.record(readiness.holdings.amount, at_ns=readiness.holdings.at_ns)
        self._fired = fired
        self._on_change = on_change

    def record(self, venue: Venue, data: Any) -> None:
        """A successful balance read: the holdings snapshot, then the available balance."""
        self.tracker.record(venue.parse_holdings(data))
        self._set(venue.parse_available(data))

    def _set(self, available: Decimal) -> None:
        prev = self.available
        self.available = available
        if self._fired():
            return  # the order is out (and frozen): a falling balance is the sell itself
        amount = self.config.coin_amount
        if amount == "all":
            if prev != available:
                log_balance(self.config, available)
                self._on_change()
            return
        wanted = Decimal(amount)
        if prev is None:
            log_balance(self.config, available)
        elif prev != available:
            if available < wanted:
                log.warning(
                    "Insufficient balance: %s available, %s requested",
                    format_decimal(available),
                    amount,
                )
            elif prev < wanted:
                coin = self.config.base_coin
                log.info("balance: now %s %s available — enough", format_decimal(available), coin)


class Upkeep:
    """The armed run's upkeep tasks (:meth:`resign`, :meth:`resync_clock`,
    :meth:`refresh_balance`: each runs until cancelled), the order's size (:meth:`resize`) and
    the :class:`Balance` it follows (seeded from the start-up checks)."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        rest: RestClient,
        order: PreparedOrder,
        readiness: Readiness,
        watch: SymbolWatch,
        fired: Callable[[], bool],
    ) -> None:
        self.config = config
        self.venue = venue
        self.rest = rest
        self.order = order
        self.watch = watch  # the pair's quantityPrecision and open time, as last read
        self.clock = watch.clock  # the run's exchange clock
        self.balance = Balance(config, readiness, fired=fired, on_change=self.resize)
        self.last_price = readiness.last_price  # a v2 value cap in base units (chunks.py)
        self._fired = fired

    def resize(self, *, startup: bool = False) -> None:
        """Re-template the order (off the hot path) for the current balance and precision.
        Once the order has fired it is frozen: every resend is the same order. At start-up a
        COIN_AMOUNT under one quantity step raises :class:`ConfigError`; later it is logged."""
        if self._fired():
            return
        cfg, order = self.config, self.order
        try:
            precision = self.watch.symbol.quantity_precision
            size, warning = order_size(cfg.coin_amount, self.balance.available, precision)
        except ConfigError as exc:
            if startup:
                raise
            log.error("order: %s — keeping the %s order", exc, order.size or "unbuilt")
            return
        if warning:
            log.warning("%s", warning)
        if size is None:
            if startup:
                log.warning("order: nothing to sell yet (no available %s)", cfg.base_coin)
            return
        price = None
        if cfg.min_price is not None:
            price, price_warning = floor_price(cfg.min_price, self.watch.symbol.price_precision)
            if price_warning and price != order.price:
                log.warning("%s", price_warning)
        # a market sale over the pair's cap: the pre-signed order is its first chunk
        first, chunks = first_chunk(size, self.watch.symbol, self.last_price, market=price is None)
        if (size, first, price) == (order.total, order.size, order.price):
            return
        order.build(first, price, total=size)
        what = "market sell" if price is None else f"limit sell ({cfg.floor_tif}) at {price}"
        log.info(
            "order: %s %s %s pre-signed (clientOid %s), re-signed every %gs%s",
            what,
            first,
            cfg.base_coin,
            order.client_oid,
            cfg.resign_interval_s,
            f" — the first of {chunks} chunks of {size} under the market-order cap"
            if chunks > 1
            else "",
        )

    async def resign(self) -> None:
        """Re-sign every ``resign_interval_s``: the signed timestamp stays fresh."""
        while True:
            await asyncio.sleep(self.config.resign_interval_s)
            self.order.resign()

    async def resync_clock(self) -> None:
        """Re-sync the exchange clock every ``clock_sync_interval_s``, and once with more
        samples just before a known open (:meth:`_pre_open_samples`); re-sign if it moved."""
        pre_open_done: int | None = None  # the open time the pre-open re-sync was made for
        while True:
            delay, samples = self.config.clock_sync_interval_s, 3
            to_open = self.watch.seconds_to_open()
            open_ms = self.watch.open_time_ms
            if to_open is not None and open_ms != pre_open_done:
                wait = max(0.0, to_open - PRE_OPEN_SYNC_S)
                if wait < delay and (n := self._pre_open_samples(to_open - wait)) >= 2:
                    delay, samples, pre_open_done = wait, n, open_ms
            await asyncio.sleep(delay)
            try:
                moved = await self.clock.sync(
                    self.rest.server_time_ms, samples=samples, spacing_s=SYNC_SPACING_S
                )
            except (ExchangeUnavailable, ValueError) as exc:
                log.debug("clock re-sync failed: %s", exc)
                continue
            if abs(moved) > CLOCK_MOVE_MS:
                log.info("clock: offset moved %+.1f ms; re-signing", moved)
                self.order.resign()

    def _pre_open_samples(self, seconds: float) -> int:
        """Round trips that fit in ``seconds`` and end ~0.5 s before the open (at most
        ``PRE_OPEN_SAMPLES``)."""
        per = max(SYNC_SPACING_S, (self.clock.rtt_ms or 0.0) / 1000 * 1.5)
        return min(PRE_OPEN_SAMPLES, int((seconds - 0.5) / per))

    async def refresh_balance(self) -> None:
        """Re-read the balance every ``balance_refresh_s``, and once just before a known open
        (:meth:`_pre_open_read_s`): the freshest holdings read for the volley's whole-balance
        proof (volley.py, at most ``MAX_READ_AGE_S`` old at the fire) and the baseline of the
        proof that an unanswered order did not execute (reconcile.py)."""
        pre_open_done: int | None = None  # the open time the pre-open read was made for
        while True:
            delay, pre_open = self.config.balance_refresh_s, False
            open_ms = self.watch.open_time_ms
            if open_ms is not None and open_ms != pre_open_done:
                wait = self._pre_open_read_s()
                if wait is not None and wait < delay:
                    delay, pre_open = wait, True
            await asyncio.sleep(delay)
            try:
                env = await self.rest.request(self.venue.assets_call(), signed=True)
            except ExchangeUnavailable as exc:
                log.debug("balance re-read failed: %s", exc)
                await asyncio.sleep(RETRY_READ_S)
                continue
            if env.ok:
                self.balance.record(self.venue, env.data)
                if pre_open:
                    pre_open_done = open_ms
            else:
                await asyncio.sleep(RETRY_READ_S)

    def _pre_open_read_s(self) -> float | None:
        """Seconds until the pre-open balance read is due: ``PRE_OPEN_BALANCE_S`` before a
        known open, or at once when armed later than that, as long as a read still lands
        before the open (``PRE_OPEN_MIN_S``, a few round trips); None: too late, or no open."""
        to_open = self.watch.seconds_to_open()
        if to_open is None:
            return None
        rtt_s = (self.clock.rtt_ms or 0.0) / 1000
        if to_open < max(PRE_OPEN_MIN_S, PRE_OPEN_MIN_RTTS * rtt_s):
            return None
        return max(0.0, to_open - PRE_OPEN_BALANCE_S)
