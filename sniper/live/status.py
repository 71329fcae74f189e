"""The one-line live status while armed (TTY only): redrawn at most twice a second with ``\\r``.

Log lines and the status line share the terminal: a filter on the ``sniper`` logger's handlers
erases the status line just before a log record is written; the next tick redraws it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import IO

from sniper.log import LOGGER_NAME

REDRAW_S = 0.5  # at most 2 redraws per second
_CLEAR = "\r\x1b[K"


class StatusLine:
    def __init__(self, stream: IO[str], render: Callable[[], str]) -> None:
        self.stream = stream
        self.render = render
        self._shown = False
        self._filter = _ClearBeforeLog(self)

    def draw(self) -> None:
        try:
            text = self.render()
        except Exception:  # the status line must never break the run
            return
        self.stream.write(_CLEAR + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self._shown = False

    async def run(self) -> None:
        handlers = logging.getLogger(LOGGER_NAME).handlers
        for h in handlers:
            h.addFilter(self._filter)
        try:
            while True:
                self.draw()
                await asyncio.sleep(REDRAW_S)
        finally:
            for h in handlers:
                h.removeFilter(self._filter)
            self.clear()


class _ClearBeforeLog(logging.Filter):
    def __init__(self, line: StatusLine) -> None:
        super().__init__()
        self._line = line

    def filter(self, record: logging.LogRecord) -> bool:
        self._line.clear()
        return True
