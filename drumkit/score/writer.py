"""Write predictions chunk by chunk to a temporary file, renamed into place only when the run succeeds."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow"}


class AtomicOutput:
    """A temp file beside the destination (or for stdout); `commit()` moves it into place."""

    def __init__(self, destination: Path | None, stdout: BinaryIO | None = None):
        self.stdout = stdout
        self.destination = Path(destination) if destination is not None else None
        folder = self.destination.parent if self.destination else None
        if folder is not None and not folder.is_dir():
            from drumkit.errors import UsageError

            raise UsageError(f"The output folder {folder} does not exist")
        prefix = f".{self.destination.name}." if self.destination else "drumkit-"
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=folder)
        os.close(handle)
        self.temp = Path(name)

    def commit(self) -> None:
        """Publish the finished output: rename over the destination, or copy to stdout."""
        if self.destination is None:
            sink = self.stdout or sys.stdout.buffer
            with open(self.temp, "rb") as source:
                shutil.copyfileobj(source, sink)
            sink.flush()
            self.temp.unlink()
        else:
            os.replace(self.temp, self.destination)

    def discard(self) -> None:
        """Remove the partial output."""
        self.temp.unlink(missing_ok=True)


class FrameWriter:
    """Append DataFrames to a CSV, Parquet or Arrow file; the format comes from the destination's suffix."""

    def __init__(self, path: Path, kind: str):
        self.path = path
        self.kind = kind
        self._handle: BinaryIO | None = None
        self._arrow_writer = None
        self._schema = None

    @staticmethod
    def kind_for(destination: Path | None) -> str:
        """csv, parquet or arrow."""
        return OUTPUT_FORMATS.get(destination.suffix.lower(), "csv") if destination else "csv"

    def write(self, frame) -> None:
        """Append one chunk (the CSV header only before the first)."""
        if self.kind == "csv":
            first = self._handle is None
            if first:
                self._handle = open(self.path, "w", encoding="utf-8", newline="")
                frame.head(0).to_csv(self._handle, index=False)
            body = float_rows_csv(frame)
            if body is None:
                frame.to_csv(self._handle, index=False, header=False)
            else:
                self._handle.write(body)
            return
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._arrow_writer is None:
            self._schema = table.schema
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                self._arrow_writer = pq.ParquetWriter(str(self.path), self._schema)
            else:
                import pyarrow.ipc

                self._arrow_writer = pyarrow.ipc.new_file(str(self.path), self._schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._arrow_writer.write_table(table)

    def write_bytes(self, data: bytes) -> None:
        """Write a raw body (unstructured output)."""
        with open(self.path, "wb") as handle:
            handle.write(data)

    def close(self) -> None:
        """Flush and close; an output with no chunk still gets created."""
        if self._handle is not None:
            self._handle.close()
        if self._arrow_writer is not None:
            self._arrow_writer.close()

    def reset(self) -> None:
        """Drop everything written so far and start an empty file."""
        self.close()
        self._handle = self._arrow_writer = self._schema = None
        self.path.write_bytes(b"")


def float_rows_csv(frame) -> str | None:
    """CSV rows of an all-float64 frame, byte-identical to `to_csv` but ~2x faster; None for other frames.

    Predictions are almost always float columns, and pandas' writer is the slowest part of scoring
    after the model. Python's float repr is what to_csv writes; NaN is an empty field, or `""` when
    it would otherwise leave a blank line (a single column), as pandas does.
    """
    import numpy as np

    if frame.shape[1] == 0 or len(frame) == 0 or any(dtype != np.float64 for dtype in frame.dtypes):
        return None if len(frame) else ""
    columns = [[repr(v) if v == v else "" for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    if len(columns) == 1:
        lines = [v or '""' for v in columns[0]]
    else:
        lines = [",".join(row) for row in zip(*columns)]
    return "\n".join(lines) + "\n"
