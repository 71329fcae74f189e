"""Diagnostic contestant ``sniper_spin_always_warm``: ``sniper run --json`` with ``SPIN=always``,
plus a cache warmer injected into its busy-poll from outside.

Not part of the budget. Since the product's own busy-poll warms the same way
(``sniper.live.warmer``, ``SPIN_WARM=1``), this contestant now runs two warmers side by side;
``sniper_spin_always`` is the product's warmer alone. ``bare_picows.py`` with ``BARE_WARM_US``
showed that the busy-polling client's ticker → ``on_ws_frame`` gap to the busy floor is a cold-path
cost: when a frame goes through the same read path (epoll → transport → picows → ``on_ws_frame``)
every few hundred µs, the gap disappears. This asked whether the same holds for the product: while
the :class:`sniper.live.spin.Spinner` busy-polls, a second picows connection to a picows server in
the same process (127.0.0.1, nothing leaves the host, nothing reaches the exchange) gets a
ticker-shaped frame for another symbol every ``WARM_US`` µs from the spin turn. Its listener is a
bare ``picows.WSListener`` (the scanner is not exercised: what is warmed is the loop, the transport
and picows, and the kernel's loopback path).

Usage (by the harness): ``python sniper_warm.py`` with the ``sniper run`` environment; it runs
``sniper run --json`` in this process after patching ``Spinner._start`` / ``Spinner._turn``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import picows

from sniper.cli import main as sniper_main
from sniper.live import spin

WARM_NS = int(float(os.environ.get("WARM_US", "200")) * 1000)
WARM_FRAME = (
    b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"WARMUSDT"},'
    b'"data":[{"instId":"WARMUSDT","lastPr":"1","open24h":"1","high24h":"1","low24h":"1",'
    b'"change24h":"0","bidPr":"1","askPr":"1","bidSz":"1","askSz":"1","baseVolume":"0",'
    b'"quoteVolume":"0","openUtc":"1","changeUtc24h":"0","ts":"1700000000000"}],'
    b'"ts":1700000000000}'
)
_tx: list[picows.WSTransport] = []
_next = [0]


class _Server(picows.WSListener):
    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        _tx.append(transport)


async def _open_pair() -> None:
    server = await picows.ws_create_server(lambda _request: _Server(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await picows.ws_connect(picows.WSListener, f"ws://127.0.0.1:{port}/")


_orig_start = spin.Spinner._start
_orig_turn = spin.Spinner._turn


def _start(self: spin.Spinner) -> None:
    if not _tx:
        asyncio.get_running_loop().create_task(_open_pair())
    _next[0] = time.monotonic_ns()
    _orig_start(self)


def _turn(self: spin.Spinner) -> None:
    if _tx and time.monotonic_ns() >= _next[0]:
        _next[0] += WARM_NS
        _tx[0].send(picows.WSMsgType.TEXT, WARM_FRAME)
    _orig_turn(self)


spin.Spinner._start = _start  # type: ignore[method-assign]
spin.Spinner._turn = _turn  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv = ["sniper", "run", "--json"]
    sys.exit(sniper_main())
