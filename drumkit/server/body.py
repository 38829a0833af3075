"""How a worker keeps a request body of known length while it arrives, and hands it to the app."""

from __future__ import annotations

import io

from drumkit.predictor.codecs import BODY_SPLIT_BYTES


class BodyChunks:
    """A request body of known length, received without copying it over and over.

    waitress's own buffer appends each chunk to a BytesIO that grows by an eighth at a time, copying
    the body over and over (a 19 MB CSV was copied ~8 times). Bodies the predictor reads whole are
    kept as received chunks and joined once into one bytes object (hooks get `bytes`, as in DRUM).
    Larger ones, which it reads in row blocks, are copied into one buffer of the body's size as they
    arrive: a join holds the chunks and their copy at once, which was ~8 MiB of a 19 MB request's
    peak (the freed chunks stay with glibc, and pyarrow's pool cannot reuse them).
    """

    def __init__(self, size: int):
        self.whole = _buffer(size) if size > BODY_SPLIT_BYTES else None
        self.chunks: list[bytes] = []
        self.size = 0
        self.file: io.BytesIO | SharedBody | None = None

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        """Keep one received chunk."""
        if self.whole is not None:
            self.whole[self.size : self.size + len(data)] = data
        else:
            self.chunks.append(bytes(data))
        self.size += len(data)

    def getfile(self) -> io.BytesIO | SharedBody:
        """The whole body as a file at position 0 (sharing the joined bytes, or the one buffer)."""
        if self.file is None:
            if self.whole is not None:
                self.file = SharedBody(self.whole)
            else:
                self.file = io.BytesIO(b"".join(self.chunks))
            self.chunks = []
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Drop the body (a large body's buffer is kept for the next one)."""
        if self.whole is not None:
            _spare.append(self.whole)
        self.chunks = []
        self.whole = None
        self.file = None


# The last large body's buffer, for the next one. A new buffer of ~20 MB each time leaves a hole in
# glibc's heap that smaller blocks soon split, so the next body extends the heap: a worker's peak crept
# up by ~12 MiB over a few 19 MB requests. Mapping each one afresh costs ~12 ms of page faults.
_spare: list[bytearray] = []


def _buffer(size: int) -> bytearray:
    """A buffer of `size` bytes: the spare one resized in place when it can be, else a new one."""
    while _spare:
        buffer = _spare.pop()
        try:
            if len(buffer) > size:
                del buffer[size:]  # CPython keeps the allocation when at least half of it stays in use
            elif len(buffer) < size:
                buffer.extend(bytes(size - len(buffer)))
            return buffer
        except BufferError:  # something still holds a view of it: leave it be
            continue
    return bytearray(size)


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
