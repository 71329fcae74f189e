"""``SPIN_WARM``: the loopback warmer that keeps the receive path hot while the loop busy-polls.

Like ``test_live_spin``: real loops (uvloop and asyncio), no durations asserted — every wait is
for an observable state (``warm_frames``, ``received``, ``serving``...), bounded, so a loaded
machine makes these slower, never wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop

from sniper import _fast
from sniper.live.spin import Spinner
from sniper.live.warmer import WARM_HOST, WARM_PERIOD_US, Warmer, warm_frame

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
WAIT_S = 20.0
TARGET = "PAWSUSDT"
HIT = int(_fast.FrameKind.TICKER_HIT)
UNBINDABLE = "192.0.2.1"  # TEST-NET-1: not an address of this host, the bind fails


def run_on(loop_name: str, coro: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        runner.run(coro())  # type: ignore[arg-type]


async def until(cond: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in time: {what}"
        await asyncio.sleep(0.001)


class Flags:
    def __init__(self, to_open: float | None = None) -> None:
        self.to_open = to_open
        self.fired = False

    def spinner(self, mode: str, warmer: Callable[[], Warmer] | None, **kw: Any) -> Spinner:
        return Spinner(
            mode=mode,
            before_s=10.0,
            max_s=60.0,
            seconds_to_open=lambda: self.to_open,
            fired=lambda: self.fired,
            recheck_s=0.005,
            warmer=warmer,
            **kw,
        )


async def refused(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port any more."""
    try:
        _, writer = await asyncio.open_connection(WARM_HOST, port)
    except OSError:
        return True
    writer.close()
    return False


# --- the frame ----------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["PAWSUSDT", "ETHUSDT", "BTCUSDT"])
def test_the_warm_frame_is_another_symbols_ticker_and_a_miss(target: str) -> None:
    frame = warm_frame(target)
    assert _fast.TickerScanner(target).scan(frame) != HIT
    # a real ticker push: the scanner of the symbol it names calls it a hit
    other = "BTCUSDT" if target == "ETHUSDT" else "ETHUSDT"
    assert f'"instId":"{other}"'.encode() in frame and target.encode() not in frame
    assert _fast.TickerScanner(other).scan(frame) == HIT
    assert Warmer(target).frame == frame


def test_the_tls_pair_trusts_only_its_own_throwaway_ca() -> None:
    """The client end of the TLS pair verifies the certificate against the CA made for the pair
    (not the system store): another pair's certificate is refused."""
    import ssl

    from sniper.live.warmer import loopback_tls

    server, client = loopback_tls(WARM_HOST)
    assert loopback_tls(WARM_HOST) == (server, client)  # made once per process
    other_server, _ = loopback_tls.__wrapped__(WARM_HOST)  # another pair's, made afresh
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
    assert client.cert_store_stats()["x509_ca"] == 1

    async def handshake(server_ctx: ssl.SSLContext) -> None:
        srv = await asyncio.start_server(lambda r, w: w.close(), WARM_HOST, 0, ssl=server_ctx)
        port = srv.sockets[0].getsockname()[1]
        try:
            _, writer = await asyncio.open_connection(WARM_HOST, port, ssl=client)
            writer.close()
        finally:
            srv.close()

    async def main() -> None:
        await handshake(server)
        with pytest.raises(ssl.SSLCertVerificationError):
            await handshake(other_server)

    run_on("asyncio", main)


# --- the warmer inside the spinner --------------------------------------------------------------
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("loop_name", LOOPS)
def test_warms_while_spinning_never_hits_and_closes_after_the_fire(
    loop_name: str, tls: bool
) -> None:
    """Plain, and over TLS (a wss:// feed: the warm frame goes through the TLS read path)."""

    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("always", lambda: Warmer(TARGET, tls=tls))
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm is not None and spinner.warm.received >= 50, "warm")
        warm = spinner.warm
        assert warm is not None and warm.ready and warm.serving and warm.port
        assert warm._client is not None
        ssl_object = warm._client.underlying_transport.get_extra_info("ssl_object")
        assert (ssl_object is not None) is tls
        assert warm.period_ns == WARM_PERIOD_US * 1000
        assert warm.hits == 0 and spinner.spinning
        flags.fired = True
        await until(lambda: not spinner.spinning, "stopped after the fire")
        assert spinner.stopped_by == "fired"
        assert warm.closed and not warm.ready and not warm.serving
        sent = spinner.warm_frames
        for _ in range(50):
            await asyncio.sleep(0)
        assert spinner.warm_frames == sent == warm.sent  # nothing sent after the fire
        assert warm.hits == 0
        async with asyncio.timeout(WAIT_S):
            await task
        await until(lambda: len(asyncio.all_tasks()) == 1, "no task left")
        assert await refused(warm.port)

    run_on(loop_name, main)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_cancel_closes_the_warmer(loop_name: str) -> None:
    async def main() -> None:
        spinner = Flags().spinner("always", lambda: Warmer(TARGET))
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm_frames > 10, "warming")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        warm = spinner.warm
        assert warm is not None and warm.closed and not warm.serving and warm.port
        assert spinner.stopped_by == "cancelled"
        await until(lambda: len(asyncio.all_tasks()) == 1, "no task left")
        assert await refused(warm.port)

    run_on(loop_name, main)


