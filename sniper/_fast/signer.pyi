"""Stub of the compiled ``sniper._fast.signer`` (twin: ``signer_py``)."""

from sniper.secrets import Secret

def sign(secret: bytes | bytearray, prehash: bytes | bytearray | memoryview) -> bytes: ...

class OrderTemplate:
    """One complete, signed HTTP/1.1 request that can be re-signed in place."""

    def __init__(
        self,
        *,
        method: str,
        host: str,
        path: str,
        query: str = "",
        body: bytes | str = b"",
        api_key: str,
        secret: str | bytes | bytearray | Secret,
        passphrase: str,
        locale: str = "en-US",
        demo: bool = False,
        timestamp_ms: int,
        user_agent: str | None = None,
    ) -> None: ...
    def resign(self, timestamp_ms: int) -> None: ...
    @property
    def request(self) -> bytes: ...
    @property
    def view(self) -> memoryview: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def path_with_query(self) -> str: ...
