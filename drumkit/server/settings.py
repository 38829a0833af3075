"""What the server needs beyond the model: route prefix, body limit, worker layout."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BODY_SIZE = 1 << 30
# The DRUM release whose HTTP API drumkit answers like; sent as X-Drum-Version and /info/ drumVersion.
DRUM_API_VERSION = "1.18.1"


@dataclass(frozen=True)
class ServerSettings:
    """Options of one `drumkit server` run."""

    url_prefix: str = ""
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    show_stacktrace: bool = False
    workers: int = 1
    # One request at a time per worker, like DRUM's sync workers: Python threads sharing one GIL
    # lose ~25% of throughput under concurrent load. Scale out with workers; more threads keep
    # /ping/ answering during long predictions.
    threads: int = 1
    # Threads per worker for chat streams, apart from the ones above (see server/streams.py).
    chat_threads: int = 8
    # Seconds a stopping worker lets open requests and streams finish before closing them.
    drain_timeout: float = 60.0
    metrics: bool = True  # GET /metrics (Prometheus), aggregated over the workers
    max_worker_memory: int | None = None  # RSS bytes above which a worker is replaced after its request

    def __post_init__(self) -> None:
        object.__setattr__(self, "url_prefix", normalize_prefix(self.url_prefix))


def normalize_prefix(prefix: str | None) -> str:
    """`pfx/v2/` -> `/pfx/v2`; empty or `/` -> ''."""
    prefix = (prefix or "").strip().strip("/")
    return f"/{prefix}" if prefix else ""


def workers_from_env(environ=None) -> int:
    """DataRobot's worker count: `CUSTOM_MODEL_WORKERS`, as an env var or a runtime parameter; else 1."""
    import json
    import os

    from drumkit.errors import ConfigError

    env = os.environ if environ is None else environ
    raw = env.get("CUSTOM_MODEL_WORKERS")
    source = "CUSTOM_MODEL_WORKERS"
    if raw is None and "MLOPS_RUNTIME_PARAM_CUSTOM_MODEL_WORKERS" in env:
        source = "runtime parameter CUSTOM_MODEL_WORKERS"
        try:
            raw = json.loads(env["MLOPS_RUNTIME_PARAM_CUSTOM_MODEL_WORKERS"])["payload"]
        except (ValueError, KeyError, TypeError):
            raw = env["MLOPS_RUNTIME_PARAM_CUSTOM_MODEL_WORKERS"]
    if raw is None or str(raw).strip() == "":
        return 1
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1
    if value < 1 or value != int(value):
        raise ConfigError(f"{source} must be a whole number of workers, 1 or more, not '{raw}'")
    return int(value)
