"""Issue 12: exactly once on Bitget's real semantics, for every reproduced failure.

The exchange frees a clientOid once its order is filled (``duplicate_scope="unfilled"``, the
default, §5.6), so a resend of a filled market sell would be a SECOND sale. Each test injects
one of the reproduced failures and checks, in both account modes: exactly one execution, and a
truthful exit (0 with the order named, or 4) — never a second sale, never "rejected".
"""

from __future__ import annotations

import asyncio

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    assert_one_accepted,
    both_modes,
    sniper_config,
    start_sniper,
    wait_until,
)

from sniper.errors import OrderUnconfirmed
from sniper.exchange import EmbeddedExchange, OrderReply

TIMINGS = {"ORDER_TIMEOUT_S": "0.3", "LOOKUP_WINDOW_S": "0.3", "ORDER_RETRY_WINDOW_S": "3"}


async def armed(ex: EmbeddedExchange, **env: str):  # type: ignore[no-untyped-def]
    await ex.list_symbol(
        TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
    )
    run = start_sniper(sniper_config(ex, COIN_AMOUNT="500", **TIMINGS, **env))
    await run.armed()
    assert ex.settings.duplicate_scope == "unfilled"  # a resend of a filled order sells again
    return run


def sold_once(ex: EmbeddedExchange, client_oid: str) -> None:
    assert_one_accepted(ex, client_oid)
    assert ex.balance(API_KEY, "PAWS") == 500  # 500 of the 1000 sold, once


@both_modes
@pytest.mark.parametrize(
    "reply",
    [
        OrderReply(status=503, executed=True),  # a gateway page after the engine took it
        OrderReply(status=504, executed=True),
        OrderReply("40015", executed=True),  # "System is abnormal" after execution
        OrderReply("40015", status=200, executed=True),
        OrderReply(raw=b'{"code":"00000","msg":"succ', executed=True),  # truncated 200
        OrderReply(raw=b"<html><body>oops</body></html>", executed=True),  # HTML 200
        OrderReply(raw=b"", executed=True),  # empty 200
    ],
    ids=["503", "504", "40015", "40015-200", "truncated", "html", "empty"],
)
async def test_an_executed_order_answered_ambiguously_is_found_never_resent(
    ex: EmbeddedExchange, mode: str, reply: OrderReply
) -> None:
    ex.faults.queue_order_replies([reply])
    run = await armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.order_id == ex.records.orders[0].order_id
    assert result.accepted_via in ("feed", "lookup")
    assert len(ex.records.orders) == 1, "resent after it executed"
    sold_once(ex, result.client_oid)


@both_modes
async def test_lost_reply_and_a_lagging_order_index_the_feed_finds_it(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True  # the REST index lags behind the engine
    run = await armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.accepted_via == "feed" and len(ex.records.orders) == 1
    sold_once(ex, result.client_oid)


@both_modes
async def test_lost_reply_lagging_index_and_lagging_balance_the_feed_finds_it(
    ex: EmbeddedExchange, mode: str
) -> None:
    """Reproduced path 4: reply lost, lookups lag, balance reads lag (the holdings rule alone
    would be fooled into a resend): the order feed's push settles it."""
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    ex.faults.freeze_balances()
    run = await armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.accepted_via == "feed" and len(ex.records.orders) == 1
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_a_deposit_right_before_the_open_cannot_hide_the_sale(
    ex: EmbeddedExchange, mode: str
) -> None:
    """A deposit lands just before the open (after the last balance read): the holdings after
    the sale look unchanged. Reply lost and lookups lagging: the feed still finds it."""
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    run = await armed(ex, BALANCE_REFRESH_S="30")
    ex.set_balance(API_KEY, "PAWS", "1500")  # +500, just before the open
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.accepted_via == "feed" and len(ex.records.orders) == 1
    assert_one_accepted(ex, result.client_oid)
    assert ex.balance(API_KEY, "PAWS") == 1000


@both_modes
async def test_a_deposit_seen_after_the_snapshot_blocks_the_resend_without_the_feed(
    ex: EmbeddedExchange, mode: str
) -> None:
    """REST only: the reply is lost and the lookups lag, and the holdings ROSE since the
    pre-fire snapshot (a deposit): nothing proves the order did not execute → exit 4."""
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    run = await armed(ex, PRIVATE_FEED="0", BALANCE_REFRESH_S="0.2")
    ex.open_symbol(TARGET)
    await wait_until(lambda: len(ex.records.orders) == 1)
    ex.set_balance(API_KEY, "PAWS", "1500")  # the order sold 500; a 1000 deposit lands
    with pytest.raises(OrderUnconfirmed) as err:
        await run.result()
    assert err.value.exit_code == 4
    assert len(ex.records.orders) == 1, "resent although the holdings could hide the sale"


@both_modes
async def test_order_never_reached_the_engine_is_proven_and_resent_once(
    ex: EmbeddedExchange, mode: str
) -> None:
    """The one case a resend is right: the request died before the engine (never executed,
    never answered). The feed was up and silent, not found, holdings unchanged → resent."""
    ex.faults.drop_next_order_request()
    run = await armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.attempts == 2 and len(ex.records.orders) == 2
    assert not ex.records.orders[0].accepted and ex.records.orders[1].accepted
    sold_once(ex, result.client_oid)


@both_modes
async def test_a_feed_that_was_down_cannot_vouch_so_no_resend(
    ex: EmbeddedExchange, mode: str
) -> None:
    """The order never executed, but the private feed dropped around the write: its silence
    proves nothing, so the run does not resend (exit 4) — slower, never a double sale."""
    ex.faults.drop_next_order_request()
    run = await armed(ex, WS_RECONNECT_MAX_S="5")
    await ex.faults.drop_private_ws_connections()
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as err:
        await run.result()
    assert err.value.exit_code == 4 and "order feed" in str(err.value)
    assert len(ex.records.orders) == 1


@both_modes
async def test_100_ms_of_feed_lag_still_finds_it(ex: EmbeddedExchange, mode: str) -> None:
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    ex.faults.private_ws_push_delay_ms = 100
    run = await armed(ex)
    ex.open_symbol(TARGET)
    result = await asyncio.wait_for(run.result(), 10)
    assert result.accepted_via == "feed" and len(ex.records.orders) == 1
