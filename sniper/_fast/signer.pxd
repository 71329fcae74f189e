# The pre-signed order request and Bitget's REST signature. Twin: signer_py.py (the readable spec).


cdef class OrderTemplate:
    # The live request: PyByteArray_AS_STRING(_buf). Valid as long as the template lives; the
    # buffer never moves or changes size, and only resign() rewrites it (timestamp + signature).
    # Another extension may write data[0:size] to a socket without creating a Python object.
    cdef const char* data
    # length of the request in bytes (constant)
    cdef readonly Py_ssize_t size

    cdef bytearray _buf        # owns the request bytes
    cdef bytearray _prehash    # timestamp + METHOD + path[?query] + body; digits in [0:13]
    cdef bytes _secret         # HMAC key; never shown
    cdef Py_ssize_t _ts_offset     # offset of the 13 timestamp digits in _buf
    cdef Py_ssize_t _sign_offset   # offset of the 44 signature bytes in _buf
    cdef long long _ts         # current timestamp, ms since the epoch
    cdef str _method
    cdef str _target           # path[?query], as sent and signed
    cdef bytes _body
