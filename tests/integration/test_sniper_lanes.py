"""The warm order lanes, duplicates, lanes down at the open, TLS."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sniper_harness import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    TARGET,
    assert_one_accepted,
    sniper_config,
    start_sniper,
    wait_until,
)

from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings
from sniper.live.lanes import USER_AGENT
from sniper.live.order import new_client_oid


async def test_keepalives_alternate_and_one_lane_is_always_idle(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1", POLL_INTERVAL_MS="3000"))
    await run.armed()
    trigger, lanes = run.sniper.trigger, run.sniper.lanes
    assert trigger is not None and lanes is not None
    for _ in range(300):  # ~0.6 s of samples, ~6 keep-alives
        (up0, idle0), (up1, idle1) = trigger.lane_state()
        assert up0 and up1
        assert idle0 or idle1, "both lanes busy: the order would queue behind a keep-alive"
        await asyncio.sleep(0.002)
    assert lanes.keepalives >= 4
    assert all(ln is not None and ln.requests >= 2 for ln in lanes.lanes), "alternating"
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


async def test_the_order_and_the_keepalives_say_user_agent(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1", POLL_INTERVAL_MS="3000"))
    await run.armed()
    lanes = run.sniper.lanes
    assert lanes is not None
    await wait_until(lambda: lanes.keepalives >= 2)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    assert USER_AGENT.startswith("sniper/")
    orders = [r for r in ex.records.requests if r.path.endswith("/place-order")]
    assert orders and all(r.headers.get("User-Agent") == USER_AGENT for r in orders)
    # the same path serves the REST client's clock sync (aiohttp, its own User-Agent)
    agents = [r.headers.get("User-Agent") for r in ex.records.requests if r.path.endswith("/time")]
    assert agents.count(USER_AGENT) >= lanes.keepalives >= 2


def _lane_errors(records: list[logging.LogRecord]) -> list[str]:
    return [
        r.getMessage() for r in records if r.name == "sniper.lanes" and r.levelno >= logging.ERROR
    ]


async def test_a_refusing_front_door_is_reported_while_armed(
    ex: EmbeddedExchange, log_records: list[logging.LogRecord]
) -> None:
    """A Cloudflare-style 403 on the keep-alives is an ERROR while armed, not news at the fire;
    its end is said too, and the sale then goes through once."""
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1", POLL_INTERVAL_MS="3000"))
    await run.armed()
    lanes = run.sniper.lanes
    assert lanes is not None
    await wait_until(lambda: lanes.front_door.status == 200)
    assert _lane_errors(log_records) == []
    ex.faults.front_door_403 = True
    await wait_until(lambda: lanes.front_door.refused)
    assert run.sniper.armed.is_set() and not run.task.done()  # type: ignore[union-attr]
    errors = _lane_errors(log_records)
    assert len(errors) == 1 and "HTTP 403" in errors[0] and "Cloudflare" in errors[0], errors
    ex.faults.front_door_403 = False
    await wait_until(lambda: not lanes.front_door.refused)
    errors = _lane_errors(log_records)
    assert len(errors) == 2 and "again (HTTP 200)" in errors[1], errors
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    text = "\n".join(r.getMessage() for r in log_records)
    assert all(secret not in text for secret in (API_KEY, SECRET, PASSPHRASE))


async def test_no_front_door_error_without_the_fault(
    ex: EmbeddedExchange, log_records: list[logging.LogRecord]
) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1", POLL_INTERVAL_MS="3000"))
    await run.armed()
    lanes = run.sniper.lanes
    assert lanes is not None
    await wait_until(lambda: lanes.keepalives >= 4 and lanes.front_door.status == 200)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    assert _lane_errors(log_records) == []
    assert not lanes.front_door.refused


async def test_a_lane_closed_by_the_server_is_reopened(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    lanes = run.sniper.lanes
    assert lanes is not None
    for lane in lanes.lanes:
        assert lane is not None
        lane.abort()
    await wait_until(lambda: lanes.reconnects >= 2 and all(ln and ln.idle for ln in lanes.lanes))
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws" and result.attempts == 1
    assert_one_accepted(ex, result.client_oid)


async def test_no_lane_up_at_the_open_sends_when_one_is_back(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="3000"))
    await run.armed()
    trigger = run.sniper.trigger
    assert trigger is not None
    # the trigger sees no lane at all (as if both had just dropped)
    trigger.set_lane(0, None, False)
    trigger.set_lane(1, None, False)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert trigger.lane == -1  # nothing was written by the hot path...
    assert result.attempts == 1  # ...so the executor sent it, once
    assert_one_accepted(ex, result.client_oid)


async def test_duplicate_client_oid_means_the_first_landed(ex: EmbeddedExchange) -> None:
    # the variant of a venue that keeps a FILLED order's clientOid (43118 on a resend); with
    # "unfilled" the resend would be a second sale (test_sniper_exactly_once covers that)
    ex.settings.duplicate_scope = "any"
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    oid = new_client_oid()
    first = await start_sniper(sniper_config(ex, COIN_AMOUNT="100"), client_oid=oid).result()
    assert first.accepted_via == "reply"
    # the same clientOid again (as a resend would): 43118, then found by lookup
    second = await start_sniper(sniper_config(ex, COIN_AMOUNT="100"), client_oid=oid).result()
    assert second.accepted_via == "lookup" and "43118" in second.codes
    assert second.order_id == first.order_id
    assert [o.code for o in ex.records.orders] == ["00000", "43118"]
    assert_one_accepted(ex, oid)


@pytest.fixture
async def tls_ex(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    async with EmbeddedExchange(ExchangeSettings(port=0, tls=True)) as exchange:
        exchange.add_account(Account(API_KEY, SECRET, PASSPHRASE, balances={"PAWS": "1000"}))
        yield exchange


async def test_tls_with_extra_ca_file(tls_ex: EmbeddedExchange, tmp_path: Path) -> None:
    assert tls_ex.rest_url.startswith("https://") and tls_ex.ws_url.startswith("wss://")
    assert tls_ex.ca_pem is not None
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls_ex.ca_pem)
    await tls_ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(tls_ex, BITGET_CA_FILE=str(ca), POLL_INTERVAL_MS="3000"))
    await run.armed()
    assert run.sniper.feed is not None and run.sniper.feed.subscribed
    tls_ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(tls_ex, result.client_oid)


async def test_tls_without_the_ca_is_refused_at_start(tls_ex: EmbeddedExchange) -> None:
    from sniper.errors import StartupError

    run = start_sniper(sniper_config(tls_ex))
    with pytest.raises(StartupError) as info:
        await run.result()
    assert "cannot reach" in str(info.value)
