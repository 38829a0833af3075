"""`drumkit perf` (alias `perf-test`): latency, throughput and memory of the model behind `drumkit server`."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.environment import current
from drumkit.commands.report import error_console, escape, reported, sigterm_as_interrupt

HELP = "Start the model's server and measure latency, rows/s and memory (DRUM's cases, or -s/-i)."


@opt.model_command
def perf(
    model: opt.ModelOptions,
    input: Annotated[
        Path | None, typer.Option("--input", help="Data to send (default: validation.input in the metadata).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", "-s", min=1, help="Rows per request (one case).")
    ] = None,
    iterations: Annotated[
        int | None, typer.Option("--iterations", "-i", min=1, help="Requests per case.")
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option("--max-workers", envvar="MAX_WORKERS", min=1, help="Server worker processes."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds allowed per case.")] = 600.0,
    start_timeout: Annotated[
        float, typer.Option("--start-timeout", min=1, help="Seconds to wait for the server.")
    ] = 60.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the results to this CSV file.")
    ] = None,
    in_server: Annotated[
        bool, typer.Option("--in-server", help="Show the server-side time per request too.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Measure this running server (http://HOST:PORT) instead of starting one."),
    ] = None,
    content_type: opt.ContentType = None,
    query: opt.Query = None,
    production: Annotated[
        bool, typer.Option("--production", hidden=True, help="Accepted, as DRUM's; no effect.")
    ] = False,
) -> None:
    """Start the model's server and measure it."""
    with reported(model.show_stacktrace), sigterm_as_interrupt():
        from drumkit.perf.run import PerfJob, run_perf

        job = PerfJob(
            settings=model.settings(),
            input=input,
            samples=samples,
            iterations=iterations,
            max_workers=max_workers,
            timeout=timeout,
            start_timeout=start_timeout,
            url=url,
            content_type=content_type,
            query=query,
        )
        with _live_progress() as (progress, console):
            report = run_perf(job, progress, say=lambda text: console.print(escape(text)))
    if csv_file is not None:
        from drumkit.output_target import write_text

        csv_file.parent.mkdir(parents=True, exist_ok=True)
        write_text(csv_file, report.to_csv())
    if json_output:
        current().stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        _render(report, in_server)
    raise typer.Exit(report.exit_code)


@contextlib.contextmanager
def _live_progress():
    """One progress bar per case on stderr (a terminal only): yields the runner's callback (or None) and the
    stderr console to print notes on (the bar's own, so notes scroll above the bars)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn

    from drumkit.commands.environment import progress_bar

    with progress_bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        if bar is None:
            yield None, error_console()
            return
        tasks: dict[str, TaskID] = {}

        def update(case, done: int) -> None:
            key = f"{case.name} ({case.samples} samples)"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=case.iterations)
            bar.update(tasks[key], completed=done)

        yield update, bar.console


def _render(report, in_server: bool) -> None:
    from drumkit.commands.environment import current

    env = current()
    # A file or pipe gets room for every column; a terminal its own width.
    console = env.console(width=None if env.stdout_isatty else 140)
    from drumkit.perf.chat import ChatCaseResult

    if any(isinstance(case, ChatCaseResult) for case in report.cases):
        _render_chat(report, console)
    else:
        _render_rows(report, in_server, console)
    for case in report.cases:
        if not case.ok:
            console.print(
                f"[bold red]{escape(case.name)} failed:[/bold red] {escape(case.error or 'incomplete')}"
            )


def _render_chat(report, console) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"drumkit perf: {report.title} (chat; times in seconds, client side)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    headers = [
        "case",
        "iters",
        "TTFT p50",
        "TTFT p99",
        "ITL p50",
        "ITL p99",
        "tokens/s",
        "total p50",
        "total p99",
        "RSS MB",
        "result",
    ]
    for header in headers:
        table.add_column(header, justify="left" if header in ("case", "result") else "right", no_wrap=True)
    for case in report.cases:
        row = case.to_dict()
        cells = [case.name, f"{row['completed']}/{case.iterations}"]
        cells += [_fmt(row[k], 4) for k in ("ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s")]
        cells.append(_fmt(row["tokens_per_s"], 1))
        cells += [_fmt(row[k], 4) for k in ("p50_s", "p99_s")]
        cells += [
            _fmt(row["server_rss_mb"], 0),
            "[green]ok[/green]" if case.ok else "[bold red]FAILED[/bold red]",
        ]
        table.add_row(*cells)
    console.print(table)


def _render_rows(report, in_server: bool, console) -> None:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"drumkit perf: {report.title} (times in seconds, client side)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    headers = ["size", "samples", "iters", "min", "avg", "p50", "p99", "max", "rows/s"]
    headers += ["server"] if in_server else []
    headers += ["RSS MB", "result"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("size", "result") else "right", no_wrap=True)
    for case in report.cases:
        row = case.to_dict()
        cells = [case.name, str(case.samples), f"{row['completed']}/{case.iterations}"]
        cells += [_fmt(row[k]) for k in ("min_s", "avg_s", "p50_s", "p99_s", "max_s")]
        cells.append(_fmt(row["rows_per_s"], 0))
        if in_server:
            cells.append(_fmt(row["server_avg_s"]))
        cells.append(_fmt(row["server_rss_mb"], 0))
        cells.append("[green]ok[/green]" if case.ok else "[bold red]FAILED[/bold red]")
        table.add_row(*cells)
    console.print(table)


def _fmt(value, digits: int = 3) -> str:
    return "NA" if value is None else f"{value:,.{digits}f}"
