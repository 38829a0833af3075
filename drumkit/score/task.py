"""What every engine does with one partition: read it through the codecs, predict, attach passthrough columns, write a part."""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from drumkit.errors import DrumkitError
from drumkit.predictor import codecs
from drumkit.predictor.predictor import NONE_RESULT_TEXT, Predictor
from drumkit.predictor.targets import TargetType
from drumkit.score import dataset
from drumkit.score.dataset import Partition
from drumkit.score.passthrough import Passthrough

DEFAULT_UNSTRUCTURED_CONTENT_TYPE = "text/plain; charset=utf8"
_SUFFIX = {codecs.CSV: ".csv", codecs.PARQUET: ".parquet", codecs.ARROW: ".arrow"}


class PartitionError(DrumkitError):
    """A partition failed: the message names it (file and rows) and says why."""


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

    def part_name(self, part: Partition, target_type: TargetType) -> str:
        """`part-00007.csv`; an unstructured model's output keeps its input's name."""
        if target_type is TargetType.UNSTRUCTURED:
            return part.name
        return f"part-{part.index:05d}{_SUFFIX[self.out_fmt]}"

    def run(self, predictor: Predictor, part: Partition) -> int:
        """Score the partition into its part under `out_dir`; returns the rows written."""
        name = self.part_name(part, predictor.target_type)
        if predictor.target_type is TargetType.UNSTRUCTURED:
            body = self.unstructured(predictor, part)

            def write_body(path: str) -> None:
                with open(path, "wb") as handle:
                    handle.write(body)

            self._publish(name, write_body)
            return 1
        frame = self.frame(predictor, part)

        def write(path: str) -> None:
            writer = codecs.file_writer(path, self.out_fmt)
            writer.write(frame)
            writer.close()

        self._publish(name, write)
        return len(frame)

    def frame(self, predictor: Predictor, part: Partition) -> Any:
        """The partition's output rows: passthrough columns, then predictions (or the transform's output)."""
        begin = rows = None
        try:
            frame, request, begin = self._read(predictor, part)
            rows = getattr(frame, "shape", (None,))[0]
            picked = self.passthrough.pick(frame)
            if predictor.target_type is TargetType.TRANSFORM:
                out = predictor.transform(frame)
            else:
                # Row blocks, as `score` streams a file: the model's intermediates follow the block, not the partition.
                blocks = (
                    frame.iloc[i : i + codecs.BLOCK_ROWS] for i in range(0, len(frame), codecs.BLOCK_ROWS)
                )
                whole = len(frame) <= codecs.BLOCK_ROWS or "binary_data" in request
                out = predictor.predict_blocks([frame] if whole else blocks, request).to_frame()
            return self.passthrough.attach(picked, out)
        except Exception as exc:
            raise self._failure(part, exc, begin, rows) from None

    def unstructured(self, predictor: Predictor, part: Partition) -> bytes:
        """The body `score_unstructured` returns for one input file."""
        try:
            mimetype, charset = codecs.split_content_type(
                self.content_type or DEFAULT_UNSTRUCTURED_CONTENT_TYPE
            )
            query = dict(
                parse_qsl(self.query or "", keep_blank_values=True)
            )  # DRUM's batch mode: last duplicate wins
            result = predictor.predict_unstructured(
                dataset.read_bytes(self.fs, part), mimetype, charset, query
            )
            return (
                result.body if result.body is not None else NONE_RESULT_TEXT.encode(result.charset or "utf-8")
            )
        except Exception as exc:
            raise self._failure(part, exc, None, None) from None

    def _read(self, predictor: Predictor, part: Partition) -> tuple[Any, dict, int | None]:
        """(model input, the request hooks see, byte where a CSV range's rows begin)."""
        colnames = list(self.sparse_colnames) if self.sparse_colnames else None
        request: dict = {"mimetype": codecs.media_type_for_format(part.fmt), "sparse_colnames": colnames}
        if part.row_groups is not None:
            return dataset.read_parquet_groups(self.fs, part, self.reader_threads), request, None
        if part.end is not None:
            data, begin = dataset.read_csv_range(self.fs, part)
            return codecs.decode(data, codecs.CSV), request, begin
        data = dataset.read_bytes(self.fs, part)
        request["binary_data"] = data
        return predictor.read(data, part.fmt, colnames), request, None

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
