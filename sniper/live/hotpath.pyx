# cython: language_level=3
"""The hot path: a picows listener that fires the pre-signed sell inside ``on_ws_frame``.

``TickerListener.on_ws_frame`` stamps a monotonic ns, hands the borrowed payload pointer to the
compiled ``TickerScanner.scan_ptr`` and, on ``FRAME_TICKER_HIT``, calls ``OrderTrigger.fire``
which checks/sets the exactly-once flag and writes the pre-built request bytes on an idle warm
order connection, in the same callback: no queue, no task, no JSON, no await before the bytes
are out. Only then, one way: the trigger marks that lane busy, claims the reply with the lane's
``claim`` (a future, FIFO per connection) and hands it to ``on_fired`` (a plain call; nothing
calls back into the trigger). Pongs and events (subscribe acks, errors) leave the hot path
through callbacks.

The trigger is the lanes' board: each order connection publishes its state here
(``set_lane(index, write, idle, claim)``) and reads its idle flag back from here
(``lane_state``), so the flag the hot path checks — a C ``bint`` — is the only copy.

A fragmented text message (RFC 6455 §5.4: a TEXT frame without ``fin``, then CONTINUATION
frames, the last one with ``fin``) is copied into one buffer, at most ``MAX_MESSAGE_SIZE``
bytes (beyond that it is dropped, with a debug line), and scanned once, whole, when its final
frame arrives; it is then handled exactly like a single frame, stamped at the final frame's
callback. A CONTINUATION without a started message is ignored. The unfragmented TEXT frame pays
one extra check (``frame.fin``) and still allocates nothing on a miss.

Twin: ``hotpath_py.py``.
"""

import logging

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.string cimport memcmp, memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from sniper._fast.codes cimport FRAME_EVENT, FRAME_PONG, FRAME_TICKER_HIT
from sniper._fast.scanner cimport TickerScanner

CHANNEL_WS = "ws"
# the same string as a C-level constant: no module-dict lookup in the frame callback
cdef str _CHANNEL_WS = CHANNEL_WS
CHANNEL_POLL = "poll"
CHANNEL_SCHEDULED = "scheduled"
CHANNEL_STARTUP = "startup"

cdef enum:
    # Longest payload worth checking for "pong" (the text, maybe with whitespace around it).
    PONG_MAX_SIZE = 16
    # bytes: the largest fragmented text message assembled; a longer one is dropped
    _MAX_MESSAGE_SIZE = 1048576

MAX_MESSAGE_SIZE = _MAX_MESSAGE_SIZE

_log = logging.getLogger("sniper.feed")


cdef inline long long monotonic_ns() noexcept nogil:
    # Same clock as time.monotonic_ns() on Linux (CLOCK_MONOTONIC).
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <long long>ts.tv_sec * 1000000000 + ts.tv_nsec


def now_ns():
    """``CLOCK_MONOTONIC`` in ns (the clock every hot-path stamp uses)."""
    return monotonic_ns()


@cython.final
cdef class OrderTrigger:
    """Exactly-once gate + the bytes to write. See ``hotpath.pxd`` for the fields."""

    def __init__(self, on_fired, on_seen=None, *, bint dry_run=False):
        self.fired = False
        self.dry_run = dry_run
        self.channel = None
        self.lane = -1
        self.detect_ns = 0
        self.written_ns = 0
        self._request = None
        self._write0 = None
        self._write1 = None
        self._claim0 = None
        self._claim1 = None
        self._idle0 = False
        self._idle1 = False
        self._on_fired = on_fired
        self._on_seen = on_seen

    def set_request(self, bytes request):
        """Swap in the freshly signed request (called by the re-signer, off the hot path)."""
        self._request = request

    @property
    def request(self):
        return self._request

    def set_lane(self, int index, write, bint idle, claim=None):
        """Lane ``index`` is up with ``write`` (or down when ``write`` is None); ``idle`` = no
        response outstanding; ``claim(kind, sent_ns)`` claims the reply to what was just
        written (returns the reply's future)."""
        if index == 0:
            self._write0 = write
            self._claim0 = claim if write is not None else None
            self._idle0 = idle and write is not None
        elif index == 1:
            self._write1 = write
            self._claim1 = claim if write is not None else None
            self._idle1 = idle and write is not None
        else:
            raise ValueError("lane index must be 0 or 1")

    def lane_state(self):
        """((up0, idle0), (up1, idle1)): the lanes read their idle flag back from here."""
        return ((self._write0 is not None, self._idle0), (self._write1 is not None, self._idle1))

    cdef inline int _pick_lane(self) noexcept:
        # An idle lane first: never queue the order behind a keep-alive if avoidable.
        if self._write0 is not None and self._idle0:
            return 0
        if self._write1 is not None and self._idle1:
            return 1
        if self._write0 is not None:
            return 0
        if self._write1 is not None:
            return 1
        return -1

    cpdef bint fire(self, str channel, long long detect_ns) except -1:
        """First call: write the order, stamp, claim the reply, notify ``on_fired``; returns
        True. Later calls only notify ``on_seen`` and return False."""
        cdef int lane = -1
        cdef long long written
        if self.fired:
            if self._on_seen is not None:
                self._on_seen(channel, detect_ns)
            return False
        self.fired = True
        if not self.dry_run and self._request is not None:
            lane = self._pick_lane()
            try:
                if lane == 0:
                    self._write0(self._request)
                elif lane == 1:
                    self._write1(self._request)
            except Exception:
                # transport.write raises only on its pre-checks (closing transport, bad type),
                # before anything reaches the socket: the executor resends.
                lane = -1
        written = monotonic_ns()
        self.channel = channel
        self.lane = lane
        self.detect_ns = detect_ns
        self.written_ns = written
        # the bytes are out: everything below is off the latency path
        self._on_fired(channel, lane, detect_ns, written, self._claim_reply(lane, written))
        return True

    cdef object _claim_reply(self, int lane, long long written_ns):
        # The lane has a response outstanding from now on (its flag lives here, nowhere else),
        # and its reply is ours: claimed before control returns to the loop (FIFO per lane).
        cdef object claim = None
        if lane == 0:
            self._idle0 = False
            claim = self._claim0
        elif lane == 1:
            self._idle1 = False
            claim = self._claim1
        if claim is None:
            return None
        try:
            return claim("order", written_ns)
        except Exception:
            # written but unclaimed: on_fired gets None and the executor treats the order as
            # unanswered (reconciled, never resent blindly)
            _log.exception("order written on lane %d but its reply could not be claimed", lane)
            return None


