"""``Sniper``: the composition root of ``sniper run`` — it builds the parts, runs them and
returns a :class:`~sniper.live.report.RunResult`.

Start-up (each step logged; each failure one :class:`~sniper.errors.StartupError` line, exit 2):

1. config (done by the caller) · 2-5. the start-up checks (:mod:`~sniper.live.preflight`:
exchange clock, account mode, credentials and balance, the symbol, the order's size and value)
→ a frozen ``Readiness`` · the journal: an order an earlier run fired and never confirmed is
looked up instead of firing · 6. DNS once, two warm order lanes, the pre-signed sell, the
private order feed, the executor, the upkeep tasks (:mod:`~sniper.live.upkeep`) · 7. the
WebSocket feed, subscribed, and the other channels (:mod:`~sniper.live.channels`) → armed.

Then every channel runs at once and fires the same ``OrderTrigger`` (exactly once): ``ws``
(hot path, in the frame callback), ``poll``, ``scheduled``, ``startup`` (already online). The
executor takes the order to a known state; the fill is read back and reported
(:mod:`~sniper.live.report`). Around it all: the single-instance lock, the SIGINT/SIGTERM guard
(:mod:`~sniper.live.signals`), the journal's outcome line, and a shutdown that closes the
connections before it waits for the tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sniper import _fast
from sniper.config import Config
from sniper.errors import OrderRejected, OrderUnconfirmed, SniperError, StartupError
from sniper.live.channels import Poller, SymbolWatch, schedule
from sniper.live.chunks import CAP_CODES
from sniper.live.clock import ClockSample, ServerClock
from sniper.live.ending import RunEnding
from sniper.live.executor import Executor
from sniper.live.fastpath import CHANNEL_STARTUP, IMPLEMENTATION, OrderTrigger, now_ns
from sniper.live.feed import Feed
from sniper.live.journal import Journal, OrderRecord
from sniper.live.lanes import FrontDoor, OrderLanes, Reply, keepalive_request
from sniper.live.lock import InstanceLock
from sniper.live.notify import Notifier
from sniper.live.order import PreparedOrder
from sniper.live.orderfeed import OrderFeed
from sniper.live.outcomes import Outcome
from sniper.live.preflight import Preflight, Readiness, resolve_host
from sniper.live.reconcile import Reconciler, look_up_until
from sniper.live.report import (
    RunResult,
    dry_run_result,
    earlier_result,
    iso_ms,
    open_time_text,
    record_failure,
    record_result,
    status_text,
)
from sniper.live.rest import RestClient, client_ssl_context
from sniper.live.sched import SliceResult, request_slice
from sniper.live.signals import RunGuard
from sniper.live.spin import Spinner
from sniper.live.status import StatusLine
from sniper.live.upkeep import Balance, Upkeep
from sniper.live.venue import Envelope, OrderState, Venue, parse_envelope
from sniper.live.volley import MIN_ONE_WAY_MS
from sniper.live.warmer import WARM_HOST, Warmer, loopback_tls

log = logging.getLogger("sniper.run")

STARTUP_FEED_WAIT_S = 2.0  # s a fire at start-up (pair already online) waits for the feed
FEED_CONNECT_WAIT_S = 6.0  # s arming waits for the feed's first connection attempt
FEED_SUBSCRIBE_WAIT_S = 3.0  # s arming then waits for the subscription's answer
ORDER_FEED_WAIT_S = 3.0  # s arming waits for the private order feed's login
LANES_START_S = 10.0  # s the two order lanes have to connect


class Sniper:
    """One run: ``result = await Sniper(config).run()``. Raises :class:`SniperError` subclasses
    (``exit_code`` says how the CLI exits) and never prints a credential. Its parts are public
    (``preflight``, ``watch``, ``trigger``, ``lanes``, ``order``, ``orderfeed``, ``executor``,
    ``upkeep`` with its ``balance``, ``feed``, ``poller``, ``journal``, ``spinner``), None
    until built."""

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
        # the start-up checks; the venue is given (tests) or follows the account mode
        self.clock = ServerClock()
        self.preflight = Preflight(config, venue=venue, clock=self.clock)
        # armed / sold / partial / failed / unconfirmed, in the background (sniper.live.notify)
        self.notifier = Notifier.from_config(config)
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
        self.status_line: StatusLine | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.armed = asyncio.Event()
        self.ending = RunEnding(self)  # the fill, the report, the notifications of the end
        # the parts, built by run()
        self.watch: SymbolWatch | None = None  # the symbol row and open time as last read
        self.trigger: OrderTrigger | None = None
        self.lanes: OrderLanes | None = None
        self.order: PreparedOrder | None = None
        self.orderfeed: OrderFeed | None = None
        self.executor: Executor | None = None
        self.upkeep: Upkeep | None = None  # the order's size and signature, the balance
        self.feed: Feed | None = None
        self.poller: Poller | None = None
        self.spinner: Spinner | None = None  # SPIN: keeps the loop hot around the open
        self.slice: SliceResult | None = None  # SCHED_SLICE_US, asked for once armed

    # =============================================================================================
    async def run(self) -> RunResult:
        """Lock (one run per account + target), run under the SIGINT/SIGTERM guard
        (:mod:`sniper.live.signals`), shut down (connections first), record the outcome in the
        journal."""
        lock = None
        if self.use_journal and not self.dry_run:
            config = self.preflight.readiness.config
            lock = InstanceLock.for_config(config, directory=self._state_dir)
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
            self.ending.notify_failure(final if isinstance(final, SniperError) else exc)
            if final is not exc:
                raise final from exc
            raise
        except BaseException:
            self._journal_outcome(None)
            raise
        else:
            if self.journal is not None and not result.chunks:  # chunks: one outcome each
                earlier = self._earlier.run_id if self._earlier is not None else None
                record_result(self.journal, result, run_id=earlier)
            self.ending.notify_result(result)
            return result
        finally:
            await self.notifier.drain()  # bounded (notify.DRAIN_TIMEOUT_S); never raises
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
        for t in self.tasks:
            t.cancel()
        if self.feed is not None:
            self.feed.stop()

    async def _run(self) -> RunResult:
        _log_start(self.preflight.readiness.config, self.dry_run)
        r = await self.preflight.run()
        cfg = r.config  # resolved for the account mode
        self.watch = SymbolWatch(
            cfg, r, self.clock, on_listed=self._poke_feed, on_precision=self._resize
        )
        if self.use_journal and not self.dry_run:
            self.journal = journal = Journal.open(cfg, directory=self._state_dir)
            for record in journal.pending():
                # an earlier run sent an order and never confirmed it: never fire again before
                # its fate is known (issue 12)
                assert self.preflight.rest is not None
                self._earlier = record
                state = await _find_earlier(self.preflight.rest, r, record, journal)
                return self.ending.report(earlier_result(record, state))
        # 6. order lanes, the pre-signed order and what drives it
        trigger, host = await self._open_lanes(cfg)
        executor = self._build(cfg, host)
        # before the watch starts: the slice (SCHED_SLICE_US) and the warm pair's TLS material
        # (~0.1 s of CPU, made once per process) must not fall on a listing
        self.slice = _request_slice(cfg, trigger)
        await _prepare_warm_pair(cfg)
        if r.symbol.status == "online":
            log.warning("%s is already online: firing at once", cfg.target)
            await _order_feed_ready(self.orderfeed, STARTUP_FEED_WAIT_S)  # no race left: be sure
            trigger.fire(CHANNEL_STARTUP, now_ns())
        else:
            await self._watch(cfg)  # 7. the feed, then every other channel
        self.armed.set()
        self._notify_armed(cfg)
        self.spinner = _spinner(cfg, self.trigger, self.watch)  # SPIN: None = off
        if self.spinner is not None:
            self._spawn(self.spinner.run(), "spin")
        if self._status_enabled:
            self.status_line = StatusLine(self._status_stream, self.status_text)
            self._spawn(self.status_line.run(), "status")
        if self.dry_run:
            assert self.order is not None
            return self.ending.report(await dry_run_result(executor, self.order))
        if cfg.min_price is None:
            self._spawn(_market_refused_hint(executor, self.preflight.readiness.venue), "hint")
        try:
            execution = await executor.execute()
        except OrderRejected as exc:
            if exc.code not in CAP_CODES or executor.unanswered or self.order is None:
                raise
            if self.order.kind != "market":
                raise
            # over the pair's market-order cap: NOT executed — sold in chunks (chunks.py)
            return await self.ending.chunked(None, None, refused=exc)
        return await self.ending.finish(execution)

    # =============================================================================================
    # building the parts
    async def _open_lanes(self, cfg: Config) -> tuple[OrderTrigger, str]:
        """DNS once, the trigger, two warm order lanes publishing their state on it; the trigger
        and the Host header."""
        host, port, addr = await resolve_host(cfg.rest_url)
        self.trigger = OrderTrigger(self._on_fired, self._on_seen, dry_run=self.dry_run)
        trigger = self.trigger
        venue = self.preflight.readiness.venue
        sampled = _keepalive_sampler(self.clock, venue)
        self.lanes = lanes = _order_lanes(
            cfg,
            venue,
            trigger,
            (host, port, addr),
            self._draw,
            sampled,
            _volley_lanes(cfg, self.clock),
        )
        await _start_lanes(lanes, (host, port, addr))
        return trigger, host

    def _build(self, cfg: Config, host: str) -> Executor:
        """The pre-signed order, the private order feed, the upkeep (with the balance), the
        executor; the intent journalled; the upkeep tasks started."""
        rest, trigger, lanes, watch = self.preflight.rest, self.trigger, self.lanes, self.watch
        assert rest is not None and trigger is not None
        assert lanes is not None and watch is not None
        venue = self.preflight.readiness.venue
        self.order = order = PreparedOrder(
            cfg, venue, self.clock, host, trigger.set_request, client_oid=self._client_oid
        )
        self.orderfeed = _order_feed(cfg, venue, self.clock)
        upkeep = _upkeep(cfg, self.preflight.readiness, rest, order, watch, trigger)
        self.upkeep = upkeep
        self.executor = self.make_executor(order)
        self.executor.open_time_ms = lambda: watch.open_time_ms  # the not-open retries aim at it
        upkeep.resize(startup=True)
        if self.journal is not None:
            size = order.size or ""
            self.journal.record_intent(
                order.client_oid, amount=cfg.coin_amount, size=size, mode=venue.mode
            )
        self._spawn(upkeep.resign(), "resign")
        self._spawn(upkeep.resync_clock(), "clock")
        self._spawn(upkeep.refresh_balance(), "balance")
        return self.executor

    def make_executor(self, order: PreparedOrder) -> Executor:
        """An executor for ``order``, reconciled by the run's order feed and holdings (the run's
        own order, and each chunk of a capped sale)."""
        r, rest = self.preflight.readiness, self.preflight.rest
        lanes, upkeep = self.lanes, self.upkeep
        assert rest is not None and lanes is not None and upkeep is not None
        return _executor(r.config, r.venue, rest, lanes, order, self.orderfeed, upkeep.balance)

    async def _watch(self, cfg: Config) -> None:
        """The WebSocket feed, the poller and the scheduler; armed once the feed is subscribed
        (or has tried) and the private order feed is up (or has had its chance)."""
        r, watch, executor = self.preflight.readiness, self.watch, self.executor
        trigger = self.trigger
        assert self.preflight.rest is not None and trigger is not None
        assert watch is not None and executor is not None
        self.feed = feed = _feed(cfg, r.venue, trigger, watch.seconds_to_open)
        feed.start()
        # the other channels watch while the feed connects (a slow handshake costs nothing)
        self.poller = _poller(r, self.preflight.rest, trigger, watch, executor.open_seen)
        self._spawn(self.poller.run(), "poll")
        self._spawn(schedule(config=cfg, trigger=trigger, watch=watch), "schedule")
        await _feeds_settled(feed, self.orderfeed)
        if not trigger.fired:
            _log_armed(cfg, feed, watch)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"sniper-{name}")
        task.add_done_callback(_log_task_failure)
        self.tasks.append(task)

    # =============================================================================================
    # the parts' callbacks
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

    def _resize(self) -> None:
        """The pair's precision changed: re-template the order (until it fired)."""
        if self.upkeep is not None:
            self.upkeep.resize()

    def _poke_feed(self) -> None:
        """The pair appeared: the feed subscribes to it now (it was waiting for it)."""
        if self.feed is not None:
            self.feed.poke()

    def _draw(self, _door: object = None) -> None:
        """A refusing front door shows on the status line at once, not at the next redraw."""
        if self.status_line is not None:
            self.status_line.draw()

    # =============================================================================================
    # the end
    def _journal_outcome(self, exc: SniperError | None) -> None:
        """The run ended without a sale it could report: say why in the journal."""
        if self.journal is None or self.order is None:
            return
        fired = self.trigger is not None and self.trigger.fired
        record_failure(self.journal, self.order.client_oid, fired=fired, exc=exc)

    # the notifications: scheduled (never awaited here), after the moments they report
    def _notify_armed(self, cfg: Config) -> None:
        mode = self.preflight.readiness.venue.mode
        fields = _armed_fields(cfg, self.order, self.watch, mode, dry_run=self.dry_run)
        self.notifier.notify("armed", fields)

    def status_text(self) -> str:
        """The armed status line as of now (:func:`_armed_status`)."""
        return _armed_status(self)

    async def _shutdown(self, main: asyncio.Task[Any] | None = None) -> None:
        tasks = [t for t in self.tasks if not t.done()]
        self.tasks.clear()
        if main is not None and not main.done():
            tasks.append(main)
        if self.status_line is not None:
            self.status_line.clear()
        connections = (self.feed, self.orderfeed, self.lanes, self.preflight)
        await shutdown(tasks, [c.close for c in connections if c is not None])


