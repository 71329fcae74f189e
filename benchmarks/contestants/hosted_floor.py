"""Diagnostic contestant ``hosted_floor``: the floor's C loop, run inside a CPython process
shaped like ``sniper run``.

Not part of the budget. It answers one question: is the sniper's distance to the floor the
cost of being a (large, multi-threaded) CPython process, or the cost of the code that runs
between the kernel waking the process and the order's ``write()``? The process imports what
``sniper run`` imports, runs a uvloop event loop in the main thread with a timer every 50 ms
(the poller's cadence), and runs ``floor_main()`` from ``floor.c`` (built with
``-DFLOOR_AS_LIBRARY``) in a second thread through ctypes, which releases the GIL for the
whole call: from ``recv()`` to ``write()`` only the floor's C code runs, as in the floor.

Usage (by the harness): ``python hosted_floor.py /path/to/libfloor.so``; same environment
contract and exit codes as the floor.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
import threading
from collections.abc import Callable

import aiohttp  # noqa: F401  - the sniper's imports, so the process has the sniper's size
import picows  # noqa: F401
import uvloop

import sniper.live.runner  # noqa: F401

POLL_INTERVAL_S = 0.05  # the sniper's default REST poll cadence


async def _host(floor_main: Callable[[], int]) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    def body() -> None:
        rc = floor_main()  # ctypes drops the GIL for the call
        loop.call_soon_threadsafe(done.set_result, rc)

    threading.Thread(target=body, name="floor", daemon=True).start()
    while not done.done():
        await asyncio.wait([done], timeout=POLL_INTERVAL_S)
    return done.result()


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: hosted_floor.py LIBFLOOR.so", file=sys.stderr)
        return 2
    floor_main = ctypes.CDLL(sys.argv[1]).floor_main
    floor_main.restype = ctypes.c_int
    floor_main.argtypes = []
    return uvloop.run(_host(floor_main))


if __name__ == "__main__":
    sys.exit(main())
