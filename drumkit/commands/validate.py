"""`drumkit validate` (alias `validation`): check model-metadata.yaml and the model before it ships."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from drumkit.commands import options as opt
from drumkit.commands.report import error_console, escape, reported

HELP = "Check model-metadata.yaml and run the model checks (batch, nulls, determinism, row by row) on --input."


@opt.model_command
def validate(
    model: opt.ModelOptions,
    ctx: typer.Context,
    directory: Annotated[Optional[Path], typer.Argument(help="The code dir (same as --code-dir).", show_default=False)] = None,
    input: Annotated[
        Optional[Path], typer.Option("--input", help="Data to check with (default: validation.input in the metadata).")
    ] = None,
    content_type: opt.ContentType = None,
    query: opt.Query = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    keep_failures: Annotated[
        Optional[Path], typer.Option("--keep-failures", help="Write the datasets that broke a check into this folder.")
    ] = None,
    deterministic: Annotated[
        bool, typer.Option("--deterministic", help="Text models: check that the same prompt gives the same text.")
    ] = False,
) -> None:
    """Check model-metadata.yaml and run the model checks on --input; exit 1 when any check fails."""
    real_stdout = sys.stdout
    with reported(model.show_stacktrace), contextlib.redirect_stdout(sys.stderr):
        # Model prints go to stderr so stdout carries only the report.
        from drumkit.errors import UsageError
        from drumkit.validate.runner import ValidationJob, run_validation

        code_dir = None if directory is not None and _from_env(ctx, "code_dir") else model.code_dir
        # DIR on the command line beats CODE_DIR in the environment.
        if directory is not None and code_dir is not None and directory.resolve() != code_dir.resolve():
            raise UsageError(f"Give the code dir once: DIR is {directory} but --code-dir is {code_dir}")
        settings = model.settings(directory)
        if input is not None:
            opt.existing_file(input)
        job = ValidationJob(settings=settings, input=input, content_type=content_type, query=query,
                            keep_failures=keep_failures, deterministic=deterministic)
        with _progress() as progress:
            report = run_validation(job, progress)
    if json_output:
        real_stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    else:
        _render(report, real_stdout)
    raise typer.Exit(report.exit_code)


def _from_env(ctx: typer.Context, name: str) -> bool:
    # By name: typer may ship its own copy of click, with its own ParameterSource enum.
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", None) == "ENVIRONMENT"


_STYLE = {"PASSED": "green", "FAILED": "bold red", "SKIPPED": "yellow"}


def _render(report, stream) -> None:
    from rich.console import Console, Group
    from rich.table import Table
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=False)
    table = Table(title=f"Validation checks: {report.code_dir}", title_justify="left", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("details", overflow="fold")
    for check in report.checks:
        # A failed check's rows are shown as a table under a short first line.
        failed_rows = bool(check.items) and check.status.value == "FAILED"
        details = [Text(check.details.split(": ", 1)[0] if failed_rows else check.details)]
        if failed_rows:
            details.append(_items_table(check.items))
        table.add_row(check.name, Text(check.status.value, style=_STYLE[check.status.value]), Group(*details))
    console.print(table)
    failed = len(report.failures)
    summary = "[green]All checks passed.[/green]" if not failed else f"[bold red]{failed} check(s) failed.[/bold red]"
    console.print(summary)
    if report.input:
        console.print(f"[dim]input: {escape(report.input)}[/dim]")


def _items_table(items: list[dict]):
    from rich.table import Table

    columns = [k for k in items[0] if any(item.get(k) is not None for item in items)]
    table = Table(show_edge=False, box=None, pad_edge=False, header_style="dim")
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(*("" if item.get(c) is None else str(item.get(c)) for c in columns))
    return table


@contextlib.contextmanager
def _progress():
    """A transient progress bar on stderr for the long checks, only when stderr is a terminal."""
    if not sys.__stderr__.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=error_console(),
                  transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield update