# =================================================================================================
# the parts' wiring
def _spinner(
    cfg: Config, trigger: OrderTrigger | None, watch: SymbolWatch | None
) -> Spinner | None:
    """SPIN (sniper.live.spin): the spinner that keeps the loop hot while armed, around a known
    open (``auto``) or the whole time (``always``); it stops on the loop's turn after the fire.
    Also for ``off``: the sleeping warm tick (SLEEP_WARM_US). None when it has nothing to run
    (``off`` with no warm tick), or when the order already fired."""
    if trigger is None or trigger.fired or watch is None:
        return None
    spinner = Spinner(
        mode=cfg.spin,
        before_s=cfg.spin_before_s,
        max_s=cfg.spin_max_s,
        seconds_to_open=watch.seconds_to_open,
        fired=lambda: trigger.fired,
        warmer=functools.partial(Warmer, cfg.target, tls=cfg.ws_url.startswith("wss"))
        if cfg.spin_warm
        else None,
        sleep_warm_us=cfg.sleep_warm_us,
    )
    return spinner if spinner.enabled else None


async def _prepare_warm_pair(cfg: Config) -> None:
    """Over a ``wss://`` feed the warm pair speaks TLS; its throwaway CA and certificate
    (``warmer.loopback_tls``, cached per process) are made here, off the event loop's thread,
    before the watch starts — not when the pair first opens, which may be right after."""
    warms = cfg.spin_warm and (cfg.spin != "off" or cfg.sleep_warm_us > 0)
    if warms and cfg.ws_url.startswith("wss"):
        await asyncio.to_thread(loopback_tls, WARM_HOST)


