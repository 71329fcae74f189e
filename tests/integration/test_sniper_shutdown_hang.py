"""Issue 12: a lost-reply run ends within 2 s of its final line, under uvloop and asyncio.

The hang it guards against: in ~8 % of lost-reply runs the process stayed up after printing
SOLD — 75 s, until the exchange closed its idle keep-alive connection. A lane reconnecting after
the lost reply completed its connect in the same loop iteration as shutdown cancelled the lane's
task; Python 3.11's ``asyncio.wait_for`` returned the connection and dropped the cancel, and
shutdown (cancel the tasks and wait for them, *then* close the connections) waited on a task
that was waiting on a healthy idle connection. Shutdown now closes every connection first and
waits for tasks with a bound.

Each run is a real lost-reply run in-process (the harness's ``start_sniper``, short tunables):
the exchange executes the sell and never answers, the executor confirms it and prints SOLD —
every other run by a REST lookup after the order timed out and its lane was aborted (the private
feed's push held back), the others by the private feed. The time from the SOLD line being
written to ``run()`` returning must be under 2 s, and no sniper task may be left running.

``SNIPER_HANG_RUNS`` runs per loop (default 20; the issue's closing note uses 100); the median and
the maximum are printed (``pytest -s``) for the record. ``SNIPER_HANG_CLI_RUNS`` (default 3) does
the same through ``python -m sniper run`` in a subprocess: SOLD on stdout → the process has
exited (the event loop's close included).
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import uvloop
from sniper_harness import (
    API_KEY,
    PASSPHRASE,
    SECRET,
    SRC_ROOT,
    TARGET,
    assert_one_accepted,
    sniper_config,
    sniper_env,
    start_sniper,
    wait_until,
)

from sniper.exchange import Account, EmbeddedExchange, ExchangeSettings

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
RUNS = int(os.environ.get("SNIPER_HANG_RUNS", "20"))
CLI_RUNS = int(os.environ.get("SNIPER_HANG_CLI_RUNS", "3"))
LIMIT_S = 2.0  # the bound: exit within 2 s of the final line


class TimedOut(io.StringIO):
    """The run's ``out``: remembers when the final (SOLD) line was written (monotonic s)."""

    def __init__(self) -> None:
        super().__init__()
        self.sold_at: float | None = None

    def write(self, s: str) -> int:
        if "SOLD: " in s and self.sold_at is None:
            self.sold_at = time.monotonic()
        return super().write(s)


def _exchange() -> EmbeddedExchange:
    """As the ``ex`` fixture (tests/integration/conftest.py), in whatever loop runs it."""
    settings = ExchangeSettings(port=0, tls=False, ticker_interval_s=(0.05, 0.1))
    return EmbeddedExchange(settings)


def _fund(ex: EmbeddedExchange) -> None:
    ex.add_account(
        Account(API_KEY, SECRET, PASSPHRASE, mode="classic", balances={"PAWS": "1000", "USDT": "0"})
    )


async def _lost_reply_run(index: int) -> float:
    """One lost-reply run; returns SOLD written → run() returned (s)."""
    async with _exchange() as ex:
        _fund(ex)
        await ex.list_symbol(
            TARGET, open_at_ms=None, price="0.0123", quantity_precision=2, announce_open_time=False
        )
        ex.faults.withhold_next_order_reply()
        if index % 2 == 0:
            # the private feed's push comes late: the order times out, its lane is aborted and
            # reconnects, a REST lookup confirms it — shutdown meets a lane reconnecting (the
            # hang's setting). Odd runs: the push confirms it first.
            ex.faults.private_ws_push_delay_ms = 2000
        run = start_sniper(sniper_config(ex))
        out = TimedOut()
        run.sniper.out = out  # before the run's task first runs: start_sniper only created it
        assert run.task is not None
        returned: list[float] = []
        run.task.add_done_callback(lambda _t: returned.append(time.monotonic()))
        await run.armed()
        await asyncio.sleep(0.01 * (index % 7))  # vary where the keep-alives stand at the open
        ex.open_symbol(TARGET)
        try:
            result = await asyncio.wait_for(asyncio.shield(run.task), 30)
        except TimeoutError:
            pytest.fail(f"run {index}: still running 30 s after the open (SOLD: {out.sold_at})")
        assert out.sold_at is not None, out.getvalue()
        assert returned
        left = [
            t.get_name()
            for t in asyncio.all_tasks()
            if t.get_name().startswith("sniper-") and not t.done()
        ]
        assert left == [], f"run {index}: tasks left running after run() returned: {left}"
        assert result.order_id == ex.records.orders[0].order_id
        assert_one_accepted(ex, result.client_oid)
        # even runs took the lane-abort path the hang needs (see the push delay above)
        assert result.accepted_via == "lookup" if index % 2 == 0 else result.accepted_via != "reply"
        return returned[0] - out.sold_at


