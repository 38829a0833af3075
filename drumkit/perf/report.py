"""Perf results: per-case timing statistics, server memory, and their JSON and CSV forms."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from drumkit.status import ExitStatus

CSV_FIELDS = (
    "name",
    "samples",
    "iterations",
    "completed",
    "min_s",
    "avg_s",
    "p50_s",
    "p99_s",
    "max_s",
    "total_s",
    "rows_per_s",
    "server_avg_s",
    "server_rss_mb",
    "total_physical_mb",
    "status",
    "error",
)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not sorted_values:
        return math.nan
    position = (len(sorted_values) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass
class CaseResult:
    """What one case measured (seconds are client-side round trips)."""

    name: str
    samples: int
    iterations: int
    times: list[float] = field(default_factory=list)
    server_avg_s: float | None = None
    server_rss_mb: float | None = None
    total_physical_mb: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every iteration succeeded."""
        return self.error is None and len(self.times) == self.iterations

    def summary(self) -> dict[str, Any]:
        """min/avg/p50/p99/max/total seconds and rows per second (None when nothing was measured)."""
        ordered = sorted(self.times)
        if not ordered:
            return dict.fromkeys(("min_s", "avg_s", "p50_s", "p99_s", "max_s", "total_s", "rows_per_s"))
        total = sum(ordered)
        avg = total / len(ordered)
        return {
            "min_s": ordered[0],
            "avg_s": avg,
            "p50_s": percentile(ordered, 50),
            "p99_s": percentile(ordered, 99),
            "max_s": ordered[-1],
            "total_s": total,
            "rows_per_s": self.samples / avg if avg > 0 else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON/CSV-ready view."""
        out = {
            "name": self.name,
            "samples": self.samples,
            "iterations": self.iterations,
            "completed": len(self.times),
        }
        out.update(self.summary())
        out.update(
            {
                "server_avg_s": self.server_avg_s,
                "server_rss_mb": self.server_rss_mb,
                "total_physical_mb": self.total_physical_mb,
                "status": "ok" if self.ok else "failed",
                "error": self.error,
            }
        )
        return out


@dataclass
class PerfReport:
    """A whole perf run."""

    code_dir: str
    input: str
    target_type: str
    rows: int
    features: int | None
    server: dict[str, Any] = field(default_factory=dict)
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def title(self) -> str:
        """What was measured: the URL of a server perf did not start, else the code dir."""
        if self.server and not self.server.get("started", True):
            return str(self.server["url"])
        return self.code_dir

    @property
    def ok(self) -> bool:
        """True when every case succeeded."""
        return all(case.ok for case in self.cases)

    @property
    def exit_code(self) -> ExitStatus:
        """0 when every case succeeded, 1 otherwise (DRUM exits 0 either way)."""
        return ExitStatus.OK if self.ok else ExitStatus.ERROR

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        meta = {k: v for k, v in asdict(self).items() if k != "cases"}
        return {**meta, "passed": self.ok, "cases": [case.to_dict() for case in self.cases]}

    def to_csv(self) -> str:
        """One CSV row per case."""
        buffer = io.StringIO()
        fields = list(CSV_FIELDS)
        for case in self.cases:  # chat cases add their LLM figures
            fields += [k for k in case.to_dict() if k not in fields]
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for case in self.cases:
            writer.writerow({k: ("" if v is None else v) for k, v in case.to_dict().items()})
        return buffer.getvalue()
