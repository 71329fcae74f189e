"""Loader of the hot path: the compiled ``hotpath`` with the compiled core, or its pure-Python
twin with the twins. Never mixes them and never falls back silently."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sniper import _fast
from sniper.errors import ExtensionsMissing

if TYPE_CHECKING or _fast.IMPLEMENTATION == "pure-python":
    from sniper.live.hotpath_py import (
        CHANNEL_POLL,
        CHANNEL_SCHEDULED,
        CHANNEL_STARTUP,
        CHANNEL_WS,
        OrderTrigger,
        TickerListener,
        now_ns,
    )
else:
    try:
        from sniper.live.hotpath import (
            CHANNEL_POLL,
            CHANNEL_SCHEDULED,
            CHANNEL_STARTUP,
            CHANNEL_WS,
            OrderTrigger,
            TickerListener,
            now_ns,
        )
    except ImportError as exc:
        raise ExtensionsMissing(
            f"the compiled hot path sniper.live.hotpath is not built ({exc}). Build it with "
            "`pip install .` (or `python setup.py build_ext --inplace` in a source tree)."
        ) from exc

IMPLEMENTATION = _fast.IMPLEMENTATION

__all__ = [
    "CHANNEL_POLL",
    "CHANNEL_SCHEDULED",
    "CHANNEL_STARTUP",
    "CHANNEL_WS",
    "IMPLEMENTATION",
    "OrderTrigger",
    "TickerListener",
    "now_ns",
]