def _summary(label: str, times: list[float]) -> str:
    return (
        f"{label}: {len(times)} lost-reply runs, final line → exit: median "
        f"{statistics.median(times):.3f} s, max {max(times):.3f} s"
    )


@pytest.mark.timeout(max(60, RUNS * 6))
@pytest.mark.parametrize("loop", list(LOOPS))
def test_a_lost_reply_run_ends_within_2s_of_its_final_line(
    loop: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    times: list[float] = []
    started = time.monotonic()

    async def main() -> None:
        for i in range(RUNS):
            times.append(await _lost_reply_run(i))

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(main())
    elapsed = time.monotonic() - started
    print(f"\n{_summary(loop, times)} (wall {elapsed:.1f} s)", file=sys.stderr)
    slow = [round(t, 3) for t in times if t >= LIMIT_S]
    assert slow == [], f"{_summary(loop, times)}; over {LIMIT_S} s: {slow}"


async def _cli_lost_reply_run(ex: EmbeddedExchange) -> float:
    """``python -m sniper run`` on a lost reply; returns SOLD on stdout → process exit (s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITGET_", "SNIPER_"))}
    env["SNIPER_STATE_DIR"] = os.environ["SNIPER_STATE_DIR"]
    env.update(sniper_env(ex))
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
    assert proc.stdout is not None and proc.stderr is not None
    stderr = asyncio.ensure_future(proc.stderr.read())
    sold_at: float | None = None
    try:
        async with asyncio.timeout(30):
            while line := await proc.stdout.readline():
                if line.startswith(b"SOLD: ") and sold_at is None:
                    sold_at = time.monotonic()
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"sniper did not exit (SOLD at {sold_at}):\n{(await stderr).decode()}")
    exited_at = time.monotonic()
    err = (await stderr).decode()
    assert proc.returncode == 0, err
    assert sold_at is not None, err
    return exited_at - sold_at


@pytest.mark.timeout(max(60, CLI_RUNS * 15))
async def test_a_lost_reply_cli_run_exits_within_2s_of_its_final_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    times: list[float] = []
    for _ in range(CLI_RUNS):
        async with _exchange() as ex:
            _fund(ex)
            await ex.list_symbol(
                TARGET,
                open_at_ms=None,
                price="0.0123",
                quantity_precision=2,
                announce_open_time=False,
            )
            ex.faults.withhold_next_order_reply()
            task = asyncio.ensure_future(_cli_lost_reply_run(ex))

            def subscribed(ex: EmbeddedExchange = ex) -> bool:
                return any(
                    s.arg.get("instId") == TARGET and s.result == "ok"
                    for s in ex.records.ws_subscriptions
                )

            await wait_until(lambda t=task: subscribed() or t.done(), within=20)  # type: ignore[misc]
            assert not task.done(), task.result()
            await asyncio.sleep(0.1)  # subscribed → armed
            ex.open_symbol(TARGET)
            times.append(await task)
            assert len(ex.records.orders) == 1
    print(f"\n{_summary('cli (uvloop)', times)}", file=sys.stderr)
    assert max(times) < LIMIT_S, _summary("cli (uvloop)", times)
