"""One `drumkit server` run: bind, then workers that each load the model (or the error server) and serve."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drumkit.server.settings import ServerSettings
from drumkit.status import ExitStatus

if TYPE_CHECKING:
    from drumkit.predictor.settings import ModelSettings
    from drumkit.server.state import ServerState

Say = Callable[[str], None]
Guard = Callable[[], AbstractContextManager]


@dataclass
class ServeJob:
    """What to serve and where: the command's flags, parsed."""

    model: ModelSettings
    settings: ServerSettings
    host: str
    port: int
    # If the model fails to load, answer 513 with the reason instead of exiting.
    with_error_server: bool = False


def run_server(job: ServeJob, say: Say, warn: Say, guard: Guard) -> ExitStatus:
    """Serve `job` until SIGTERM/SIGINT.

    `say` gets the listening line, `warn` a load failure the error server serves, and `guard()` wraps
    the first worker's model load so that a failure is reported (once) the way the command reports it.
    """
    from drumkit.server.address import bind
    from drumkit.server.serve import WorkerStartFailed, serve
    from drumkit.server.state import ServerState
    from drumkit.server.stats import Timings

    settings = job.settings
    sock = bind(
        job.host, job.port
    )  # before loading: a busy port fails fast, and early clients wait in the backlog
    if settings.metrics:
        from drumkit.server import metrics

        metrics.enable()  # before the app: its envelope counts from the first request
    state = ServerState(predictor=None, settings=settings, timings=Timings(settings.workers))

    def build_in_worker(report: bool):
        """Runs in each worker after the fork; only the first one (`report`) says what happened."""
        try:
            if not report:
                return build_app(job, state, None)
            with guard():
                app = build_app(job, state, warn)
        except BaseException:  # a worker whose model cannot load must not fall back into the supervisor
            raise WorkerStartFailed() from None
        say(
            f"drumkit server listening on http://{url_host(job.host)}:{job.port}{settings.url_prefix}/ "
            f"({settings.workers} worker(s), {settings.threads} thread(s) each)"
        )
        return app

    return serve(build_in_worker, sock, settings, state)


def build_app(job: ServeJob, state: ServerState, warn: Say | None) -> object:
    """The app serving the model, or (with_error_server) the app answering 513 with the load failure."""
    from drumkit.predictor.predictor import Predictor
    from drumkit.server.app import create_app, create_worker_app

    try:
        started = time.perf_counter()
        predictor = Predictor.from_settings(job.model)
        state.load_seconds = time.perf_counter() - started
        # custom_flask.py is found and applied here too: its failure is a load failure.
        return create_worker_app(predictor, job.settings, state=state)
    except Exception as exc:
        if not job.with_error_server:
            raise
        reason = str(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")
        if warn is not None:
            warn(reason)
        return create_app(None, job.settings, load_error=reason, state=state)


def url_host(host: str) -> str:
    """An IPv6 address in brackets, as URLs write it."""
    return f"[{host}]" if ":" in host else host
