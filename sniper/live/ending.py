"""How a run ends (:class:`RunEnding`): the watchers stopped, the fill read back, a capped sale's
remaining chunks sold (:class:`~sniper.live.chunks.ChunkedSale`), the fill-quality report
(:mod:`~sniper.live.quality`), the result written out, and the ``sold`` / ``partial`` /
``failed`` / ``unconfirmed`` notifications.

It reads the parts :class:`~sniper.live.runner.Sniper` built (the executor, the order, the
lanes, the feed, ...) and changes nothing of them but the feed, which it closes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sniper.errors import OrderRejected, SniperError
from sniper.live.chunks import ChunkedSale
from sniper.live.clock import ServerClock
from sniper.live.executor import Execution, Executor
from sniper.live.notify import failure_fields, result_fields
from sniper.live.order import format_decimal
from sniper.live.quality import measure
from sniper.live.report import RunResult, log_accepted, sold_result, write_result
from sniper.live.venue import OrderState

if TYPE_CHECKING:
    from sniper.live.channels import SymbolWatch
    from sniper.live.runner import Sniper


class RunEnding:
    """The end of ``run``: :meth:`finish` after an accepted order, :meth:`chunked` after a
    market sell refused over the pair's cap, :meth:`report` for every result written."""

    def __init__(self, run: Sniper) -> None:
        self._run = run
        self.first_hit: bytes | None = None  # the first ticker push after the open (quality)

    async def finish(self, execution: Execution) -> RunResult:
        """The accepted order's fill read back and reported (the first chunk of a capped sale
        goes on to :meth:`chunked`)."""
        run = self._run
        executor, order = run.executor, run.order
        assert executor is not None and order is not None
        fired = executor.fired
        assert fired is not None
        log_accepted(execution)
        await self.stop_watchers()  # before reading the fill
        # every accepted copy of a volley read by its orderId: the one that sold is reported
        got = await executor.report_fill(execution, run.preflight.readiness.config.fill_timeout_s)
        fill = got.fill
        if order.total is not None and order.size is not None and order.total != order.size:
            return await self.chunked(execution, fill)  # the first chunk of a capped sale
        result = sold_result(
            execution,
            fired,
            size=executor.fired_size or order.size,
            fill=fill,
            open_seen_by=executor.open_seen_by,
            floor_price=order.price,
            floor_tif=order.tif,
            accepted_ids=got.read,
            sold_ids=got.sold,
        )
        return self._ended(result)

    async def chunked(
        self,
        execution: Execution | None,
        fill: OrderState | None,
        *,
        refused: OrderRejected | None = None,
    ) -> RunResult:
        """A market sale over the pair's cap: the first order was its first chunk
        (``execution``, its ``fill``) or was refused over the cap (``refused``: not executed);
        the rest is sold chunk by chunk."""
        sale = self._chunked_sale()
        await self.stop_watchers()  # already so after finish()
        result = await sale.run(execution, fill, refused=refused)
        return self._ended(result)

    def report(self, result: RunResult) -> RunResult:
        """``result`` written out (the status line cleared first)."""
        run = self._run
        if run.status_line is not None:
            run.status_line.clear()
        write_result(result, run.out, json_output=run.json_output)
        return result

    async def stop_watchers(self) -> None:
        """Stop the watchers (the first ticker push after the open kept) before the fill."""
        run = self._run
        for t in run.tasks:
            t.cancel()
        listener = run.feed.listener if run.feed is not None else None
        if self.first_hit is None and listener is not None:
            # as the hot path copied it after the fire, taken before the feed closes
            self.first_hit = listener.first_hit
        if run.feed is not None:
            await run.feed.close()
            run.feed = None

    # the notifications: scheduled (never awaited here), after the moments they report
    def notify_result(self, result: RunResult) -> None:
        if not result.dry_run:
            self._run.notifier.notify(*_result_notice(result))

    def notify_failure(self, exc: SniperError) -> None:
        """``failed`` (the order was finally rejected: exit 3) or ``unconfirmed`` (exit 4)."""
        run = self._run
        if run.dry_run or exc.exit_code not in (3, 4):
            return
        oid = run.order.client_oid if run.order is not None else None
        event = "failed" if exc.exit_code == 3 else "unconfirmed"
        run.notifier.notify(event, failure_fields(exc, client_oid=oid))

    def _ended(self, result: RunResult) -> RunResult:
        """``result`` with its fill quality, written out."""
        run = self._run
        return self.report(with_quality(result, run.clock, run.executor, run.watch, self.first_hit))

    def _chunked_sale(self) -> ChunkedSale:
        """The capped sale after the run's first order: each chunk's executor is built like
        it (``Sniper.make_executor``)."""
        run = self._run
        executor, order, watch = run.executor, run.order, run.watch
        assert executor is not None and order is not None and executor.fired is not None
        assert watch is not None and run.preflight.rest is not None
        r = run.preflight.readiness
        return ChunkedSale(
            config=r.config,
            venue=r.venue,
            rest=run.preflight.rest,
            clock=run.clock,
            make_executor=run.make_executor,
            journal=run.journal,
            executor=executor,
            order=order,
            symbol=watch.symbol,
        )


def with_quality(
    result: RunResult,
    clock: ServerClock,
    executor: Executor | None,
    watch: SymbolWatch | None,
    first_hit: bytes | None,
) -> RunResult:
    """``result`` with its fill-quality report (sniper.live.quality): the first fill is the
    accepting reply of the first order that executed."""
    fill = result.fill
    filled = result.filled_qty
    ack_ns = result.ack_ns
    server_ms = None
    if ack_ns is not None:
        server_ms = clock.wall_ms() - (time.monotonic_ns() - ack_ns) / 1e6
    seen_ns = None
    if executor is not None:
        seen_ns = executor.sightings.open_seen_ns or result.detect_ns or None
    result.quality = measure(
        price_avg=fill.price_avg if fill is not None else None,
        filled=filled,
        first_hit=first_hit,
        open_time_ms=watch.open_time_ms if watch is not None else None,
        first_fill_server_ms=server_ms,
        seen_ns=seen_ns,
        first_fill_ns=ack_ns,
    )
    return result


def _result_notice(result: RunResult) -> tuple[str, dict[str, Any]]:
    """The ``sold`` or ``partial`` notification: its event and fields."""
    extra: dict[str, Any] = {}
    if result.floor_price is not None:
        extra["floor_price"] = result.floor_price
    if result.quality is not None:
        for name in ("slippage_pct", "open_to_first_fill_ms"):
            value = getattr(result.quality, name)
            if value is not None:
                extra[name] = value
    if result.partial:
        rest = result.remaining_qty
        extra["remaining_qty"] = format_decimal(rest) if rest is not None else None
        extra["rest"] = result.rest
        extra["exit_code"] = result.exit_code
    event = "partial" if result.partial else "sold"
    return event, result_fields(result, **extra)


__all__ = ["RunEnding", "with_quality"]
