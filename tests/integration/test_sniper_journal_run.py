"""Issue 12: the journal and the single-instance lock in `sniper run` (real sockets)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from sniper_harness import (
    API_KEY,
    TARGET,
    assert_one_accepted,
    both_modes,
    run_cli,
    sniper_config,
    sniper_env,
    start_sniper,
    wait_until,
)

from sniper.errors import AlreadyRunning, OrderUnconfirmed
from sniper.exchange import EmbeddedExchange
from sniper.live.journal import read_events
from sniper.live.lock import InstanceLock


async def _listed(ex: EmbeddedExchange) -> None:
    await ex.list_symbol(
        TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
    )


def _journal_file() -> Path:
    (path,) = Path(os.environ["SNIPER_STATE_DIR"]).glob(f"*-{TARGET}.jsonl")
    return path


@both_modes
async def test_a_second_run_on_the_same_account_and_pair_exits_2_naming_the_first(
    ex: EmbeddedExchange, mode: str
) -> None:
    await _listed(ex)
    first = start_sniper(sniper_config(ex))
    await first.armed()
    code, _out, err = await run_cli(["run"], sniper_env(ex))
    assert code == 2
    assert f"pid {os.getpid()}" in err and "already watching PAWSUSDT" in err
    ex.open_symbol(TARGET)
    result = await first.result()
    assert_one_accepted(ex, result.client_oid)


async def test_the_lock_is_released_when_the_run_ends(ex: EmbeddedExchange) -> None:
    await _listed(ex)
    ex.open_symbol(TARGET)
    config = sniper_config(ex)
    lock = InstanceLock.for_config(config)
    first = start_sniper(config)
    await first.armed()
    with pytest.raises(AlreadyRunning):
        lock.acquire()
    await first.result()
    lock.acquire()  # free again once the run is over
    lock.release()


@both_modes
async def test_journal_records_intent_fired_and_outcome(ex: EmbeddedExchange, mode: str) -> None:
    await _listed(ex)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    ex.open_symbol(TARGET)
    result = await run.result()
    events = [e["event"] for e in read_events(_journal_file())]
    assert events == ["intent", "fired", "outcome"]
    outcome = read_events(_journal_file())[-1]
    assert outcome["clientOid"] == result.client_oid and outcome["orderId"] == result.order_id
    assert outcome["outcome"] in ("accepted", "filled")


@both_modes
async def test_interrupted_after_the_fire_a_restart_does_not_sell_again(
    ex: EmbeddedExchange, mode: str
) -> None:
    """Ctrl-C right after the fire (the reply never read), then a re-run: the new run finds the
    fired, unconfirmed clientOid in the journal, looks it up, reports that sale, sends nothing."""
    await _listed(ex)
    ex.faults.withhold_next_order_reply()
    run = start_sniper(sniper_config(ex, ORDER_TIMEOUT_S="30"))
    await run.armed()
    ex.open_symbol(TARGET)
    await wait_until(lambda: len(ex.records.orders) == 1)
    assert run.task is not None
    run.task.cancel()  # what Ctrl-C does to the run
    with pytest.raises(asyncio.CancelledError):
        await run.task
    states = [e.get("outcome") for e in read_events(_journal_file()) if e["event"] == "outcome"]
    assert states == ["unconfirmed"]
    again = start_sniper(sniper_config(ex))
    result = await again.result()
    assert len(ex.records.orders) == 1, "no second order"
    assert result.order_id == ex.records.orders[0].order_id
    assert result.accepted_via == "lookup"
    assert_one_accepted(ex, result.client_oid)
    last = read_events(_journal_file())[-1]
    assert last["event"] == "outcome" and last["clientOid"] == result.client_oid


async def test_an_earlier_order_still_not_found_is_never_fired_again(ex: EmbeddedExchange) -> None:
    await _listed(ex)
    ex.faults.drop_next_order_request()  # never executed, never answered
    run = start_sniper(sniper_config(ex, ORDER_TIMEOUT_S="30"))
    await run.armed()
    ex.open_symbol(TARGET)
    await wait_until(lambda: len(ex.records.requests) > 0 and run.sniper.trigger.fired)  # type: ignore[union-attr]
    await asyncio.sleep(0.1)
    assert run.task is not None
    run.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run.task
    again = start_sniper(sniper_config(ex))
    with pytest.raises(OrderUnconfirmed) as err:
        await again.result()
    assert err.value.exit_code == 4 and "will not fire again" in str(err.value)
    assert not [o for o in ex.records.orders if o.accepted]
    text = _journal_file().read_text()
    for line in text.splitlines():
        json.loads(line)


async def test_an_earlier_orders_refused_lookup_is_unconfirmed_not_a_hang(
    ex: EmbeddedExchange,
) -> None:
    """The lookup of an earlier run's fired order is refused (the passphrase changed on the
    exchange): it may have executed, so exit 4 at once — not an endless loop of lookups that
    never count as answers."""
    from sniper.live.clock import ServerClock
    from sniper.live.reconcile import look_up_until
    from sniper.live.rest import RestClient
    from sniper.live.venue import make_venue

    config = sniper_config(ex)
    venue = make_venue("classic", config.target, config.base_coin)
    ex.account(API_KEY).passphrase = "changed-on-the-exchange"
    async with RestClient(config, ServerClock(), venue) as rest:
        with pytest.raises(OrderUnconfirmed) as err:
            async with asyncio.timeout(5):
                await look_up_until(rest, venue, config, "snp-earlier", window_s=0.3)
    assert err.value.exit_code == 4 and "wrong passphrase" in str(err.value)
