# Classification of one WebSocket payload for one target. Twin: scanner_py.py (the readable spec).
from sniper._fast.matcher cimport TargetMatcher


cdef class TickerScanner:
    # pre-filter, and owner of the target bytes (its _needle is '"' + symbol + '"')
    cdef TargetMatcher _matcher

    # The FrameKind (codes.pxd) of the payload p[0:n]. p is borrowed (e.g. picows'
    # frame.payload_ptr, valid only during the callback) and only read; nothing is allocated
    # and no Python object is touched, so it may run without the GIL. Never raises.
    cdef int scan_ptr(self, const char* p, Py_ssize_t n) noexcept nogil
