"""The retry budget of one :meth:`Executor.execute <sniper.live.executor.Executor.execute>`:
the answers refused at the door and the codes no table knows.

Split out of ``executor.py`` (the attempt state machine decides; this paces): within
``ORDER_RETRY_WINDOW_S``,

* refused before execution (``RETRY``: 429, 25004, a lane that failed before the write, ...;
  ``RESYNC``: the timestamp, 40004 / 40008) → the clock re-synced, or a backoff of 0.1 → 1 s,
  then the executor sends the same clientOid again; past the window → :class:`OrderRejected`
  (the executor first checks whether an earlier copy went unanswered: then never "rejected");
* a code no table knows is no verdict → the executor settles the order like an ambiguous answer
  (found: accepted; a lookup that does not find it proves nothing — the copy may have sold and
  orderInfo may lag); proven not executed → sent again (:meth:`Pacing.unknown_proven`); past the
  window → :class:`OrderUnconfirmed` (exit 4), never a rejection.

The "not open yet" retries are :class:`~sniper.live.executor.NotOpenPacer` (``not_open``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sniper.errors import OrderRejected, OrderUnconfirmed
from sniper.live.outcomes import Outcome
from sniper.live.pacing import Backoff

if TYPE_CHECKING:
    from sniper.config import Config
    from sniper.live.executor import NotOpenPacer, OrderSender
    from sniper.live.reconcile import Reconciler
    from sniper.live.venue import Envelope, Venue

__all__ = ["Pacing"]

log = logging.getLogger("sniper.executor")


class Pacing:
    """The retry window of one run and the waits of its door refusals and unknown codes."""

    def __init__(
        self,
        *,
        config: Config,
        venue: Venue,
        reconciler: Reconciler,
        sender: OrderSender,
    ) -> None:
        self.config = config
        self.venue = venue
        self.reconciler = reconciler
        self.sender = sender  # its clock is re-synced on RESYNC
        self.retry_deadline = time.monotonic() + config.order_retry_window_s  # s, monotonic
        self.backoff = Backoff(0.1, 1.0)  # RETRY answers
        self.not_open: NotOpenPacer | None = None  # the 43115 / 25101 retries

    def expired(self) -> bool:
        """The retry window (``ORDER_RETRY_WINDOW_S``) is over."""
        return time.monotonic() > self.retry_deadline

    async def refused(self, env: Envelope, outcome: Outcome) -> None:
        """Refused before execution (RETRY, RESYNC): returns after the wait (sent again);
        past the retry window → :class:`OrderRejected`."""
        what = self.venue.explain(env)
        if self.expired():
            raise OrderRejected(
                env.http_status,
                env.code,
                env.msg,
                hint=f"still failing after {self.config.order_retry_window_s:g}s of "
                f"retries: {what}",
            )
        if outcome is Outcome.RESYNC:
            log.warning(
                "order answer %s: the timestamp was refused, so it did not execute — "
                "re-syncing the clock, re-signing and resending (same clientOid)",
                what,
            )
            await self.sender.resync_clock()
            return
        delay = self.backoff.next()
        log.warning("order answer %s: retrying in %.0f ms (same clientOid)", what, delay * 1000)
        await asyncio.sleep(delay)

    def unknown_proven(self, env: Envelope, proof: str) -> None:
        """A copy answered with a code no table knows was proven not executed
        (:meth:`Reconciler.settle <sniper.live.reconcile.Reconciler.settle>`): returns (sent
        again at once — the proof already took ``LOOKUP_WINDOW_S``) within the retry window;
        past it → :class:`OrderUnconfirmed` (exit 4: an unknown code is never reported as a
        rejection)."""
        what = self.venue.explain(env)
        if self.expired():
            raise OrderUnconfirmed(
                f"the exchange kept answering a code sniper does not know ({what}) for "
                f"{self.config.order_retry_window_s:g}s; the last copy of clientOid "
                f"{self.reconciler.client_oid} was proven not executed ({proof}) — nothing is "
                "known to have sold: check your orders and the exchange's announcements before "
                "running again"
            )
        log.warning(
            "proven not executed after %s (%s): trying again (same clientOid), until "
            "ORDER_RETRY_WINDOW_S",
            what,
            proof,
        )
