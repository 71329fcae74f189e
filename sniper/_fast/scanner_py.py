r"""Pure-Python twin of ``scanner.pyx``: the readable specification of frame classification.

``TickerScanner(symbol).scan(payload)`` puts one WebSocket payload in one ``FrameKind``:

``PONG``
    The payload is exactly ``pong``, optionally surrounded by JSON whitespace (space, tab, LF, CR).

``EVENT``
    The payload is a structurally valid JSON object (see *Validity*) with a top-level key
    ``"event"`` (any value): subscribe/unsubscribe acks, ``error`` (e.g. 30001 "doesn't exist"),
    ``login``. An event naming the target is still ``EVENT``, never ``TICKER_HIT``.

``TICKER_HIT``
    The payload is a structurally valid JSON object, without a top-level ``"event"`` key, with:

    * ``"action"`` whose value is a string (any: ``snapshot``, ``update``...);
    * ``"arg"`` whose value is an object naming the spot ticker of exactly the target with a
      consistent key pair: ``"channel": "ticker"`` with ``"instId": <target>`` (v2), or
      ``"topic": "ticker"`` with ``"symbol": <target>`` (v3/UTA), target case-sensitive.
      Every one of ``channel``, ``topic``, ``instId``, ``symbol`` that is present must hold its
      wanted value (``"ticker"``, the target), so a stray ``"channel": "books"`` next to
      ``"topic": "ticker"``, or ``"instId": "BTCUSDT"`` next to ``"symbol": <target>``, is not a
      hit, and neither is a mixed pair (``channel`` with ``symbol``). ``"instType"`` may be
      absent; if present it must be the string ``spot`` in any ASCII case (``SPOT``, ``spot``),
      so a ``USDT-FUTURES`` ticker of the same symbol is not a hit;
    * ``"data"`` whose value is a non-empty array whose first element is an object.

    Keys may come in any order. When a key is repeated, the last occurrence wins (as in
    ``json.loads``).

``OTHER``
    Everything else: other channels, symbols or instTypes, near-miss symbols, empty or ``null``
    data, invalid, truncated or too deeply nested JSON, a top level that is not an object, binary
    junk.

Escaped strings (conservative, identical in both implementations): names and values are compared
as the *raw bytes between the quotes*. A key or value written with a backslash escape therefore
never equals ``action``, ``arg``, ``data``, ``event``, ``channel``, ``topic``, ``instId``,
``symbol``, ``instType``, ``ticker``, ``spot`` or the target, even when its unescaped meaning
would; and a frame with an escaped key at its top level or directly inside ``arg`` is never a
``TICKER_HIT`` (its meaning is not checked, so the frame cannot be trusted to be a ticker push).
Bitget never escapes these names; an exchange that did would only cost a missed frame, never a
false fire.

Validity: RFC 8259 JSON, as strict as ``json.loads`` without ``NaN``/``Infinity``: strings with
valid escapes (``\uXXXX`` needs four hex digits; lone surrogate escapes are accepted, as Python
does), no raw control characters, and strictly valid UTF-8 (no overlong forms, no encoded
surrogates, nothing above U+10FFFF); numbers ``-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?``;
``true``/``false``/``null``; JSON whitespace only; nothing but whitespace after the object;
at most ``MAX_DEPTH`` (64) nested containers, the top-level object counting as one.

Fast paths (exact, they never change a result): a payload whose first non-whitespace byte is
not ``{`` is ``OTHER`` (unless it is ``pong``); a payload that contains neither the target token
(see ``TargetMatcher``) nor the bytes ``"event"`` cannot be ``TICKER_HIT`` or ``EVENT`` and is
``OTHER`` without being parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .codes_py import FrameKind
from .matcher_py import TargetMatcher, as_payload_bytes

__all__ = ["MAX_DEPTH", "TickerScanner"]

MAX_DEPTH = 64
"""Deepest accepted nesting of objects and arrays; the top-level object is depth 1."""

_WHITESPACE = b" \t\n\r"
_STRING = re.compile(rb'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = (b"true", b"false", b"null")

_OnMember = Callable[[bytes, bool, int, int], int]
"""``on_member(raw_key, key_escaped, value_pos, depth) -> value_end`` (see ``_Parser.object``)."""


class _Invalid(Exception):
    """The payload is not structurally valid JSON (internal; never escapes ``scan``)."""


class _Frame:
    """What the top level of one frame said, updated as members are parsed (last one wins)."""

    __slots__ = ("action_ok", "arg_ok", "data_ok", "has_event", "top_escaped")

    def __init__(self) -> None:
        self.has_event = False  # a top-level "event" key was seen
        self.top_escaped = False  # some top-level key contains a backslash escape
        self.action_ok = False  # the last "action" was a string
        self.arg_ok = False  # the last "arg" named the ticker channel and the target
        self.data_ok = False  # the last "data" was an array whose first element is an object


class _Parser:
    """Recursive-descent validator over one payload; records what ``_Frame`` needs."""

    def __init__(self, data: bytes, target: bytes) -> None:
        self.data = data
        self.target = target

    # -- lexical pieces ---------------------------------------------------------------------
    def skip_ws(self, pos: int) -> int:
        data = self.data
        while pos < len(data) and data[pos] in _WHITESPACE:
            pos += 1
        return pos

    def string(self, pos: int) -> tuple[bytes, bool, int]:
        """Parse a string at *pos* (an opening quote): (raw bytes inside, escaped?, end)."""
        match = _STRING.match(self.data, pos)
        if match is None:
            raise _Invalid
        raw = match.group()[1:-1]
        try:
            raw.decode("utf-8")  # strict: rejects overlongs, surrogates, > U+10FFFF
        except UnicodeDecodeError:
            raise _Invalid from None
        return raw, b"\\" in raw, match.end()

    def expect(self, pos: int, char: bytes) -> int:
        if self.data[pos : pos + 1] != char:
            raise _Invalid
        return pos + 1

    # -- values -----------------------------------------------------------------------------
    def value(self, pos: int, depth: int) -> int:
        """Parse any value at *pos* (whitespace already skipped) inside *depth* containers."""
        head = self.data[pos : pos + 1]
        if head == b"{":
            return self.object(pos, depth + 1, on_member=None)
        if head == b"[":
            return self.array(pos, depth + 1, on_first=None)
        if head == b'"':
            return self.string(pos)[2]
        for literal in _LITERALS:
            if self.data.startswith(literal, pos):
                return pos + len(literal)
        match = _NUMBER.match(self.data, pos)
        if match is None:
            raise _Invalid
        return match.end()

    def object(self, pos: int, depth: int, on_member: _OnMember | None) -> int:
        """Parse an object at *pos*; ``on_member(key, escaped, value_pos, depth) -> end`` may
        take over parsing each member's value (whitespace before the value already skipped)."""
        if depth > MAX_DEPTH:
            raise _Invalid
        pos = self.skip_ws(self.expect(pos, b"{"))
        if self.data[pos : pos + 1] == b"}":
            return pos + 1
        while True:
            key, escaped, pos = self.string(pos)
            pos = self.skip_ws(self.expect(self.skip_ws(pos), b":"))
            if on_member is None:
                pos = self.value(pos, depth)
            else:
                pos = on_member(key, escaped, pos, depth)
            pos = self.skip_ws(pos)
            if self.data[pos : pos + 1] == b"}":
                return pos + 1
            pos = self.skip_ws(self.expect(pos, b","))

    def array(self, pos: int, depth: int, on_first: Callable[[int], None] | None) -> int:
        """Parse an array at *pos*; ``on_first(value_pos)`` sees where its first value starts."""
        if depth > MAX_DEPTH:
            raise _Invalid
        pos = self.skip_ws(self.expect(pos, b"["))
        if self.data[pos : pos + 1] == b"]":
            return pos + 1
        if on_first is not None:
            on_first(pos)
        while True:
            pos = self.skip_ws(self.value(pos, depth))
            if self.data[pos : pos + 1] == b"]":
                return pos + 1
            pos = self.skip_ws(self.expect(pos, b","))

    # -- the frame --------------------------------------------------------------------------
    def frame(self) -> _Frame:
        """Parse the whole payload as one top-level object; raise ``_Invalid`` otherwise."""
        frame = _Frame()

        def top_member(key: bytes, escaped: bool, pos: int, depth: int) -> int:
            head = self.data[pos : pos + 1]
            if escaped:
                frame.top_escaped = True
            elif key == b"event":
                frame.has_event = True
            elif key == b"action":
                frame.action_ok = head == b'"'
            elif key == b"arg":
                frame.arg_ok = False
                if head == b"{":
                    return self.arg_object(pos, depth, frame)
            elif key == b"data":
                frame.data_ok = False
                if head == b"[":

                    def first(value_pos: int) -> None:
                        frame.data_ok = self.data[value_pos : value_pos + 1] == b"{"

                    return self.array(pos, depth + 1, on_first=first)
            return self.value(pos, depth)

        pos = self.skip_ws(0)
        pos = self.object(pos, 1, on_member=top_member)
        if self.skip_ws(pos) != len(self.data):
            raise _Invalid  # trailing garbage
        return frame

    def arg_object(self, pos: int, depth: int, frame: _Frame) -> int:
        """Parse the ``"arg"`` object; set ``frame.arg_ok`` from its direct members."""
        wanted: dict[bytes, Callable[[bytes], bool]] = {
            b"channel": lambda raw: raw == b"ticker",
            b"topic": lambda raw: raw == b"ticker",
            b"instId": lambda raw: raw == self.target,
            b"symbol": lambda raw: raw == self.target,
            b"instType": lambda raw: raw.lower() == b"spot",  # bytes.lower(): ASCII only
        }
        good: dict[bytes, bool] = {}  # key present -> its last value is the wanted one
        escaped_key = False

        def arg_member(key: bytes, escaped: bool, pos: int, depth: int) -> int:
            nonlocal escaped_key
            if escaped:
                escaped_key = True
            elif key in wanted:
                good[key] = False  # present; not a string is never the wanted value
                if self.data[pos : pos + 1] == b'"':
                    raw, _, end = self.string(pos)
                    good[key] = wanted[key](raw)
                    return end
            return self.value(pos, depth)

        end = self.object(pos, depth + 1, on_member=arg_member)
        frame.arg_ok = (
            not escaped_key
            and all(good.values())
            and ({b"channel", b"instId"} <= good.keys() or {b"topic", b"symbol"} <= good.keys())
        )
        return end


