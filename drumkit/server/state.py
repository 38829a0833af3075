"""What one serving app knows at run time: the model (or why it failed to load), settings, counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drumkit.server.settings import ServerSettings
from drumkit.server.stats import ProcessStats, Timings


@dataclass
class ServerState:
    """Shared by the routes and the WSGI envelope of one app."""

    predictor: Any
    settings: ServerSettings
    load_error: str | None = None
    timings: Timings = field(default_factory=Timings)
    processes: ProcessStats = field(default_factory=ProcessStats)
    supervisor_pid: int | None = None
    ready: bool = False
    load_seconds: float | None = None
