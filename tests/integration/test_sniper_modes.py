"""Account modes (auto-detected classic / UTA, or set), demo trading, --open-time, amounts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    assert_no_secret,
    assert_one_accepted,
    both_modes,
    run_cli,
    sniper_config,
    sniper_env,
    start_sniper,
    wait_until,
)

from sniper.errors import CredentialsRejected
from sniper.exchange import EmbeddedExchange


@both_modes
async def test_account_mode_detected_and_the_venue_follows(ex: EmbeddedExchange, mode: str) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    run = start_sniper(sniper_config(ex))
    result = await run.result()
    readiness = run.sniper.preflight.readiness
    assert readiness.account_source == "detected" and readiness.config.account == mode
    assert readiness.venue.mode == mode
    settings = [r for r in ex.records.requests if r.path == "/api/v3/account/settings"]
    assert len(settings) == 1  # one signed call tells them apart
    wrong = "/api/v3/" if mode == "classic" else "/api/v2/spot/account"
    assert not any(r.path.startswith(wrong) for r in ex.records.requests if r is not settings[0]), (
        "a call on the other generation's API"
    )
    assert_one_accepted(ex, result.client_oid)


@pytest.mark.parametrize(("mode", "forced"), [("uta", "classic"), ("classic", "uta")])
async def test_forced_wrong_account_mode_says_which_to_set(
    ex: EmbeddedExchange, mode: str, forced: str
) -> None:
    run = start_sniper(sniper_config(ex, BITGET_ACCOUNT=forced))
    with pytest.raises(CredentialsRejected) as info:
        await run.result()
    assert f"set BITGET_ACCOUNT={mode}" in str(info.value) and info.value.exit_code == 2
    assert not any(r.path == "/api/v3/account/settings" for r in ex.records.requests)


@both_modes
@pytest.mark.parametrize("demo", [True])
async def test_demo_trading_sends_paptrading_on_every_rest_call(
    ex: EmbeddedExchange, mode: str, demo: bool
) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    config = sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1")
    assert config.demo
    run = start_sniper(config)
    await run.armed()
    await asyncio.sleep(0.3)  # a few keep-alives on the order lanes
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    rest = [r for r in ex.records.requests if r.path.startswith("/api/")]
    assert any(r.path.endswith("/place-order") for r in rest)
    assert any(r.path == "/api/v2/public/time" for r in rest)
    assert all(r.headers.get("paptrading") == "1" for r in rest), [
        r.path for r in rest if r.headers.get("paptrading") != "1"
    ]


@pytest.mark.parametrize("demo", [True])
async def test_demo_exchange_refuses_a_live_run_and_the_flag_fixes_it(
    ex: EmbeddedExchange, demo: bool
) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    env = sniper_env(ex)
    del env["BITGET_DEMO"]
    code, out, err = await run_cli(["run"], env)
    assert code == 2 and "demo keys need BITGET_DEMO=1" in err
    assert ex.records.orders == []
    code, out, err = await run_cli(["run", "--demo"], env)
    assert code == 0, err
    assert_one_accepted(ex, ex.records.orders[-1].client_oid or "")
    assert_no_secret(out, err)


@pytest.mark.parametrize("mode", ["uta"])  # the classic path: the CLI test below
async def test_open_time_override_arms_the_scheduled_channel(
    ex: EmbeddedExchange, mode: str
) -> None:
    ex.faults.mute_ws_pushes = True
    open_at = ex.server_time_ms() + 1200
    # the exchange opens on time but never announces openTime
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=False)
    run = start_sniper(sniper_config(ex, POLL_INTERVAL_MS="5000", OPEN_TIME=str(open_at)))
    await run.armed()
    readiness = run.sniper.preflight.readiness
    assert readiness.symbol.open_time_ms is None and readiness.open_time_ms == open_at
    assert run.sniper.watch is not None and run.sniper.watch.open_time_ms == open_at
    result = await run.result()
    assert result.channel == "scheduled"
    assert_one_accepted(ex, result.client_oid)
    accepted = next(o for o in ex.records.orders if o.accepted)
    assert accepted.first_byte_ns / 1e6 - open_at < 150


async def test_open_time_cli_option_iso(ex: EmbeddedExchange) -> None:
    ex.faults.mute_ws_pushes = True
    open_at = ex.server_time_ms() + 2200  # the child needs ~0.8 s to arm
    await ex.list_symbol(TARGET, open_at_ms=open_at, price="0.0123", announce_open_time=False)
    iso = datetime.fromtimestamp(open_at / 1000, UTC).isoformat(timespec="milliseconds")
    env = sniper_env(ex, POLL_INTERVAL_MS="5000")
    code, out, err = await run_cli(["run", "--open-time", iso.replace("+00:00", "Z")], env)
    assert code == 0, err
    assert "fired by scheduled" in out and "using OPEN_TIME / --open-time" in err
    code, out, err = await run_cli(["run", "--open-time", "tomorrow"], env)
    assert code == 2 and "--open-time" in err


async def test_all_sells_the_balance_and_is_re_templated_when_it_changes(
    ex: EmbeddedExchange,
) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", quantity_precision=2)
    ex.set_balance(API_KEY, "PAWS", "1000.129")
    run = start_sniper(sniper_config(ex, COIN_AMOUNT="all"))
    await run.armed()
    order = run.sniper.order
    assert order is not None and order.size == "1000.12"  # floored to quantityPrecision 2
    ex.set_balance(API_KEY, "PAWS", "1500.5")
    await wait_until(lambda: order.size == "1500.5", within=2)
    assert b'"size":"1500.5"' in (order.request or b"")
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.size == "1500.5"
    assert_one_accepted(ex, result.client_oid)
    assert ex.records.orders[0].size == "1500.5"


async def test_order_value_under_the_minimum_is_warned_at_start(
    ex: EmbeddedExchange, log_records: list[logging.LogRecord]
) -> None:
    ex.add_symbol(TARGET, status="gray", price="0.0123", quantity_precision=2, min_trade_usdt="5")
    run = start_sniper(sniper_config(ex, COIN_AMOUNT="100"))
    await run.armed()
    texts = [r.getMessage() for r in log_records]
    # gray: no price yet, and it says so
    assert any("cannot be checked yet: no price" in t and "5 USDT" in t for t in texts), texts
    assert run.task is not None
    run.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run.task
    log_records.clear()
    ex.set_symbol_status(TARGET, "halt")  # not trading, but priced: 100 x 0.0123 = 1.23 USDT
    run = start_sniper(sniper_config(ex, COIN_AMOUNT="100"))
    await run.armed()
    warnings = [r.getMessage() for r in log_records if r.levelno == logging.WARNING]
    assert any("under the minimum" in t and "1.23 USDT" in t and "45110" in t for t in warnings)
    assert run.task is not None
    run.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run.task


async def test_coin_amount_below_one_step_stops_at_start(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", quantity_precision=2)
    code, _, err = await run_cli(["run"], sniper_env(ex, COIN_AMOUNT="0.001"))
    assert code == 2 and "COIN_AMOUNT" in err and "one step" in err and "Traceback" not in err
    assert ex.records.orders == []


async def test_cli_unconfirmed_order_exits_4_with_the_message(ex: EmbeddedExchange) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    ex.faults.withhold_next_order_reply()
    ex.faults.hide_orders_from_lookup = True
    # REST only (no private order feed, which would have seen the order): lookups + holdings
    env = sniper_env(
        ex,
        ORDER_TIMEOUT_S="0.3",
        LOOKUP_WINDOW_S="0.3",
        ORDER_RETRY_WINDOW_S="0.5",
        PRIVATE_FEED="0",
    )
    code, out, err = await run_cli(["run"], env)
    assert code == 4, err
    assert "PAWS balance fell by 1000 since the fire (it probably executed)" in err
    assert "check your orders" in err and "Traceback" not in err
    assert len(ex.records.orders) == 1
    assert_no_secret(out, err)
