"""`drumkit score`: batch predictions for a CSV, Arrow, Parquet or sparse MTX file."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.environment import LastByte, current
from drumkit.commands.report import reported

HELP = "Score a file with the model in --code-dir (CSV to stdout unless --output is given)."


@opt.model_command
def score(
    model: opt.ModelOptions,
    input: Annotated[Path, typer.Option("--input", help="CSV, .arrow/.feather, .parquet or .mtx file to score.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="Where to write (.csv, .parquet, .arrow); default stdout.")
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
    with reported(model.show_stacktrace), contextlib.redirect_stdout(sys.stderr):
        # User prints go to stderr so stdout carries only the predictions.
        from drumkit.predictor.codecs import read_colnames
        from drumkit.predictor.predictor import Predictor
        from drumkit.score.batch import ScoreJob, run_score

        started = time.perf_counter()
        settings = model.settings()
        opt.existing_file(input)  # an argparse error in DRUM (exit 2), like a missing --input
        colnames = None
        if sparse_column_file is not None:
            colnames = tuple(read_colnames(_read_file(sparse_column_file)) or ())
        predictor = Predictor.from_settings(settings)
        loaded = time.perf_counter()
        job = ScoreJob(input=input, output=output, sparse_colnames=colnames, content_type=content_type, query=query)
        with _progress_bar(input.name) as progress:
            run_score(predictor, job, progress, stdout=real_stdout)  # type: ignore[arg-type]
        if output is None and real_stdout.last not in (b"", b"\n") and current().stdout_isatty:
            # The shell prompt starts on its own line; a pipe or file gets the model's bytes as they are.
            real_stdout.write(b"\n")
            real_stdout.flush()
        if show_perf:
            done = time.perf_counter()
            for name, seconds in (("Full time", done - started), ("Init time (incl model loading)", loaded - started),
                                  ("Run time (incl reading CSV)", done - loaded)):
                print(f"{name}:\n\tsec: min: {seconds:.3f}; avg: {seconds:.3f}; max: {seconds:.3f}", file=sys.stderr)


def _read_file(path: Path) -> bytes:
    from drumkit.errors import UsageError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror}") from None


@contextlib.contextmanager
def _progress_bar(name: str):
    """A rich progress bar on stderr when it is a terminal; otherwise no progress output."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

    from drumkit.commands.environment import progress_bar

    with progress_bar(TextColumn("scoring {task.description}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn()) as bar:
        if bar is None:
            yield None
            return
        task = bar.add_task(name, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
