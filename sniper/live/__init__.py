"""The live shell of ``sniper run``: start-up, warm connections, detection channels, executor.

``from sniper.live import Sniper, RunResult`` runs the sniper in-process (tests, demo, benchmark)::

    result = await Sniper(config, out=sys.stdout).run()

The names are imported lazily so that ``sniper --help`` does not load aiohttp/picows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sniper.live.runner import RunResult, Sniper

__all__ = ["RunResult", "Sniper"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sniper.live import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sniper.live' has no attribute {name!r}")
