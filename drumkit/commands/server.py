"""`drumkit server`: serve a code dir over HTTP with DRUM's prediction API (waitress, optional workers)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from drumkit.commands import options as opt
from drumkit.commands.report import ExitStatus, error_console, escape, reported

HELP = "Serve the model in --code-dir over HTTP with DRUM's prediction API."
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}


@opt.model_command
def server(
    model: opt.ModelOptions,
    address: Annotated[
        str | None,
        typer.Option("--address", envvar="ADDRESS", help="HOST:PORT to listen on (:PORT = all interfaces)."),
    ] = None,
    max_workers: Annotated[
        int | None,
        typer.Option(
            "--max-workers",
            envvar="MAX_WORKERS",
            min=0,
            help="Worker processes sharing the socket (0 = 1; default CUSTOM_MODEL_WORKERS or 1).",
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            help="Request threads per worker (more keep /ping/ answering during long predictions).",
        ),
    ] = 1,
    chat_threads: Annotated[
        int,
        typer.Option(
            "--chat-threads", min=1, help="Threads per worker for chat streams (apart from --threads)."
        ),
    ] = 8,
    drain_timeout: Annotated[
        float,
        typer.Option(
            "--drain-timeout", min=0, help="Seconds open requests and streams get to finish on SIGTERM."
        ),
    ] = 60.0,
    with_error_server: Annotated[
        bool,
        typer.Option(
            "--with-error-server",
            envvar="WITH_ERROR_SERVER",
            help="If the model fails to load, answer 513 with the reason instead of exiting.",
        ),
    ] = False,
    max_body_size: Annotated[
        str,
        typer.Option(
            "--max-body-size", help="Largest request body, e.g. 1GiB, 50MB, 1048576 (413 above it)."
        ),
    ] = "1GiB",
    metrics: Annotated[
        bool,
        typer.Option("--metrics/--no-metrics", help="Answer GET /metrics (Prometheus text, all workers)."),
    ] = True,
    max_worker_memory: Annotated[
        str | None,
        typer.Option(
            "--max-worker-memory",
            help="Replace a worker after its current request once its RSS exceeds this, e.g. 2GiB.",
        ),
    ] = None,
    production: Annotated[
        bool,
        typer.Option(
            "--production", envvar="PRODUCTION", hidden=True, help="Deprecated in DRUM; accepted and ignored."
        ),
    ] = False,
    show_perf: Annotated[
        bool, typer.Option("--show-perf", hidden=True, help="Accepted; /stats/ always has timings.")
    ] = False,
    query: Annotated[
        str | None, typer.Option("--query", hidden=True, help="Accepted, as DRUM's; batch only.")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option("--content-type", hidden=True, help="Accepted, as DRUM's; batch only.")
    ] = None,
) -> None:
    """Serve the model in --code-dir."""
    _access_log_on(model.log_level)
    code = ExitStatus.OK
    with reported(model.show_stacktrace):
        from drumkit.server.address import parse_address
        from drumkit.server.run import ServeJob, run_server
        from drumkit.server.settings import ServerSettings, workers_from_env

        host, port = parse_address(address)
        workers = max_workers if max_workers is not None else workers_from_env()
        settings = ServerSettings(
            url_prefix=os.environ.get("URL_PREFIX", ""),
            max_body_size=parse_size(max_body_size, "--max-body-size"),
            show_stacktrace=model.show_stacktrace,
            workers=max(workers, 1),
            threads=threads,
            chat_threads=chat_threads,
            drain_timeout=drain_timeout,
            metrics=metrics,
            max_worker_memory=parse_size(max_worker_memory, "--max-worker-memory")
            if max_worker_memory is not None
            else None,
        )
        job = ServeJob(
            model=model.settings(),
            settings=settings,
            host=host,
            port=port,
            with_error_server=with_error_server,
        )
        code = run_server(job, say=_say, warn=_warn, guard=lambda: reported(model.show_stacktrace))
    raise typer.Exit(code)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def _warn(reason: str) -> None:
    error_console().print(
        f"[bold red]Error:[/bold red] {escape(reason)}\n"
        "Serving the error server (--with-error-server): model routes answer 513."
    )


def _access_log_on(level: str) -> None:
    import logging

    # One line per request, unless only errors were asked for.
    if level.lower() not in ("error", "critical", "fatal"):
        logging.getLogger("drumkit.server.access").setLevel(logging.INFO)


def parse_size(text: str, flag: str = "--max-body-size") -> int:
    """`1GiB`, `50MB`, `1048576` -> bytes (binary units)."""
    from drumkit.errors import UsageError

    raw = text.strip().lower().replace(" ", "")
    digits = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(digits) :]
    try:
        value = float(digits)
    except ValueError:
        value = -1
    if unit not in _SIZE_UNITS or value <= 0:
        raise UsageError(f"Bad {flag} '{text}': use a size such as 1GiB, 50MB or 1048576")
    return int(value * _SIZE_UNITS[unit])
