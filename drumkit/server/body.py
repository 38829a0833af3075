"""How a worker keeps a request body of known length while it arrives, and hands it to the app."""

from __future__ import annotations

import io

from drumkit.predictor.codecs import BODY_SPLIT_BYTES


class BodyChunks:
    """A request body of known length, received without copying it over and over.

    waitress's own buffer appends each chunk to a BytesIO that grows by an eighth at a time, copying
    the body over and over (a 19 MB CSV was copied ~8 times). Bodies the predictor reads whole are
    kept as received chunks and joined once into one bytes object (hooks get `bytes`, as in DRUM).
    Larger ones, which it reads in row blocks, end up in one buffer: the worker's spare buffer when it
    is free, filled as the body arrives (a join holds the chunks and their copy at once, ~11 MiB of a
    19 MB request's peak); otherwise chunks joined into a new buffer, which becomes the spare. Memory
    follows the bytes received, never what a request declares, except for the one spare.
    """

    def __init__(self, size: int):
        self.large = size > BODY_SPLIT_BYTES
        self.whole = _take_spare(size) if self.large else None
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
            if self.large and self.whole is None:
                self.whole = bytearray().join(self.chunks)
            if self.whole is not None:
                self.file = SharedBody(self.whole)
            else:
                self.file = io.BytesIO(b"".join(self.chunks))
            self.chunks = []
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Drop the body (a large body's buffer becomes the spare when there is none)."""
        if self.whole is not None and not _spare:
            _spare.append(self.whole)
        self.chunks = []
        self.whole = None
        self.file = None


# One large body's buffer, kept for the next one. A new buffer of ~20 MB each time leaves a hole in
# glibc's heap that smaller blocks soon split, so the next body extends the heap: a worker's peak crept
# up by ~12 MiB over a few 19 MB requests. Mapping each one afresh costs ~12 ms of page faults.
_spare: list[bytearray] = []


def _take_spare(size: int) -> bytearray | None:
    """The spare buffer resized to `size` in place, or None when there is none (or it cannot be resized)."""
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
    return None


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