def test_cancel_while_the_warmer_opens_leaves_nothing() -> None:
    async def main() -> None:
        spinner = Flags().spinner("always", lambda: Warmer(TARGET))
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm is not None, "warmer created")
        task.cancel()  # at once: the pair is still being set up
        await asyncio.gather(task, return_exceptions=True)
        warm = spinner.warm
        assert warm is not None and warm.closed and not warm.serving and not warm.ready
        await until(lambda: len(asyncio.all_tasks()) == 1, "no task left")
        if warm.port is not None:
            assert await refused(warm.port)

    run_on("uvloop", main)


def test_warms_only_inside_the_window() -> None:
    async def main() -> None:
        flags = Flags(to_open=300.0)
        spinner = flags.spinner("auto", lambda: Warmer(TARGET))
        task = asyncio.create_task(spinner.run())
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert spinner.warm is None and spinner.warm_frames == 0  # before the window: nothing
        flags.to_open = 5.0
        await until(lambda: spinner.warm_frames > 20, "warming in the window")
        first = spinner.warm
        flags.to_open = 300.0  # the open moved: the window ends, and the warmer with it
        await until(lambda: not spinner.spinning, "window over")
        assert first is not None and first.closed and not first.serving
        sent = spinner.warm_frames
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert spinner.warm_frames == sent
        flags.to_open = 5.0  # a new window: a new pair
        await until(lambda: spinner.warm_frames > sent + 20, "warming again")
        assert spinner.warm is not first and spinner.windows == 2
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert spinner.warm is not None and spinner.warm.closed

    run_on("uvloop", main)


def test_no_factory_no_warmer() -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("always", None)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.turns > 200, "spinning")
        assert spinner.warm is None and spinner.warm_frames == 0
        assert len(asyncio.all_tasks()) == 2  # the test and the spinner: no warmer task
        flags.fired = True
        async with asyncio.timeout(WAIT_S):
            await task

    run_on("uvloop", main)


@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(lambda: Warmer(TARGET, host=UNBINDABLE), id="bind-error"),
        pytest.param(lambda: (_ for _ in ()).throw(OSError("no sockets")), id="factory-raises"),
    ],
)
def test_a_failing_setup_spins_without_it_and_says_so_once(
    factory: Callable[[], Warmer], caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        flags = Flags(to_open=5.0)
        spinner = flags.spinner("auto", factory)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner._warm_failed, "setup failed")
        turns = spinner.turns
        await until(lambda: spinner.turns > turns + 200, "still spinning")
        assert spinner.spinning and spinner.warm_frames == 0
        flags.to_open = 300.0
        await until(lambda: not spinner.spinning, "window over")
        flags.to_open = 5.0  # a second window: not tried again, not logged again
        await until(lambda: spinner.windows == 2 and spinner.turns > turns + 400, "again")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with caplog.at_level(logging.WARNING, logger="sniper.run"):
        run_on("uvloop", main)
    warnings = [r for r in caplog.records if "loopback warmer" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "busy-polling without it" in warnings[0].getMessage()


# --- the sleeping loop's warm tick (SLEEP_WARM_US) ----------------------------------------------
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("loop_name", LOOPS)
def test_off_warms_from_a_timer_and_never_spins(loop_name: str, tls: bool) -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("off", lambda: Warmer(TARGET, tls=tls), sleep_warm_us=1000)
        assert spinner.enabled
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm is not None and spinner.warm.received >= 30, "warm")
        warm = spinner.warm
        assert warm is not None and warm.hits == 0 and warm.serving
        assert spinner.turns == 0 and spinner.windows == 0 and not spinner.spinning
        assert spinner.sleep_ticks >= 30
        assert spinner.status_text() == "warm every 1000 µs"
        flags.fired = True
        async with asyncio.timeout(WAIT_S):
            await task
        assert spinner.stopped_by == "fired" and warm.closed and not warm.serving
        ticks, sent = spinner.sleep_ticks, warm.sent
        for _ in range(20):
            await asyncio.sleep(0.002)
        assert (spinner.sleep_ticks, warm.sent) == (ticks, sent)
        await until(lambda: len(asyncio.all_tasks()) == 1, "no task left")
        assert await refused(warm.port)

    run_on(loop_name, main)


