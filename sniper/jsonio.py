"""The one JSON seam off the hot path: REST replies, WebSocket events, symbol rows.

Every JSON text the shell parses goes through :func:`loads`. The hot path never does (the
scanner reads the ticker push in place, ARCHITECTURE.md), so this is about the work around it:
the symbols poller, balance reads, order acks and look-ups, subscribe acks and errors. The
largest of those, a full symbols list (823 rows, ~330 kB), is what made a faster parser worth a
seam; ``benchmarks/test_micro.py::test_json_loads`` measures it against ``json.loads``.

Contract: ``loads(data)`` returns what ``json.loads(data)`` returns (plain ``dict``, ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``; duplicate keys: the last wins) and raises a
``ValueError`` (``json.JSONDecodeError``, or ``UnicodeDecodeError`` for undecodable bytes)
where ``json.loads`` raises one. It also takes a ``memoryview``. Two deliberate differences:

* nesting too deep for the stack (``json.loads`` raises ``RecursionError``) is a ``ValueError``
  here, so a hostile frame is one more unparseable frame, never a crash of a callback;
* simdjson accepts nesting up to 1024 levels, a little deeper than ``json.loads`` can go.

How: pysimdjson parses first, into plain Python objects (``recursive=True``: no proxy outlives
the call, so a parser can be reused at once). Whenever simdjson refuses a text, ``json.loads``
parses it again and its answer is the answer: the reference decides every case simdjson does
not take (integers beyond 64 bits, ``NaN``/``Infinity``, ``1e400``, lone surrogate escapes,
UTF-16 bytes, and every invalid text, with ``json``'s line/column message). The one text
simdjson takes and ``json.loads`` refuses, a ``str`` starting with a byte-order mark, goes to the
reference directly. Parsers are pooled: ``list.pop``/``append`` are atomic, so two threads, or a
call made from a finalizer in the middle of another, never share one.
"""

from __future__ import annotations

import json
from typing import Any

import simdjson

_POOL: list[simdjson.Parser] = []  # idle parsers, each keeps its buffers from the last parse
_POOL_MAX = 4  # idle parsers kept; more only exist while calls overlap


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse one JSON text into plain Python objects, exactly as ``json.loads`` would."""
    if isinstance(data, str) and data.startswith("\ufeff"):
        return _reference(data)  # json.loads refuses a str BOM; simdjson would skip it
    try:
        parser = _POOL.pop()
    except IndexError:
        parser = simdjson.Parser()
    try:
        return parser.parse(data, True)
    except (ValueError, RuntimeError, BufferError):
        pass  # a text simdjson does not take (BufferError: a non-contiguous memoryview)
    finally:
        if len(_POOL) < _POOL_MAX:
            _POOL.append(parser)
    return _reference(data)


def _reference(data: bytes | bytearray | memoryview | str) -> Any:
    text = bytes(data) if isinstance(data, memoryview) else data
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON text nested too deep") from None
