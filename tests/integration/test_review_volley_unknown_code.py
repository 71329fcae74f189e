"""Review of issue 14 (copies in flight): a copy answered with a code no table knows, next to
siblings refused 43012.

In a volley the chosen answer ranks UNKNOWN above a sibling's REJECTED. The unknown copy may be
the one that sold (its siblings then meet the 43012 backstop), and orderInfo may not show it
yet: one lookup and a resend would meet 43012 too and report "rejected" (exit 3) on a sold
order. The volley's unknown copy is settled like an ambiguous answer instead
(``Reconciler.settle``): looked up until found, never resent without the proof.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sniper_harness import API_KEY
from test_sniper_volley_copies import TARGET, early_open_run

from sniper.exchange import EmbeddedExchange
from sniper.exchange.faults import OrderReply


async def test_an_unknown_code_that_sold_next_to_43012_siblings_is_found_not_rejected(
    ex: EmbeddedExchange,
) -> None:
    # copy 1 sells the whole balance and is answered with a code no table knows; the other
    # copies meet 43012; orderInfo does not show the order for the first 1.5 s (lag)
    ex.faults.queue_order_replies([OrderReply(code="49999", msg="odd", executed=True)])
    ex.faults.hide_orders_from_lookup = True
    asyncio.get_running_loop().call_later(
        5.0, lambda: setattr(ex.faults, "hide_orders_from_lookup", False)
    )
    run = await early_open_run(ex, PRIVATE_FEED="0")
    result = await run.result(within=25)
    codes = [o.code for o in ex.records.orders]
    assert codes[0] == "49999" and len(codes) > 1 and set(codes[1:]) == {"43012"}, codes
    assert ex.state.executed_qty(API_KEY, TARGET) == Decimal("1000")  # sold once
    assert result.exit_code == 0 and result.filled_qty == Decimal("1000"), result
    assert result.accepted_via == "lookup"
