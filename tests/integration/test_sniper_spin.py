"""``SPIN`` in real runs against the embedded exchange: when the loop is kept hot, that it stops
once the order is fired or the run is stopped, that nothing starves meanwhile, and what
``sniper check`` and the status line say.

Nothing here times the loop: every assertion reads the Spinner's observable state
(``spinning``, ``windows``, ``turns``, ``stopped_by``) or the exchange's records, waited for with
a bound — a loaded machine makes these tests slower, never wrong.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys

import pytest
from sniper_harness import (
    SRC_ROOT,
    TARGET,
    Run,
    assert_no_secret,
    assert_one_accepted,
    sniper_config,
    sniper_env,
    start_sniper,
    wait_until,
)

from sniper.exchange import EmbeddedExchange
from sniper.live import Sniper
from sniper.live.check import OK, WARN, Item, run_checks
from sniper.live.sched import current_attr, probe_slice
from sniper.live.spin import COST, SLEEP_WARM_COST, Spinner


def by_item(items: list[Item]) -> dict[str, Item]:
    return {i.item: i for i in items}


async def _gray(ex: EmbeddedExchange, open_in_ms: int | None = None) -> None:
    open_at = ex.server_time_ms() + open_in_ms if open_in_ms is not None else None
    await ex.list_symbol(
        TARGET,
        open_at_ms=open_at,
        price="0.0123",
        quantity_precision=2,
        announce_open_time=open_at is not None,
    )


def _spinner(run: Run) -> Spinner:
    spinner = run.sniper.spinner
    assert spinner is not None
    return spinner


async def _turns_stay(spinner: Spinner) -> None:
    """The chain is gone: no turn runs any more (the loop sleeps between events again)."""
    turns = spinner.turns
    for _ in range(30):
        await asyncio.sleep(0.001)
    assert spinner.turns == turns and not spinner.spinning


# --- sniper check -------------------------------------------------------------------------------
async def test_check_says_when_the_loop_will_busy_poll(ex: EmbeddedExchange) -> None:
    await _gray(ex, open_in_ms=300_000)
    rows = by_item(await run_checks(sniper_config(ex)))
    row = rows["busy-poll"]
    assert row.status == OK
    assert row.value.startswith("auto: busy-polls from 10 s before the open"), row.value
    assert re.search(r"starts in 2[89]\d s", row.value) and COST in row.value  # ~290 s from now
    rows = by_item(await run_checks(sniper_config(ex, SPIN="always")))
    assert "the whole time armed" in rows["busy-poll"].value and COST in rows["busy-poll"].value
    rows = by_item(await run_checks(sniper_config(ex, SPIN="off")))
    assert rows["busy-poll"].value.startswith("off") and COST not in rows["busy-poll"].value
    assert "a warm frame every 1000 µs" in rows["busy-poll"].value
    assert SLEEP_WARM_COST in rows["busy-poll"].value
    rows = by_item(await run_checks(sniper_config(ex, SPIN="off", SLEEP_WARM_US="0")))
    assert "warm frame" not in rows["busy-poll"].value


async def test_check_says_whether_the_time_slice_is_granted(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    before = current_attr()
    row = by_item(await run_checks(sniper_config(ex)))["time slice"]
    assert current_attr() == before  # asked from a throwaway thread
    if probe_slice(100).applied:
        assert (row.status, row.value) == (OK, "100 µs time slice for the event loop thread")
    else:
        assert row.status == WARN and row.value.startswith("default time slice")
    row = by_item(await run_checks(sniper_config(ex, SCHED_SLICE_US="0")))["time slice"]
    assert (row.status, row.value) == (OK, "default time slice (SCHED_SLICE_US=0)")


async def test_check_without_an_open_time_says_auto_is_off(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    rows = by_item(await run_checks(sniper_config(ex)))
    assert rows["busy-poll"].value.startswith("auto: no open time known, so off")


# --- runs ---------------------------------------------------------------------------------------
async def test_always_spins_while_armed_and_stops_at_the_fire(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = start_sniper(sniper_config(ex, SPIN="always", POLL_INTERVAL_MS="60"))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.turns > 1000, within=10)
    assert spinner.spinning and spinner.windows == 1
    assert f"busy-polling ({COST})" in run.sniper.status_text()
    # nothing starves: the poller's timer-paced requests and the lanes' keep-alives go on
    poller = run.sniper.poller
    assert poller is not None
    polls = poller.polls
    await wait_until(lambda: poller.polls >= polls + 3, within=10)
    assert spinner.spinning
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    assert spinner.stopped_by == "fired"  # on the loop's next turn, not at the shutdown
    await _turns_stay(spinner)


async def test_auto_spins_from_before_a_known_open_until_the_fire(ex: EmbeddedExchange) -> None:
    # the open in ~3 s, the window 10 s wide: hot as soon as armed; the scheduled channel and
    # the listing frame fire the order at the open
    await _gray(ex, open_in_ms=3000)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.spinning, within=5)
    trigger = run.sniper.trigger
    assert trigger is not None and not trigger.fired
    result = await run.result(within=20)
    assert_one_accepted(ex, result.client_oid)
    assert spinner.windows == 1 and spinner.turns > 0
    assert spinner.stopped_by == "fired"
    await _turns_stay(spinner)


async def test_auto_waits_for_the_window(ex: EmbeddedExchange) -> None:
    await _gray(ex, open_in_ms=300_000)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    spinner = _spinner(run)
    for _ in range(5):
        await asyncio.sleep(0.02)
    assert spinner.windows == 0 and spinner.turns == 0 and not spinner.spinning
    line = run.sniper.status_text()
    assert re.search(r"busy-poll in 2[89]\d\.\d s \(1 CPU core at 100 %\)", line), line
    assert run.task is not None
    run.task.cancel()
    await asyncio.gather(run.task, return_exceptions=True)
    assert spinner.turns == 0


async def test_auto_without_an_open_time_never_spins(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    spinner = _spinner(run)
    for _ in range(5):
        await asyncio.sleep(0.02)
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    assert spinner.windows == 0 and spinner.turns == 0
    assert "busy-poll" not in run.sniper.status_text()


@pytest.mark.parametrize("setting", [{"SLEEP_WARM_US": "0"}, {"SPIN_WARM": "0"}])
async def test_off_without_the_warm_tick_starts_no_spinner(
    ex: EmbeddedExchange, setting: dict[str, str]
) -> None:
    await _gray(ex, open_in_ms=3000)
    run = start_sniper(sniper_config(ex, SPIN="off", **setting))
    await run.armed()
    assert run.sniper.spinner is None
    assert "busy-poll" not in run.sniper.status_text()
    assert "warm every" not in run.sniper.status_text()
    result = await run.result(within=20)
    assert_one_accepted(ex, result.client_oid)


async def test_off_warms_the_sleeping_loop_and_never_spins(ex: EmbeddedExchange) -> None:
    """SPIN=off (SLEEP_WARM_US=1000, the default): the loop sleeps between events, and a timer
    runs a warm frame through the read path every ms — never a busy-poll turn, never an order
    from a warm frame; after the fire the ticks stop and the pair is closed."""
    await _gray(ex, open_in_ms=3000)
    run = start_sniper(sniper_config(ex, SPIN="off"))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.warm is not None and spinner.warm.received >= 20, within=10)
    warm = spinner.warm
    assert warm is not None and warm.hits == 0 and warm.serving
    assert spinner.sleep_ticks >= 20 and spinner.sleep_warm_s == 0.001
    assert spinner.turns == 0 and spinner.windows == 0 and not spinner.spinning
    assert "warm every 1000 µs" in run.sniper.status_text()
    assert "busy-poll" not in run.sniper.status_text()
    assert ex.records.orders == []
    result = await run.result(within=20)  # the open, ~3 s after the listing
    assert_one_accepted(ex, result.client_oid)
    assert spinner.turns == 0 and spinner.windows == 0 and warm.hits == 0
    assert warm.closed and not warm.serving
    ticks = spinner.sleep_ticks
    for _ in range(20):
        await asyncio.sleep(0.001)
    assert spinner.sleep_ticks == ticks


async def test_auto_warms_while_it_waits_for_the_window_then_spins(ex: EmbeddedExchange) -> None:
    """auto with the open ~11.5 s away (the window opens 10 s before it): the sleeping warm tick
    until the window, then the busy-poll on the same warm pair, then the fire."""
    await _gray(ex, open_in_ms=11_500)
    run = start_sniper(sniper_config(ex))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.sleep_ticks >= 20, within=10)
    assert not spinner.spinning and spinner.turns == 0
    pair = spinner.warm
    assert pair is not None and not pair.closed
    await wait_until(lambda: spinner.spinning, within=10)
    assert spinner.warm is pair and not pair.closed  # reused, not reopened
    ticks = spinner.sleep_ticks
    await wait_until(lambda: spinner.turns > 1000, within=10)
    assert spinner.sleep_ticks == ticks  # no timer tick while the loop busy-polls
    result = await run.result(within=30)
    assert_one_accepted(ex, result.client_oid)
    assert spinner.stopped_by == "fired" and pair.closed and pair.hits == 0


async def test_the_armed_loop_asks_for_a_short_time_slice(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = start_sniper(sniper_config(ex, SPIN="off"))
    await run.armed()
    result = run.sniper.slice
    assert result is not None
    if probe_slice(100).applied:  # Linux 6.12 and later
        assert result.applied and result.slice_us == 100
        attr = current_attr()
        assert attr is not None and attr[3] == 100_000  # this thread runs the event loop
    else:
        assert not result.applied and result.reason
    assert run.task is not None
    run.task.cancel()
    await asyncio.gather(run.task, return_exceptions=True)


async def test_sched_slice_us_0_leaves_the_default(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    before = current_attr()
    run = start_sniper(sniper_config(ex, SPIN="off", SCHED_SLICE_US="0"))
    await run.armed()
    result = run.sniper.slice
    assert result is not None and not result.applied
    assert current_attr() == before
    assert run.task is not None
    run.task.cancel()
    await asyncio.gather(run.task, return_exceptions=True)


async def test_a_stopped_run_leaves_the_loop_cold(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = Run(Sniper(sniper_config(ex, SPIN="always"), out=io.StringIO(), status=False))
    run.task = asyncio.create_task(run.sniper.run())
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.turns > 100, within=10)
    run.task.cancel()  # what the run's signal guard does before the fire
    await asyncio.gather(run.task, return_exceptions=True)
    assert spinner.stopped_by == "cancelled"
    await _turns_stay(spinner)
    assert ex.records.orders == []


async def test_ctrl_c_while_spinning_ends_the_run_at_once(ex: EmbeddedExchange) -> None:
    """``sniper run`` under uvloop, SPIN=always: SIGINT before the fire is exit 130, at once."""
    await _gray(ex)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITGET_", "SNIPER_"))}
    env["SNIPER_STATE_DIR"] = os.environ["SNIPER_STATE_DIR"]
    env.update(sniper_env(ex, SPIN="always"))
    env["PYTHONPATH"] = SRC_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sniper",
        "run",
        env=env,
        cwd=SRC_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None and proc.stdout is not None
    err: list[str] = []
    try:
        async with asyncio.timeout(30):
            while "spin: busy-polling" not in "".join(err):
                line = await proc.stderr.readline()
                assert line, "".join(err)
                err.append(line.decode())
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rest = await proc.stderr.read()
            out = await proc.stdout.read()
            code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(err) + rest.decode()
    assert code == 130, text
    assert "before any order was sent" in text and "Traceback" not in text
    assert ex.records.orders == []
    assert_no_secret(text, out.decode())


# --- the warmer (SPIN_WARM) ---------------------------------------------------------------------
async def test_the_warmer_never_fires_and_closes_after_the_fire(ex: EmbeddedExchange) -> None:
    """SPIN=always and a long wait before the open: thousands of warm frames (another symbol's
    ticker through the same read path and scanner) and still exactly one order, by the listing
    frame, and the loopback pair is gone after the fire."""
    await _gray(ex)
    run = start_sniper(sniper_config(ex, SPIN="always"))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.warm is not None and spinner.warm.received >= 500, within=30)
    warm = spinner.warm
    assert warm is not None and warm.hits == 0 and warm.serving
    assert ex.records.orders == []  # hundreds of warm frames: nothing went out
    ex.open_symbol(TARGET)
    result = await run.result()
    assert result.channel == "ws"
    assert_one_accepted(ex, result.client_oid)
    assert len(ex.records.orders) == 1
    assert spinner.stopped_by == "fired" and warm.closed and not warm.serving
    assert warm.hits == 0
    sent = spinner.warm_frames
    await _turns_stay(spinner)
    assert spinner.warm_frames == sent


async def test_spin_warm_0_starts_no_warmer(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = start_sniper(sniper_config(ex, SPIN="always", SPIN_WARM="0"))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.turns > 1000, within=10)
    assert spinner.warm is None and spinner.warm_frames == 0
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)


async def test_a_stopped_run_closes_the_warmer(ex: EmbeddedExchange) -> None:
    await _gray(ex)
    run = start_sniper(sniper_config(ex, SPIN="always"))
    await run.armed()
    spinner = _spinner(run)
    await wait_until(lambda: spinner.warm_frames > 50, within=10)
    assert run.task is not None
    run.task.cancel()
    await asyncio.gather(run.task, return_exceptions=True)
    warm = spinner.warm
    assert warm is not None and warm.closed and not warm.serving and warm.port
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", warm.port)
    except OSError:
        pass
    else:
        writer.close()
        raise AssertionError("the warmer's server still listens")
    assert ex.records.orders == []
