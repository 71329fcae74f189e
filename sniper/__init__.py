"""sniper: sell a token on Bitget the moment its new spot pair opens."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sniper")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
