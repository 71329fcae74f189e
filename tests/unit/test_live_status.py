"""The TTY status line and the CLI's argument surface."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging

from sniper.live import cli, status
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
