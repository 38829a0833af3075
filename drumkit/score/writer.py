"""Write predictions chunk by chunk to a temporary file, published only when the run succeeds."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from drumkit.output_target import TEMP_SUFFIX, OutputTarget, remove_stale

STDOUT_PREFIX = "drumkit-stdout-"


class AtomicOutput:
    """Predictions go to a temp file; `commit()` publishes them at the destination (see `OutputTarget`) or on stdout."""

    def __init__(self, destination: Path | None, stdout: BinaryIO | None = None):
        self.stdout = stdout
        self.target = OutputTarget(Path(destination)) if destination is not None else None
        if self.target is None:
            remove_stale(Path(tempfile.gettempdir()), STDOUT_PREFIX)
            handle, name = tempfile.mkstemp(prefix=f"{STDOUT_PREFIX}{os.getpid()}.", suffix=TEMP_SUFFIX)
            os.close(handle)
            self.temp = Path(name)
        else:
            self.temp = self.target.temp

    def commit(self) -> None:
        """Publish the finished output: at the destination, or copied to stdout."""
        if self.target is not None:
            self.target.commit()
            return
        sink = self.stdout or sys.stdout.buffer
        with open(self.temp, "rb") as source:
            shutil.copyfileobj(source, sink)
        sink.flush()
        self.temp.unlink()

    def discard(self) -> None:
        """Remove the partial output."""
        self.temp.unlink(missing_ok=True)


class FrameWriter:
    """Append DataFrames to a CSV, Parquet or Arrow file through the codec registry; the format comes from the destination."""

    def __init__(self, path: Path, kind: str):
        self.path = path
        self.kind = kind
        self._writer: Any = None  # the codec's FileWriter, opened on the first frame

    @staticmethod
    def kind_for(destination: Path | None) -> str:
        """csv, parquet or arrow."""
        from drumkit.predictor import codecs

        return codecs.output_format_for_filename(destination) if destination else codecs.CSV

    def write(self, frame) -> None:
        """Append one chunk (the CSV header only before the first)."""
        if self._writer is None:
            from drumkit.predictor import codecs

            self._writer = codecs.file_writer(self.path, self.kind)
        self._writer.write(frame)

    def write_bytes(self, data: bytes) -> None:
        """Write a raw body (unstructured output)."""
        with open(self.path, "wb") as handle:
            handle.write(data)

    def close(self) -> None:
        """Flush and close; an output with no chunk still gets created."""
        if self._writer is not None:
            self._writer.close()

    def reset(self) -> None:
        """Drop everything written so far and start an empty file."""
        self.close()
        self._writer = None
        self.path.write_bytes(b"")
