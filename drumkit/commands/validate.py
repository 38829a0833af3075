"""`drumkit validate` (alias `validation`): check model-metadata.yaml and the model before it ships."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.report import escape, reported

HELP = (
    "Check model-metadata.yaml and run the model checks (batch, nulls, determinism, row by row) on --input."
)


@opt.model_command
def validate(
    model: opt.ModelOptions,
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="The code dir (same as --code-dir).", show_default=False)
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option("--input", help="Data to check with (default: validation.input in the metadata)."),
    ] = None,
    content_type: opt.ContentType = None,
    query: opt.Query = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    keep_failures: Annotated[
        Path | None,
        typer.Option("--keep-failures", help="Write the datasets that broke a check into this folder."),
    ] = None,
    deterministic: Annotated[
        bool,
        typer.Option("--deterministic", help="Text models: check that the same prompt gives the same text."),
    ] = False,
) -> None:
    """Check model-metadata.yaml and run the model checks on --input; exit 1 when any check fails."""
    from drumkit.commands.environment import current

    env = current()  # taken before stdout is pointed at stderr below
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
        job = ValidationJob(
            settings=settings,
            input=input,
            content_type=content_type,
            query=query,
            keep_failures=keep_failures,
            deterministic=deterministic,
        )
        with _progress() as progress:
            report = run_validation(job, progress)
    if json_output:
        env.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    else:
        _render(report, env)
    raise typer.Exit(report.exit_code)


def _from_env(ctx: typer.Context, name: str) -> bool:
    # By name: typer may ship its own copy of click, with its own ParameterSource enum.
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", None) == "ENVIRONMENT"


_STYLE = {"PASSED": "green", "FAILED": "bold red", "SKIPPED": "yellow"}


def _render(report, env) -> None:
    """One line per check (status, name, reason) and one indented line per problem; wraps at words, any width."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console = env.console()
    console.print(Text(f"Validation checks: {report.code_dir}", style="bold"), soft_wrap=True)
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for check in report.checks:
        line = Text(check.name, style="bold")
        # A failed check's rows are listed one a line under its first sentence.
        failed_rows = bool(check.items) and check.status.value == "FAILED"
        reason = check.details.split(": ", 1)[0] if failed_rows else check.details
        if reason:
            line.append(f": {reason}")
        table.add_row(Text(check.status.value.ljust(7), style=_STYLE[check.status.value]), line)
        for item in check.items if failed_rows else []:
            table.add_row("", Padding(Text("- " + _item_line(item)), (0, 0, 0, 2)))
    # Grid cells are padded to the column width; a pipe or file gets the lines without that trailing space.
    with console.capture() as captured:
        console.print(table)
    env.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    failed = len(report.failures)
    summary = (
        "[green]All checks passed.[/green]"
        if not failed
        else f"[bold red]{failed} check(s) failed.[/bold red]"
    )
    console.print(summary)
    if report.input:
        console.print(f"[dim]input: {escape(report.input)}[/dim]")


def _item_line(item: dict) -> str:
    """`line 3, targetType: message` for a metadata problem, `feature=x: message` for a data check's row."""
    where = [f"line {item['line']}"] if item.get("line") else []
    where += [str(item["path"])] if item.get("path") else []
    where += [
        f"{key}={value}"
        for key, value in item.items()
        if key not in ("line", "path", "message", "severity") and value is not None
    ]
    severity = " (warning)" if item.get("severity") == "warning" else ""
    message = item.get("message")
    if message is None:
        return ", ".join(where)
    return f"{', '.join(where) + ': ' if where else ''}{message}{severity}"


@contextlib.contextmanager
def _progress():
    """A transient progress bar on stderr for the long checks, only when stderr is a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn

    from drumkit.commands.environment import progress_bar

    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        if bar is None:
            yield None
            return
        tasks: dict[str, TaskID] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield update
