"""The validation Report: owns every check result and decides the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from drumkit.status import ExitStatus


class Status(str, Enum):
    """Outcome of one check."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"

    def __str__(self) -> str:
        return self.value


@dataclass
class CheckResult:
    """One row of the report: a named check, its status, a one-line reason and optional detail rows."""

    name: str
    status: Status
    details: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        out: dict[str, Any] = {"check": self.name, "status": self.status.value, "details": self.details}
        if self.items:
            out["items"] = self.items
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 4)
        return out


@dataclass
class Report:
    """All check results of one `drumkit validate` run."""

    code_dir: str
    input: str | None = None
    target_type: str | None = None
    checks: list[CheckResult] = field(default_factory=list)

    def add(self, result: CheckResult) -> CheckResult:
        """Record a result (keeps the order checks ran in)."""
        self.checks.append(result)
        return result

    def passed(self, name: str, details: str = "", **extra: Any) -> CheckResult:
        """Record a PASSED check."""
        return self.add(CheckResult(name, Status.PASSED, details, **extra))

    def failed(self, name: str, details: str, **extra: Any) -> CheckResult:
        """Record a FAILED check."""
        return self.add(CheckResult(name, Status.FAILED, details, **extra))

    def skipped(self, name: str, details: str) -> CheckResult:
        """Record a SKIPPED check with the reason."""
        return self.add(CheckResult(name, Status.SKIPPED, details))

    def get(self, name: str) -> CheckResult | None:
        """The result of the check with this name, if it ran."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def failures(self) -> list[CheckResult]:
        """The FAILED checks."""
        return [c for c in self.checks if c.status is Status.FAILED]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failures

    @property
    def exit_code(self) -> ExitStatus:
        """0 when nothing failed, 1 otherwise (DRUM exits 0 even on FAILED checks; we do not)."""
        return ExitStatus.OK if self.ok else ExitStatus.ERROR

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole run."""
        return {
            "code_dir": self.code_dir,
            "input": self.input,
            "target_type": self.target_type,
            "passed": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }
