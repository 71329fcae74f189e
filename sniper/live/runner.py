"""``Sniper``: the start-up sequence, the detection channels, the executor, the report.

Start-up (each step logged; each failure one :class:`~sniper.errors.StartupError` line, exit 2):

1. config (done by the caller) · 2. exchange clock · 3. account mode (``BITGET_ACCOUNT``, or
detected: ``/api/v3/account/settings`` answers a UTA key, 40084 a classic one) → the venue
(v2 or v3) and, unless ``BITGET_WS_URL`` is set, the WS URL · 4. credentials (signed call) and
balance · 5. the symbol's state (and the order value against the pair's minimum) · 6. DNS once,
two warm order lanes, the pre-signed sell · 7. the WebSocket feed, subscribed → armed.

Steps 2-5 are :meth:`Sniper.prepare`, also used step by step by ``sniper check``.

Then every channel runs at once and fires the same ``OrderTrigger`` (exactly once):
``ws`` (hot path, in the frame callback), ``poll`` (symbols every ``poll_interval_ms``),
``scheduled`` (at openTime on the server clock), ``startup`` (already online). The executor
takes the order to a known state; the fill is read back and reported.

Balance policy: an insufficient balance is warned about and re-read every
``balance_refresh_s``, but it never stops the shot: when the pair opens the order fires anyway
(a deposit may have landed since the last read); the exchange's 43012 is then final and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sniper import _fast
from sniper.config import Config
from sniper.errors import (
    ExchangeUnavailable,
    OrderUnconfirmed,
    SniperError,
    StartupError,
)
from sniper.live.channels import Poller, SymbolWatch, schedule
from sniper.live.clock import ServerClock
from sniper.live.executor import Execution, Executor
from sniper.live.fastpath import CHANNEL_STARTUP, IMPLEMENTATION, OrderTrigger, now_ns
from sniper.live.feed import Feed
from sniper.live.journal import Journal, OrderRecord
from sniper.live.lanes import OrderLanes, keepalive_request
from sniper.live.lock import InstanceLock
from sniper.live.order import PreparedOrder
from sniper.live.orderfeed import OrderFeed
from sniper.live.preflight import Preflight, Readiness, resolve_host
from sniper.live.reconcile import Reconciler
from sniper.live.report import (
    RunResult,
    dry_run_result,
    earlier_result,
    open_time_text,
    record_failure,
    record_result,
    sold_result,
    status_text,
    write_result,
)
from sniper.live.rest import RestClient, client_ssl_context
from sniper.live.signals import RunGuard
from sniper.live.status import StatusLine
from sniper.live.upkeep import Balance, Upkeep
from sniper.live.venue import SymbolState, Venue

log = logging.getLogger("sniper.run")

STARTUP_FEED_WAIT_S = 2.0  # s a fire at start-up (pair already online) waits for the feed


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    """A background channel that dies is a bug: say so loudly (the others keep watching)."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("%s stopped: %s: %s", task.get_name(), type(exc).__name__, exc, exc_info=exc)


