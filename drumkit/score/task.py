"""What every engine does with one partition: read it through the codecs, predict, attach passthrough columns, write a part."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from drumkit.errors import DrumkitError
from drumkit.predictor import codecs
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.targets import TargetType
from drumkit.score import dataset
from drumkit.score.dataset import Partition
from drumkit.score.passthrough import Passthrough
from drumkit.score.rows import output_rows, unstructured_body

# Rows the model is called on at once within a partition. A block's input, the model's intermediates
# for it (a sklearn pipeline's dense one-hot matrix and copies: ~1.5 KB a row) and its output are what
# a worker holds beyond the loaded model; at 16k rows the pipeline's peak stays under twice a 61 MiB
# partition (20k: 4 MiB over), and a light model's CPU per row is the same as with 50k-row blocks.
PARTITION_BLOCK_ROWS = 16_384
_SUFFIX = {codecs.CSV: ".csv", codecs.PARQUET: ".parquet", codecs.ARROW: ".arrow"}


class PartitionError(DrumkitError):
    """A partition failed: the message names it (file and rows) and says why."""


class PartitionCancelled(Exception):
    """The job this partition belongs to was stopped while it ran."""


@dataclass(frozen=True)
class PartitionTask:
    """How to score one partition and where its part goes (picklable: engines ship it to workers)."""

    fs: Any  # the input filesystem
    out_fs: Any = None  # None: frames are handed back, not written
    out_dir: str | None = None
    out_fmt: str = codecs.CSV
    passthrough: Passthrough = field(default_factory=Passthrough)
    sparse_colnames: tuple[str, ...] | None = None
    content_type: str | None = None
    query: str | None = None
    reader_threads: bool = True  # False where the engine already runs one partition per core
    block_rows: int = PARTITION_BLOCK_ROWS  # rows the model sees at once

    def part_name(self, part: Partition, target_type: TargetType) -> str:
        """`part-00007.csv`; an unstructured model's output keeps its input's name."""
        if target_type is TargetType.UNSTRUCTURED:
            return part.name
        return f"part-{part.index:05d}{_SUFFIX[self.out_fmt]}"

    def run(self, predictor: Predictor, part: Partition, stop: Callable[[], bool] | None = None) -> int:
        """Score the partition into its part under `out_dir`; returns the rows written.

        `stop` is asked before each block is written: once it says yes, the part is dropped unwritten.
        """
        name = self.part_name(part, predictor.target_type)
        if predictor.target_type is TargetType.UNSTRUCTURED:
            body = self.unstructured(predictor, part)
            if stop is not None and stop():
                raise PartitionCancelled(f"Partition {part.index} was cancelled")

            def write_body(path: str) -> None:
                with open(path, "wb") as handle:
                    handle.write(body)

            self._publish(name, write_body)
            return 1
        rows = 0

        def write(path: str) -> None:
            nonlocal rows
            writer = codecs.file_writer(path, self.out_fmt)
            try:
                for block in self.blocks(predictor, part):
                    if stop is not None and stop():
                        raise PartitionCancelled(f"Partition {part.index} was cancelled")
                    writer.write(block)
                    rows += len(block)
            finally:
                writer.close()

        self._publish(name, write)
        return rows

    def blocks(self, predictor: Predictor, part: Partition) -> Iterator[Any]:
        """The partition's output rows block by block: passthrough columns, then predictions (or the transform's output).

        The model is called on row blocks, as `score` streams a file, and a Parquet partition is also
        read block by block: the reader's, the model's and the writer's memory follow the block.
        """
        begin = rows = None
        try:
            frames, request, begin, rows = self._read(predictor, part)
            for frame in frames:
                yield output_rows(predictor, frame, request, self.passthrough)
        except Exception as exc:
            raise self._failure(part, exc, begin, rows) from None

    def unstructured(self, predictor: Predictor, part: Partition) -> bytes:
        """The body `score_unstructured` returns for one input file."""
        try:
            return unstructured_body(
                predictor, dataset.read_bytes(self.fs, part), self.content_type, self.query
            )
        except Exception as exc:
            raise self._failure(part, exc, None, None) from None

    def _read(
        self, predictor: Predictor, part: Partition
    ) -> tuple[Iterator[Any], dict, int | None, int | None]:
        """(model input blocks, the request hooks see, byte where a CSV range's rows begin, rows when read whole)."""
        colnames = list(self.sparse_colnames) if self.sparse_colnames else None
        request: dict = {"mimetype": codecs.media_type_for_format(part.fmt), "sparse_colnames": colnames}
        if part.row_groups is not None:
            frames = dataset.iter_parquet_groups(self.fs, part, self.block_rows, self.reader_threads)
            return frames, request, None, None
        if part.end is not None:
            data, begin = dataset.read_csv_range(self.fs, part)
            frame = codecs.decode(data, codecs.CSV)
            del data
            return self._row_blocks(frame), request, begin, len(frame)
        # Whole files (Arrow, MTX, a read_input_data hook's input): the hooks get the file's bytes, as in DRUM.
        data = dataset.read_bytes(self.fs, part)
        request["binary_data"] = data
        frame = predictor.read(data, part.fmt, colnames)
        return iter([frame]), request, None, getattr(frame, "shape", (None,))[0]

    def _row_blocks(self, frame: Any) -> Iterator[Any]:
        """A frame in blocks of `block_rows` rows (an empty frame is one block: the part still gets its header)."""
        if len(frame) <= self.block_rows:
            return iter([frame])
        return (frame.iloc[i : i + self.block_rows] for i in range(0, len(frame), self.block_rows))

    def _failure(
        self, part: Partition, exc: Exception, begin: int | None, rows: int | None
    ) -> PartitionError:
        if isinstance(exc, PartitionError):
            return exc
        message = exc.message if isinstance(exc, DrumkitError) else f"{type(exc).__name__}: {exc}"
        first = 0 if part.end is None and part.row_groups is None else None
        if begin is not None and rows is not None:
            try:
                first = dataset.rows_before(self.fs, part, begin)
            except OSError:
                first = None
        where = (
            part.describe(first, rows) if first is not None or part.first_row is not None else part.describe()
        )
        return PartitionError(f"Partition {part.index} ({where}) failed: {' '.join(str(message).split())}")

    def _publish(self, name: str, write) -> None:
        """Write a part beside its final name and move it there: a retried task never leaves half a part."""
        final = f"{self.out_dir}/{name}"
        if "/" in name:
            self.out_fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        if dataset.is_local(self.out_fs):
            scratch = f"{final}.{uuid.uuid4().hex}.tmp"
            try:
                write(scratch)
                os.replace(scratch, final)
            finally:
                if os.path.exists(scratch):
                    os.unlink(scratch)
            return
        handle, scratch = tempfile.mkstemp(prefix="drumkit-part-")
        os.close(handle)
        try:
            write(scratch)
            self.out_fs.put_file(scratch, final)
        finally:
            os.unlink(scratch)
