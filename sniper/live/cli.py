"""``sniper run``: watch for the listing and sell COIN_AMOUNT once, the moment it opens.

Exit codes: 0 one order accepted (or, with ``--dry-run``, the open detected) · 2 start-up or
configuration failure · 3 the order was finally rejected · 4 the order's fate is unknown (it was
written, never confirmed, and not resent because it may have executed: check your orders) ·
5 partly sold: the fill report shows less than the order's size, the rest resting at the floor
(``MIN_PRICE`` with ``FLOOR_TIF=gtc``) or cancelled (ioc, or a market order's thin book) ·
1 anything unexpected · 130 Ctrl-C / 143 SIGTERM before the fire (nothing was sent).

After the fire a first Ctrl-C/SIGTERM only says the order was sent (its clientOid) and the run
goes on confirming it, ending with the true outcome; a second one stops at once with exit 4
(:mod:`sniper.live.signals`).
Heavy imports stay inside :func:`main` so ``sniper --help`` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sniper.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file", metavar="PATH", help="read variables from PATH instead of ./.env"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="do everything except sending the order; print it (credentials masked) and exit 0 "
        "when the open is detected",
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON lines: logs on stderr, the result on stdout"
    )
    add_config_arguments(parser)
    parser.add_argument(
        "--open-time",
        metavar="WHEN",
        help="announced open time, ISO 8601 (naive = UTC) or ms since the epoch; arms the "
        "scheduled channel when the exchange shows no openTime (same as OPEN_TIME)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``check`` that override the environment."""
    parser.add_argument(
        "--demo",
        action="store_true",
        help="Bitget demo trading: `paptrading: 1` on every REST call and the wspap WebSocket "
        "host (same as BITGET_DEMO=1; needs a demo API key)",
    )


def config_environ(args: argparse.Namespace) -> dict[str, str]:
    """The process environment overlaid by the command-line options (they win over .env)."""
    import os

    environ = dict(os.environ)
    if getattr(args, "demo", False):
        environ["BITGET_DEMO"] = "1"
    open_time = getattr(args, "open_time", None)
    if open_time is not None:
        from sniper.config import parse_open_time

        parse_open_time(open_time, "--open-time")  # name the option, not OPEN_TIME, on error
        environ["OPEN_TIME"] = open_time
    return environ


def setup_command_logging(args: argparse.Namespace, *, library_level: int) -> logging.Logger:
    """The sniper logger (``--json``, ``--verbose``); picows/aiohttp/asyncio log through their own
    loggers, so route them through ours (redacted, formatted): all with ``--verbose``, else from
    ``library_level`` up."""
    from sniper.log import setup_logging

    logger = setup_logging(json_lines=args.json, verbose=args.verbose)
    for name in ("picows", "aiohttp", "asyncio"):
        lib = logging.getLogger(name)
        lib.handlers = list(logger.handlers)
        lib.setLevel(logging.DEBUG if args.verbose else library_level)
        lib.propagate = False
    return logger


def load_command_config(args: argparse.Namespace) -> Config:
    """The configuration from ``--env-file`` (or ./.env) and :func:`config_environ`, its secrets
    registered so that no log line can print them. Raises ``ConfigError``."""
    from sniper.config import load_config
    from sniper.log import register_secret

    config = load_config(args.env_file, config_environ(args))
    for secret in (config.api_key, config.secret_key, config.passphrase):
        register_secret(secret.reveal())
    return config


def main(args: argparse.Namespace) -> int:
    from sniper.errors import SniperError

    setup_command_logging(args, library_level=logging.WARNING)
    log = logging.getLogger("sniper.run")
    finished = False  # the run ended (its outcome printed); only the loop's close is left
    sniper = None
    try:
        config = load_command_config(args)

        import asyncio

        import uvloop

        from sniper.live.runner import Sniper

        sniper = Sniper(config, out=sys.stdout, dry_run=args.dry_run, json_output=args.json)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(sniper.run())  # SIGINT/SIGTERM during the run: sniper.live.signals
            finished = True
    except SniperError as exc:
        log.error("%s", _one_line(exc, type(exc).__name__ == "ConfigError"))
        return exc.exit_code
    except KeyboardInterrupt:
        # outside the run's own handlers: while starting (nothing sent), or while the loop
        # closes after a run that already ended well
        if finished:
            return 0
        client_oid = sniper.sent_client_oid() if sniper is not None else None
        if client_oid is not None:
            log.error(
                "interrupted: clientOid %s was sent and its fate is unknown — check your orders "
                "on Bitget before running again",
                client_oid,
            )
            return 4
        log.error("interrupted before any order was sent")
        return 130
    except Exception as exc:  # an unexpected bug: one line (a traceback only with --verbose)
        log.error("unexpected error: %s: %s", type(exc).__name__, exc, exc_info=bool(args.verbose))
        return 1
    return result.exit_code  # 0 all sold, 5 partly sold (the rest rests at the floor / cancelled)


def _one_line(exc: BaseException, config: bool) -> str:
    text = " ".join(str(exc).split())
    if config:
        return f"configuration: {text} — fix it in .env (or --env-file) or the environment"
    return text