def _request_slice(cfg: Config, trigger: OrderTrigger | None) -> SliceResult | None:
    """SCHED_SLICE_US (sniper.live.sched): the event loop thread asks for a short time slice
    before the watch starts, so the listing frame's wake-up preempts whatever else runs on its
    CPU. None when the order already fired (nothing left to wake for)."""
    if trigger is None or trigger.fired:
        return None
    result = request_slice(cfg.sched_slice_us)
    log.info("scheduler: %s", result.text())
    return result


def _armed_status(run: Sniper) -> str:
    """The armed status line (:func:`~sniper.live.report.status_text`) fed with ``run``'s
    parts, and SPIN's state: busy-polling now (and its cost, one CPU core) or in how long."""
    r, upkeep, watch, poller = run.preflight.readiness, run.upkeep, run.watch, run.poller
    text = status_text(
        lanes=run.lanes,
        feed=run.feed,
        orderfeed=run.orderfeed,
        polls=poller.polls if poller is not None else 0,
        available=upkeep.balance.available if upkeep is not None else r.available,
        seconds_to_open=watch.seconds_to_open() if watch is not None else None,
        one_way_ms=net.one_way_ms if (net := run.clock.net()) is not None else None,
    )
    spin = run.spinner.status_text() if run.spinner is not None else ""
    return f"{text} · {spin}" if spin else text


