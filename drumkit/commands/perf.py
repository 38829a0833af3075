"""`drumkit perf` (alias `perf-test`): latency, throughput and memory of the model behind `drumkit server`."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.report import error_console, escape, reported

HELP = "Start the model's server and measure latency, rows/s and memory (DRUM's cases, or -s/-i)."


@opt.model_command
def perf(
    model: opt.ModelOptions,
    input: Annotated[
        Path | None, typer.Option("--input", help="Data to send (default: validation.input in the metadata).")
    ] = None,
    samples: Annotated[int | None, typer.Option("--samples", "-s", min=1, help="Rows per request (one case).")] = None,
    iterations: Annotated[int | None, typer.Option("--iterations", "-i", min=1, help="Requests per case.")] = None,
    max_workers: Annotated[
        int | None, typer.Option("--max-workers", envvar="MAX_WORKERS", min=1, help="Server worker processes.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds allowed per case.")] = 600.0,
    start_timeout: Annotated[float, typer.Option("--start-timeout", min=1, help="Seconds to wait for the server.")] = 60.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the results to this CSV file.")] = None,
    in_server: Annotated[bool, typer.Option("--in-server", help="Show the server-side time per request too.")] = False,
    url: Annotated[
        str | None, typer.Option("--url", help="Measure this running server (http://HOST:PORT) instead of starting one.")
    ] = None,
    content_type: opt.ContentType = None,
    query: opt.Query = None,
    production: Annotated[bool, typer.Option("--production", hidden=True, help="Accepted, as DRUM's; no effect.")] = False,
) -> None:
    """Start the model's server and measure it."""
    with reported(model.show_stacktrace), _sigterm_as_interrupt():
        from drumkit.errors import UsageError
        from drumkit.perf.client import HttpClient
        from drumkit.perf.report import PerfReport
        from drumkit.perf.server_process import ServerProcess, server_arguments
        from drumkit.predictor.metadata import load_metadata
        from drumkit.predictor.settings import resolve_target
        from drumkit.predictor.targets import TargetType

        settings = model.settings()
        code_dir = settings.code_dir
        metadata = load_metadata(code_dir)
        spec = resolve_target(settings, metadata)
        unstructured = spec.target_type is TargetType.UNSTRUCTURED
        if unstructured and samples is not None:
            raise UsageError("-s/--samples does not apply to unstructured models: the input file is the body")
        if not unstructured and (query or content_type):
            raise UsageError(f"{'--query' if query else '--content-type'} argument can be used only with "
                             "--target-type unstructured")
        # Chat models (known once their server answers /capabilities/) may run without --input.
        input = _optional_input(input, code_dir, metadata)
        report = PerfReport(code_dir=str(code_dir.resolve()), input=str(input or ""), target_type=str(spec.target_type),
                            rows=0, features=None)
        console = error_console()
        with contextlib.ExitStack() as stack:
            if url:
                base_url, alive = url, None
                report.server = {"url": url, "started": False}
            else:
                args = server_arguments(settings, max_workers=max_workers)
                console.print(f"Starting drumkit server for {escape(str(code_dir))} ...", markup=True)
                server = stack.enter_context(ServerProcess(args, start_timeout=start_timeout))
                base_url, alive = server.url, server.alive
                report.server = {"url": server.url, "pid": server.pid, "max_workers": max_workers or 1, "started": True}
                console.print(f"drumkit server pid {server.pid} answering at {server.url}")
            client = stack.enter_context(contextlib.closing(HttpClient(base_url)))
            if _chats(client):
                _measure_chat(report, client, input, samples, iterations, timeout, alive, console)
            else:
                _measure_rows(report, client, spec, _input_path(input, code_dir, metadata), samples, iterations,
                              content_type, query, timeout, alive, console)
    if csv_file is not None:
        _write_atomic(csv_file, report.to_csv())
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        _render(report, in_server)
    raise typer.Exit(report.exit_code)


def _chats(client) -> bool:
    """The server's model has a chat hook (`/capabilities/` supported_methods.chat)."""
    capabilities = client.get_json("/capabilities/") or {}
    return bool((capabilities.get("supported_methods") or {}).get("chat"))


