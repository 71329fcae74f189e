"""Exactly once when a copy of the order went unanswered: a later answer that looks final
(43012/25202 "Insufficient balance") or a duplicate (43118/25212) is not a verdict on the order
— the unanswered copy may have executed — so the executor looks it up before giving up, and the
run ends 0 (found) or 4 (unconfirmed), never 3, and never with a second sale."""

from __future__ import annotations

import logging

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    assert_one_accepted,
    both_modes,
    code_for,
    sniper_config,
    start_sniper,
    wait_until,
)

from sniper.errors import OrderUnconfirmed
from sniper.exchange import EmbeddedExchange

# no answer after 0.3 s, not found for 0.3 s, give up 0.8 s after the first lookup; these tests
# take the REST-only path (no private order feed), where the lookups and the holdings are all
# the evidence there is — test_sniper_reconcile.py has the same faults with the order feed
RESEND_TIMINGS = {
    "ORDER_TIMEOUT_S": "0.3",
    "LOOKUP_WINDOW_S": "0.3",
    "ORDER_RETRY_WINDOW_S": "0.8",
    "PRIVATE_FEED": "0",
}


async def listed_and_armed(ex: EmbeddedExchange, **env: str):  # type: ignore[no-untyped-def]
    await ex.list_symbol(
        TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
    )
    run = start_sniper(sniper_config(ex, **env))
    await run.armed()
    return run


def unanswered_fill_with_lagging_views(ex: EmbeddedExchange) -> None:
    """The first order executes but its reply never comes, orderInfo does not show it, and the
    balance reads lag behind the fill: the holdings rule is fooled into one resend."""
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    ex.faults.freeze_balances()


@pytest.mark.parametrize(
    ("mode", "duplicate_check", "duplicate_scope", "second_answer"),
    [
        ("classic", "before_balance", "any", "43118"),
        ("classic", "after_balance", "any", "43012"),  # §12.5's suggested validation order
        ("classic", "before_balance", "unfilled", "43012"),  # a filled order's clientOid is free
        ("uta", "after_balance", "any", "43012"),  # 25202 on UTA
    ],
)
async def test_sell_all_resend_after_an_unanswered_fill_is_never_a_rejection(
    ex: EmbeddedExchange,
    mode: str,
    duplicate_check: str,
    duplicate_scope: str,
    second_answer: str,
    log_records: list[logging.LogRecord],
) -> None:
    ex.settings.duplicate_check = duplicate_check  # type: ignore[assignment]
    ex.settings.duplicate_scope = duplicate_scope  # type: ignore[assignment]
    unanswered_fill_with_lagging_views(ex)
    run = await listed_and_armed(ex, COIN_AMOUNT="all", **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as info:
        await run.result()
    assert info.value.exit_code == 4
    client_oid = run.sniper.order.client_oid  # type: ignore[union-attr]
    assert client_oid in str(info.value) and "check your orders" in str(info.value)
    assert [o.code for o in ex.records.orders] == ["00000", code_for(ex, second_answer)]
    assert_one_accepted(ex, client_oid)
    assert ex.balance(API_KEY, "PAWS") == 0  # sold once
    assert any("may have executed" in r.getMessage() for r in log_records)


async def test_43012_after_an_unanswered_copy_is_found_by_lookup(
    ex: EmbeddedExchange, log_records: list[logging.LogRecord]
) -> None:
    """The same, but the order index catches up after the 43012: found → exit 0, reported with
    the order that executed first."""
    ex.settings.duplicate_check = "after_balance"
    unanswered_fill_with_lagging_views(ex)
    run = await listed_and_armed(ex, COIN_AMOUNT="all", **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    await wait_until(lambda: len(ex.records.orders) == 2, within=5)
    ex.faults.hide_orders_from_lookup = False
    result = await run.result()
    assert result.accepted_via == "lookup" and result.codes == ["43012"]
    assert result.order_id == ex.records.orders[0].order_id
    assert_one_accepted(ex, result.client_oid)
    assert ex.balance(API_KEY, "PAWS") == 0


@both_modes
async def test_unfilled_scope_partial_sell_withheld_and_hidden_is_never_resent(
    ex: EmbeddedExchange, mode: str
) -> None:
    """With duplicate_scope="unfilled" a resend of the filled order would be a SECOND sale (500
    of the 1000 PAWS are left): the holdings rule must keep the executor from resending."""
    ex.settings.duplicate_scope = "unfilled"
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    run = await listed_and_armed(ex, COIN_AMOUNT="500", **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as info:
        await run.result()
    assert info.value.exit_code == 4 and "PAWS balance fell by 500" in str(info.value)
    assert len(ex.records.orders) == 1, "resent: the exchange would have sold again"
    assert_one_accepted(ex, run.sniper.order.client_oid)  # type: ignore[union-attr]
    assert ex.balance(API_KEY, "PAWS") == 500


async def test_refused_lookups_after_an_unanswered_copy_are_unconfirmed_not_rejected(
    ex: EmbeddedExchange,
) -> None:
    """The reply is withheld, then every signed call is refused (the passphrase changed on the
    exchange): the order cannot be looked up, and it may have executed — exit 4, not 3."""
    ex.faults.withhold_next_order_reply()
    run = await listed_and_armed(ex, **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    await wait_until(lambda: len(ex.records.orders) == 1)
    ex.account(API_KEY).passphrase = "changed-on-the-exchange"
    with pytest.raises(OrderUnconfirmed) as info:
        await run.result()
    assert info.value.exit_code == 4 and "wrong passphrase" in str(info.value)
    assert len(ex.records.orders) == 1
    assert_one_accepted(ex, run.sniper.order.client_oid)  # type: ignore[union-attr]