@cython.final
cdef class TickerListener(WSListener):
    """One per WebSocket connection; shares the scanner and the trigger."""

    def __init__(self, TickerScanner scanner, OrderTrigger trigger, on_event, on_pong,
                 on_connected=None, on_disconnected=None):
        self._scanner = scanner
        self._trigger = trigger
        self._on_event = on_event
        self._on_pong = on_pong
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.ping_sent_ns = 0
        self.frames = 0
        self.first_hit = None
        self.first_hit_ns = 0
        self._message = bytearray()
        self._assembling = False

    cpdef on_ws_connected(self, WSTransport transport):
        if self._on_connected is not None:
            self._on_connected(transport)

    cpdef on_ws_disconnected(self, WSTransport transport):
        if self._on_disconnected is not None:
            self._on_disconnected(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef long long t0 = monotonic_ns()
        cdef int kind
        if frame.msg_type != WSMsgType.TEXT:
            if frame.msg_type == WSMsgType.CONTINUATION:
                self._continue_message(frame, t0)
            return
        self.frames += 1
        if not frame.fin:
            self._start_message(frame)
            return
        kind = self._scanner.scan_ptr(frame.payload_ptr, frame.payload_size)
        if kind == FRAME_TICKER_HIT:
            self._trigger.fire(_CHANNEL_WS, t0)
            if self.first_hit is None:  # after the write: the fill-quality report's best bid
                self.first_hit = frame.get_payload_as_bytes()
                self.first_hit_ns = t0
        elif kind == FRAME_PONG:
            self._pong(t0)
        elif kind == FRAME_EVENT:
            self._on_event(frame.get_payload_as_bytes())

    # --- fragmented messages (off the common path: Bitget sends every push in one frame) ---
    cdef int _start_message(self, WSFrame frame) except -1:
        # A TEXT frame without fin. It also ends an unfinished message: a peer that starts a
        # new one before finishing the last breaks RFC 6455; the newer message wins.
        self._reset_message()
        self._assembling = True
        return self._append_fragment(frame)

    cdef int _append_fragment(self, WSFrame frame) except -1:
        cdef Py_ssize_t have = PyByteArray_GET_SIZE(self._message)
        cdef Py_ssize_t n = frame.payload_size
        if n > _MAX_MESSAGE_SIZE - have:
            self._reset_message()  # the rest of this message is now a stray CONTINUATION
            _log.debug("feed: dropped a fragmented WebSocket message longer than %d bytes",
                       _MAX_MESSAGE_SIZE)
            return 0
        if n > 0:
            PyByteArray_Resize(self._message, have + n)
            memcpy(PyByteArray_AS_STRING(self._message) + have, frame.payload_ptr, n)
        return 0

    cdef int _continue_message(self, WSFrame frame, long long t0) except -1:
        cdef int kind
        cdef object event = None
        if not self._assembling:
            return 0  # nothing started (or it was dropped): a stray CONTINUATION
        self._append_fragment(frame)
        if not frame.fin or not self._assembling:
            return 0
        kind = self._scanner.scan_ptr(PyByteArray_AS_STRING(self._message),
                                      PyByteArray_GET_SIZE(self._message))
        if kind == FRAME_EVENT:
            event = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self._message),
                                              PyByteArray_GET_SIZE(self._message))
        self._reset_message()  # before any callback: whatever they do, the next message is new
        if kind == FRAME_TICKER_HIT:
            self._trigger.fire(_CHANNEL_WS, t0)
        elif kind == FRAME_PONG:
            self._pong(t0)
        elif kind == FRAME_EVENT:
            self._on_event(event)
        return 0

    cdef int _reset_message(self) except -1:
        self._assembling = False
        PyByteArray_Resize(self._message, 0)
        return 0

    cpdef send_user_specific_ping(self, WSTransport transport):
        # Bitget's keep-alive is the text "ping" (not a WS PING frame).
        self.ping_sent_ns = monotonic_ns()
        transport.send(WSMsgType.TEXT, b"ping")

    cpdef is_user_specific_pong(self, WSFrame frame):
        # Called by picows before on_ws_frame while a pong is expected: keep it cheap. A frame
        # it claims never reaches on_ws_frame, so the first fragment of a message (no fin) is
        # never a pong, whatever it holds.
        if frame.msg_type != WSMsgType.TEXT or not frame.fin or \
                frame.payload_size > PONG_MAX_SIZE:
            return False
        if (frame.payload_size == 4 and memcmp(frame.payload_ptr, b"pong", 4) == 0) or \
                self._scanner.scan_ptr(frame.payload_ptr, frame.payload_size) == FRAME_PONG:
            self._pong(monotonic_ns())
            return True
        return False

    cdef inline void _pong(self, long long now_ns) except *:
        cdef long long rtt = -1
        if self.ping_sent_ns:
            rtt = now_ns - self.ping_sent_ns
            self.ping_sent_ns = 0
        self._on_pong(rtt)
