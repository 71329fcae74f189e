"""``sniper run``: watch for the listing and sell COIN_AMOUNT once, the moment it opens.

Exit codes: 0 one order accepted (or, with ``--dry-run``, the open detected) · 2 start-up or
configuration failure · 3 the order was finally rejected · 1 anything unexpected · 130 Ctrl-C.
Heavy imports stay inside :func:`main` so ``sniper --help`` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys


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
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def main(args: argparse.Namespace) -> int:
    from sniper.errors import SniperError
    from sniper.log import register_secret, setup_logging

    logger = setup_logging(json_lines=args.json, verbose=args.verbose)
    log = logging.getLogger("sniper.run")
    # picows/aiohttp log through their own loggers; route them through ours (redacted, formatted)
    for name in ("picows", "aiohttp", "asyncio"):
        lib = logging.getLogger(name)
        lib.handlers = list(logger.handlers)
        lib.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
        lib.propagate = False

    try:
        from sniper.config import load_config

        config = load_config(args.env_file)
        for secret in (config.api_key, config.secret_key, config.passphrase):
            register_secret(secret.reveal())

        import asyncio

        import uvloop

        from sniper.live.runner import Sniper

        sniper = Sniper(config, out=sys.stdout, dry_run=args.dry_run, json_output=args.json)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(sniper.run())
    except SniperError as exc:
        log.error("%s", _one_line(exc, type(exc).__name__ == "ConfigError"))
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # an unexpected bug: one line (a traceback only with --verbose)
        log.error("unexpected error: %s: %s", type(exc).__name__, exc, exc_info=bool(args.verbose))
        return 1
    return 0


def _one_line(exc: BaseException, config: bool) -> str:
    text = " ".join(str(exc).split())
    if config:
        return f"configuration: {text} — fix it in .env (or --env-file) or the environment"
    return text