def _order_lanes(
    cfg: Config,
    venue: Venue,
    trigger: OrderTrigger,
    resolved: tuple[str, int, str],
    on_front_door: Callable[[FrontDoor], None],
    on_keepalive: Callable[[int, Reply], None],
    extra: int = 0,
) -> OrderLanes:
    """Two order connections to ``resolved`` (Host header, port, address) and ``extra`` volley
    lanes, not started."""
    host, port, addr = resolved
    rest_ssl = client_ssl_context(cfg) if cfg.rest_url.startswith("https") else None
    keepalive = keepalive_request(
        path=venue.time_call().path_with_query, host=host, locale=cfg.locale, demo=cfg.demo
    )
    return OrderLanes(
        host=urlsplit(cfg.rest_url).hostname or host,
        port=port,
        addr=addr,
        ssl_context=rest_ssl,
        keepalive_request=keepalive,
        keepalive_interval_s=cfg.keepalive_interval_s,
        board=trigger,  # the lanes publish their state where the hot path reads it
        on_front_door=on_front_door,
        on_keepalive=on_keepalive,
        extra=extra,
    )


def _volley_lanes(cfg: Config, clock: ServerClock) -> int:
    """Volley lanes to open beside the trigger's two (``VOLLEY_LANES``): none when no volley
    can go — ``RACE_COPIES=1``, or a one way under ``MIN_ONE_WAY_MS`` as measured by the
    start-up checks (loopback, a LAN: copies do not help there, :mod:`sniper.live.volley`)."""
    net = clock.net()
    if cfg.race_copies == 1 or net is None or net.one_way_ms < MIN_ONE_WAY_MS:
        return 0
    return cfg.volley_lanes


