"""One order connection's state and its board (``lanes.py``), without a network: a lane
publishes write / idle / claim to its board on every change and reads its idle flag back from
there; the trigger's claim publishes nothing (the post-write path is one-way). Runs against
both boards: the trigger (compiled and twin) and ``LaneStates``."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest

from sniper.live import hotpath_py
from sniper.live.lanes import LaneClosed, LaneStates, OrderLane, OrderLanes

OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"


class FakeTransport:
    """The slice of an asyncio transport a lane uses."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


class CountingBoard(LaneStates):
    """A ``LaneStates`` that counts what the lanes publish."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[int, bool, bool, bool]] = []  # (index, up, idle, claim)

    def set_lane(self, index: int, write: Any, idle: bool, claim: Any = None) -> None:
        self.published.append((index, write is not None, idle, claim is not None))
        super().set_lane(index, write, idle, claim)


def _boards() -> list[Any]:
    boards = [
        pytest.param(LaneStates, id="lane-states"),
        pytest.param(lambda: hotpath_py.OrderTrigger(lambda *a: None), id="trigger-twin"),
    ]
    try:
        compiled = importlib.import_module("sniper.live.hotpath")
    except ImportError:
        return boards
    boards.append(pytest.param(lambda: compiled.OrderTrigger(lambda *a: None), id="trigger"))
    return boards


@pytest.mark.parametrize("make_board", _boards())
async def test_a_lane_reads_its_idle_flag_from_the_board(make_board: Any) -> None:
    board = make_board()
    lane = OrderLane(1, lambda _lane: None, board)
    assert board.lane_state()[1] == (False, False) and not lane.idle
    lane.connection_made(FakeTransport())  # type: ignore[arg-type]
    assert board.lane_state()[1] == (True, True) and lane.idle
    board.set_lane(1, lane.write, False, lane.claim)  # e.g. the trigger wrote on it
    assert not lane.idle, "the lane's idle flag is the board's, not a second copy"
    lane.data_received(b"")  # nothing changed
    assert not lane.idle


async def test_the_trigger_claim_publishes_nothing_and_the_reply_publishes_idle() -> None:
    board = CountingBoard()
    lane = OrderLane(0, lambda _lane: None, board)
    lane.connection_made(FakeTransport())  # type: ignore[arg-type]
    assert board.published == [(0, True, True, True)]
    board.set_lane(0, lane.write, False, lane.claim)  # what the trigger does after its write
    board.published.clear()
    reply = lane.claim("order", 123)
    assert board.published == [] and not lane.idle  # one way: no call back into the board
    lane.data_received(OK_REPLY)
    assert reply.done() and reply.result().status == 200
    assert board.published == [(0, True, True, True)] and lane.idle


async def test_expect_publishes_busy_and_a_lost_connection_publishes_down() -> None:
    board = CountingBoard()
    lane = OrderLane(0, lambda _lane: None, board)
    transport = FakeTransport()
    lane.connection_made(transport)  # type: ignore[arg-type]
    reply = lane.send(b"GET / HTTP/1.1\r\n\r\n", "keepalive")
    assert transport.written and board.published[-1] == (0, True, False, True)
    assert not lane.idle and lane.waits_for(reply)
    lane.connection_lost(None)
    assert board.published[-1] == (0, False, False, False) and not lane.idle
    with pytest.raises(LaneClosed):
        await reply
    count = len(board.published)
    lane.connection_lost(None)  # once down, a lane never publishes again (its slot is reused)
    assert len(board.published) == count


async def test_abort_waiting_aborts_only_the_lane_that_owes_the_reply() -> None:
    board = LaneStates()
    lanes = OrderLanes(
        host="127.0.0.1",
        port=1,
        addr="127.0.0.1",
        ssl_context=None,
        keepalive_request=b"",
        keepalive_interval_s=10.0,
        board=board,
    )
    t0, t1 = FakeTransport(), FakeTransport()
    lane0, lane1 = OrderLane(0, lambda _lane: None, board), OrderLane(1, lambda _lane: None, board)
    lane0.connection_made(t0)  # type: ignore[arg-type]
    lane1.connection_made(t1)  # type: ignore[arg-type]
    lanes.lanes[:] = [lane0, lane1]  # as its connections would have made them
    stuck = lane1.claim("order", 1)
    assert lanes.abort_waiting(stuck)
    assert t1.closing and not t0.closing
    assert not lanes.abort_waiting(asyncio.get_running_loop().create_future())
