"""Prometheus metrics of the whole server, aggregated over its workers (prometheus_client multiprocess mode).

The supervisor picks a folder for the per-process value files before it forks (its own
PROMETHEUS_MULTIPROC_DIR, or a fresh temp folder it removes at exit), every worker writes its
counts there, and `GET /metrics` in any worker reads them all. Nothing here is imported before
`enable()`: with `--no-metrics` prometheus_client is never loaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Any

from drumkit.server.paths import GET_ROUTES, PREDICT_ROUTES, TRANSFORM_ROUTES, UNSTRUCTURED_ROUTES, spellings

ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ROW_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
METRICS_ROUTE = "/metrics"

_metrics: dict[str, Any] = {}
_rows = threading.local()


def enable() -> str:
    """Set up multiprocess mode and the metric objects (in the supervisor, before forking); returns the folder."""
    folder = os.environ.get(ENV)
    if not folder:
        folder = tempfile.mkdtemp(prefix="drumkit-metrics-")
        os.environ[ENV] = folder
        _metrics["owned_folder"] = folder
    from prometheus_client import Counter, Gauge, Histogram

    _metrics.update(
        requests=Counter(
            "drumkit_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
        ),
        latency=Histogram(
            "drumkit_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
        ),
        rows=Histogram(
            "drumkit_payload_rows",
            "Rows in each prediction or transform payload, by route.",
            ["route"],
            buckets=ROW_BUCKETS,
        ),
        in_flight=Gauge(
            "drumkit_requests_in_flight", "Requests being answered now.", multiprocess_mode="livesum"
        ),
        load=Gauge("drumkit_model_load_seconds", "Seconds the model took to load.", multiprocess_mode="max"),
        restarts=Counter(
            "drumkit_worker_restarts", "Workers started again, by why the last one ended.", ["reason"]
        ),
    )
    return folder


def enabled() -> bool:
    """Whether metrics are being collected in this process."""
    return "requests" in _metrics


def disable() -> None:
    """Remove the value folder if this server made it (at supervisor exit)."""
    folder = _metrics.pop("owned_folder", None)
    _metrics.clear()
    if folder:
        os.environ.pop(ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def model_loaded(seconds: float) -> None:
    """Record how long the model took to load."""
    if enabled():
        _metrics["load"].set(seconds)


def worker_restarted(reason: str) -> None:
    """Count a replacement worker (reason: crash, exit, memory)."""
    if enabled():
        _metrics["restarts"].labels(reason).inc()


def worker_gone(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    if enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def note_rows(rows: int) -> None:
    """The number of rows of the payload being answered (read by `RequestMetrics.finish`)."""
    _rows.count = rows


class RouteNames:
    """Request paths -> route labels (a bounded set: unknown paths are 'other')."""

    def __init__(self, prefix: str):
        self.names: dict[str, str] = {}
        routes = [
            *GET_ROUTES.values(),
            *PREDICT_ROUTES,
            *UNSTRUCTURED_ROUTES,
            *TRANSFORM_ROUTES,
            METRICS_ROUTE,
        ]
        for route in routes:
            for path in spellings(prefix, route):
                self.names[path] = route

    def __call__(self, path: str) -> str:
        """The route label of a path."""
        return self.names.get(path, "other")


class RequestMetrics:
    """Count one request: in flight from `start()`, then status, latency and rows at `finish()`."""

    def __init__(self):
        self.in_flight = _metrics["in_flight"]
        self.requests = _metrics["requests"]
        self.latency = _metrics["latency"]
        self.rows = _metrics["rows"]

    def start(self) -> None:
        """A request came in."""
        _rows.count = None
        self.in_flight.inc()

    def finish(self, route: str, method: str, status: str, seconds: float) -> None:
        """The request was answered."""
        self.in_flight.dec()
        self.requests.labels(route, method, status).inc()
        self.latency.labels(route).observe(seconds)
        rows = getattr(_rows, "count", None)
        if rows is not None:
            self.rows.labels(route).observe(rows)
            _rows.count = None


def exposition() -> tuple[bytes, str]:
    """(body, content type) of every worker's metrics, in Prometheus text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
