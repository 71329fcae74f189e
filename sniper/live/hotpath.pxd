# The hot path: one WebSocket frame in, the pre-signed sell order out, in the same callback.
# Twin: hotpath_py.py (the readable spec, used when sniper._fast.IMPLEMENTATION is pure-python).
cimport cython
from picows.picows cimport WSListener, WSTransport, WSFrame

from sniper._fast.scanner cimport TickerScanner


@cython.final
cdef class OrderTrigger:
    # The exactly-once gate: the first fire() writes the order bytes; every later one only
    # reports "open seen" to the executor.
    cdef:
        # set by the first fire(); never cleared
        readonly bint fired
        # --dry-run: fire() writes nothing
        readonly bint dry_run
        # channel that fired ("ws", "poll", "scheduled", "startup"); None before
        readonly object channel
        # lane written on: 0 or 1; -1 = nothing written (no lane up, dry run)
        readonly int lane
        # ns, monotonic: frame entry (ws) or detection (other channels)
        readonly long long detect_ns
        # ns, monotonic: right after transport.write returned
        readonly long long written_ns
        # the current signed request (refreshed by the background re-signer)
        bytes _request
        # transport.write of lane 0/1, or None while that lane is down
        object _write0
        object _write1
        # claim(kind, sent_ns) -> the reply's future, of lane 0/1 (OrderLane.claim), or None
        object _claim0
        object _claim1
        # lane has no response outstanding: the only copy (the lanes publish it here through
        # set_lane and read it back through lane_state; fire() clears it on the lane it wrote)
        bint _idle0
        bint _idle1
        # on_fired(channel, lane, detect_ns, written_ns, reply): once, after the write; reply
        # is the claimed future (None: nothing written, or not claimed). on_seen(channel,
        # detect_ns): every later fire()
        object _on_fired
        object _on_seen

    cpdef bint fire(self, str channel, long long detect_ns) except -1
    cdef inline int _pick_lane(self) noexcept
    cdef object _claim_reply(self, int lane, long long written_ns)


@cython.final
cdef class TickerListener(WSListener):
    cdef:
        TickerScanner _scanner
        OrderTrigger _trigger
        # on_event(payload: bytes) for FRAME_EVENT (acks, errors): off the hot path
        object _on_event
        # on_pong(rtt_ns: int); rtt_ns is -1 when no ping was outstanding
        object _on_pong
        object _on_connected
        object _on_disconnected
        # ns, monotonic: when the last text ping left; 0 = none outstanding
        readonly long long ping_sent_ns
        # TEXT frames seen on this connection (a fragmented message counts once)
        readonly long long frames
        # the first ticker hit's payload (bytes; None: none yet) and its monotonic ns, copied
        # AFTER the fire (the fill-quality report reads its best bid; never the hot path)
        readonly object first_hit
        readonly long long first_hit_ns
        # the fragmented text message being assembled: its bytes so far (<= MAX_MESSAGE_SIZE)
        bytearray _message
        # a TEXT frame without fin started a message whose final CONTINUATION has not come
        bint _assembling

    cdef inline void _pong(self, long long now_ns) except *
    cdef int _start_message(self, WSFrame frame) except -1
    cdef int _append_fragment(self, WSFrame frame) except -1
    cdef int _continue_message(self, WSFrame frame, long long t0) except -1
    cdef int _reset_message(self) except -1
