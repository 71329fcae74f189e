"""The TTY status line and the CLI's argument surface."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sniper.config import load_config
from sniper.live import Sniper, cli, report, status
from sniper.live.lanes import FrontDoor
from sniper.live.status import StatusLine


def test_status_line_draws_and_clears_with_carriage_returns() -> None:
    out = io.StringIO()
    line = StatusLine(out, lambda: "feed up · polls 3")
    line.draw()
    assert out.getvalue() == "\r\x1b[Kfeed up · polls 3"
    line.clear()
    assert out.getvalue().endswith("\r\x1b[K")
    n = len(out.getvalue())
    line.clear()  # nothing shown: nothing written
    assert len(out.getvalue()) == n


def test_status_line_never_breaks_the_run() -> None:
    def boom() -> str:
        raise RuntimeError("render failed")

    out = io.StringIO()
    StatusLine(out, boom).draw()
    assert out.getvalue() == ""


def test_redraw_at_most_twice_a_second() -> None:
    assert status.REDRAW_S >= 0.5


async def test_log_records_erase_the_status_line_first() -> None:
    out = io.StringIO()
    logger = logging.getLogger("sniper")
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        line = StatusLine(out, lambda: "STATUS")
        task = asyncio.create_task(line.run())
        await asyncio.sleep(0.01)
        logging.getLogger("sniper.test").info("hello")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    text = out.getvalue()
    assert "STATUS\r\x1b[Khello\n" in text


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--env-file", "x.env", "--dry-run", "--json", "--verbose"])
    assert (args.env_file, args.dry_run, args.json, args.verbose) == ("x.env", True, True, True)
    args = parser.parse_args([])
    assert (args.env_file, args.dry_run, args.json, args.verbose) == (None, False, False, False)


# --- the armed status line of `sniper run` ------------------------------------------------------


def _armed(*, door: FrontDoor, orderfeed: object = None, **overrides: Any) -> dict[str, Any]:
    """The parts the status line reads, as a run has them once armed."""
    parts: dict[str, Any] = {
        "feed": SimpleNamespace(up=True, subscribed=True, last_rtt_ms=12.34),
        "lanes": SimpleNamespace(front_door=door),
        "orderfeed": orderfeed,
        "available": Decimal("1000"),
        "polls": 7,
        "seconds_to_open": None,
    }
    parts.update(overrides)
    return parts


def test_status_line_while_armed_and_all_is_well() -> None:
    text = report.status_text(**_armed(door=FrontDoor(200, "", 1)))
    assert text == "feed up · ping 12.3 ms · polls 7 · balance 1000 · openTime ?"


def test_status_line_before_the_parts_exist_and_with_an_open_time() -> None:
    text = report.status_text(
        **_armed(door=FrontDoor(), feed=None, lanes=None, available=None, seconds_to_open=12.34)
    )
    assert text == "feed - · ping - · polls 7 · balance ? · open in 12.3 s"
    down = SimpleNamespace(up=False, subscribed=False, last_rtt_ms=None)
    assert report.status_text(**_armed(door=FrontDoor(), feed=down)).startswith("feed DOWN · ")
    unknown = SimpleNamespace(up=True, subscribed=False, last_rtt_ms=None)
    text = report.status_text(**_armed(door=FrontDoor(), feed=unknown))
    assert text.startswith("feed up (pair unknown) · ping - · ")


def test_status_line_shows_a_refusing_front_door_first() -> None:
    door = FrontDoor(403, "Attention Required! | Cloudflare", 1)
    text = report.status_text(**_armed(door=door))
    assert text.startswith(
        "front door REFUSES keep-alives (HTTP 403: Attention Required! | Cloudflare) · feed up"
    ), text
    # not checked yet: nothing said
    assert "front door" not in report.status_text(**_armed(door=FrontDoor()))


async def test_status_line_shows_the_private_order_feed() -> None:
    ready = asyncio.Event()
    orderfeed = SimpleNamespace(ready=ready, login_error=None)
    parts = _armed(door=FrontDoor(200, "", 1), orderfeed=orderfeed)
    assert "ping 12.3 ms · private feed DOWN · polls 7" in report.status_text(**parts)
    ready.set()
    assert "ping 12.3 ms · private feed up · polls 7" in report.status_text(**parts)
    ready.clear()
    orderfeed.login_error = "API key not found"
    assert "private feed DOWN (login refused)" in report.status_text(**parts)
    # PRIVATE_FEED=0: no private feed, nothing said about it
    assert "private feed" not in report.status_text(**_armed(door=FrontDoor(200, "", 1)))


async def test_a_sniper_draws_its_own_status_line_before_it_runs() -> None:
    """``Sniper.status_text()`` is the renderer fed with the run's own parts."""
    config = load_config(
        environ={
            "BITGET_API_KEY": "bg_statusKEY000000000000001",
            "BITGET_SECRET_KEY": "statusSECRET0000000000000000000000000002",
            "BITGET_PASSPHRASE": "statusPASS0003",
            "TARGET_TOKEN": "PAWSUSDT",
            "COIN_AMOUNT": "1000",
            "BITGET_REST_URL": "http://127.0.0.1:9",
            "BITGET_WS_URL": "ws://127.0.0.1:9/v2/ws/public",
        }
    )
    sniper = Sniper(config, out=io.StringIO(), status=False, use_journal=False)
    assert sniper.status_text() == "feed - · ping - · polls 0 · balance ? · openTime ?"


def test_status_line_shows_the_measured_one_way_latency() -> None:
    """Issue 14: the clock's one-way estimate (what the aimed fire leads the open by)."""
    text = report.status_text(**_armed(door=FrontDoor(200, "", 1), one_way_ms=20.04))
    assert text == "feed up · ping 12.3 ms · one way 20.0 ms · polls 7 · balance 1000 · openTime ?"