def _keepalive_sampler(clock: ServerClock, venue: Venue) -> Callable[[int, Reply], None]:
    """A keep-alive's answer (the venue's server time, on an order connection) as a network
    sample of ``clock`` (issue 14: re-estimated while armed, on the connections the order uses):
    sent → first byte of the reply, stamped by the exchange's ``serverTime``. An answer
    without a readable ``serverTime`` is no sample."""

    def sample(sent_ns: int, reply: Reply) -> None:
        env = parse_envelope(reply.status, reply.body)
        try:
            server_ms = venue.parse_server_time(env.data)
        except (TypeError, ValueError):
            return
        now_wall, now_ns = clock.wall_ms(), time.monotonic_ns()
        sent = now_wall - (now_ns - sent_ns) / 1e6
        received = now_wall - (now_ns - reply.first_byte_ns) / 1e6
        clock.observe(ClockSample(sent, received, server_ms))

    return sample


async def _start_lanes(lanes: OrderLanes, resolved: tuple[str, int, str]) -> None:
    """Connect the two order lanes (at most :data:`LANES_START_S`) or fail the start-up."""
    host, port, addr = resolved
    try:
        await lanes.start(LANES_START_S)
    except TimeoutError:
        raise StartupError(
            f"cannot open the order connections to {addr}:{port} — check BITGET_REST_URL "
            "and the network"
        ) from None
    extra = len(lanes.lanes) - lanes.LANES
    log.info(
        "order connections: 2 warm lanes to %s (%s:%d, %s)%s",
        host,
        addr,
        port,
        lanes.transport_kind,
        f", and {extra} more for a volley's copies" if extra else "",
    )


def _order_feed(cfg: Config, venue: Venue, clock: ServerClock) -> OrderFeed | None:
    """The private order feed, started (None with PRIVATE_FEED=0): the fastest confirmation,
    and the evidence that lets an ambiguous answer be proven "not executed" (reconcile.py)."""
    if not cfg.private_feed:
        return None
    ssl = client_ssl_context(cfg) if cfg.ws_url.startswith("wss") else None
    orderfeed = OrderFeed.from_config(cfg, venue=venue, clock=clock, ssl_context=ssl)
    orderfeed.start()
    return orderfeed


