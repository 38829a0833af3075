"""How a worker keeps a request body of known length while it arrives, and hands it to the app."""

from __future__ import annotations

import functools
import io
import threading

from drumkit.predictor.codecs import BODY_SPLIT_BYTES

# From this size a body read whole is received into the bytes object hooks get, not joined from chunks:
# 2.2 MB arrived in ~0.2 ms less CPU. Smaller ones come in one or two reads, and joining one is free.
IN_PLACE_BYTES = 64 * 1024


class BodyChunks:
    """A request body of known length, received without copying it over and over.

    waitress's own buffer appends each chunk to a BytesIO that grows by an eighth at a time, copying
    the body over and over (a 19 MB CSV was copied ~8 times). Bodies the predictor reads whole end as
    one bytes object (hooks get `bytes`, as in DRUM): from IN_PLACE_BYTES up, that object is made when
    the first bytes come and the socket receives into it (`room`); smaller ones are kept as received
    and joined once. Larger ones, which it reads in row blocks, go into the worker's one large-body
    buffer as they arrive (a join holds the chunks and their copy at once, ~11 MiB of a 19 MB request's
    peak); while another body holds that buffer, they are kept as received and joined at the end.
    """

    def __init__(self, size: int):
        self.declared = size
        self.large = size > BODY_SPLIT_BYTES
        self.whole = _LARGE_BODY.take(size) if self.large else None
        self.exact: bytes | None = None  # a body from IN_PLACE_BYTES up, received into the bytes hooks get
        self._window: memoryview | None = memoryview(self.whole) if self.whole is not None else None
        self.chunks: list[bytes] = []
        self.size = 0
        self.file: io.BytesIO | SharedBody | None = None

    def __len__(self) -> int:
        return self.size

    def room(self, limit: int) -> memoryview | None:
        """A writable view of the body's next `limit` bytes in its own buffer, for a socket to receive
        into; None when the body is kept as received chunks. The view goes back through `append`."""
        self._make_exact()
        if self._window is None or self.size >= len(self._window):
            return None
        return self._window[self.size : self.size + limit]

    def append(self, data: bytes | memoryview) -> None:
        """Keep one received chunk (a view from `room` is in place already)."""
        if isinstance(data, memoryview) and self._window is not None and data.obj is self._window.obj:
            self.size += len(data)
            return
        self._make_exact()
        if self._window is not None:
            self._window[self.size : self.size + len(data)] = data
        else:
            self.chunks.append(bytes(data))
        self.size += len(data)

    def getfile(self) -> io.BytesIO | SharedBody:
        """The whole body as a file at position 0 (sharing its bytes, or the one buffer)."""
        if self.file is None:
            self._release_window()  # nothing writes into the body once it is handed on
            if self.large and self.whole is None:
                self.whole = bytearray().join(self.chunks)
            if self.whole is not None:
                self.file = SharedBody(self.whole)
            elif self.exact is not None:
                self.file = io.BytesIO(self.exact)  # shares the bytes: getvalue() gives them back
            else:
                self.file = io.BytesIO(b"".join(self.chunks))
            self.chunks = []
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Drop the body (and hand the worker's large-body buffer back)."""
        self._release_window()
        if self.whole is not None:
            _LARGE_BODY.give_back(self.whole)
        self.chunks = []
        self.whole = None
        self.exact = None
        self.file = None

    def _make_exact(self) -> None:
        # When the first bytes come, not when a client merely declares a length.
        if self._window is None and self.size == 0 and IN_PLACE_BYTES <= self.declared <= BODY_SPLIT_BYTES:
            made = unfilled_bytes(self.declared)
            if made is not None:
                self.exact, self._window = made

    def _release_window(self) -> None:
        if self._window is not None:
            self._window.release()  # the large buffer can be resized for the next body again
            self._window = None


class LargeBodyBuffer:
    """A worker's one buffer for large bodies, lent to one body at a time and kept between them.

    A new buffer of ~20 MB per body leaves a hole in glibc's heap that smaller blocks soon split, so
    the next body extends the heap: a worker's peak crept up by ~12 MiB over a few 19 MB requests, and
    mapping each one afresh cost ~12 ms of page faults. Being one, it bounds what declared lengths can
    make a worker allocate ahead of the bytes: one body's worth, up to the in-memory body limit.
    """

    def __init__(self):
        self.buffer: bytearray | None = None
        self.lent = False
        self._lock = threading.Lock()

    def take(self, size: int) -> bytearray | None:
        """The buffer resized to `size` (made on first use), or None while another body holds it."""
        with self._lock:
            if self.lent:
                return None
            buffer = self.buffer
            try:
                if buffer is None:
                    buffer = bytearray(size)
                elif len(buffer) > size:
                    del buffer[size:]  # CPython keeps the allocation when at least half of it stays in use
                elif len(buffer) < size:
                    buffer.extend(bytes(size - len(buffer)))
            except BufferError:  # a view of it is still held (a frame a model kept): start another
                buffer = bytearray(size)
            self.buffer, self.lent = buffer, True
            return buffer

    def give_back(self, buffer: bytearray) -> None:
        """The body that held the buffer is done with it."""
        with self._lock:
            if buffer is self.buffer:
                self.lent = False


_LARGE_BODY = LargeBodyBuffer()


def unfilled_bytes(size: int) -> tuple[bytes, memoryview] | None:
    """A new `bytes` object of `size` bytes not yet written, and a writable view of them; None off CPython.

    This is the C API's own way to build bytes: `PyBytes_FromStringAndSize(NULL, size)`, then write the
    contents before anything else sees the object (its documentation allows exactly that). A body is
    received into it, so the `bytes` hooks get needs no join of chunks: one copy less of every body.
    """
    api = _bytes_api()
    if api is None or size < 2:  # sizes 0 and 1 may be shared singletons
        return None
    new, address_of, char = api
    made = new(None, size)
    window = memoryview((char * size).from_address(address_of(made))).cast("B")
    return made, window


@functools.cache
def _bytes_api():
    try:
        import ctypes

        new = ctypes.pythonapi.PyBytes_FromStringAndSize
        address_of = ctypes.pythonapi.PyBytes_AsString
    except (ImportError, AttributeError):  # not CPython
        return None
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_ssize_t]
    address_of.restype, address_of.argtypes = ctypes.c_void_p, [ctypes.py_object]
    return new, address_of, ctypes.c_char


class SharedBody(io.RawIOBase):
    """A file over a received body's buffer: `shared` hands the buffer itself to the lean predict path."""

    def __init__(self, shared: bytearray):
        super().__init__()
        self.shared = shared
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        """Copy the next bytes into `buffer` (how Flask and werkzeug read it)."""
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), len(self.shared) - self._position))
        view[:count] = memoryview(self.shared)[self._position : self._position + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self.shared)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position