def test_off_without_the_warm_tick_has_nothing_to_run() -> None:
    flags = Flags()
    assert not flags.spinner("off", lambda: Warmer(TARGET)).enabled  # sleep_warm_us=0
    assert not flags.spinner("off", None, sleep_warm_us=1000).enabled  # SPIN_WARM=0
    assert flags.spinner("off", lambda: Warmer(TARGET), sleep_warm_us=1000).enabled


def test_the_window_takes_over_the_warm_pair_and_gives_it_back() -> None:
    """auto: the timer tick before the window, the busy-poll's turns in it (no timer tick), the
    timer again after it; one pair all along, closed at the end."""

    async def main() -> None:
        flags = Flags(to_open=300.0)
        spinner = flags.spinner("auto", lambda: Warmer(TARGET), sleep_warm_us=1000)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.sleep_ticks >= 10, "sleeping warm")
        pair = spinner.warm
        assert pair is not None and not spinner.spinning and spinner.turns == 0
        flags.to_open = 5.0
        await until(lambda: spinner.turns > 200, "spinning")
        ticks = spinner.sleep_ticks
        await until(lambda: spinner.turns > 2000, "still spinning")
        assert spinner.sleep_ticks == ticks and spinner.warm is pair and not pair.closed
        flags.to_open = 300.0  # the open moved: back to the timer, same pair
        await until(lambda: spinner.sleep_ticks > ticks + 10, "sleeping warm again")
        assert not spinner.spinning and spinner.warm is pair and not pair.closed
        turns = spinner.turns
        for _ in range(10):
            await asyncio.sleep(0.002)
        assert spinner.turns == turns
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert pair.closed and spinner.stopped_by == "cancelled" and pair.hits == 0

    run_on("uvloop", main)


def test_a_failing_setup_sleeps_without_it_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("off", lambda: Warmer(TARGET, host=UNBINDABLE), sleep_warm_us=1000)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner._warm_failed, "setup failed")
        ticks = spinner.sleep_ticks
        for _ in range(30):  # no pair: the timer stops, the loop just sleeps
            await asyncio.sleep(0.002)
        assert spinner.sleep_ticks <= ticks + 1 and spinner._sleep_handle is None
        assert spinner.warm_frames == 0 and spinner.turns == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with caplog.at_level(logging.WARNING, logger="sniper.run"):
        run_on("uvloop", main)
    warnings = [r for r in caplog.records if "loopback warmer" in r.getMessage()]
    assert len(warnings) == 1


def test_a_pair_that_went_dead_is_replaced_while_the_loop_sleeps() -> None:
    """The pair's server side drops after it opened: the next tick opens a new pair instead of
    waking the loop every ms for a pair that cannot send."""

    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("off", lambda: Warmer(TARGET), sleep_warm_us=1000)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm is not None and spinner.warm.received >= 10, "warm")
        first = spinner.warm
        assert first is not None and first._tx is not None
        first._tx.disconnect(graceful=False)  # the server side goes away
        await until(lambda: spinner.warm is not first, "replaced")
        assert first.closed
        second = spinner.warm
        assert second is not None
        await until(lambda: second.received >= 10, "the new pair warms")
        assert not spinner._warm_failed and second.hits == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert second.closed

    run_on("uvloop", main)


def test_a_pair_closed_by_the_fire_while_opening_is_not_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        flags = Flags()
        spinner = flags.spinner("off", lambda: Warmer(TARGET, tls=True), sleep_warm_us=1000)
        task = asyncio.create_task(spinner.run())
        await until(lambda: spinner.warm is not None, "opening")
        flags.fired = True  # at once: the pair is still being set up
        async with asyncio.timeout(WAIT_S):
            await task
        warm = spinner.warm
        assert warm is not None and warm.closed and not warm.serving
        assert not spinner._warm_failed and spinner.stopped_by == "fired"
        await until(lambda: len(asyncio.all_tasks()) == 1, "no task left")

    with caplog.at_level(logging.WARNING, logger="sniper.run"):
        run_on("uvloop", main)
    assert not [r for r in caplog.records if "loopback warmer" in r.getMessage()]
