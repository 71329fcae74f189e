# distutils: define_macros=_GNU_SOURCE=1
"""Exact target-symbol matching inside a JSON payload (compiled).

Semantics are those of the twin ``sniper/_fast/matcher_py.py``: the target is found only as the
whole string token ``"SYMBOL"`` whose opening quote is not escaped. Symbol validation is the
twin's own ``check_symbol`` (one rule, one set of messages); the search is separate code.
"""

from libc.string cimport memchr, memcmp, memcpy

from sniper._fast.payload cimport borrow_payload, release_payload

from sniper._fast.matcher_py import check_symbol

cdef extern from "<string.h>" nogil:
    # GNU extension (glibc, musl, BSDs, macOS); Cython's libc.string does not declare it.
    void* memmem(const void* haystack, size_t haystacklen,
                 const void* needle, size_t needlelen)

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


cdef class TargetMatcher:
    """TargetMatcher(symbol: str)

    Finds the target symbol as a whole JSON string inside a payload.
    """

    def __cinit__(self, symbol):
        check_symbol(symbol)  # the twin's rule and messages (TypeError/ValueError)
        cdef bytes raw = symbol.encode("ascii")
        cdef Py_ssize_t k = len(raw)
        if k > MAX_SYMBOL_LEN:  # check_symbol allows 40; this guards the memcpy if it changes
            raise ValueError(f"symbol must be at most {MAX_SYMBOL_LEN} characters, got {k}")
        self._needle[0] = b'"'
        memcpy(&self._needle[1], <const char*>raw, k)
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
        cdef int held
        cdef Py_ssize_t at
        held = borrow_payload(payload, &view)
        at = self.find_ptr(<const char*>view.buf, view.len)
        release_payload(&view, held)
        return at

    cdef Py_ssize_t find_ptr(self, const char* p, Py_ssize_t n) noexcept nogil:
        return find_token(p, n, self._needle, self._needle_len, self._anchor)

    def __repr__(self):
        return f"TargetMatcher({self._symbol!r})"

    def __reduce__(self):
        return (type(self), (self._symbol,))
