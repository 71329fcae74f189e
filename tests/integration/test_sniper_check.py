"""``sniper check`` against the embedded exchange: the readiness table, exit codes, no secret."""

from __future__ import annotations

import json

import pytest
from sniper_harness import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    TARGET,
    assert_no_secret,
    both_modes,
    run_cli,
    sniper_config,
    sniper_env,
)

from sniper.exchange import Account, EmbeddedExchange
from sniper.live.check import FAIL, OK, SKIP, WARN, Item, ready, render, run_checks


def by_item(items: list[Item]) -> dict[str, Item]:
    return {i.item: i for i in items}


@both_modes
async def test_ready_configuration(ex: EmbeddedExchange, mode: str) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    items = await run_checks(sniper_config(ex))
    rows = by_item(items)
    assert ready(items), render(items)
    assert rows["account mode"].value.startswith("UTA (detected)" if mode == "uta" else "classic")
    assert rows["credentials"].status == OK
    assert rows["trade permission"].status == OK
    assert rows["balance"].status == OK and "1000 PAWS available" in rows["balance"].value
    assert rows["symbol"].status == OK and "gray" in rows["symbol"].value
    assert rows["order value"].status == WARN  # no price before the open: said, not failed
    assert "ticker subscribed" in rows["WebSocket"].value and "ping→pong" in rows["WebSocket"].value
    assert ("v3/ws/public" in rows["WebSocket"].value) == (mode == "uta")
    assert not any(o.accepted for o in ex.records.orders)  # the probe is never an order


async def test_ready_cli_table_exit_0_and_json(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    code, out, err = await run_cli(["check"], sniper_env(ex))
    assert code == 0, out + err
    assert out.splitlines()[0].split() == ["ITEM", "VALUE", "STATUS", "HINT"]
    assert "READY: 0 FAIL" in out
    assert_no_secret(out, err)
    code, out, err = await run_cli(["check", "--json"], sniper_env(ex))
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["ready"] is True
    assert {i["status"] for i in doc["items"]} <= {OK, WARN}
    assert_no_secret(out, err)
    assert ex.records.orders == [] or not any(o.accepted for o in ex.records.orders)


async def test_bad_passphrase_not_ready_exit_1_no_secret(ex: EmbeddedExchange) -> None:
    env = sniper_env(ex, BITGET_PASSPHRASE="wrong-pass-123456")
    code, out, err = await run_cli(["check"], env)
    assert code == 1, out + err
    line = next(ln for ln in out.splitlines() if ln.startswith("credentials"))
    assert FAIL in line and "wrong passphrase" in line and "BITGET_PASSPHRASE" in line
    assert "NOT READY" in out
    assert_no_secret(out, err)
    assert "wrong-pass-123456" not in out + err


@both_modes
async def test_insufficient_balance_is_a_fail(ex: EmbeddedExchange, mode: str) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123")
    ex.set_balance(API_KEY, "PAWS", "100")
    items = await run_checks(sniper_config(ex))
    rows = by_item(items)
    assert not ready(items)
    assert rows["balance"].status == FAIL
    assert "100 PAWS available, 1000 requested" in rows["balance"].value
    assert ("25202" if mode == "uta" else "43012") in rows["balance"].hint


async def test_absent_and_online_pairs_are_not_fails(ex: EmbeddedExchange) -> None:
    items = await run_checks(sniper_config(ex))  # PAWSUSDT not listed at all
    rows = by_item(items)
    assert ready(items), render(items)
    assert rows["symbol"].status == WARN and "not listed yet" in rows["symbol"].value
    assert "30001" in rows["WebSocket"].value
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    rows = by_item(await run_checks(sniper_config(ex)))
    assert rows["symbol"].status == WARN and "already online" in rows["symbol"].value
    assert rows["order value"].status == OK and "12.3 USDT" in rows["order value"].value


async def test_order_value_under_the_minimum_and_a_sub_step_amount_fail(
    ex: EmbeddedExchange,
) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2, min_trade_usdt="5")
    rows = by_item(await run_checks(sniper_config(ex, COIN_AMOUNT="100")))
    assert rows["order value"].status == FAIL and "45110" in rows["order value"].hint
    rows = by_item(await run_checks(sniper_config(ex, COIN_AMOUNT="0.001")))
    assert rows["order size"].status == FAIL and "one step" in rows["order size"].hint
    rows = by_item(await run_checks(sniper_config(ex, COIN_AMOUNT="500.129")))
    assert rows["order size"].status == WARN and "500.12" in rows["order size"].value


async def test_missing_trade_permission_is_a_fail(ex: EmbeddedExchange) -> None:
    ex.add_account(
        Account("bg_readonlyKEY0000000000000", SECRET, PASSPHRASE, permissions=("read",))
    )
    config = sniper_config(ex, BITGET_API_KEY="bg_readonlyKEY0000000000000")
    rows = by_item(await run_checks(config))
    assert rows["credentials"].status == OK
    assert rows["trade permission"].status == FAIL
    assert "enable spot trading" in rows["trade permission"].hint


async def test_unreachable_exchange(ex: EmbeddedExchange) -> None:
    config = sniper_config(
        ex, BITGET_REST_URL="http://127.0.0.1:9", BITGET_WS_URL="ws://127.0.0.1:9/"
    )
    items = await run_checks(config)
    rows = by_item(items)
    assert not ready(items) and rows["exchange"].status == FAIL
    assert rows["credentials"].status == SKIP


async def test_config_error_exit_2(ex: EmbeddedExchange) -> None:
    code, out, err = await run_cli(["check"], sniper_env(ex, COIN_AMOUNT="-1"))
    assert code == 2
    assert "COIN_AMOUNT" in out and FAIL in out
    assert_no_secret(out, err)


@pytest.mark.parametrize("demo", [True])
async def test_check_in_demo_mode(ex: EmbeddedExchange, demo: bool) -> None:
    env = sniper_env(ex)
    env.pop("BITGET_DEMO")
    code, out, err = await run_cli(["check", "--demo"], env)
    assert code == 0, out + err
    assert "demo trading" in out


@both_modes
async def test_bad_passphrase_rows(ex: EmbeddedExchange, mode: str) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123")
    items = await run_checks(sniper_config(ex, BITGET_PASSPHRASE="wrong-pass-123456"))
    rows = by_item(items)
    assert not ready(items)
    assert rows["credentials"].status == FAIL and "wrong passphrase" in rows["credentials"].hint
    assert rows["account mode"].status == SKIP and rows["balance"].status == SKIP
    # the public checks still run, on the WS URL's generation
    assert rows["symbol"].status == OK
    assert rows["WebSocket"].status == OK and "ticker subscribed" in rows["WebSocket"].value
    assert_no_secret(render(items))


async def test_v2_minimum_in_usdt_is_not_compared_with_a_btc_value(ex: EmbeddedExchange) -> None:
    ex.add_symbol("PAWSBTC", status="online", price="0.0000003", quantity_precision=2)
    items = await run_checks(sniper_config(ex, TARGET_TOKEN="PAWS/BTC"))
    row = by_item(items)["order value"]
    assert row.status == WARN and "USDT" in row.value