def _executor(
    cfg: Config,
    venue: Venue,
    rest: RestClient,
    lanes: OrderLanes,
    order: PreparedOrder,
    orderfeed: OrderFeed | None,
    balance: Balance,
) -> Executor:
    reconciler = Reconciler(
        config=cfg,
        venue=venue,
        rest=rest,
        client_oid=lambda: order.client_oid,
        orderfeed=orderfeed,
        holdings=balance.tracker,
    )
    return Executor(
        config=cfg, venue=venue, rest=rest, lanes=lanes, order=order, reconciler=reconciler
    )


def _upkeep(
    cfg: Config,
    r: Readiness,
    rest: RestClient,
    order: PreparedOrder,
    watch: SymbolWatch,
    trigger: OrderTrigger,
) -> Upkeep:
    return Upkeep(
        config=cfg,
        venue=r.venue,
        rest=rest,
        order=order,
        readiness=r,
        watch=watch,
        fired=lambda: trigger.fired,  # once fired, the order is frozen
    )


def _poller(
    r: Readiness,
    rest: RestClient,
    trigger: OrderTrigger,
    watch: SymbolWatch,
    open_seen: asyncio.Event,
) -> Poller:
    """The poll channel, paced from the start-up's own symbols request (``r.symbol_read_at``)."""
    return Poller(
        config=r.config,
        venue=r.venue,
        rest=rest,
        trigger=trigger,
        watch=watch,
        open_seen=open_seen,
        last_call=r.symbol_read_at,
    )


def _log_start(cfg: Config, dry_run: bool) -> None:
    log.info(
        "sniper run: sell %s %s on %s%s (hot path: %s)",
        cfg.coin_amount,
        cfg.base_coin,
        cfg.target,
        " — DRY RUN, no order will be sent" if dry_run else "",
        IMPLEMENTATION,
    )


def _log_armed(cfg: Config, feed: Feed, watch: SymbolWatch) -> None:
    log.info(
        "armed: watching %s by %s, polling every %d ms%s",
        cfg.target,
        "WebSocket" + ("" if feed.subscribed else " (waiting for the pair)"),
        cfg.poll_interval_ms,
        open_time_text(watch.open_time_ms, watch.clock),
    )


def _feed(
    cfg: Config, venue: Venue, trigger: OrderTrigger, seconds_to_open: Callable[[], float | None]
) -> Feed:
    """The public WebSocket feed (not started): its frames go through the hot path."""
    return Feed(
        config=cfg,
        venue=venue,
        scanner=_fast.TickerScanner(cfg.target),
        trigger=trigger,
        ssl_context=client_ssl_context(cfg) if cfg.ws_url.startswith("wss") else None,
        seconds_to_open=seconds_to_open,
    )


async def _feeds_settled(feed: Feed, orderfeed: OrderFeed | None) -> None:
    """Arming waits (bounded) for the feed's first connection and its subscription, and for
    the private order feed."""
    await _within(feed.first_attempt_done.wait(), FEED_CONNECT_WAIT_S)
    if feed.up:
        await _within(feed.subscribed_event.wait(), FEED_SUBSCRIBE_WAIT_S)
    await _order_feed_ready(orderfeed, ORDER_FEED_WAIT_S)
    if not feed.up:
        log.warning("feed: not connected yet; polling meanwhile, reconnecting in background")


MARKET_HINT_POLL_S = 0.05  # s between looks at the executor's answers for the hint below


async def _market_refused_hint(executor: Executor, venue: Venue) -> None:
    """A market sell refused once a channel has seen the pair trading (a not-open or unknown
    code after the open: some venues take no market orders in the first minutes, §10.10): the
    executor keeps retrying it; say once, plainly, that a floor would let it sell by limit."""
    await executor.open_seen.wait()
    looked = len(executor.codes)  # answers before the open was seen are no refusal of it
    while True:
        await asyncio.sleep(MARKET_HINT_POLL_S)
        codes = executor.codes[looked:]
        looked += len(codes)
        for code in codes:
            outcome = venue.classify(Envelope(200, code, "", None))
            if outcome in (Outcome.NOT_OPEN_YET, Outcome.UNKNOWN):
                log.warning(
                    "the pair is trading but the market sell was refused (%s): retrying the "
                    "market order — setting MIN_PRICE (a floor) would let it sell with a limit "
                    "order instead",
                    venue.explain(Envelope(200, code, "", None)),
                )
                return


