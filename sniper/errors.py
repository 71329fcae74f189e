"""The one error tree of ``sniper``, split by what the caller should do.

Messages say what was expected and what was received and never contain a secret: anything
that may carry a credential goes through :func:`sniper.secrets.mask` before it is formatted.
"""

from __future__ import annotations

import signal


class SniperError(Exception):
    """Base of every error ``sniper`` raises on purpose."""

    exit_code = 1


class ExtensionsMissing(SniperError):
    """The compiled hot path is not importable and the pure-Python twins were not asked for."""

    exit_code = 2


class ConfigError(SniperError):
    """Configuration is unusable: fatal at start, names the variable."""

    exit_code = 2

    def __init__(self, variable: str, expected: str, received: str) -> None:
        self.variable = variable
        self.expected = expected
        self.received = received
        super().__init__(f"{variable}: expected {expected}, got {received}")


class FeedError(SniperError):
    """The market-data feed failed; the shell reconnects."""


class ExchangeError(SniperError):
    """The exchange answered with an error envelope or an unexpected HTTP status."""

    def __init__(
        self, http_status: int | None, code: str | None, msg: str, *, hint: str = ""
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.hint = hint
        parts = [f"HTTP {http_status}" if http_status is not None else "no HTTP status"]
        if code is not None:
            parts.append(f"code {code}")
        text = f"{msg} ({', '.join(parts)})"
        if hint:
            text = f"{hint}: {text}"
        super().__init__(text)


class ExchangeRejected(ExchangeError):
    """Final: retrying the same request cannot succeed (auth, balance, precision, minimum...)."""

    exit_code = 2


class ExchangeUnavailable(ExchangeError):
    """Transient: busy, rate-limited, 5xx, connection trouble; retry within budget."""


class StartupError(SniperError):
    """``sniper run`` could not get ready (exchange unreachable, symbol unusable...): exit 2."""

    exit_code = 2


class OrderRejected(ExchangeRejected):
    """The sell order itself was finally rejected (balance, minimum, precision...): exit 3.

    The ``hint`` is the whole plain-words line (it already quotes the code and message)."""

    exit_code = 3

    def __str__(self) -> str:
        return self.hint or super().__str__()


class OrderUnconfirmed(SniperError):
    """The order was written but its fate could not be established: it may have executed.

    Never retried: a resend could sell twice (clientOid idempotency only holds while the first
    copy is unfilled). The message says what is known (e.g. the balance fell) and to check the
    account's orders before running again. Exit 4."""

    exit_code = 4


class CredentialsRejected(StartupError):
    """The exchange refused the API key, secret or passphrase (or the key's IP/permission):
    exit 2, the message names the variable to fix."""


class AlreadyRunning(StartupError):
    """Another ``sniper run`` holds the instance lock of this account and target: exit 2, the
    message names that process (pid, start time) and the lock file."""


class Interrupted(SniperError):
    """Ctrl-C (SIGINT) or SIGTERM ended the run before any order was sent: exit 128 + the
    signal's number (130, 143), as a shell reports a process ended by that signal."""

    def __init__(self, signum: int, message: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        super().__init__(message or f"interrupted ({name}) before any order was sent")
