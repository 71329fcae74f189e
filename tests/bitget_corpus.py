"""The corpus of real Bitget traffic (``tests/data/bitget-samples.json``) as test fixtures.

The file is a verbatim copy of the project's reference corpus (``shared/bitget-samples.json``):
WebSocket frames and REST bodies captured from the live venue or printed in Bitget's own
documentation, each with its ``source``. Bodies are never edited. Tests parametrize over
:func:`samples` (optionally filtered by kind prefix), so a sample added to the file is picked up
without new code; a sample of a *kind* no test knows makes :func:`expect_known_kinds` fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "bitget-samples.json"
# the reference copy beside the repository (present on developer machines and in CI)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "bitget-samples.json"


@dataclass(frozen=True)
class Sample:
    index: int  # position in the file (stable id for a test name)
    kind: str  # e.g. "ws_v2_ticker", "rest_error_v3"
    source: str  # where it was captured or printed
    body: str  # exactly as captured (a JSON text, or plain text such as "pong")

    @property
    def id(self) -> str:
        return f"{self.index:02d}-{self.kind}"

    @property
    def raw(self) -> bytes:
        return self.body.encode()

    def doc(self) -> Any:
        return json.loads(self.body)

    @property
    def is_ws(self) -> bool:
        return self.kind.startswith("ws_")

    @property
    def generation(self) -> str:
        """``v2`` | ``v3`` | ``any`` (``ws_pong``)."""
        for gen in ("v2", "v3"):
            if f"_{gen}" in self.kind:
                return gen
        return "any"


@cache
def _load(path: Path) -> tuple[Sample, ...]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, s in enumerate(doc["samples"]):
        body = s["body"]
        if not isinstance(body, str):
            body = json.dumps(body, separators=(",", ":"))
        out.append(Sample(i, s["kind"], s["source"], body))
    return tuple(out)


def samples(prefix: str = "", path: Path = DATA) -> tuple[Sample, ...]:
    """Every sample whose kind starts with ``prefix``."""
    return tuple(s for s in _load(path) if s.kind.startswith(prefix))


def kinds(path: Path = DATA) -> set[str]:
    return {s.kind for s in _load(path)}


def expect_known_kinds(known: set[str], prefix: str = "") -> list[str]:
    """Kinds in the corpus (under ``prefix``) that ``known`` does not cover."""
    return sorted(k for k in kinds() if k.startswith(prefix) and k not in known)
