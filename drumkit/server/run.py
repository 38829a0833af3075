"""One `drumkit server` run: bind, load the model (or the error server), announce, serve until stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drumkit.server.settings import ServerSettings
from drumkit.status import ExitStatus

if TYPE_CHECKING:
    from drumkit.predictor.settings import ModelSettings
    from drumkit.server.state import ServerState

Say = Callable[[str], None]


@dataclass
class ServeJob:
    """What to serve and where: the command's flags, parsed."""

    model: ModelSettings
    settings: ServerSettings
    host: str
    port: int
    # If the model fails to load, answer 513 with the reason instead of exiting.
    with_error_server: bool = False


def run_server(job: ServeJob, say: Say, warn: Say) -> ExitStatus:
    """Serve `job` until SIGTERM/SIGINT; `say` gets the listening line, `warn` a load failure the error server serves."""
    from drumkit.server.address import bind
    from drumkit.server.serve import serve

    sock = bind(
        job.host, job.port
    )  # before loading: a busy port fails fast, and early clients wait in the backlog
    app, state = build_app(job, warn)
    settings = job.settings
    say(
        f"drumkit server listening on http://{url_host(job.host)}:{job.port}{settings.url_prefix}/ "
        f"({settings.workers} worker(s), {settings.threads} thread(s) each)"
    )
    return serve(app, sock, settings, state)


def build_app(job: ServeJob, warn: Say) -> tuple[object, ServerState]:
    """The app serving the model, or (with_error_server) the app answering 513 with the load failure."""
    from drumkit.predictor.predictor import Predictor
    from drumkit.server.app import create_app
    from drumkit.server.state import ServerState
    from drumkit.server.stats import Timings

    state = ServerState(predictor=None, settings=job.settings, timings=Timings(job.settings.workers))
    try:
        predictor = Predictor.from_settings(job.model)
        # custom_flask.py is applied in create_app: its failure is a load failure too.
        return create_app(predictor, job.settings, state=state), state
    except Exception as exc:
        if not job.with_error_server:
            raise
        reason = str(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")
        warn(reason)
        return create_app(None, job.settings, load_error=reason, state=state), state


def url_host(host: str) -> str:
    """An IPv6 address in brackets, as URLs write it."""
    return f"[{host}]" if ":" in host else host
