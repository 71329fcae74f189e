"""The contestants of one race trial (``benchmarks/race.py``), in a process of their own.

``python -m benchmarks.race_child`` reads the trial's spec from stdin — ``{"timeout_s": S,
"contestants": [{"name", "environ", "state_dir"}, ...]}`` — runs one
:class:`~sniper.live.runner.Sniper` per contestant on ONE uvloop event loop, as ``sniper run``
does (``sniper/live/cli.py``), and prints ``{name: {"channel", "error"}}`` as JSON on stdout.

Why a process: the embedded exchange must run on the default asyncio loop (its kernel receive
stamps need asyncio's own socket reads), and in the benchmark's process its work — parsing and
answering the copies, delivering the simulated WAN's chunks (callbacks of several ms measured)
— ran on the contestants' loop, holding their aimed copies; a user's sniper neither shares its
loop with Bitget's servers nor runs on the default loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any


async def run_contestants(spec: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """Every contestant of ``spec`` at once; each one's channel, or its error."""
    from sniper.config import load_config
    from sniper.live.runner import Sniper

    snipers = {
        c["name"]: Sniper(
            load_config(environ=c["environ"]),
            out=io.StringIO(),
            status=False,
            state_dir=Path(c["state_dir"]),
        )
        for c in spec["contestants"]
    }
    tasks = {name: asyncio.create_task(s.run()) for name, s in snipers.items()}
    results: dict[str, dict[str, str | None]] = {}
    for name, task in tasks.items():
        try:
            async with asyncio.timeout(spec["timeout_s"]):
                result = await task
            results[name] = {"channel": result.channel, "error": None}
        except Exception as exc:  # a failed contestant is a result, not a crash
            results[name] = {"channel": None, "error": f"{type(exc).__name__}: {exc}"}
    return results


def main() -> None:  # pragma: no cover - run as a child process by benchmarks/race.py
    import uvloop

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    spec = json.load(sys.stdin)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results = runner.run(run_contestants(spec))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
