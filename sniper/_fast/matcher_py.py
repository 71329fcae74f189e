"""Pure-Python twin of ``matcher.pyx``: the readable specification of exact symbol matching.

A target symbol is found only as a *whole JSON string token*: the bytes ``"SYMBOL"`` where the
opening quote is not itself escaped (it is not preceded by an odd number of backslashes). So
``"PAWSUSDTX"``, ``"XPAWSUSDT"`` and ``"pawsusdt"`` never match ``PAWSUSDT``, and neither does
``\\"PAWSUSDT"`` inside another string. This is a byte-level pre-filter, not a JSON parser:
an occurrence inside a longer string such as ``"a \\"x\\" "PAWSUSDT"`` can still be reported;
the scanner decides what the frame really is.
"""

from __future__ import annotations

import re

__all__ = ["SYMBOL_RE", "TargetMatcher", "as_payload_bytes", "check_symbol"]

SYMBOL_RE = re.compile(r"[A-Z0-9_-]{1,40}")
"""A target symbol: 1-40 characters, upper-case ASCII letters, digits, ``_`` and ``-``."""


def check_symbol(symbol: object) -> str:
    """Return *symbol* if it is a valid target symbol, else raise ``TypeError``/``ValueError``."""
    if not isinstance(symbol, str):
        raise TypeError(f"symbol must be a str, got {type(symbol).__name__}")
    if SYMBOL_RE.fullmatch(symbol) is None:
        raise ValueError(
            "symbol must be 1-40 characters of A-Z 0-9 _ - (normalised upper case, e.g. "
            f"'PAWSUSDT'), got {symbol[:60]!r}"
        )
    return symbol


def as_payload_bytes(payload: object) -> bytes:
    """The payload as ``bytes``: accepts bytes, bytearray and C-contiguous 1-byte-item buffers."""
    if type(payload) is bytes:
        return payload
    try:
        view = memoryview(payload)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"payload must be bytes, bytearray or memoryview, got {type(payload).__name__}"
        ) from None
    with view:
        if view.itemsize != 1 or not view.c_contiguous:
            raise TypeError("payload buffer must be C-contiguous with 1-byte items")
        return view.tobytes()


class TargetMatcher:
    """Finds the target symbol as a whole JSON string inside a payload."""

    __slots__ = ("_needle", "_symbol")

    def __init__(self, symbol: str) -> None:
        self._symbol = check_symbol(symbol)
        self._needle = b'"' + symbol.encode("ascii") + b'"'

    @property
    def symbol(self) -> str:
        """The target symbol (str)."""
        return self._symbol

    def find(self, payload: bytes | bytearray | memoryview) -> int:
        """Offset of the opening quote of the first ``"SYMBOL"`` token, or -1."""
        return self._find_in(as_payload_bytes(payload))

    def _find_in(self, data: bytes) -> int:
        """:meth:`find` on plain bytes (the twin of the compiled ``find_ptr``)."""
        start = 0
        while True:
            at = data.find(self._needle, start)
            if at < 0:
                return -1
            backslashes = 0
            while at - backslashes > 0 and data[at - backslashes - 1] == 0x5C:  # "\"
                backslashes += 1
            if backslashes % 2 == 0:
                return at
            start = at + 1  # that quote was escaped; occurrences may overlap

    def __repr__(self) -> str:
        return f"TargetMatcher({self._symbol!r})"

    def __reduce__(self) -> tuple[type[TargetMatcher], tuple[str]]:
        return (type(self), (self._symbol,))