async def _find_earlier(
    rest: RestClient, r: Readiness, record: OrderRecord, journal: Journal
) -> OrderState:
    """An order an earlier run fired and never confirmed, looked up by its clientOid. Not
    found → :class:`OrderUnconfirmed` (exit 4): never fire again while it may have executed."""
    oid = record.client_oid
    log.warning(
        "journal: clientOid %s was sent by an earlier run (%s, fired %s) and never "
        "confirmed — looking it up instead of firing",
        oid,
        record.run_id,
        record.fired_at or "?",
    )
    window_s = max(r.config.lookup_window_s, 1.0)
    state = await look_up_until(rest, r.venue, r.config, oid, window_s=window_s)
    if state is None:
        raise OrderUnconfirmed(
            f"clientOid {oid} was sent by an earlier run and is still not found: it may "
            f"have executed, so sniper will not fire again — check your orders on "
            f"Bitget; once you are sure it did not execute, move {journal.path} "
            "aside and run again"
        )
    log.info("journal: clientOid %s found: orderId %s (%s)", oid, state.order_id, state.status)
    return state


# =================================================================================================
# the armed notification's fields
def _armed_fields(
    cfg: Config,
    order: PreparedOrder | None,
    watch: SymbolWatch | None,
    mode: str,
    *,
    dry_run: bool,
) -> dict[str, Any]:
    """The ``armed`` notification's fields."""
    fields: dict[str, Any] = {
        "amount": cfg.coin_amount,
        "size": order.size if order is not None else None,
        "mode": mode,
        "client_oid": order.client_oid if order is not None else None,
    }
    if cfg.min_price is not None:
        fields["floor_price"] = order.price if order is not None else cfg.min_price
    if watch is not None and watch.open_time_ms is not None:
        fields["open_time"] = iso_ms(watch.open_time_ms)
        fields["seconds_to_open"] = round(watch.clock.seconds_until(watch.open_time_ms), 1)
    if dry_run:
        fields["dry_run"] = True
    return fields


# =================================================================================================
# the end of a run
async def shutdown(
    tasks: list[asyncio.Task[Any]], closers: list[Any], within_s: float = 1.0
) -> None:
    """Connections first, then tasks: cancel the tasks (a request only), await each closer in
    order (the feed, the order feed, the lanes, the REST client), then wait for the tasks at
    most ``within_s``. No task can be left waiting on a healthy idle connection — even one
    whose cancel was lost (Python 3.11's ``asyncio.wait_for``) — and nothing is waited for
    through ``wait_for``. A task still running after the bound is logged at DEBUG."""
    for t in tasks:
        t.cancel()  # a request only: nothing waits for them before the connections close
    for close in closers:
        await close()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=within_s)
        for t in pending:
            log.debug("shutdown: %s still running %.1f s after its cancel", t.get_name(), within_s)
            t.add_done_callback(_log_task_failure)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            log.debug("shutdown: %s ended with %r", t.get_name(), t.exception())


async def _within(waiting: Awaitable[Any], seconds: float) -> None:
    """Wait at most ``seconds`` (through asyncio.timeout: 3.11's wait_for can drop a cancel)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await waiting


async def _order_feed_ready(orderfeed: OrderFeed | None, within_s: float) -> None:
    """Wait (bounded) for the private order feed to be logged in and subscribed: a push it
    misses because it was not up yet is evidence lost."""
    if orderfeed is None:
        return
    await _within(orderfeed.ready.wait(), within_s)
    if not orderfeed.ready.is_set():
        log.warning(
            "private order feed: not up yet (%s); an unanswered order cannot be proven "
            "unexecuted without it, so it would not be resent",
            orderfeed.login_error or "connecting",
        )


def _log_task_failure(task: asyncio.Task[Any]) -> None:
    """A background channel that dies is a bug: say so loudly (the others keep watching)."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("%s stopped: %s: %s", task.get_name(), type(exc).__name__, exc, exc_info=exc)


__all__ = ["RunResult", "Sniper"]
