# distutils: define_macros=_GNU_SOURCE=1
"""Exact target-symbol matching inside a JSON payload (compiled).

Semantics are those of the twin ``sniper/_fast/matcher_py.py``: the target is found only as the
whole string token ``"SYMBOL"`` whose opening quote is not escaped.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memchr, memcmp, memcpy

import re

cdef extern from "<string.h>" nogil:
    # GNU extension (glibc, musl, BSDs, macOS); Cython's libc.string does not declare it.
    void* memmem(const void* haystack, size_t haystacklen,
                 const void* needle, size_t needlelen)

_SYMBOL_RE = re.compile(r"[A-Z0-9_-]{1,40}")

# Symbol bytes from rarest to most common in Bitget JSON frames (keys are camelCase, quotes are
# mostly USDT/USDC, numbers are everywhere): the first one present becomes the memchr anchor.
_ANCHOR_PREFERENCE = b"QJZXKWYFGMNLRHAEBCVIOP_-TDSU9876543210"

cdef enum:
    # false anchor candidates tolerated before falling back to memmem
    MAX_ANCHOR_MISSES = 32


cdef Py_ssize_t find_token(const char* p, Py_ssize_t n, const char* needle, Py_ssize_t k,
                           Py_ssize_t anchor) noexcept nogil:
    # Raw pointer reads are not bounds-checked by Cython; the ranges are: candidates `at` in
    # [start, n - k] (loop condition), so memchr reads p[start + anchor .. n - k + anchor]
    # (anchor < k) and memcmp reads p[at .. at + k - 1]; the backslash walk stays at j > 0.
    cdef Py_ssize_t start = 0
    cdef Py_ssize_t misses = 0
    cdef Py_ssize_t at, j
    cdef const char* hit
    if p == NULL or k <= 0 or anchor < 0 or anchor >= k:
        return -1
    while n - start >= k:
        if misses < MAX_ANCHOR_MISSES:
            hit = <const char*>memchr(p + start + anchor, needle[anchor],
                                      <size_t>(n - k - start + 1))
            if hit == NULL:
                return -1
            at = hit - p - anchor
            if memcmp(p + at, needle, <size_t>k) != 0:
                misses += 1
                start = at + 1
                continue
        else:
            hit = <const char*>memmem(p + start, <size_t>(n - start), needle, <size_t>k)
            if hit == NULL:
                return -1
            at = hit - p
        j = at
        while j > 0 and p[j - 1] == b'\\':
            j -= 1
        if ((at - j) & 1) == 0:
            return at
        misses += 1
        start = at + 1  # that quote was escaped; occurrences may overlap
    return -1


cdef int get_payload_buffer(object payload, Py_buffer* view) except -1:
    try:
        PyObject_GetBuffer(payload, view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        # str, int, non-contiguous memoryviews...: same TypeError as the twin
        raise TypeError(
            "payload must be bytes, bytearray or memoryview (C-contiguous, 1-byte items), "
            f"got {type(payload).__name__}"
        ) from None
    if view.itemsize != 1:
        PyBuffer_Release(view)
        raise TypeError("payload buffer must be C-contiguous with 1-byte items")
    return 0


cdef class TargetMatcher:
    """TargetMatcher(symbol: str)

    Finds the target symbol as a whole JSON string inside a payload.
    """

    def __cinit__(self, symbol):
        if not isinstance(symbol, str):
            raise TypeError(f"symbol must be a str, got {type(symbol).__name__}")
        if _SYMBOL_RE.fullmatch(symbol) is None:
            raise ValueError(
                "symbol must be 1-40 characters of A-Z 0-9 _ - (normalised upper case, e.g. "
                f"'PAWSUSDT'), got {symbol[:60]!r}"
            )
        cdef bytes raw = symbol.encode("ascii")
        cdef Py_ssize_t k = len(raw)
        self._needle[0] = b'"'
        memcpy(&self._needle[1], <const char*>raw, k)  # k <= MAX_SYMBOL_LEN: checked above
        self._needle[k + 1] = b'"'
        self._needle_len = k + 2
        self._anchor = 1 + min(range(k), key=lambda i: _ANCHOR_PREFERENCE.find(raw[i:i + 1]))
        self._symbol = symbol

    @property
    def symbol(self):
        """The target symbol (str)."""
        return self._symbol

    def find(self, payload):
        """Offset of the opening quote of the first ``"SYMBOL"`` token, or -1."""
        cdef Py_buffer view
        cdef Py_ssize_t at
        if type(payload) is bytes:
            return self.find_ptr(PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload))
        get_payload_buffer(payload, &view)
        at = self.find_ptr(<const char*>view.buf, view.len)
        PyBuffer_Release(&view)
        return at

    cdef Py_ssize_t find_ptr(self, const char* p, Py_ssize_t n) noexcept nogil:
        return find_token(p, n, self._needle, self._needle_len, self._anchor)

    def __repr__(self):
        return f"TargetMatcher({self._symbol!r})"

    def __reduce__(self):
        return (type(self), (self._symbol,))
