"""`drumkit score`: batch predictions for a CSV, Arrow, Parquet or sparse MTX file, or a dataset of them on an engine."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.environment import LastByte, current
from drumkit.commands.report import reported, sigterm_as_interrupt

HELP = "Score a file or dataset with the model in --code-dir (CSV to stdout unless --output is given)."


@opt.model_command
def score(
    model: opt.ModelOptions,
    input: Annotated[
        str,
        typer.Option(
            "--input",
            help="CSV, .arrow/.feather, .parquet or .mtx file; or a folder, a glob or a URL (s3://...) of them.",
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            help="A file (.csv, .parquet, .arrow; default stdout) or a folder of parts (ending in /).",
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process) or dask (a cluster).")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            envvar="DASK_SCHEDULER_ADDRESS",
            help="Dask: an existing scheduler, tcp://HOST:PORT.",
            show_default="a local cluster",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Dask: worker processes of the local cluster.", show_default="CPU count"
        ),
    ] = None,
    blocksize: Annotated[
        str, typer.Option("--blocksize", help="Partition size of a dataset (64MiB, 500MB; 0 = whole files).")
    ] = "64MiB",
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output-format", help="Parts of a folder output: csv, parquet or arrow.", show_default="csv"
        ),
    ] = None,
    passthrough_columns: Annotated[
        list[str] | None,
        typer.Option(
            "--passthrough-columns",
            metavar="<names>",
            help="Input columns copied beside the predictions: id,ts.",
        ),
    ] = None,
    passthrough_columns_set: Annotated[
        str | None,
        typer.Option(
            "--passthrough-columns-set",
            metavar="all",
            help="'all': copy every input column beside the predictions.",
        ),
    ] = None,
    storage_options: Annotated[
        str | None,
        typer.Option(
            "--storage-options", help='JSON options of the fsspec filesystem: \'{"endpoint_url": "..."}\'.'
        ),
    ] = None,
    sparse_column_file: Annotated[
        Path | None, typer.Option("--sparse-column-file", help="Column names for a .mtx input, one a line.")
    ] = None,
    content_type: opt.ContentType = None,
    query: opt.Query = None,
    show_perf: Annotated[bool, typer.Option("--show-perf", help="Print timings to stderr.")] = False,
) -> None:
    """Score a file with the model in --code-dir."""
    real_stdout = LastByte(sys.stdout.buffer)
    with reported(model.show_stacktrace), sigterm_as_interrupt(), contextlib.redirect_stdout(sys.stderr):
        # User prints go to stderr so stdout carries only the predictions.
        from drumkit.errors import UsageError
        from drumkit.predictor.codecs import read_colnames
        from drumkit.predictor.predictor import Predictor
        from drumkit.score.batch import ScoreJob, run_score
        from drumkit.score.dataset import parse_bytes
        from drumkit.score.dataset_job import DatasetJob, is_folder_output, needs_dataset, run_dataset
        from drumkit.score.passthrough import Passthrough

        started = time.perf_counter()
        settings = model.settings()
        colnames = None
        if sparse_column_file is not None:
            colnames = tuple(read_colnames(_read_file(sparse_column_file)) or ())
        if engine not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not '{engine}'")
        passthrough = Passthrough.from_flags(passthrough_columns, passthrough_columns_set)
        if engine == "local" and not needs_dataset(input, output):
            opt.existing_file(Path(input))  # an argparse error in DRUM (exit 2), like a missing --input
            predictor = Predictor.from_settings(settings)
            loaded = time.perf_counter()
            job = ScoreJob(
                input=Path(input),
                output=Path(output) if output else None,
                sparse_colnames=colnames,
                content_type=content_type,
                query=query,
                passthrough=passthrough,
            )
            with _progress_bar(Path(input).name) as progress:
                run_score(predictor, job, progress, stdout=real_stdout)  # type: ignore[arg-type]
        else:
            dataset = DatasetJob(
                input=input,
                output=output,
                output_format=output_format,
                blocksize=parse_bytes(blocksize),
                passthrough=passthrough,
                sparse_colnames=colnames,
                content_type=content_type,
                query=query,
                storage_options=_json_options(storage_options),
            )
            if workers is not None and workers < 1:
                raise UsageError(f"--workers must be 1 or more, not {workers}")
            if engine == "dask" and not is_folder_output(output):
                raise UsageError(
                    "--engine dask writes a folder of parts: give --output a folder (ending in /)"
                )
            runner = _engine(engine, settings, scheduler, workers)
            try:
                loaded = time.perf_counter()
                with _progress_bar(input, unit="partitions") as progress:
                    run_dataset(dataset, runner, progress, stdout=real_stdout)  # type: ignore[arg-type]
            finally:
                runner.close()
        if output is None and real_stdout.last not in (b"", b"\n") and current().stdout_isatty:
            # The shell prompt starts on its own line; a pipe or file gets the model's bytes as they are.
            real_stdout.write(b"\n")
            real_stdout.flush()
        if show_perf:
            done = time.perf_counter()
            for name, seconds in (
                ("Full time", done - started),
                ("Init time (incl model loading)", loaded - started),
                ("Run time (incl reading CSV)", done - loaded),
            ):
                print(
                    f"{name}:\n\tsec: min: {seconds:.3f}; avg: {seconds:.3f}; max: {seconds:.3f}",
                    file=sys.stderr,
                )


ENGINES = ("local", "dask")


def _engine(name: str, settings, scheduler: str | None, workers: int | None):
    """The engine that scores a dataset; its model is loaded here (local) or on every worker (dask)."""
    if name == "dask":
        from drumkit.score.engines.dask import DaskEngine

        return DaskEngine(settings, scheduler, workers or os.cpu_count() or 1)
    from drumkit.predictor.predictor import Predictor
    from drumkit.score.engines.local import LocalEngine

    return LocalEngine(Predictor.from_settings(settings))


def _json_options(text: str | None) -> dict:
    import json

    from drumkit.errors import UsageError

    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--storage-options is not JSON: {exc}") from None
    if not isinstance(options, dict):
        raise UsageError("--storage-options must be a JSON object")
    return options


def _read_file(path: Path) -> bytes:
    from drumkit.errors import UsageError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror}") from None


@contextlib.contextmanager
def _progress_bar(name: str, unit: str = "bytes"):
    """A rich progress bar on stderr when it is a terminal (bytes of a file, or partitions done); otherwise nothing."""
    from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from drumkit.commands.environment import progress_bar

    count = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    with progress_bar(
        TextColumn("scoring {task.description}"),
        BarColumn(),
        count,
        TextColumn(unit if unit != "bytes" else ""),
        TimeRemainingColumn(),
    ) as bar:
        if bar is None:
            yield None
            return
        task = bar.add_task(name, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
