# Borrowing a payload's bytes for the Python-facing wrappers (matcher.find, scanner.scan).
# A header-only .pxd like codes.pxd (there is no payload.pyx): each module that cimports it
# compiles its own copy of these inline helpers. The twin is matcher_py.as_payload_bytes.
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE


# Point view.buf/view.len at the bytes of *payload* (bytes, bytearray or a C-contiguous buffer
# of 1-byte items) and return whether a buffer was exported: the caller passes that flag to
# release_payload once done. bytes (the common case) skip the buffer protocol: only buf and len
# are set, nothing is held (0). TypeError for anything else (the twin's error).
cdef inline int borrow_payload(object payload, Py_buffer* view) except -1:
    if type(payload) is bytes:
        view.buf = PyBytes_AS_STRING(payload)
        view.len = PyBytes_GET_SIZE(payload)
        return 0
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
    return 1


# Give back what borrow_payload exported (held: its return value; 0 for bytes, nothing to do).
cdef inline void release_payload(Py_buffer* view, int held) noexcept:
    if held:
        PyBuffer_Release(view)
