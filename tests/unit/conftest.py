"""Fixtures for the ``sniper._fast`` unit tests: every test runs against both implementations.

``impl`` is parametrized over the compiled modules and their pure-Python twins. The compiled
parameter FAILS (it never skips) when the extensions are not importable: a test run that
silently exercised only the twins would prove nothing about what ships.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest


@dataclass(frozen=True)
class Impl:
    """One implementation of the ``sniper._fast`` API."""

    name: str  # "compiled" or "twin"
    FrameKind: Any
    TargetMatcher: Any
    TickerScanner: Any
    OrderTemplate: Any
    sign: Any
    modules: tuple[ModuleType, ...]

    def __repr__(self) -> str:
        return f"Impl({self.name})"


def _load(name: str) -> Impl:
    suffix = "" if name == "compiled" else "_py"
    try:
        matcher = importlib.import_module(f"sniper._fast.matcher{suffix}")
        scanner = importlib.import_module(f"sniper._fast.scanner{suffix}")
        signer = importlib.import_module(f"sniper._fast.signer{suffix}")
    except Exception as exc:  # ImportError, or sniper.errors.ExtensionsMissing from the loader
        pytest.fail(f"cannot import the {name} sniper._fast modules: {exc!r}", pytrace=False)
    codes = importlib.import_module("sniper._fast.codes_py")
    if name == "compiled":
        for module in (matcher, scanner, signer):
            if not module.__file__ or module.__file__.endswith(".py"):
                pytest.fail(f"{module.__name__} is not compiled: {module.__file__}", pytrace=False)
    return Impl(
        name=name,
        FrameKind=codes.FrameKind,
        TargetMatcher=matcher.TargetMatcher,
        TickerScanner=scanner.TickerScanner,
        OrderTemplate=signer.OrderTemplate,
        sign=signer.sign,
        modules=(matcher, scanner, signer),
    )


@pytest.fixture(scope="session", params=["compiled", "twin"])
def impl(request: pytest.FixtureRequest) -> Impl:
    """The compiled modules, then the pure-Python twins (session-scoped: hypothesis-safe)."""
    return _load(request.param)


@pytest.fixture(scope="session")
def compiled() -> Impl:
    """The compiled modules only (for compiled-vs-twin comparisons)."""
    return _load("compiled")


@pytest.fixture(scope="session")
def twin() -> Impl:
    """The pure-Python twins only (for compiled-vs-twin comparisons)."""
    return _load("twin")
