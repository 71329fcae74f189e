"""Classification of one WebSocket payload for one target symbol (compiled).

The semantics are specified by the twin ``sniper/_fast/scanner_py.py`` (read its module
docstring); this module is a single-pass, allocation-free state machine with the same results.
"""

from libc.string cimport memcmp

from sniper._fast.codes cimport FRAME_EVENT, FRAME_OTHER, FRAME_PONG, FRAME_TICKER_HIT
from sniper._fast.matcher cimport TargetMatcher, find_token
from sniper._fast.payload cimport borrow_payload, release_payload

# Deepest accepted nesting of objects and arrays; the top-level object is depth 1.
# Same value as scanner_py.MAX_DEPTH.
cdef enum:
    MAX_DEPTH = 64

cdef enum Container:
    C_OBJECT = 1
    C_ARRAY = 2

cdef enum ParseState:
    S_VALUE = 0    # a value starts at i (whitespace skipped)
    S_KEY = 1      # an object key starts at i (whitespace skipped)
    S_AFTER = 2    # a value ended just before i

# The keys the classifier looks at (raw, unescaped spelling only).
cdef enum KeyId:
    K_NONE = 0
    K_EVENT = 1
    K_ACTION = 2
    K_ARG = 3
    K_DATA = 4
    K_CHANNEL = 5
    K_TOPIC = 6
    K_INSTID = 7
    K_SYMBOL = 8
    K_INSTTYPE = 9

# One bit per "arg" member (1 << KeyId), for the seen/bad masks of _classify.
cdef enum ArgBit:
    B_CHANNEL = 1 << K_CHANNEL
    B_TOPIC = 1 << K_TOPIC
    B_INSTID = 1 << K_INSTID
    B_SYMBOL = 1 << K_SYMBOL
    B_V2_PAIR = B_CHANNEL | B_INSTID    # channel + instId
    B_V3_PAIR = B_TOPIC | B_SYMBOL      # topic + symbol

# Byte classes, filled once at import. 1 where the fast string loop must stop: '"', '\\',
# control characters (invalid raw in a JSON string) and bytes >= 0x80 (UTF-8 is validated).
cdef unsigned char _STRING_STOP[256]
# 1 for ASCII hex digits
cdef unsigned char _HEX[256]


cdef void _init_tables() noexcept:
    cdef int c
    for c in range(256):
        _STRING_STOP[c] = c == 0x22 or c == 0x5C or c < 0x20 or c >= 0x80
        _HEX[c] = (0x30 <= c <= 0x39) or (0x41 <= c <= 0x46) or (0x61 <= c <= 0x66)


_init_tables()


# All helpers below read through raw pointers, which Cython never bounds-checks: every read
# p[j] is preceded by an explicit j < n test (the "audited" rule of CONVENTIONS.md).

cdef inline bint _is_ws(unsigned char c) noexcept nogil:
    return c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09


cdef inline Py_ssize_t _skip_ws(const unsigned char* p, Py_ssize_t n,
                                Py_ssize_t i) noexcept nogil:
    while i < n and _is_ws(p[i]):
        i += 1
    return i


