"""The executor against a misbehaving exchange: retries, unknown outcomes, not-open-yet, 429s,
balance, clock skew, credentials, secrets, dry run."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest
from sniper_harness import (
    API_KEY,
    SECRETS,
    TARGET,
    assert_no_secret,
    assert_one_accepted,
    both_modes,
    code_for,
    sniper_config,
    start_sniper,
    ticker,
    wait_until,
)

from sniper.errors import OrderRejected, OrderUnconfirmed, SniperError, StartupError
from sniper.exchange import EmbeddedExchange


async def listed_and_armed(ex: EmbeddedExchange, **env: str):  # type: ignore[no-untyped-def]
    await ex.list_symbol(
        TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
    )
    run = start_sniper(sniper_config(ex, **env))
    await run.armed()
    return run


@both_modes
async def test_first_order_40015_is_retried_with_the_same_client_oid(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.queue_order_replies(["40015"])
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.codes == ["40015"] and result.attempts == 2
    assert [o.code for o in ex.records.orders] == ["40015", "00000"]
    assert_one_accepted(ex, result.client_oid)


async def test_retryable_http_errors(ex: EmbeddedExchange) -> None:
    ex.faults.queue_order_replies([429, 503, "40200"])
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert len(result.codes) == 3
    assert_one_accepted(ex, result.client_oid)


@both_modes
@pytest.mark.parametrize(("private_feed", "via"), [("1", "feed"), ("0", "lookup")])
async def test_withheld_reply_is_found_by_lookup_not_resent(
    ex: EmbeddedExchange, mode: str, private_feed: str, via: str
) -> None:
    ex.faults.withhold_next_order_reply()
    run = await listed_and_armed(ex, PRIVATE_FEED=private_feed)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.accepted_via == via  # the order feed's push, or the REST lookup
    assert len(ex.records.orders) == 1  # never resent blindly
    assert_one_accepted(ex, result.client_oid)
    assert result.order_id == ex.records.orders[0].order_id


@both_modes
async def test_43115_then_open_scheduled_fire_slightly_early(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.mute_ws_pushes = True
    open_at = ex.server_time_ms() + 1200
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", SCHEDULE_LEAD_MS="300"))
    result = await run.result()
    assert result.channel == "scheduled"
    not_open = code_for(ex, "43115")  # 25101 on UTA (§5.11)
    assert not_open in result.codes
    assert_one_accepted(ex, result.client_oid)
    early = [o for o in ex.records.orders if o.code == not_open]
    assert 1 <= len(early) <= 5
    # ~100 ms apart: within the 10 orders/s limit
    stamps = [o.first_byte_ns for o in ex.records.orders]
    assert all(b - a >= 90e6 for a, b in itertools.pairwise(stamps))


async def test_43115_retries_at_once_when_another_channel_sees_the_open(
    ex: EmbeddedExchange,
) -> None:
    open_at = ex.server_time_ms() + 1200
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=True)
    # fires 1 s early, then 43115s at ~1/100 ms; the WS listing ticker cuts the wait short
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", SCHEDULE_LEAD_MS="1000"))
    result = await run.result()
    assert result.channel == "scheduled" and result.open_seen_by == "ws"
    accepted = next(o for o in ex.records.orders if o.accepted)
    listing_ns = ex.records.listing_ticker_ns[TARGET]
    assert accepted.first_byte_ns - listing_ns < 50e6  # not a full 100 ms retry period later
    assert_one_accepted(ex, result.client_oid)


@pytest.mark.parametrize("failure", [502, 503, 403], ids=["502", "503", "403-html"])
async def test_5xx_storm_and_front_door_pages_on_polls_back_off_and_say_so(
    ex: EmbeddedExchange, failure: int, log_records: list[logging.LogRecord]
) -> None:
    """Issue 12: the poller backs off on a 5xx storm (or a front door's 403 page) and says so
    once, then once more when the symbols endpoint answers again."""
    ex.faults.mute_ws_pushes = True
    run = await listed_and_armed(ex)
    ex.faults.fail_polls(failure, count=6)
    await wait_until(lambda: run.sniper.poller.throttles >= 6, within=5)
    assert run.sniper.poller.interval_ms > 50
    said = [r.getMessage() for r in log_records if r.getMessage().startswith("poll:")]
    assert len([m for m in said if "slowing to" in m]) == 1, said
    assert f"HTTP {failure}" in said[0]
    await wait_until(
        lambda: any("answering normally again" in r.getMessage() for r in log_records), within=10
    )
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "poll"
    assert_one_accepted(ex, result.client_oid)
    polls = [r.first_byte_ns for r in ex.records.requests if r.path.endswith("/public/symbols")]
    gaps = [b - a for a, b in itertools.pairwise(polls[:8])]
    assert max(gaps) >= 150e6, "backed off during the storm"


async def test_429_on_polls_backs_off_then_fires(ex: EmbeddedExchange) -> None:
    ex.faults.mute_ws_pushes = True
    run = await listed_and_armed(ex)
    ex.faults.fail_polls(429, count=3)
    await wait_until(lambda: run.sniper.poller.throttles >= 3, within=3)
    assert run.sniper.poller.interval_ms > 50
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "poll"
    assert_one_accepted(ex, result.client_oid)
    polls = [r.first_byte_ns for r in ex.records.requests if r.path.endswith("/public/symbols")]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert min(gaps) >= 40e6, "never polls faster than the 50 ms (20 req/s) limit"


@both_modes
async def test_insufficient_balance_warns_waits_and_sells_after_deposit(
    ex: EmbeddedExchange, mode: str, log_records: list[logging.LogRecord]
) -> None:
    ex.set_balance(API_KEY, "PAWS", "100")
    run = await listed_and_armed(ex)
    assert any(
        "Insufficient balance: 100 available, 1000 requested" in r.getMessage() for r in log_records
    )
    assert not run.task.done()  # type: ignore[union-attr]
    ex.set_balance(API_KEY, "PAWS", "1000")
    await wait_until(lambda: run.sniper.upkeep.balance.available == 1000, within=2)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


@both_modes
async def test_insufficient_balance_at_the_open_is_a_final_rejection(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.set_balance(API_KEY, "PAWS", "100")
    run = await listed_and_armed(ex)
    ex.open_symbol(TARGET)
    with pytest.raises(OrderRejected) as info:
        await run.result()
    assert info.value.exit_code == 3 and "insufficient balance" in str(info.value)
    assert [o.code for o in ex.records.orders] == [code_for(ex, "43012")]


async def test_clock_skew_20s_still_signs_accepted_requests(ex: EmbeddedExchange) -> None:
    ex.faults.clock_skew_ms = 20_000
    run = await listed_and_armed(ex)
    assert abs(run.sniper.clock.offset_ms - 20_000) < 200
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"BITGET_API_KEY": "bg_wrongkey0000000000000000"}, "API key not found"),
        ({"BITGET_SECRET_KEY": "wrongsecret000000000000000000000"}, "signature rejected"),
        ({"BITGET_PASSPHRASE": "wrongpass000000"}, "wrong passphrase"),
    ],
)
@both_modes
async def test_bad_credentials_stop_at_start_in_plain_words(
    ex: EmbeddedExchange, mode: str, override: dict[str, str], words: str
) -> None:
    run = start_sniper(sniper_config(ex, **override))
    with pytest.raises(StartupError) as info:
        await run.result()
    text = str(info.value)
    assert words in text and info.value.exit_code == 2
    assert_no_secret(text, repr(info.value))
    assert ex.records.orders == []


async def test_no_secret_in_any_output(
    ex: EmbeddedExchange, log_records: list[logging.LogRecord]
) -> None:
    run = await listed_and_armed(ex, ORDER_TIMEOUT_S="0.3")
    ex.faults.queue_order_replies(["40015"])
    ex.faults.withhold_next_order_reply()
    ex.open_symbol(TARGET)
    result = await run.result()
    texts = [run.out.getvalue(), repr(result), str(result.as_dict())]
    texts += [r.getMessage() for r in log_records]
    texts += [str(r.args) for r in log_records]
    assert_no_secret(*texts)
    assert len(log_records) > 10
    # and a failing run's exception text
    run2 = start_sniper(sniper_config(ex, BITGET_PASSPHRASE="wrong-pass-123456"))
    with pytest.raises(SniperError) as info:
        await run2.result()
    assert_no_secret(str(info.value), repr(info.value), str(info.value.__cause__))


async def test_dry_run_writes_no_order(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex), dry_run=True)
    await run.armed()
    ex.open_symbol(TARGET)
    result = await run.result()
    await asyncio.sleep(0.2)
    assert result.dry_run and result.order_id is None
    assert ex.records.orders == []
    assert not any(r.path.endswith("/place-order") for r in ex.records.requests)
    preview = result.request_preview or ""
    assert "POST /api/v2/spot/trade/place-order HTTP/1.1" in preview
    assert '"side":"sell"' in preview and "ACCESS-SIGN: " in preview
    assert_no_secret(preview, run.out.getvalue())
    for secret in SECRETS:
        assert secret not in preview


async def test_gray_pair_pushing_tickers_does_not_hammer_the_venue(ex: EmbeddedExchange) -> None:
    """If a not-yet-open pair pushed ticker data, the WS channel fires early: the 43115s that
    follow make its later hits stop counting as "open", so retries stay paced (~10/s at most)."""
    run = await listed_and_armed(ex, POLL_INTERVAL_MS="200")
    for _ in range(20):  # 1 s of gray "tickers" at 20/s
        await ex.faults.send_ws_frames([ticker(TARGET)])
        await asyncio.sleep(0.05)
    early = [o for o in ex.records.orders if o.code == "43115"]
    assert 3 <= len(early) <= 12, len(early)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws" and "43115" in result.codes
    assert_one_accepted(ex, result.client_oid)


# --- the resend rule: never sell twice -----------------------------------------------------------
# Short windows: no answer after 0.3 s, not found for 0.3 s, give up 0.8 s after the first lookup.
# no answer after 0.3 s, not found for 0.3 s; the order feed's silence counts 1 s after the write
RESEND_TIMINGS = {"ORDER_TIMEOUT_S": "0.3", "LOOKUP_WINDOW_S": "0.3", "ORDER_RETRY_WINDOW_S": "2"}


@both_modes
async def test_filled_order_hidden_from_lookup_is_never_resent(
    ex: EmbeddedExchange, mode: str, log_records: list[logging.LogRecord]
) -> None:
    """The order executes but its reply is withheld AND orderInfo says "not found" (an index
    that lags), on the REST-only path: the balance fell, so the same clientOid must not be sent
    again. (With the order feed the push finds it: test_sniper_reconcile.py.)"""
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    run = await listed_and_armed(ex, PRIVATE_FEED="0", **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as info:
        await run.result()
    text = str(info.value)
    client_oid = run.sniper.order.client_oid  # type: ignore[union-attr]
    assert f"clientOid {client_oid} could not be confirmed and was not resent" in text
    assert "PAWS balance fell by 1000 since the fire (it probably executed)" in text
    assert "check your orders" in text
    assert info.value.exit_code == 4
    assert len(ex.records.orders) == 1, "resent after it executed"
    assert_one_accepted(ex, client_oid)
    assert ex.balance(API_KEY, "PAWS") == 0  # sold once, not twice
    assert any("NOT resending" in r.getMessage() for r in log_records)
    assert not any("resending (same clientOid)" in r.getMessage() for r in log_records)


@both_modes
async def test_order_lost_before_the_exchange_is_resent_and_accepted_once(
    ex: EmbeddedExchange, mode: str
) -> None:
    """The request never reached the matching engine: not found, balance unchanged → one resend
    with the same clientOid, accepted; exactly one order executed."""
    ex.faults.drop_next_order_request()
    run = await listed_and_armed(ex, **RESEND_TIMINGS)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.attempts == 2 and result.accepted_via == "reply"
    assert len(ex.records.orders) == 2
    assert not ex.records.orders[0].accepted and ex.records.orders[1].accepted
    assert_one_accepted(ex, result.client_oid)
    assert ex.balance(API_KEY, "PAWS") == 0


async def test_unreadable_balance_means_no_resend(ex: EmbeddedExchange) -> None:
    """Not found, and the balance cannot be read: no proof it did not execute → not resent."""
    ex.faults.drop_next_order_request()
    run = await listed_and_armed(ex, **RESEND_TIMINGS)
    executor = run.sniper.executor
    assert executor is not None
    reads = 0

    async def unreadable() -> None:
        nonlocal reads
        reads += 1

    executor.reconciler.read_holdings = unreadable  # type: ignore[method-assign]
    ex.open_symbol(TARGET)
    with pytest.raises(OrderUnconfirmed) as info:
        await run.result()
    assert "balance cannot be read" in str(info.value) and info.value.exit_code == 4
    assert len(ex.records.orders) == 1 and not ex.records.orders[0].accepted
    assert reads >= 1  # re-read while looking up (a readable balance may still allow it)
