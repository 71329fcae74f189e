# Exact target-symbol matching inside a JSON payload. Twin: matcher_py.py (the readable spec).

# Longest accepted symbol (characters); the needle adds the two quotes. Same bound as the
# twin's SYMBOL_RE (matcher_py.check_symbol validates; __cinit__ re-checks before the memcpy).
cdef enum:
    MAX_SYMBOL_LEN = 40


cdef class TargetMatcher:
    # '"' + symbol + '"', ASCII, not NUL-terminated
    cdef char _needle[MAX_SYMBOL_LEN + 2]
    # bytes used in _needle (symbol length + 2)
    cdef Py_ssize_t _needle_len
    # index in _needle of the symbol byte that is rarest in exchange JSON (memchr anchor)
    cdef Py_ssize_t _anchor
    cdef str _symbol

    # Offset of the opening quote of the first unescaped "SYMBOL" token in p[0:n], or -1.
    # p is borrowed and only read; n <= 0 or p == NULL gives -1. Never raises, no GIL needed.
    cdef Py_ssize_t find_ptr(self, const char* p, Py_ssize_t n) noexcept nogil


# Offset of the first occurrence of needle[0:k] (which starts with a '"') in p[0:n] whose
# opening quote is not escaped (not preceded by an odd number of backslashes), or -1.
# needle[anchor] should be a byte that is rare in the haystack: candidates are found with
# memchr on it; after a few false candidates the search falls back to memmem (linear worst case).
cdef Py_ssize_t find_token(const char* p, Py_ssize_t n, const char* needle, Py_ssize_t k,
                           Py_ssize_t anchor) noexcept nogil
