"""Score a dataset (a file, glob, folder or URL) with an engine, into a committed folder of parts or one file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from drumkit.errors import UsageError
from drumkit.predictor import codecs
from drumkit.predictor.targets import TargetType
from drumkit.score.committer import FolderCommitter
from drumkit.score.dataset import (
    DEFAULT_BLOCKSIZE,
    filesystem,
    has_glob,
    is_remote,
    list_files,
    plan_partitions,
)
from drumkit.score.engines import Engine, Progress
from drumkit.score.passthrough import Passthrough
from drumkit.score.task import PartitionTask

OUTPUT_FORMATS = (codecs.CSV, codecs.PARQUET, codecs.ARROW)


@dataclass(frozen=True)
class DatasetJob:
    """What to score, how to cut it, and where the output goes (None = stdout)."""

    input: str
    output: str | None = None
    output_format: str | None = None  # of a folder's parts; a file's comes from its suffix
    blocksize: int = DEFAULT_BLOCKSIZE
    passthrough: Passthrough = field(default_factory=Passthrough)
    sparse_colnames: tuple[str, ...] | None = None
    content_type: str | None = None
    query: str | None = None
    storage_options: dict = field(default_factory=dict)


@dataclass
class DatasetResult:
    """What a run produced."""

    rows: int = 0
    partitions: int = 0
    output: str | None = None


def is_folder_output(output: str | None) -> bool:
    """A folder destination: a trailing `/`, an existing local folder, or any object-store URL."""
    if output is None:
        return False
    return output.endswith("/") or is_remote(output) or os.path.isdir(output)


def needs_dataset(input: str, output: str | None) -> bool:
    """Whether a run goes through partitions: a folder, glob or URL in, or a folder out."""
    return is_remote(input) or has_glob(input) or os.path.isdir(input) or is_folder_output(output)


def run_dataset(
    job: DatasetJob, engine: Engine, progress: Progress | None = None, stdout: BinaryIO | None = None
) -> DatasetResult:
    """Score every partition of `job.input`; a folder output is committed only when every part succeeded."""
    fs, root, files = list_files(job.input, job.storage_options)
    info = engine.model_info()
    unstructured = info.target_type is TargetType.UNSTRUCTURED
    if not unstructured and (job.query or job.content_type):
        flag = "--query" if job.query else "--content-type"
        raise UsageError(f"{flag} argument can be used only with --target-type unstructured")
    if unstructured and job.passthrough:
        raise UsageError("Passthrough columns need a structured model; an unstructured one has no columns")
    parts = plan_partitions(
        fs, root, files, job.blocksize, whole_files=unstructured or info.reads_any_payload
    )
    task = PartitionTask(
        fs,
        passthrough=job.passthrough,
        sparse_colnames=job.sparse_colnames,
        content_type=job.content_type,
        query=job.query,
    )
    if is_folder_output(job.output):
        return _into_folder(job, engine, task, parts, info.target_type, progress)
    if not hasattr(engine, "frames"):
        raise UsageError("This engine writes a folder of parts: give --output a folder (ending in /)")
    if unstructured and len(parts) > 1:
        raise UsageError(
            "An unstructured model writes one output per input file: give --output a folder (ending in /)"
        )
    return _into_file(job, engine, task, parts, unstructured, progress, stdout)


def _into_folder(job, engine, task, parts, target_type, progress) -> DatasetResult:
    fmt = (job.output_format or codecs.CSV).lower()
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}, not '{fmt}'")
    out_fs, out_root = filesystem(job.output, job.storage_options)
    committer = FolderCommitter(out_fs, out_root)
    task = replace(task, out_fs=out_fs, out_dir=committer.temp, out_fmt=fmt)
    try:
        rows = engine.map(task, parts, progress)
        committer.commit([task.part_name(part, target_type) for part in parts])
    except BaseException:
        committer.abort()
        raise
    return DatasetResult(sum(rows), len(parts), job.output)


def _into_file(job, engine, task, parts, unstructured, progress, stdout) -> DatasetResult:
    """All partitions into one local file (or stdout), renamed into place at the end, as `score` does for a file."""
    from pathlib import Path

    from drumkit.score.writer import AtomicOutput, FrameWriter

    destination = Path(job.output) if job.output else None
    out = AtomicOutput(destination, stdout)
    writer = FrameWriter(out.temp, FrameWriter.kind_for(destination))
    rows = 0
    try:
        if unstructured:
            writer.write_bytes(task.unstructured(engine.predictor, parts[0]))
            rows = 1
        else:
            for frame in engine.frames(task, parts, progress):
                writer.write(frame)
                rows += len(frame)
        writer.close()
        out.commit()
    except BaseException:
        writer.close()
        out.discard()
        raise
    return DatasetResult(rows, len(parts), job.output)
