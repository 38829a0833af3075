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

    def __post_init__(self) -> None:
        object.__setattr__(self, "url_prefix", normalize_prefix(self.url_prefix))


def normalize_prefix(prefix: str | None) -> str:
    """`pfx/v2/` -> `/pfx/v2`; empty or `/` -> ''."""
    prefix = (prefix or "").strip().strip("/")
    return f"/{prefix}" if prefix else ""
