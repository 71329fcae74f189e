"""Type stub of the compiled ``sniper.live.hotpath`` (twin: ``hotpath_py.py``)."""

from collections.abc import Callable
from typing import Any

from picows import WSFrame, WSListener, WSTransport

CHANNEL_WS: str
CHANNEL_POLL: str
CHANNEL_SCHEDULED: str
CHANNEL_STARTUP: str
MAX_MESSAGE_SIZE: int

def now_ns() -> int: ...

class OrderTrigger:
    fired: bool
    dry_run: bool
    channel: str | None
    lane: int
    detect_ns: int
    written_ns: int
    def __init__(
        self,
        on_fired: Callable[[str, int, int, int, Any], object],
        on_seen: Callable[[str, int], object] | None = None,
        *,
        dry_run: bool = False,
    ) -> None: ...
    def set_request(self, request: bytes) -> None: ...
    @property
    def request(self) -> bytes | None: ...
    def set_lane(
        self,
        index: int,
        write: Callable[[bytes], object] | None,
        idle: bool,
        claim: Callable[[str, int], Any] | None = None,
    ) -> None: ...
    def lane_state(self) -> tuple[tuple[bool, bool], tuple[bool, bool]]: ...
    def fire(self, channel: str, detect_ns: int) -> bool: ...

class TickerListener(WSListener):
    ping_sent_ns: int
    frames: int
    first_hit: bytes | None
    first_hit_ns: int
    def __init__(
        self,
        scanner: Any,
        trigger: OrderTrigger,
        on_event: Callable[[bytes], object],
        on_pong: Callable[[int], object],
        on_connected: Callable[[WSTransport], object] | None = None,
        on_disconnected: Callable[[WSTransport], object] | None = None,
    ) -> None: ...
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None: ...
    def send_user_specific_ping(self, transport: WSTransport) -> None: ...
    def is_user_specific_pong(self, frame: WSFrame) -> bool: ...
