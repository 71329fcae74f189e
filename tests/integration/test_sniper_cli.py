"""The CLI contract, through a real subprocess: ``python -m sniper run`` takes its config from the
environment, exits 0 after exactly one accepted order, 2 on start-up/config failures, 3 on a
rejected order, and never prints a credential."""

from __future__ import annotations

import asyncio
import json

from sniper_harness import (
    TARGET,
    assert_no_secret,
    assert_one_accepted,
    run_cli,
    sniper_env,
    wait_until,
)

from sniper.exchange import EmbeddedExchange


async def test_cli_sells_once_exits_0_json_lines_no_secret(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    env = sniper_env(ex, POLL_INTERVAL_MS="2000")
    proc = asyncio.create_task(run_cli(["run", "--json", "--verbose"], env))

    def subscribed() -> bool:
        return any(
            s.arg.get("instId") == TARGET and s.result == "ok" for s in ex.records.ws_subscriptions
        )

    await wait_until(lambda: subscribed() or proc.done(), within=15)
    assert not proc.done(), proc.result()
    await asyncio.sleep(0.1)  # subscribed → armed
    ex.open_symbol(TARGET)
    code, out, err = await proc
    assert code == 0, err
    assert_no_secret(out, err)
    docs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(docs) == 1 and docs[0]["event"] == "sold"
    sold = docs[0]
    assert sold["order_id"] == ex.records.orders[0].order_id and sold["channel"] == "ws"
    assert sold["detect_to_written_us"] > 0 and sold["fill"]["status"] == "filled"
    logs = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert logs and all("msg" in d and "level" in d for d in logs)
    assert_one_accepted(ex, sold["client_oid"])


async def test_cli_text_output_already_online(ex: EmbeddedExchange) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    code, out, err = await run_cli(["run"], sniper_env(ex))
    assert code == 0, err
    order = ex.records.orders[0]
    assert f"orderId {order.order_id}" in out and "fired by startup" in out
    assert "µs" in out and "fill: status filled" in out
    assert "already online" in err
    assert_no_secret(out, err)


async def test_cli_bad_passphrase_exit_2_one_line(ex: EmbeddedExchange) -> None:
    code, out, err = await run_cli(["run"], sniper_env(ex, BITGET_PASSPHRASE="not-the-pass-9"))
    assert code == 2
    errors = [ln for ln in err.splitlines() if "ERROR" in ln]
    assert len(errors) == 1 and "wrong passphrase" in errors[0]
    assert "BITGET_PASSPHRASE" in errors[0]
    assert "Traceback" not in err
    assert_no_secret(out, err)


async def test_cli_rejected_order_exit_3(ex: EmbeddedExchange) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    ex.faults.queue_order_replies(["45110"])
    code, out, err = await run_cli(["run"], sniper_env(ex))
    assert code == 3, err
    assert "below the pair's minimum" in err and "45110" in err
    assert "Traceback" not in err
    assert_no_secret(out, err)


async def test_cli_config_error_exit_2(ex: EmbeddedExchange) -> None:
    env = sniper_env(ex)
    env["COIN_AMOUNT"] = "-5"
    code, out, err = await run_cli(["run"], env)
    assert code == 2
    assert "COIN_AMOUNT" in err and "Traceback" not in err
    assert_no_secret(out, err)


async def test_cli_dry_run_sends_nothing_exit_0(ex: EmbeddedExchange) -> None:
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    code, out, err = await run_cli(["run", "--dry-run"], sniper_env(ex))
    assert code == 0, err
    assert ex.records.orders == []
    assert "DRY RUN" in out and "ACCESS-SIGN: " in out and "place-order" in out
    assert_no_secret(out, err)


async def test_cli_env_file(ex: EmbeddedExchange, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ex.add_symbol(TARGET, status="online", price="0.0123", quantity_precision=2)
    env = sniper_env(ex)
    env_file = tmp_path / "sniper.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    code, out, err = await run_cli(["run", "--env-file", str(env_file)], {})
    assert code == 0, err
    assert_no_secret(out, err)
    assert_one_accepted(ex, ex.records.orders[0].client_oid or "")