class Sniper:
    """One run: ``result = await Sniper(config).run()``. Raises :class:`SniperError` subclasses
    (``exit_code`` says how the CLI exits) and never prints a credential."""

    def __init__(
        self,
        config: Config,
        *,
        out: IO[str] | None = None,
        dry_run: bool = False,
        json_output: bool = False,
        status: bool | None = None,
        status_stream: IO[str] | None = None,
        venue: Venue | None = None,
        client_oid: str | None = None,
        use_journal: bool = True,
        state_dir: Path | None = None,
    ) -> None:
        # the start-up checks (steps 2-5): their readiness record says what was found; the
        # venue is given (tests), or the account mode's
        self.clock = ServerClock()
        self.preflight = Preflight(config, venue=venue, clock=self.clock)
        # the journal and the single-instance lock (``state_dir`` overrides SNIPER_STATE_DIR)
        self.use_journal = use_journal
        self._state_dir = state_dir
        self.journal: Journal | None = None
        self._earlier: OrderRecord | None = None  # an earlier run's order this run confirmed
        self._client_oid = client_oid  # None: a fresh one (tests pin it)
        self.out = out if out is not None else sys.stdout
        self.dry_run = dry_run
        self.json_output = json_output
        self._status_stream = status_stream if status_stream is not None else sys.stderr
        self._status_enabled = (
            status if status is not None else bool(self._status_stream.isatty()) and not json_output
        )
        # state
        self.watch: SymbolWatch | None = None  # the symbol row and open time as last read
        self.balance: Balance | None = None  # the balance as last read (upkeep.py)
        self.upkeep: Upkeep | None = None
        self.orderfeed: OrderFeed | None = None
        self.poller: Poller | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.lanes: OrderLanes | None = None
        self.feed: Feed | None = None
        self.trigger: OrderTrigger | None = None
        self.order: PreparedOrder | None = None
        self.executor: Executor | None = None
        self.armed = asyncio.Event()
        self._status: StatusLine | None = None

    @property
    def config(self) -> Config:
        """The configuration, resolved for the account mode once the start-up checks got there."""
        return self.preflight.readiness.config

    @property
    def venue(self) -> Venue:
        return self.preflight.readiness.venue

    @property
    def account_source(self) -> str:
        """How the account mode was decided: ``given`` | ``BITGET_ACCOUNT`` | ``detected``."""
        return self.preflight.readiness.account_source

    @property
    def rest(self) -> RestClient | None:
        return self.preflight.rest

    @property
    def symbol(self) -> SymbolState:
        """The pair's symbol row as last read."""
        return self.watch.symbol if self.watch is not None else self.preflight.readiness.symbol

    @property
    def open_time_ms(self) -> int | None:
        """The open (server clock, ms): the exchange's, else OPEN_TIME; None: not announced."""
        if self.watch is None:
            return self.preflight.readiness.open_time_ms
        return self.watch.open_time_ms

    @property
    def available(self) -> Decimal | None:
        """The base coin's available balance as last read."""
        if self.balance is None:
            return self.preflight.readiness.available
        return self.balance.available

    # =============================================================================================
    async def run(self) -> RunResult:
        """Lock (one run per account + target), run under the SIGINT/SIGTERM guard
        (:mod:`sniper.live.signals`), shut down (connections first), record the outcome in the
        journal."""
        lock = None
        if self.use_journal and not self.dry_run:
            lock = InstanceLock.for_config(self.config, directory=self._state_dir)
            lock.acquire()  # AlreadyRunning (exit 2) names the other process
        guard = RunGuard(sent=self.sent_client_oid, stop_firing=self._stop_firing)
        guard.install()
        try:
            try:
                result = await guard.run(self._run())
            finally:
                await self._shutdown(guard.main)
        except SniperError as exc:
            final = guard.settle(exc)  # an interrupt that raced the fire is no "before" one
            self._journal_outcome(final if isinstance(final, SniperError) else exc)
            if final is not exc:
                raise final from exc
            raise
        except BaseException:
            self._journal_outcome(None)
            raise
        else:
            self._journal_result(result)
            return result
        finally:
            guard.remove()
            if self.journal is not None:
                self.journal.close()
            if lock is not None:
                lock.release()

    def sent_client_oid(self) -> str | None:
        """The clientOid once the order may have left (the trigger fired, not a dry run)."""
        if self.dry_run or self.trigger is None or not self.trigger.fired or self.order is None:
            return None
        return self.order.client_oid

    def _stop_firing(self) -> None:
        """A signal before the fire: no channel may fire any more. Synchronous — the feed's
        connection is aborted and the poll/schedule tasks are cancelled before it returns."""
        for t in self._tasks:
            t.cancel()
        if self.feed is not None:
            self.feed.stop()

    async def _run(self) -> RunResult:
        log.info(
            "sniper run: sell %s %s on %s%s (hot path: %s)",
            self.config.coin_amount,
            self.config.base_coin,
            self.config.target,
            " — DRY RUN, no order will be sent" if self.dry_run else "",
            IMPLEMENTATION,
        )
        self._adopt(await self.preflight.run())
        cfg = self.config  # resolved for the account mode
        if self.use_journal and not self.dry_run:
            self.journal = Journal.open(cfg, directory=self._state_dir)
            for record in self.journal.pending():
                # an earlier run sent an order and never confirmed it: never fire again before
                # its fate is known (issue 12)
                return await self._reconcile_earlier(record)
        rest, balance = self.rest, self.balance
        assert rest is not None and balance is not None

        # 6. order lanes + pre-signed order
        host, port, addr = await resolve_host(cfg.rest_url)
        self.trigger = OrderTrigger(self._on_fired, self._on_seen, dry_run=self.dry_run)
        trigger = self.trigger
        rest_ssl = client_ssl_context(cfg) if cfg.rest_url.startswith("https") else None
        keepalive = keepalive_request(
            path=self.venue.time_call().path_with_query, host=host, locale=cfg.locale, demo=cfg.demo
        )

        self.lanes = lanes = OrderLanes(
            host=urlsplit(cfg.rest_url).hostname or host,
            port=port,
            addr=addr,
            ssl_context=rest_ssl,
            keepalive_request=keepalive,
            keepalive_interval_s=cfg.keepalive_interval_s,
            board=trigger,  # the lanes publish their state where the hot path reads it
            # a refusing front door shows on the status line at once, not at the next redraw
            on_front_door=lambda _door: self._status.draw() if self._status is not None else None,
        )
        try:
            await lanes.start(10)
        except TimeoutError:
            raise StartupError(
                f"cannot open the order connections to {addr}:{port} — check BITGET_REST_URL "
                "and the network"
            ) from None
        log.info(
            "order connections: 2 warm lanes to %s (%s:%d, %s)",
            host,
            addr,
            port,
            lanes.transport_kind,
        )
        self.order = order = PreparedOrder(
            cfg, self.venue, self.clock, host, trigger.set_request, client_oid=self._client_oid
        )
        if cfg.private_feed:
            # the private order feed: the fastest confirmation, and the evidence that lets an
            # ambiguous answer be proven "not executed" (reconcile.py)
            ws_ssl_private = client_ssl_context(cfg) if cfg.ws_url.startswith("wss") else None
            self.orderfeed = OrderFeed.from_config(
                cfg, venue=self.venue, clock=self.clock, ssl_context=ws_ssl_private
            )
            self.orderfeed.start()
        self.executor = Executor(
            config=cfg,
            venue=self.venue,
            rest=rest,
            lanes=lanes,
            order=order,
            reconciler=Reconciler(
                config=cfg,
                venue=self.venue,
                rest=rest,
                client_oid=lambda: order.client_oid,
                orderfeed=self.orderfeed,
                holdings=balance.tracker,
            ),
        )
        self.upkeep = upkeep = Upkeep(
            config=cfg,
            venue=self.venue,
            rest=rest,
            clock=self.clock,
            order=order,
            balance=balance,
            fired=self._fired,
            precision=lambda: self.symbol.quantity_precision,
            seconds_to_open=self._seconds_to_open,
        )
        upkeep.resize(startup=True)
        if self.journal is not None:
            self.journal.record_intent(
                order.client_oid,
                amount=cfg.coin_amount,
                size=order.size or "",
                mode=self.venue.mode,
            )
        self._spawn(upkeep.resign(), "resign")
        self._spawn(upkeep.resync_clock(), "clock")
        self._spawn(upkeep.refresh_balance(), "balance")

        if self.symbol.status == "online":
            log.warning("%s is already online: firing at once", cfg.target)
            await self._order_feed_ready(STARTUP_FEED_WAIT_S)  # no race left: be sure instead
            trigger.fire(CHANNEL_STARTUP, now_ns())
        else:
            # 7. the feed, then every other channel
            scanner = _fast.TickerScanner(cfg.target)
            ws_ssl = client_ssl_context(cfg) if cfg.ws_url.startswith("wss") else None
            self.feed = feed = Feed(
                config=cfg,
                venue=self.venue,
                scanner=scanner,
                trigger=trigger,
                ssl_context=ws_ssl,
                seconds_to_open=self._seconds_to_open,
            )
            feed.start()
            # the other channels watch while the feed connects (a slow handshake costs nothing)
            assert self.watch is not None
            self.poller = Poller(
                config=cfg,
                venue=self.venue,
                rest=rest,
                clock=self.clock,
                trigger=trigger,
                watch=self.watch,
                open_seen=self.executor.open_seen,
                last_call=self.preflight.readiness.symbol_read_at,
            )
            self._spawn(self.poller.run(), "poll")
            watch = self.watch
            self._spawn(
                schedule(config=cfg, clock=self.clock, trigger=trigger, watch=watch), "schedule"
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(6):  # not wait_for: 3.11's can drop a cancel
                    await feed.first_attempt_done.wait()
            if feed.up:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(3):
                        await feed.subscribed_event.wait()
            await self._order_feed_ready(3.0)
            if not feed.up:
                log.warning(
                    "feed: not connected yet; polling meanwhile, reconnecting in background"
                )
            if not trigger.fired:
                log.info(
                    "armed: watching %s by %s, polling every %d ms%s",
                    cfg.target,
                    "WebSocket" + ("" if feed.subscribed else " (waiting for the pair)"),
                    cfg.poll_interval_ms,
                    self._open_time_text(),
                )
        self.armed.set()
        if self._status_enabled:
            self._status = StatusLine(self._status_stream, self.status_text)
            self._spawn(self._status.run(), "status")

        if self.dry_run:
            return await self._dry_run_result()
        execution = await self.executor.execute()
        return await self._finish(execution)

    # =============================================================================================
    # shared state updates
    def _adopt(self, r: Readiness) -> None:
        """The start-up checks' findings become the run's state."""
        self.watch = SymbolWatch(r.config, r, on_listed=self._poke_feed, on_precision=self._resize)
        self.balance = Balance(r.config, r, fired=self._fired, on_change=self._resize)

    def _poke_feed(self) -> None:
        """The pair appeared: the feed subscribes to it now (it was waiting for it)."""
        if self.feed is not None:
            self.feed.poke()

    def _fired(self) -> bool:
        """The trigger fired: the order is frozen (and a falling balance is the sell)."""
        return self.trigger is not None and self.trigger.fired

    def _resize(self) -> None:
        """The balance or the pair's precision changed: re-template the order (until it fired)."""
        if self.upkeep is not None:
            self.upkeep.resize()

    async def _order_feed_ready(self, within_s: float) -> None:
        """Wait (bounded) for the private order feed to be logged in and subscribed: a push it
        misses because it was not up yet is evidence lost."""
        feed = self.orderfeed
        if feed is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await feed.ready.wait()
        if not feed.ready.is_set():
            log.warning(
                "private order feed: not up yet (%s); an unanswered order cannot be proven "
                "unexecuted without it, so it would not be resent",
                feed.login_error or "connecting",
            )

    def _seconds_to_open(self) -> float | None:
        if self.open_time_ms is None:
            return None
        return self.clock.seconds_until(self.open_time_ms)

    def _open_time_text(self) -> str:
        return open_time_text(self.open_time_ms, self.clock)

    # =============================================================================================
    # trigger callbacks (synchronous, right after the write)
    def _on_fired(
        self, channel: str, lane: int, detect_ns: int, written_ns: int, reply: Any
    ) -> None:
        # reply: the future the trigger claimed on that lane (None: nothing written/claimed)
        if self.executor is not None:
            self.executor.on_fired(channel, lane, detect_ns, written_ns, reply)
        if self.journal is not None and self.order is not None and lane >= 0:
            # after the write (the hot path paid nothing for it): one os.write, never raises
            self.journal.record_fired(self.order.client_oid, channel, lane)

    def _on_seen(self, channel: str, detect_ns: int) -> None:
        if self.executor is not None:
            self.executor.on_seen(channel, detect_ns)

    # =============================================================================================
    # background tasks
    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"sniper-{name}")
        task.add_done_callback(_log_task_failure)
        self._tasks.append(task)

    # =============================================================================================
    # the end
    async def _dry_run_result(self) -> RunResult:
        assert self.executor is not None and self.order is not None
        result = await dry_run_result(self.executor, self.order)
        self._report(result)
        return result

    # =============================================================================================
    # the journal
    async def _reconcile_earlier(self, record: OrderRecord) -> RunResult:
        """An order an earlier run fired and never confirmed: look it up by its clientOid.
        Found → that sale is this run's result (nothing is sent). Not found →
        :class:`OrderUnconfirmed` (exit 4): never fire again while it may have executed."""
        assert self.rest is not None and self.journal is not None
        oid = record.client_oid
        log.warning(
            "journal: clientOid %s was sent by an earlier run (%s, fired %s) and never "
            "confirmed — looking it up instead of firing",
            oid,
            record.run_id,
            record.fired_at or "?",
        )
        call = self.venue.order_info_call(oid)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(self.config.lookup_window_s, 1.0)
        answers = 0
        while True:
            try:
                env = await self.rest.request(call, signed=True, time_limit_s=2.0)
                state = self.venue.parse_order_info(env)
                answers += 1
            except (ExchangeUnavailable, ValueError):
                state = None
            if state is not None:
                break
            if answers >= 3 and loop.time() > deadline:
                raise OrderUnconfirmed(
                    f"clientOid {oid} was sent by an earlier run and is still not found: it may "
                    f"have executed, so sniper will not fire again — check your orders on "
                    f"Bitget; once you are sure it did not execute, move {self.journal.path} "
                    "aside and run again"
                )
            await asyncio.sleep(0.2)
        log.info("journal: clientOid %s found: orderId %s (%s)", oid, state.order_id, state.status)
        self._earlier = record
        result = earlier_result(record, state)
        self._report(result)
        return result

    def _journal_result(self, result: RunResult) -> None:
        if self.journal is not None:
            earlier = self._earlier.run_id if self._earlier is not None else None
            record_result(self.journal, result, run_id=earlier)

    def _journal_outcome(self, exc: SniperError | None) -> None:
        """The run ended without a sale it could report: say why in the journal."""
        if self.journal is None or self.order is None:
            return
        fired = self.trigger is not None and self.trigger.fired
        record_failure(self.journal, self.order.client_oid, fired=fired, exc=exc)

    async def _finish(self, execution: Execution) -> RunResult:
        assert self.executor is not None and self.order is not None
        fired = self.executor.fired
        assert fired is not None
        log.info(
            "order accepted: orderId %s (%s, %d attempt%s)",
            execution.order_id,
            execution.accepted_via,
            execution.attempts,
            "" if execution.attempts == 1 else "s",
        )
        # stop the watchers before reading the fill
        for t in self._tasks:
            t.cancel()
        if self.feed is not None:
            await self.feed.close()
            self.feed = None
        fill = await self.executor.fill(self.config.fill_timeout_s)
        result = sold_result(
            execution,
            fired,
            size=self.order.size,
            fill=fill,
            open_seen_by=self.executor.open_seen_by,
        )
        self._report(result)
        return result

    def _report(self, result: RunResult) -> None:
        if self._status is not None:
            self._status.clear()
        write_result(result, self.out, json_output=self.json_output)

    def status_text(self) -> str:
        """The armed status line (:func:`~sniper.live.report.status_text`) as of now."""
        return status_text(
            lanes=self.lanes,
            feed=self.feed,
            orderfeed=self.orderfeed,
            polls=self.poller.polls if self.poller is not None else 0,
            available=self.available,
            seconds_to_open=self._seconds_to_open(),
        )

    async def close(self) -> None:
        """Stop every task and close every connection (``run`` does it itself)."""
        await self._shutdown()

    async def _shutdown(self, main: asyncio.Task[Any] | None = None, within_s: float = 1.0) -> None:
        """Connections first, then tasks: close the feed, the order feed, the lanes and the REST
        client, then wait for the tasks (``main``: the run's own, when a signal stopped it) at
        most ``within_s``. No task can be left waiting on a healthy idle connection — even one
        whose cancel was lost (Python 3.11's ``asyncio.wait_for``) — and nothing is waited for
        through ``wait_for``. A task still running after the bound is logged at DEBUG."""
        tasks = [t for t in self._tasks if not t.done()]
        self._tasks.clear()
        if main is not None and not main.done():
            tasks.append(main)
        for t in tasks:
            t.cancel()  # a request only: nothing waits for them before the connections close
        if self._status is not None:
            self._status.clear()
        if self.feed is not None:
            await self.feed.close()
        orderfeed = getattr(self, "orderfeed", None)
        if orderfeed is not None:
            await orderfeed.close()
        if self.lanes is not None:
            await self.lanes.close()
        await self.preflight.close()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=within_s)
            for t in pending:
                log.debug(
                    "shutdown: %s still running %.1f s after its cancel", t.get_name(), within_s
                )
                t.add_done_callback(_log_task_failure)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                log.debug("shutdown: %s ended with %r", t.get_name(), t.exception())


__all__ = ["RunResult", "Sniper"]
