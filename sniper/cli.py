"""``sniper`` command line: ``run``, ``demo``, ``check``, ``journal``, ``exchange``, ``bench``.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``main(args) -> int``; those modules keep heavy imports inside ``main`` so ``sniper --help``
stays quick.
Any :class:`~sniper.errors.SniperError` that escapes becomes one line on stderr and its exit code
(no traceback). The commands that load credentials run with core dumps disabled.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sniper import __version__
from sniper.errors import SniperError

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "sniper.live.cli",
        "watch for the listing and sell COIN_AMOUNT once, the moment it opens",
    ),
    "demo": (
        "sniper.demo",
        "run the real sniper against the embedded exchange and show the latency",
    ),
    "check": ("sniper.live.check", "validate everything `run` needs without trading"),
    "journal": ("sniper.live.journal_cli", "show what past runs armed, fired and how they ended"),
    "exchange": ("sniper.exchange.cli", "serve the embedded Bitget-shaped exchange on 127.0.0.1"),
    "bench": ("benchmarks.budget", "run the latency benchmarks and check the budget"),
}


# Commands that hold the user's API credentials in memory: no core dump may ever write them out.
SECRET_COMMANDS = frozenset({"run", "check"})


def disable_core_dumps() -> bool:
    """Set ``RLIMIT_CORE`` to 0 (soft and hard, so nothing in the process can raise it again):
    a crash must not write the credentials to a core file. False where it cannot be done (not
    POSIX, or refused), after saying so on stderr."""
    try:
        import resource
    except ImportError:  # not POSIX: no core files of this kind
        return False
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:
        print(f"sniper: warning: could not disable core dumps ({exc})", file=sys.stderr)
        return False
    return True


def _benchmarks_from_checkout() -> None:
    """`sniper bench` runs the suite of the source checkout it is started in. The directory is
    appended (not prepended) to sys.path so it can never shadow the installed package."""
    import os

    if os.path.isfile(os.path.join(os.getcwd(), "benchmarks", "budget.py")):
        sys.path.append(os.getcwd())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sniper",
        description="Sell a token on Bitget the moment its new spot pair opens.",
    )
    parser.add_argument("--version", action="version", version=f"sniper {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _benchmarks_from_checkout()
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(_module=module)
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only a missing subcommand module itself is tolerated (e.g. `bench` outside a
            # source checkout); a missing dependency inside it is a real error.
            if exc.name is None or not module.startswith(exc.name):
                raise
            sp.set_defaults(_unavailable=f"`sniper {name}` is not available here ({exc.name})")
            continue
        mod.add_arguments(sp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    unavailable = getattr(args, "_unavailable", None)
    if unavailable:
        print(f"sniper: {unavailable}", file=sys.stderr)
        return 2
    if args.command in SECRET_COMMANDS:
        disable_core_dumps()  # before any credential is read
    module = importlib.import_module(args._module)
    try:
        return int(module.main(args))
    except SniperError as exc:
        print(f"sniper: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sniper: interrupted", file=sys.stderr)
        return 130