cdef inline bint _is_digit(const unsigned char* p, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    return i < n and 0x30 <= p[i] <= 0x39


cdef Py_ssize_t _utf8(const unsigned char* p, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """End of the well-formed UTF-8 sequence starting at p[i] (>= 0x80), or -1."""
    cdef unsigned char c = p[i]
    cdef unsigned char lo = 0x80
    cdef unsigned char hi = 0xBF
    if 0xC2 <= c <= 0xDF:
        if i + 1 >= n or (p[i + 1] & 0xC0) != 0x80:
            return -1
        return i + 2
    if 0xE0 <= c <= 0xEF:
        if i + 2 >= n:
            return -1
        if c == 0xE0:
            lo = 0xA0  # no overlong forms
        elif c == 0xED:
            hi = 0x9F  # no UTF-16 surrogates
        if p[i + 1] < lo or p[i + 1] > hi or (p[i + 2] & 0xC0) != 0x80:
            return -1
        return i + 3
    if 0xF0 <= c <= 0xF4:
        if i + 3 >= n:
            return -1
        if c == 0xF0:
            lo = 0x90  # no overlong forms
        elif c == 0xF4:
            hi = 0x8F  # nothing above U+10FFFF
        if (p[i + 1] < lo or p[i + 1] > hi or (p[i + 2] & 0xC0) != 0x80
                or (p[i + 3] & 0xC0) != 0x80):
            return -1
        return i + 4
    return -1


cdef Py_ssize_t _string(const unsigned char* p, Py_ssize_t n, Py_ssize_t i,
                        bint* escaped) noexcept nogil:
    """End (past the closing quote) of the string whose opening quote is p[i], or -1.

    Sets escaped[0] if the string contains a backslash escape.
    """
    cdef unsigned char c
    i += 1
    while True:
        while i < n and not _STRING_STOP[p[i]]:
            i += 1
        if i >= n:
            return -1  # unterminated
        c = p[i]
        if c == 0x22:  # '"'
            return i + 1
        if c == 0x5C:  # '\\'
            escaped[0] = True
            if i + 1 >= n:
                return -1
            c = p[i + 1]
            if c == 0x75:  # 'u' + four hex digits: p[i + 2] .. p[i + 5]
                if i + 6 > n or not (_HEX[p[i + 2]] and _HEX[p[i + 3]]
                                     and _HEX[p[i + 4]] and _HEX[p[i + 5]]):
                    return -1
                i += 6
            elif (c == 0x22 or c == 0x5C or c == 0x2F or c == 0x62 or c == 0x66
                    or c == 0x6E or c == 0x72 or c == 0x74):  # " \ / b f n r t
                i += 2
            else:
                return -1
        elif c < 0x20:
            return -1  # raw control character
        else:
            i = _utf8(p, n, i)
            if i < 0:
                return -1


cdef Py_ssize_t _number(const unsigned char* p, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """End of the JSON number starting at p[i], or -1."""
    if i < n and p[i] == 0x2D:  # '-'
        i += 1
    if i >= n:
        return -1
    if p[i] == 0x30:  # '0'
        i += 1
    elif 0x31 <= p[i] <= 0x39:
        i += 1
        while _is_digit(p, n, i):
            i += 1
    else:
        return -1
    if i < n and p[i] == 0x2E:  # '.'
        i += 1
        if not _is_digit(p, n, i):
            return -1
        while _is_digit(p, n, i):
            i += 1
    if i < n and (p[i] == 0x65 or p[i] == 0x45):  # 'e' 'E'
        i += 1
        if i < n and (p[i] == 0x2B or p[i] == 0x2D):  # '+' '-'
            i += 1
        if not _is_digit(p, n, i):
            return -1
        while _is_digit(p, n, i):
            i += 1
    return i


cdef inline Py_ssize_t _literal(const unsigned char* p, Py_ssize_t n, Py_ssize_t i,
                                const char* word, Py_ssize_t k) noexcept nogil:
    if i + k <= n and memcmp(p + i, word, k) == 0:
        return i + k
    return -1


cdef inline bint _raw_eq(const unsigned char* s, Py_ssize_t k, const char* word,
                         Py_ssize_t wk) noexcept nogil:
    return k == wk and memcmp(s, word, k) == 0


cdef inline bint _is_spot(const unsigned char* s, Py_ssize_t k) noexcept nogil:
    # "spot" in any ASCII case: | 0x20 folds only A-Z onto a-z for these four letters
    return (k == 4 and (s[0] | 0x20) == 0x73 and (s[1] | 0x20) == 0x70
            and (s[2] | 0x20) == 0x6F and (s[3] | 0x20) == 0x74)


cdef inline int _top_key(const unsigned char* s, Py_ssize_t k) noexcept nogil:
    if _raw_eq(s, k, b"event", 5):
        return K_EVENT
    if _raw_eq(s, k, b"action", 6):
        return K_ACTION
    if _raw_eq(s, k, b"arg", 3):
        return K_ARG
    if _raw_eq(s, k, b"data", 4):
        return K_DATA
    return K_NONE


cdef inline int _arg_key(const unsigned char* s, Py_ssize_t k) noexcept nogil:
    if _raw_eq(s, k, b"channel", 7):
        return K_CHANNEL
    if _raw_eq(s, k, b"topic", 5):
        return K_TOPIC
    if _raw_eq(s, k, b"instId", 6):
        return K_INSTID
    if _raw_eq(s, k, b"symbol", 6):
        return K_SYMBOL
    if _raw_eq(s, k, b"instType", 8):
        return K_INSTTYPE
    return K_NONE


cdef int _classify(const unsigned char* p, Py_ssize_t n, const char* target,
                   Py_ssize_t target_len) noexcept nogil:
    """Validate p[0:n] as one JSON object and classify it (the twin's ``_Parser.frame``)."""
    cdef unsigned char stack[MAX_DEPTH]   # container kind per open level; stack[depth - 1]
    cdef Py_ssize_t depth = 0             # open containers; < MAX_DEPTH checked before a push
    cdef Py_ssize_t i, end, k
    cdef unsigned char c
    cdef int state = S_VALUE
    cdef int top_key = K_NONE             # key of the top-level member being parsed
    cdef int arg_key = K_NONE             # key of the "arg" member being parsed
    cdef bint escaped, ok
    # what the frame said so far (last occurrence of a key wins)
    cdef bint has_event = False, top_escaped = False
    cdef bint action_ok = False, arg_ok = False, data_ok = False
    # inside the "arg" object (depth 2), and its direct members so far: one bit per key
    # (ArgBit) in arg_seen when present, in arg_bad when its last value is not the wanted one
    cdef bint in_arg = False, arg_escaped = False
    cdef unsigned int arg_seen = 0, arg_bad = 0, bit
    # inside the "data" array, before its first element
    cdef bint data_first = False

    i = _skip_ws(p, n, 0)
    if i >= n or p[i] != 0x7B:  # '{': the top level must be an object
        return FRAME_OTHER
    while True:
        if state == S_VALUE:
            if i >= n:
                return FRAME_OTHER
            c = p[i]
            # -- hooks: a value starts in the top-level object (depth 1) or in arg/data (2)
            if depth == 1:
                if top_key == K_ACTION:
                    action_ok = c == 0x22
                elif top_key == K_ARG:
                    arg_ok = False
                    if c == 0x7B:
                        in_arg = True
                        arg_escaped = False
                        arg_seen = arg_bad = 0
                elif top_key == K_DATA:
                    data_ok = False
                    data_first = c == 0x5B
            elif depth == 2:
                if data_first:
                    data_ok = c == 0x7B
                    data_first = False
                elif in_arg and arg_key != K_NONE:
                    ok = False
                    if c == 0x22:
                        escaped = False
                        end = _string(p, n, i, &escaped)
                        if end < 0:
                            return FRAME_OTHER
                        k = end - i - 2  # raw length between the quotes
                        if arg_key == K_CHANNEL or arg_key == K_TOPIC:
                            ok = _raw_eq(p + i + 1, k, b"ticker", 6)
                        elif arg_key == K_INSTTYPE:
                            ok = _is_spot(p + i + 1, k)
                        else:
                            ok = _raw_eq(p + i + 1, k, target, target_len)
                    bit = 1u << arg_key
                    arg_seen |= bit
                    if ok:
                        arg_bad &= ~bit
                    else:
                        arg_bad |= bit
                    if c == 0x22:
                        i = end
                        state = S_AFTER
                        continue
            # -- the value itself
            if c == 0x7B or c == 0x5B:  # '{' '['
                if depth >= MAX_DEPTH:
                    return FRAME_OTHER
                stack[depth] = C_OBJECT if c == 0x7B else C_ARRAY
                depth += 1
                i = _skip_ws(p, n, i + 1)
                if i < n and p[i] == (0x7D if c == 0x7B else 0x5D):  # empty {} or []
                    i += 1
                    depth -= 1
                    if depth == 1:
                        if in_arg:
                            arg_ok = False  # an empty arg names nothing
                            in_arg = False
                        data_first = False
                    state = S_AFTER
                else:
                    state = S_KEY if c == 0x7B else S_VALUE
                continue
            if c == 0x22:
                escaped = False
                i = _string(p, n, i, &escaped)
            elif c == 0x74:  # 't'
                i = _literal(p, n, i, b"true", 4)
            elif c == 0x66:  # 'f'
                i = _literal(p, n, i, b"false", 5)
            elif c == 0x6E:  # 'n'
                i = _literal(p, n, i, b"null", 4)
            else:
                i = _number(p, n, i)
            if i < 0:
                return FRAME_OTHER
            state = S_AFTER
        elif state == S_KEY:
            if i >= n or p[i] != 0x22:
                return FRAME_OTHER
            escaped = False
            end = _string(p, n, i, &escaped)
            if end < 0:
                return FRAME_OTHER
            k = end - i - 2
            if depth == 1:
                if escaped:
                    top_escaped = True
                    top_key = K_NONE
                else:
                    top_key = _top_key(p + i + 1, k)
                    if top_key == K_EVENT:
                        has_event = True
            elif depth == 2 and in_arg:
                if escaped:
                    arg_escaped = True
                    arg_key = K_NONE
                else:
                    arg_key = _arg_key(p + i + 1, k)
            i = _skip_ws(p, n, end)
            if i >= n or p[i] != 0x3A:  # ':'
                return FRAME_OTHER
            i = _skip_ws(p, n, i + 1)
            state = S_VALUE
        else:  # S_AFTER
            i = _skip_ws(p, n, i)
            if depth == 0:
                break
            if i >= n:
                return FRAME_OTHER
            c = p[i]
            if c == 0x2C:  # ','
                i = _skip_ws(p, n, i + 1)
                state = S_KEY if stack[depth - 1] == C_OBJECT else S_VALUE
            elif ((c == 0x7D and stack[depth - 1] == C_OBJECT)
                    or (c == 0x5D and stack[depth - 1] == C_ARRAY)):
                i += 1
                depth -= 1
                if depth == 1:
                    if in_arg:
                        # every named member holds the wanted value, and one complete pair
                        arg_ok = (not arg_escaped and arg_bad == 0
                                  and ((arg_seen & B_V2_PAIR) == B_V2_PAIR
                                       or (arg_seen & B_V3_PAIR) == B_V3_PAIR))
                        in_arg = False
                    data_first = False
            else:
                return FRAME_OTHER
    if i != n:
        return FRAME_OTHER  # trailing garbage after the top-level object
    if has_event:
        return FRAME_EVENT
    if action_ok and arg_ok and data_ok and not top_escaped:
        return FRAME_TICKER_HIT
    return FRAME_OTHER


cdef class TickerScanner:
    """TickerScanner(symbol: str)

    Classifies one WebSocket payload for one target symbol; see ``scanner_py`` for the rules.
    """

    def __cinit__(self, symbol):
        self._matcher = TargetMatcher(symbol)

    @property
    def symbol(self):
        """The target symbol (str)."""
        return self._matcher._symbol

    def scan(self, payload):
        """Classify *payload* (bytes, bytearray or memoryview); returns a FrameKind value."""
        cdef Py_buffer view
        cdef int held
        cdef int kind
        held = borrow_payload(payload, &view)
        kind = self.scan_ptr(<const char*>view.buf, view.len)
        release_payload(&view, held)
        return kind

    cdef int scan_ptr(self, const char* p, Py_ssize_t n) noexcept nogil:
        cdef const unsigned char* u = <const unsigned char*>p
        cdef Py_ssize_t start = 0
        cdef Py_ssize_t stop = n
        if p == NULL or n <= 0:
            return FRAME_OTHER
        while start < stop and _is_ws(u[start]):
            start += 1
        while stop > start and _is_ws(u[stop - 1]):
            stop -= 1
        if stop - start == 4 and memcmp(u + start, b"pong", 4) == 0:
            return FRAME_PONG
        if start == stop or u[start] != 0x7B:  # '{'
            return FRAME_OTHER
        # Exact shortcut: a hit needs the target token, an event needs the "event" key (as a
        # token whose quote is unescaped: a real key; the anchor 'v' is rare in market data).
        if (self._matcher.find_ptr(p, n) < 0
                and find_token(p, n, b'"event"', 7, 2) < 0):
            return FRAME_OTHER
        return _classify(u, n, &self._matcher._needle[1], self._matcher._needle_len - 2)

    def __repr__(self):
        return f"TickerScanner({self._matcher._symbol!r})"

    def __reduce__(self):
        return (type(self), (self._matcher._symbol,))
