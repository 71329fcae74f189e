"""``sniper journal``: what past runs armed, fired and how they ended.

Shows the journal of the configured account and target (``BITGET_API_KEY`` and ``TARGET_TOKEN``
from ``.env``/``--env-file`` and the environment; the key only names the file, the secret and
passphrase are not needed), or with ``--all`` every journal in the state directory
(``SNIPER_STATE_DIR``, see :mod:`sniper.live.journal`). A table by default; ``--json``: one JSON
object per order on stdout. Exit 0 (2 when the account or target cannot be determined).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from sniper.live.journal import JournalFile, OrderRecord

_COLUMNS = ("armed (UTC)", "run", "clientOid", "size", "mode", "fired", "state", "orderId", "exit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file", metavar="PATH", help="read variables from PATH instead of ./.env"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per order")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every journal in the state directory, not only the configured account and target",
    )


def main(args: argparse.Namespace) -> int:
    from sniper.live.journal import list_journals, state_dir
    from sniper.log import setup_logging

    setup_logging(json_lines=args.json)  # torn-line warnings go to stderr
    directory = state_dir()
    if args.all:
        journals = list_journals(directory)
        if not journals and not args.json:
            print(f"no journal in {directory}")
        empty_note = None
    else:
        journals = [_configured_journal(args.env_file, directory)]
        empty_note = f"no run recorded yet for {journals[0].target} on account " + (
            f"{journals[0].account} ({journals[0].path})"
        )
    out = sys.stdout
    for journal in journals:
        if args.json:
            _print_json(journal, out)
        else:
            _print_table(journal, out, empty_note)
    return 0


def _configured_journal(env_file: str | None, directory: Path) -> JournalFile:
    """The journal of BITGET_API_KEY + TARGET_TOKEN; raises ``ConfigError``."""
    from sniper.config import normalise_symbol, read_environment
    from sniper.errors import ConfigError
    from sniper.live.journal import account_id, journal_path

    env = read_environment(env_file, os.environ)
    key = env.get("BITGET_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "BITGET_API_KEY",
            "the API key of the account (only its hash names the journal; or use --all)",
            "nothing (unset or empty)",
        )
    raw_target = env.get("TARGET_TOKEN", "").strip()
    if not raw_target:
        raise ConfigError(
            "TARGET_TOKEN", "a spot pair like PAWSUSDT (or use --all)", "nothing (unset or empty)"
        )
    target = normalise_symbol(raw_target)[0]
    account = account_id(key)
    return JournalFile(journal_path(directory, account, target), account, target)


def _print_json(journal: JournalFile, out: TextIO) -> None:
    from sniper.live.journal import read_orders

    for order in read_orders(journal.path):
        doc = {"journal": str(journal.path), "account": journal.account, **order.as_dict()}
        doc["target"] = order.target or journal.target
        doc["pending"] = order.needs_reconciliation()
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")


def _print_table(journal: JournalFile, out: TextIO, empty_note: str | None) -> None:
    from sniper.live.journal import read_orders

    orders = read_orders(journal.path)
    if not orders:
        print(empty_note or f"{journal.path}: empty", file=out)
        return
    print(f"journal {journal.path} — account {journal.account}, {journal.target}", file=out)
    rows = [_COLUMNS] + [_row(o) for o in orders]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    for row, order in zip(rows, [None, *orders], strict=True):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
        if order is not None:
            for note in _notes(order):
                print(f"    ↳ {note}", file=out)
    pending = [o for o in orders if o.needs_reconciliation()]
    if pending:
        oids = ", ".join(o.client_oid for o in pending)
        print(
            f"{len(pending)} order(s) sent without a proven outcome ({oids}): the next "
            "`sniper run` reconciles them before it fires; check your Bitget orders",
            file=out,
        )
    print(file=out)


def _row(order: OrderRecord) -> Sequence[str]:
    fired = ""
    if order.fired_at is not None:
        fired = f"{order.channel or '?'} {_clock(order.fired_at)}"
    state = order.state
    if order.needs_reconciliation():
        state = f"{state.upper()} (pending)"
    return (
        _when(order.armed_at),
        order.run_id,
        order.client_oid,
        order.size or order.amount,
        order.mode,
        fired,
        state,
        order.order_id or "",
        "" if order.exit_code is None else str(order.exit_code),
    )


def _notes(order: OrderRecord) -> list[str]:
    notes = []
    if order.fill:
        notes.append("fill: " + " · ".join(f"{k} {_plain(v)}" for k, v in order.fill.items()))
    if order.message:
        notes.append(" ".join(order.message.split()))
    return notes


def _when(iso: str | None) -> str:
    """``2026-12-01T17:00:03.123456Z`` → ``2026-12-01 17:00:03``."""
    if not iso:
        return "?"
    return iso.replace("T", " ").partition(".")[0].rstrip("Z")


def _clock(iso: str) -> str:
    """The time of day with milliseconds: ``17:00:05.123``."""
    _, _, rest = iso.partition("T")
    head, dot, frac = rest.rstrip("Z").partition(".")
    return f"{head}.{frac[:3]}" if dot else head or iso


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
