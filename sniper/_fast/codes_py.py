"""Result codes shared by the compiled core and its pure-Python twins.

``FrameKind`` mirrors the ``cdef enum FrameKind`` of ``codes.pxd`` value for value. The compiled
scanner returns plain ``int``; compare with the members (``IntEnum`` compares equal to ints).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["FrameKind"]


class FrameKind(IntEnum):
    """What one WebSocket payload is, as far as the sniper cares."""

    OTHER = 0
    """Anything else: other channel or symbol, junk, invalid or truncated JSON, binary."""
    TICKER_HIT = 1
    """A ticker push carrying non-empty data for exactly the target symbol."""
    PONG = 2
    """The text ``pong`` (the answer to our text ``ping``), surrounding whitespace allowed."""
    EVENT = 3
    """A structurally valid JSON object with a top-level ``"event"`` key (ack, error, login)."""
