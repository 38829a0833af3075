"""Run a Predictor over a whole input file: the one function behind `drumkit score`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from drumkit.errors import UsageError
from drumkit.predictor import codecs
from drumkit.predictor.codecs import BLOCK_BYTES, RESTART
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.targets import TargetType
from drumkit.score.passthrough import Passthrough
from drumkit.score.rows import output_rows, unstructured_body
from drumkit.score.writer import AtomicOutput, FrameWriter


@dataclass(frozen=True)
class ScoreJob:
    """What to score and where to put it (output None = stdout)."""

    input: Path
    output: Path | None = None
    sparse_colnames: tuple[str, ...] | None = None
    content_type: str | None = None
    query: str | None = None
    chunk_bytes: int = BLOCK_BYTES
    passthrough: Passthrough = field(default_factory=Passthrough)


@dataclass
class ScoreResult:
    """What a run produced."""

    rows: int = 0
    chunks: int = 0


Progress = Callable[[int, int], None]


def run_score(
    predictor: Predictor, job: ScoreJob, progress: Progress | None = None, stdout: BinaryIO | None = None
) -> ScoreResult:
    """Score `job.input` into `job.output` (or `stdout`); nothing is left at the destination when anything fails."""
    if not job.input.is_file():
        raise UsageError(f"The file {job.input} does not exist!")
    if predictor.target_type is not TargetType.UNSTRUCTURED and (job.query or job.content_type):
        flag = "--query" if job.query else "--content-type"
        raise UsageError(f"{flag} argument can be used only with --target-type unstructured")
    if predictor.target_type is TargetType.UNSTRUCTURED and job.passthrough:
        raise UsageError("Passthrough columns need a structured model; an unstructured one has no columns")
    out = AtomicOutput(job.output, stdout)
    writer = FrameWriter(out.temp, FrameWriter.kind_for(job.output))
    try:
        if predictor.target_type is TargetType.UNSTRUCTURED:
            result = _score_unstructured(predictor, job, writer)
        else:
            result = _score_rows(predictor, job, writer, progress)
        writer.close()
        out.commit()
        return result
    except BaseException:
        writer.close()
        out.discard()
        raise


def _score_rows(
    predictor: Predictor, job: ScoreJob, writer: FrameWriter, progress: Progress | None
) -> ScoreResult:
    fmt = codecs.format_for_filename(job.input.name)
    colnames = list(job.sparse_colnames) if job.sparse_colnames else None
    total = os.path.getsize(job.input)
    result = ScoreResult()
    request: dict[str, Any] = {"mimetype": codecs.media_type_for_format(fmt), "sparse_colnames": colnames}
    if predictor.reads_any_payload or not codecs.streams(fmt, total, job.chunk_bytes):
        # Read whole: read_input_data hooks, sparse files and small inputs get the file's bytes, as in DRUM.
        data = job.input.read_bytes()
        chunks = iter([(predictor.read(data, fmt, colnames), total)])
        request["binary_data"] = data
    else:
        chunks = codecs.iter_file(job.input, fmt, job.chunk_bytes)
    for frame, done in chunks:
        if frame is RESTART:
            # A column's type changed late: everything written so far used the old type.
            writer.reset()
            result = ScoreResult()
            continue
        out = output_rows(predictor, frame, request, job.passthrough)
        writer.write(out)
        result.rows += len(out)
        result.chunks += 1
        if progress:
            progress(done, total)
    return result


def _score_unstructured(predictor: Predictor, job: ScoreJob, writer: FrameWriter) -> ScoreResult:
    writer.write_bytes(unstructured_body(predictor, job.input.read_bytes(), job.content_type, job.query))
    return ScoreResult(rows=1, chunks=1)
