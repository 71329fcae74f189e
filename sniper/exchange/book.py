"""The listing-day model of the embedded exchange: the bids at the open, fills, the call auction.

Off unless a test configures it (``ex.state.set_book``, the listing-day fields of
:class:`~sniper.exchange.ExchangeSettings`); without it the matching engine fills every
marketable order at once at the symbol's price, as before.

Sources (bitget-api.md): a sell sniper meets a thin book at a listing (§10.6, §10.10); a
market order executes what the book holds, one private ``partially_filled`` push per fill and
then ``filled`` (§7.4, bbgo 2023: a market sell gave 4x ``partially_filled``); order statuses
``live`` / ``partially_filled`` / ``filled`` / ``cancelled`` (§5.9); ``force`` gtc / post_only /
fok / ioc on v2, ``timeInForce`` on v3 (§5.6, §5.10); the call auction before continuous
trading (§5.3, §10.4: which order types it accepts is [UNCERTAIN], a setting).

What is here (pure, no I/O):

* :class:`BidBook` -- the bids of one symbol, best first; ``take`` walks them and consumes
  what it executes (a second order sees a thinner book).
* :class:`Execution` -- one fill of one order (kept on ``Order.fills``, pushed one by one).
* :class:`FillRecord` -- every fill of every order, kept on ``ex.state.fills`` so a test can
  check "never below the floor" and "never more than COIN_AMOUNT".
* :class:`AuctionSettler` -- the clock of the call auction: orders accepted during the auction
  window wait (``live``) for the open, then execute together at one clearing price; it polls
  the exchange clock while such orders wait and publishes their fills on the private feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import EmbeddedExchange
    from .state import Order

Level = tuple[Decimal, Decimal]  # (price, base quantity)


def _decimal(value: object, what: str) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return number


class BidBook:
    """The bids of one symbol: (price, size) levels, best (highest) price first.

    ``bids`` in any order; equal prices are merged. Prices in the quote coin per base unit,
    sizes in the base coin, as strings, ints or Decimals (floats go through ``str``).
    """

    def __init__(self, bids: Iterable[tuple[object, object]]) -> None:
        merged: dict[Decimal, Decimal] = {}
        for price, size in bids:
            p = _decimal(price, "bid price")
            merged[p] = merged.get(p, Decimal(0)) + _decimal(size, "bid size")
        self._levels: list[list[Decimal]] = [[p, merged[p]] for p in sorted(merged, reverse=True)]

    def __repr__(self) -> str:
        return f"BidBook({self.levels()!r})"

    def levels(self) -> list[Level]:
        """What is left, best first."""
        return [(p, q) for p, q in self._levels]

    def best(self) -> Decimal | None:
        """The best bid price, None when the book is empty."""
        return self._levels[0][0] if self._levels else None

    def depth(self, limit_price: Decimal | None = None) -> Decimal:
        """Base quantity bid at or above ``limit_price`` (every bid when None)."""
        return sum(
            (q for p, q in self._levels if limit_price is None or p >= limit_price), Decimal(0)
        )

    def take(self, size: Decimal, limit_price: Decimal | None = None) -> list[Level]:
        """Sell up to ``size`` into the bids at or above ``limit_price``, best first, at the
        bids' prices; the executed quantity leaves the book. Returns the fills in order."""
        fills: list[Level] = []
        left = size
        while left > 0 and self._levels:
            level = self._levels[0]
            price, qty = level
            if limit_price is not None and price < limit_price:
                break
            step = min(left, qty)
            fills.append((price, step))
            left -= step
            level[1] = qty - step
            if level[1] == 0:
                self._levels.pop(0)
        return fills


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill of one order. ``fee`` positive, in ``fee_coin`` (the coin received)."""

    price: Decimal  # quote coin per base unit
    base_qty: Decimal
    quote_value: Decimal  # price x base_qty
    fee: Decimal
    fee_coin: str
    time_ms: int  # exchange clock


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A fill as a test reads it (``ex.state.fills``), with the order it belongs to."""

    api_key: str
    api: str  # "v2" / "v3"
    symbol: str
    side: str
    order_type: str
    force: str
    order_id: str
    client_oid: str
    limit_price: Decimal | None  # the order's price (None: market)
    price: Decimal
    base_qty: Decimal
    quote_value: Decimal
    fee: Decimal
    fee_coin: str
    time_ms: int
    source: str  # "book" (walked the bids), "price" (the symbol's price: no book), "auction"


# How often the settler looks at the exchange clock while orders wait for the open (s): every
# AUCTION_POLL_S from 2 ms before the scheduled open (or when none is scheduled: a pair opened
# by hand), at most AUCTION_IDLE_S apart before that.
AUCTION_POLL_S = 0.002
AUCTION_IDLE_S = 0.05


class AuctionSettler:
    """Runs the open of the call auction for orders accepted during it.

    ``wake()`` (the state calls it when it accepts an auction order) starts a task that polls
    the exchange clock while such orders wait (:data:`AUCTION_POLL_S` near the open,
    :data:`AUCTION_IDLE_S` before it); once their pair is online,
    ``ExchangeState.settle_auctions`` executes them and the fills go out on the private feed
    (the ``live`` push went out at acceptance).
    """

    def __init__(self, exchange: EmbeddedExchange, publish: Callable[[Order, int], None]) -> None:
        self._ex = exchange
        self._publish = publish  # (order, index of its first new fill)
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def settle_now(self) -> None:
        """Execute every auction order whose pair is online now, and publish the outcome."""
        for order, first in self._ex.state.settle_auctions(self._ex.server_time_ms()):
            self._publish(order, first)

    async def _run(self) -> None:
        state = self._ex.state
        while True:
            self.settle_now()
            if not state.auction_orders_waiting():
                return
            open_ms = state.next_auction_open_ms()
            wait = AUCTION_POLL_S
            if open_ms is not None:
                ahead_s = (open_ms - self._ex.server_time_ms()) / 1000 - AUCTION_POLL_S
                wait = min(AUCTION_IDLE_S, max(AUCTION_POLL_S, ahead_s))
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
