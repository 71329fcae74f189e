"""Issue 11: the client on Bitget's real v3 codes and open time (bitget-api.md §5.11).

UTA answers an order on a pair that is not open yet with 25101 (not 43115), its transient codes
are 25000/25003/25004, 25001 means the order may exist, and the v3 instruments row announces the
open as ``launchTime`` (no ``openTime``; ``limitOpenTime`` is a restriction time). An answer whose
code no table knows is never a final verdict.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    assert_one_accepted,
    both_modes,
    sniper_config,
    start_sniper,
)

from sniper.errors import OrderUnconfirmed
from sniper.exchange import EmbeddedExchange
from sniper.exchange.faults import OrderReply
from sniper.live.reconcile import MIN_LOOKUPS


async def listed_and_armed(ex: EmbeddedExchange, **env: str):  # type: ignore[no-untyped-def]
    await ex.list_symbol(
        TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
    )
    run = start_sniper(sniper_config(ex, **env))
    await run.armed()
    return run


@pytest.mark.parametrize("mode", ["uta"])
async def test_uta_listing_by_launch_time_early_shots_get_25101_sells_once_by_schedule(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.mute_ws_pushes = True  # only the schedule can see the open
    open_at = ex.server_time_ms() + 1500
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
    # the v3 row announces the open as launchTime, never openTime (§5.11)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", SCHEDULE_LEAD_MS="300"))
    await run.armed()
    assert run.sniper.watch is not None
    assert run.sniper.watch.open_time_ms == open_at, "the open comes from launchTime"
    result = await run.result()
    assert result.channel == "scheduled"
    early = [o for o in ex.records.orders if o.code == "25101"]
    assert early, "the early shots met the real v3 not-open code"
    assert "43115" not in [o.code for o in ex.records.orders]
    assert set(result.codes) == {"25101"}
    assert_one_accepted(ex, result.client_oid)


@pytest.mark.parametrize("mode", ["uta"])
@pytest.mark.parametrize("code", ["25000", "25003", "25004"])
async def test_uta_transient_code_on_the_first_order_is_retried_and_sells_once(
    ex: EmbeddedExchange, mode: str, code: str
) -> None:
    ex.faults.queue_order_replies([code])
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.codes == [code] and result.attempts == 2
    assert [o.code for o in ex.records.orders] == [code, "00000"]
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_unknown_code_is_settled_then_retried_and_sells_once(
    ex: EmbeddedExchange, mode: str, log_records: list[logging.LogRecord]
) -> None:
    """Not executed (the answer came before the matching engine): each unknown answer is
    settled — looked up over LOOKUP_WINDOW_S (0.3 s here) and the holdings read — before the
    same clientOid is sent again."""
    ex.faults.queue_order_replies(["49999", "49999"])
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.codes == ["49999", "49999"] and result.attempts == 3
    assert_one_accepted(ex, result.client_oid)
    lookups = [r for r in ex.records.requests if "clientOid=" in r.query]
    for before, after in zip(ex.records.orders, ex.records.orders[1:], strict=False):
        between = [
            r for r in lookups if before.first_byte_ns < r.first_byte_ns < after.first_byte_ns
        ]
        assert len(between) >= MIN_LOOKUPS, "each unknown answer was settled before a resend"
        span_s = (between[-1].first_byte_ns - between[0].first_byte_ns) / 1e9
        assert span_s >= 0.3 * 0.9, span_s  # not found over the whole LOOKUP_WINDOW_S
    said = [r.getMessage() for r in log_records]
    assert any("a code sniper does not know" in m for m in said)
    assert any("proven not executed" in m for m in said)


@both_modes
@pytest.mark.parametrize("amount", ["1000", "400"])
async def test_an_unknown_code_on_an_order_that_sold_is_found_never_resent_or_rejected(
    ex: EmbeddedExchange, mode: str, amount: str
) -> None:
    """The order executed and was answered with a code no table knows, and orderInfo does not
    show it for a while (lag). A lookup that does not find it proves nothing: a resend would
    meet 43012 / 25202 on a whole-balance sale (reported "rejected": exit 3 on a sold order),
    or, selling 400 of 1000 held, sell a SECOND time (the clientOid is free once the order
    filled, §5.6). The order is settled instead: the holdings fell, so nothing is resent; it
    is found once orderInfo shows it."""
    ex.faults.queue_order_replies([OrderReply(code="49999", msg="odd", executed=True)])
    ex.faults.hide_orders_from_lookup = True
    run = await listed_and_armed(ex, COIN_AMOUNT=amount, PRIVATE_FEED="0")
    ex.open_symbol(TARGET)
    asyncio.get_running_loop().call_later(
        1.5, lambda: setattr(ex.faults, "hide_orders_from_lookup", False)
    )
    result = await run.result(within=15)
    assert [o.code for o in ex.records.orders] == ["49999"], ex.records.orders  # never resent
    assert ex.state.executed_qty(API_KEY, TARGET) == Decimal(amount)  # sold once
    assert result.exit_code == 0 and result.filled_qty == Decimal(amount), result
    assert result.accepted_via == "lookup"


@both_modes
async def test_an_unknown_code_until_the_window_ends_is_unconfirmed_never_rejected(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.queue_order_replies(["49999"] * 200)  # each proven not executed, then resent
    run = await listed_and_armed(ex, ORDER_RETRY_WINDOW_S="1")
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as err:
        await run.result()
    assert err.value.exit_code == 4
    assert "does not know" in str(err.value)
    assert not [o for o in ex.records.orders if o.accepted]


@pytest.mark.parametrize("mode", ["uta"])
async def test_25001_not_executed_is_looked_up_then_resent_once(
    ex: EmbeddedExchange, mode: str
) -> None:
    """25001 "operation timed out": the order may exist, so it is looked up first; consistently
    not found and the balance did not fall → resent (same clientOid), one sale."""
    ex.faults.queue_order_replies(["25001"])
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.codes == ["25001"]
    lookups = [r for r in ex.records.requests if "clientOid=" in r.query]
    first_resend = ex.records.orders[1].first_byte_ns
    assert [r for r in lookups if r.first_byte_ns < first_resend], "looked up before resending"
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_clock_step_while_armed_40008_is_resynced_resigned_and_sells_once(
    ex: EmbeddedExchange, mode: str
) -> None:
    """A clock step of more than the 30 s window while armed: the first order gets 40008, which
    proves it did not execute; the sniper re-syncs, re-signs and resends (issue 12)."""
    run = await listed_and_armed(ex)
    ex.faults.clock_skew_ms = 45_000  # the exchange clock jumps 45 s ahead of ours
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.codes == ["40008"] and result.attempts == 2
    assert [o.code for o in ex.records.orders][-1] == "00000"
    assert_one_accepted(ex, result.client_oid)