def _measure_rows(report, client, spec, input: Path, samples, iterations, content_type, query, timeout, alive,
                  console) -> None:
    """DRUM's cases (or one -s/-i case) on /predict/, or the input file as the body of /predictUnstructured/."""
    from drumkit.errors import UsageError
    from drumkit.perf.cases import plan_cases, unstructured_case
    from drumkit.perf.runner import run_case, structured_target, unstructured_target
    from drumkit.predictor.targets import TargetType

    if spec.target_type is TargetType.UNSTRUCTURED:
        data = input.read_bytes()
        cases = [unstructured_case(len(data), iterations)]
        target = unstructured_target(data, content_type or _guess_type(input), query)
        rows, features = 1, None
    else:
        from drumkit.perf.payloads import CsvRows

        table = CsvRows.from_file(input)
        if not table.rows:
            raise UsageError(f"{input} has no rows to send")
        cases = plan_cases(table.rows, os.path.getsize(input), samples, iterations)
        target = structured_target(table.body)
        rows, features = table.rows, table.columns
    report.input, report.rows, report.features = str(input), rows, features
    features_text = f", {features} features" if features is not None else ""
    console.print(f"Model: {escape(report.code_dir)}  Data: {escape(str(input))} ({rows} rows{features_text})")
    with _live_progress() as progress:
        for case in cases:
            report.cases.append(run_case(client, target, case, timeout, progress, alive))
            if alive is not None and not alive():
                break


def _measure_chat(report, client, input: Path | None, samples, iterations, timeout, alive, console) -> None:
    """Chat completions, whole then streamed: total latency, time to first token, inter-token latency, tokens/s."""
    from drumkit.errors import UsageError
    from drumkit.perf.chat import DEFAULT_ITERATIONS, first_model_id, load_prompts, run_chat_case

    if samples is not None:
        raise UsageError("-s/--samples does not apply to chat models: each request is one prompt")
    prompts = load_prompts(input)
    model = first_model_id(client)
    report.rows = len(prompts)
    console.print(f"Model: {escape(report.code_dir)}  chat model '{escape(model)}', {len(prompts)} prompt(s)")
    with _live_progress() as progress:
        for stream in (False, True):
            report.cases.append(run_chat_case(client, model, prompts, iterations or DEFAULT_ITERATIONS, stream,
                                              timeout, progress, alive))
            if alive is not None and not alive():
                break


def _optional_input(given: Path | None, code_dir: Path, metadata: dict | None) -> Path | None:
    """--input, else validation.input of the metadata, else None; an existing file."""
    if given is None:
        validation = (metadata or {}).get("validation")
        name = validation.get("input") if isinstance(validation, dict) else None
        if not name:
            return None
        given = code_dir / name
    return opt.existing_file(given)


def _input_path(given: Path | None, code_dir: Path, metadata: dict | None) -> Path:
    from drumkit.errors import UsageError

    path = _optional_input(given, code_dir, metadata)
    if path is None:
        raise UsageError("Give --input FILE (or validation.input in model-metadata.yaml)")
    return path


def _guess_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "text/plain"


def _write_atomic(path: Path, text: str) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM unwinds like Ctrl+C, so the server child is stopped on the way out."""
    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _live_progress():
    """One progress bar per case on stderr (a terminal only); yields the runner's callback or None."""
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn

    from drumkit.commands.environment import progress_bar

    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as bar:
        if bar is None:
            yield None
            return
        tasks: dict[str, TaskID] = {}

        def update(case, done: int) -> None:
            key = f"{case.name} ({case.samples} samples)"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=case.iterations)
            bar.update(tasks[key], completed=done)

        yield update


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
            console.print(f"[bold red]{escape(case.name)} failed:[/bold red] {escape(case.error or 'incomplete')}")


def _render_chat(report, console) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title=f"drumkit perf: {report.code_dir} (chat; times in seconds, client side)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    headers = ["case", "iters", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "tokens/s", "total p50", "total p99",
               "RSS MB", "result"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("case", "result") else "right", no_wrap=True)
    for case in report.cases:
        row = case.to_dict()
        cells = [case.name, f"{row['completed']}/{case.iterations}"]
        cells += [_fmt(row[k], 4) for k in ("ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s")]
        cells.append(_fmt(row["tokens_per_s"], 1))
        cells += [_fmt(row[k], 4) for k in ("p50_s", "p99_s")]
        cells += [_fmt(row["server_rss_mb"], 0), "[green]ok[/green]" if case.ok else "[bold red]FAILED[/bold red]"]
        table.add_row(*cells)
    console.print(table)


def _render_rows(report, in_server: bool, console) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title=f"drumkit perf: {report.code_dir} (times in seconds, client side)", title_justify="left",
                  box=box.SIMPLE_HEAD)
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
