"""Logging: concise timestamped lines, or JSON lines with ``--json``.

Credentials never reach a handler: :class:`RedactingFilter` replaces any registered secret
value that a formatted message might contain (defence in depth; code never logs them).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import TextIO

LOGGER_NAME = "sniper"


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            text = record.getMessage()
            redacted = text
            for secret in self._secrets:
                redacted = redacted.replace(secret, "***")
            if redacted != text:
                record.msg, record.args = redacted, ()
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        t = time.strftime("%H:%M:%S", time.gmtime(record.created))
        ms = int(record.msecs)
        level = "" if record.levelno == logging.INFO else f"{record.levelname} "
        return f"{t}.{ms:03d} {level}{record.getMessage()}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        return json.dumps(doc, separators=(",", ":"), default=str)


_filter = RedactingFilter()


def setup_logging(
    *, json_lines: bool = False, verbose: bool = False, stream: TextIO | None = None
) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if json_lines else _TextFormatter())
    handler.addFilter(_filter)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return logger


def register_secret(value: str) -> None:
    """Make ``value`` unprintable through the sniper logger."""
    _filter.add(value)


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