class TickerScanner:
    """Classifies one WebSocket payload for one target symbol (see the module docstring)."""

    __slots__ = ("_matcher", "_target")

    def __init__(self, symbol: str) -> None:
        self._matcher = TargetMatcher(symbol)
        self._target = symbol.encode("ascii")

    @property
    def symbol(self) -> str:
        """The target symbol (str)."""
        return self._matcher.symbol

    def scan(self, payload: bytes | bytearray | memoryview) -> int:
        """Classify *payload*; returns a ``FrameKind``."""
        return self._scan_bytes(as_payload_bytes(payload))

    def _scan_bytes(self, data: bytes) -> FrameKind:
        """:meth:`scan` on plain bytes (the twin of the compiled ``scan_ptr``)."""
        stripped = data.strip(_WHITESPACE)
        if stripped == b"pong":
            return FrameKind.PONG
        if not stripped.startswith(b"{"):
            return FrameKind.OTHER
        # Exact shortcut: a hit needs the target token, an event needs the "event" key.
        if self._matcher._find_in(data) < 0 and b'"event"' not in data:
            return FrameKind.OTHER
        try:
            frame = _Parser(data, self._target).frame()
        except _Invalid:
            return FrameKind.OTHER
        if frame.has_event:
            return FrameKind.EVENT
        if frame.action_ok and frame.arg_ok and frame.data_ok and not frame.top_escaped:
            return FrameKind.TICKER_HIT
        return FrameKind.OTHER

    def __repr__(self) -> str:
        return f"TickerScanner({self.symbol!r})"

    def __reduce__(self) -> tuple[type[TickerScanner], tuple[str]]:
        return (type(self), (self.symbol,))
