"""Stub of the compiled ``sniper._fast.scanner`` (twin: ``scanner_py``)."""

class TickerScanner:
    """Classifies one WebSocket payload for one target symbol."""

    def __init__(self, symbol: str) -> None: ...
    @property
    def symbol(self) -> str: ...
    def scan(self, payload: bytes | bytearray | memoryview) -> int:
        """Returns a ``FrameKind`` value (a plain ``int``)."""
