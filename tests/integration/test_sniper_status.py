"""The armed status line of a real run: the front door and the private order feed on it."""

from __future__ import annotations

import asyncio
import io

import pytest
from sniper_harness import TARGET, Run, assert_one_accepted, both_modes, sniper_config, wait_until

from sniper.exchange import EmbeddedExchange
from sniper.live import Sniper, status


@both_modes
async def test_a_refusing_front_door_is_drawn_on_the_status_line_at_once(
    ex: EmbeddedExchange, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the periodic redraw out of the way (60 s), the only draws after arming are the
    front door's callbacks: a refusal shows at once, and so does its end."""
    monkeypatch.setattr(status, "REDRAW_S", 60.0)
    await ex.list_symbol(TARGET, open_at_ms=None, price="0.0123", announce_open_time=False)
    stream = io.StringIO()
    config = sniper_config(ex, KEEPALIVE_INTERVAL_S="0.1", POLL_INTERVAL_MS="3000")
    run = Run(Sniper(config, out=io.StringIO(), status=True, status_stream=stream))
    run.task = asyncio.create_task(run.sniper.run())
    await run.armed()
    lanes = run.sniper.lanes
    assert lanes is not None
    await wait_until(lambda: "feed up" in stream.getvalue())
    if getattr(run.sniper, "orderfeed", None) is not None:
        await wait_until(lambda: run.sniper.orderfeed.ready.is_set())  # type: ignore[union-attr]
    ex.faults.front_door_403 = True
    await wait_until(lambda: lanes.front_door.refused)
    last = stream.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert last.startswith(
        "front door REFUSES keep-alives (HTTP 403: Attention Required! | Cloudflare) · feed up"
    ), last
    if getattr(run.sniper, "orderfeed", None) is not None:
        assert "private feed up" in last
    ex.faults.front_door_403 = False
    await wait_until(lambda: not lanes.front_door.refused)
    last = stream.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert last.startswith("feed up"), last
    ex.open_symbol(TARGET)
    result = await run.result()
    assert_one_accepted(ex, result.client_oid)
    assert stream.getvalue().endswith("\r\x1b[K")  # cleared at the end
