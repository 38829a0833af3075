"""What one serving app knows at run time: the model (or why it failed to load), settings, counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drumkit.errors import ModelLoadError
from drumkit.server.settings import ServerSettings
from drumkit.server.stats import ProcessStats, Timings

if TYPE_CHECKING:
    from drumkit.predictor.predictor import Predictor


@dataclass
class ServerState:
    """Shared by the routes and the WSGI envelope of one app."""

    # None when the model failed to load and --with-error-server serves the reason (load_error).
    predictor: Predictor | None
    settings: ServerSettings
    load_error: str | None = None
    timings: Timings = field(default_factory=Timings)
    processes: ProcessStats = field(default_factory=ProcessStats)
    supervisor_pid: int | None = None
    ready: bool = False
    load_seconds: float | None = None

    @property
    def loaded(self) -> Predictor:
        """The predictor, for routes that run only when the model loaded (the load_error guard runs first)."""
        if self.predictor is None:
            raise ModelLoadError(self.load_error or "the model is not loaded")
        return self.predictor
