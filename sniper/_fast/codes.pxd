# Shared result codes of the compiled core (a header-only .pxd: there is no codes.pyx).
# The Python-side twin is sniper/_fast/codes_py.py (FrameKind, an IntEnum with the same values);
# keep both in step.

cdef enum FrameKind:
    # anything else: other channel or symbol, junk, invalid or truncated JSON, binary
    FRAME_OTHER = 0
    # a ticker push carrying non-empty data for exactly the target symbol
    FRAME_TICKER_HIT = 1
    # the text "pong" (the answer to our text "ping")
    FRAME_PONG = 2
    # a JSON object with a top-level "event" key: subscribe ack, error, login
    FRAME_EVENT = 3
