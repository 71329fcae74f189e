"""The compiled hot path, or — only when explicitly asked for — its pure-Python twins.

``IMPLEMENTATION`` says which one is loaded: ``"compiled"`` or ``"pure-python"``. There is no
silent fallback: if the extension modules are not built, importing this package raises
``sniper.errors.ExtensionsMissing`` unless ``SNIPER_PURE_PYTHON=1`` is set, and then a loud
warning goes to stderr (directly, not through ``warnings``: tests turn warnings into errors).
"""

from __future__ import annotations

import os
import sys

from .codes_py import FrameKind

__all__ = [
    "IMPLEMENTATION",
    "PURE_PYTHON_ENV",
    "FrameKind",
    "OrderTemplate",
    "TargetMatcher",
    "TickerScanner",
    "sign",
]

PURE_PYTHON_ENV = "SNIPER_PURE_PYTHON"
"""Set to ``1`` to run the pure-Python twins instead of the compiled modules (tests/debug only)."""

_PURE_PYTHON_WARNING = (
    "sniper: WARNING: {env}=1: running the pure-Python twins: "
    "frame scanning will be ~10-150x slower; never do this with real money\n"
)

if os.environ.get(PURE_PYTHON_ENV) == "1":
    from .matcher_py import TargetMatcher
    from .scanner_py import TickerScanner
    from .signer_py import OrderTemplate, sign

    IMPLEMENTATION = "pure-python"
    sys.stderr.write(_PURE_PYTHON_WARNING.format(env=PURE_PYTHON_ENV))
    sys.stderr.flush()
else:
    try:
        from .matcher import TargetMatcher  # type: ignore[assignment]
        from .scanner import TickerScanner  # type: ignore[assignment]
        from .signer import OrderTemplate, sign  # type: ignore[assignment]
    except ImportError as exc:
        from sniper.errors import ExtensionsMissing

        raise ExtensionsMissing(
            f"the compiled extensions of sniper._fast are not built ({exc}). Build them with "
            "`pip install .` (or `python setup.py build_ext --inplace` in a source tree). "
            f"For tests or debugging only, {PURE_PYTHON_ENV}=1 runs the slow pure-Python twins."
        ) from exc
    IMPLEMENTATION = "compiled"
