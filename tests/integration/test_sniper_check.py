"""``sniper check`` against the embedded exchange: the readiness table, exit codes, no secret."""

from __future__ import annotations

import json
from pathlib import Path

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

import sniper
from sniper.config import load_config
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


# --- listing-day fields, permission, front door, configuration warnings (issue 11) -------------


@both_modes
async def test_a_restricted_api_pair_is_a_fail_on_uta(ex: EmbeddedExchange, mode: str) -> None:
    """v3 status ``restrictedAPI`` (an order would get 25013): FAIL. v2 has no such status."""
    ex.add_symbol(TARGET, status="gray", price="0.0123", quantity_precision=2, restricted_api=True)
    items = await run_checks(sniper_config(ex))
    row = by_item(items)["symbol"]
    if mode == "uta":
        assert not ready(items) and row.status == FAIL, render(items)
        assert "restrictedAPI" in row.value and "25013" in row.hint
    else:
        assert row.status == OK and "gray" in row.value, render(items)


@both_modes
async def test_coin_amount_over_the_market_order_cap_warns(ex: EmbeddedExchange, mode: str) -> None:
    """Over the cap (v3 ``maxMarketOrderQty`` in PAWS; v2 ``maxMarketOrderValue`` in USDT, which
    an online pair's price makes comparable): WARN naming 45113. The check never fails on it."""
    ex.add_symbol(
        TARGET,
        status="online",
        price="0.0123",
        quantity_precision=2,
        max_market_order_qty="500",  # 1000 PAWS > 500 PAWS (v3)
        max_market_order_value="10",  # 1000 x 0.0123 = 12.3 USDT > 10 USDT (v2)
    )
    items = await run_checks(sniper_config(ex))
    row = by_item(items)["market-order cap"]
    assert row.status == WARN and "45113" in row.hint, render(items)
    assert ("500 PAWS" if mode == "uta" else "10 USDT") in row.value
    assert ready(items)  # a WARN: `run` still arms
    rows = by_item(await run_checks(sniper_config(ex, COIN_AMOUNT="400")))
    row = rows["market-order cap"]
    assert row.status == OK, row  # 400 PAWS ≤ 500 PAWS; 4.92 USDT ≤ 10 USDT
    assert ("500 PAWS" if mode == "uta" else "10 USDT") in row.value


@both_modes
async def test_a_value_cap_without_a_price_is_not_comparable_yet(
    ex: EmbeddedExchange, mode: str
) -> None:
    """A gray pair has no price: v2's cap (a value) cannot be compared yet (WARN); v3's cap is a
    base quantity and needs no price."""
    await ex.list_symbol(
        TARGET,
        open_at_ms=None,
        price="0.0123",
        announce_open_time=False,
        max_market_order_qty="500",
        max_market_order_value="10",
    )
    items = await run_checks(sniper_config(ex))
    row = by_item(items)["market-order cap"]
    if mode == "uta":
        assert row.status == WARN and "45113" in row.hint and "500 PAWS" in row.value, row
    else:
        assert row.status == WARN and "not comparable yet" in row.value, row
        assert "10 USDT" in row.hint


@both_modes
async def test_no_market_order_cap_is_ok(ex: EmbeddedExchange, mode: str) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    row = by_item(await run_checks(sniper_config(ex)))["market-order cap"]
    assert row.status == OK and row.value == "none shown", row


@pytest.mark.parametrize("code", ["25620", "40014"])
@pytest.mark.parametrize("mode", ["uta"])
async def test_uta_key_without_trade_permission_is_a_fail(
    ex: EmbeddedExchange, mode: str, code: str
) -> None:
    """A UTA key without trade permission: the probe order gets 25620 "permission denied"
    (§5.11) or 40014 (both variants of the [UNCERTAIN] ``v3_permission_code``): FAIL."""
    ex.settings.v3_permission_code = code
    ex.add_account(
        Account(
            "bg_readonlyKEY0000000000000", SECRET, PASSPHRASE, mode="uta", permissions=("read",)
        )
    )
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    items = await run_checks(sniper_config(ex, BITGET_API_KEY="bg_readonlyKEY0000000000000"))
    rows = by_item(items)
    assert rows["account mode"].value.startswith("UTA") and rows["credentials"].status == OK
    row = rows["trade permission"]
    assert not ready(items) and row.status == FAIL, render(items)
    assert f"exchange code {code}" in row.hint and "enable spot trading" in row.hint
    assert row.value == ("permission denied" if code == "25620" else "missing")
    probes = [o for o in ex.records.orders if o.api_key == "bg_readonlyKEY0000000000000"]
    assert probes and all(not o.accepted and o.code == code for o in probes)


@both_modes
async def test_the_front_door_answers_the_keep_alive(ex: EmbeddedExchange, mode: str) -> None:
    """One GET exactly as the order connections' keep-alive (User-Agent sniper/<version>)."""
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    items = await run_checks(sniper_config(ex))
    row = by_item(items)["front door"]
    assert row.status == OK and row.value.startswith("HTTP 200"), render(items)
    assert f"sniper/{sniper.__version__}" in row.value
    agents = {
        r.headers.get("User-Agent")
        for r in ex.records.requests
        if r.path == "/api/v2/public/time" and "ACCESS-KEY" not in r.headers
    }
    assert f"sniper/{sniper.__version__}" in agents


async def test_a_refusing_front_door_is_a_fail_with_its_page_title(ex: EmbeddedExchange) -> None:
    """A Cloudflare-style 403 page on the keep-alive GET: FAIL with the status and the title."""
    ex.faults.front_door_403 = True
    items = await run_checks(sniper_config(ex))
    rows = by_item(items)
    row = rows["front door"]
    assert not ready(items) and row.status == FAIL, render(items)
    assert row.value == "HTTP 403: Attention Required! | Cloudflare"
    assert "would be refused too" in row.hint
    assert rows["exchange"].status == FAIL  # the same front door answers the clock sync here
    ex.faults.front_door_403 = False
    rows = by_item(await run_checks(sniper_config(ex)))
    assert rows["front door"].status == OK and rows["exchange clock"].status == OK


async def test_an_unreachable_rest_host_fails_the_front_door_row(ex: EmbeddedExchange) -> None:
    config = sniper_config(ex, BITGET_REST_URL="http://127.0.0.1:9")
    row = by_item(await run_checks(config))["front door"]
    assert row.status == FAIL and row.value == "cannot connect", row


async def test_a_group_readable_env_file_is_a_warn_row(
    ex: EmbeddedExchange, tmp_path: Path
) -> None:
    """The configuration's start-up warnings are listed as WARN rows (the table stays READY)."""
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    env_file = tmp_path / "group.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in sniper_env(ex).items()))
    env_file.chmod(0o640)
    items = await run_checks(load_config(env_file=env_file, environ={}))
    warned = [i for i in items if i.item == "configuration" and i.status == WARN]
    assert len(warned) == 1, render(items)
    assert "mode 640" in warned[0].hint and f"chmod 600 {env_file}" in warned[0].hint
    assert ready(items)
    assert_no_secret(render(items))
    env_file.chmod(0o600)
    items = await run_checks(load_config(env_file=env_file, environ={}))
    assert not [i for i in items if i.status == WARN and i.item == "configuration"]
