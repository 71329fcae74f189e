"""Review of issue 14 (copies in flight): a volley settled by a lookup loses its other orders.

When no copy of a volley got a readable acceptance (every answer a 5xx page, lost, or a final
code), the executor settles the order by clientOid (``Executor._unproven`` / ``_final``) and
returns ``Executor._found(state)``: an :class:`Execution` with no ``accepted`` orderIds and
``unproven_copies == 0``, although the volley had several copies that may each be a venue order
of their own. ``volley.read_fill`` then reads the fill by clientOid only. If the first copy was
accepted and cancelled unfilled (a floor ioc with no bid at the floor: it releases the coin) and
a later copy sold, and the venue answers the shared clientOid with the FIRST order (a variant
the reference leaves open, §5.9: ``ExchangeSettings.client_oid_lookup="oldest"``),
the run reported "0 sold, the rest was cancelled" (exit 5) for a sale of the whole COIN_AMOUNT.
Fixed: the execution found by lookup carries the volley's other copies (``unproven_copies``),
so the report reads every row of the clientOid and, finding no sale, checks the holdings.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_sniper_volley_copies import FLOOR, TARGET, after_first_accepted, early_open_run

from sniper.errors import OrderUnconfirmed
from sniper.exchange import EmbeddedExchange
from sniper.exchange.faults import OrderReply
from sniper.exchange.state import Order
from sniper.live.volley import MAX_COPIES


@pytest.mark.parametrize("oid_lookup", ["newest", "oldest", "all"])
async def test_every_copy_answered_5xx_the_unfilled_one_found_first_reports_the_sale(
    ex: EmbeddedExchange, monkeypatch: pytest.MonkeyPatch, oid_lookup: str
) -> None:
    """The run reports the sale ("newest": the lookup finds the seller; "all": v2 orderInfo's
    rows hold it), or, when the venue answers the clientOid with the unfilled copy only
    ("oldest", no order feed), stops unconfirmed (exit 4) because the holdings fell — never
    "0 sold"."""

    def bid_at_the_floor(first: Order) -> None:
        assert first.status == "cancelled" and first.base_volume == 0  # released the coin
        ex.state.set_book(TARGET, [(FLOOR, "1000"), ("0.0120", "5000")])

    orders = after_first_accepted(ex, monkeypatch, bid_at_the_floor, oid_lookup=oid_lookup)
    # every copy goes through the matching engine, then is answered by a 502 page (ambiguous)
    ex.faults.queue_order_replies([OrderReply(status=502, executed=True)] * MAX_COPIES)
    below = [("0.0120", "5000")]  # bids below the floor only: an ioc at it cancels unfilled
    run = await early_open_run(ex, below, MIN_PRICE=FLOOR, FLOOR_TIF="ioc", PRIVATE_FEED="0")
    if oid_lookup == "oldest":
        with pytest.raises(OrderUnconfirmed) as info:
            await run.result(within=20)
        assert info.value.exit_code == 4
        assert "a copy may have sold" in str(info.value), info.value
        assert "PAWS balance fell by 1000" in str(info.value), info.value
    else:
        result = await run.result(within=20)
        # the sale happened: the report must show it, never "nothing sold"
        assert result.filled_qty == Decimal("1000"), result.fill
        assert result.fill is not None and result.fill.order_id == orders[1].order_id
        assert result.exit_code == 0
    assert len(orders) == 2, ex.records.orders  # copy 1 unfilled, copy 2 sold
    assert orders[1].status == "filled" and orders[1].base_volume == Decimal("1000")
