"""Which requests a perf run sends: DRUM's default cases (one row, 0.1 MB, 10 MB, 50 MB) or one -s/-i case."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_UNSTRUCTURED_ITERATIONS = 100


@dataclass(frozen=True)
class PerfCase:
    """One test case: a payload of `samples` rows sent `iterations` times."""

    name: str
    samples: int
    iterations: int


def size_name(size: float) -> str:
    """Bytes as DRUM names its cases: `58 bytes`, `1.2KB`, `3.4MB`."""
    if size < 1024:
        return f"{round(size)} bytes"
    if size < MIB:
        return f"{size / 1024:.1f}KB"
    return f"{size / MIB:.1f}MB"


def plan_cases(
    rows: int, file_size: int, samples: int | None = None, iterations: int | None = None
) -> list[PerfCase]:
    """DRUM's cases for an input of `rows` rows in `file_size` bytes (section 7), or the single -s/-i case."""
    rows = max(rows, 1)
    row_size = file_size / rows
    if samples is None and iterations is None:
        in_50mb = int(rows * 50 * MIB / max(file_size, 1)) + 1
        return [
            PerfCase(size_name(row_size), 1, 100),
            PerfCase("0.1MB", max(in_50mb // 500, 1), 50),
            PerfCase("10MB", max(in_50mb // 5, 1), 5),
            PerfCase("50MB", in_50mb, 1),
        ]
    count = samples if samples is not None else rows
    return [PerfCase(size_name(count * row_size), count, iterations if iterations is not None else 1)]


def unstructured_case(file_size: int, iterations: int | None) -> PerfCase:
    """Unstructured models get one case: the input file as the body, `iterations` times."""
    return PerfCase(
        size_name(file_size), 1, iterations if iterations is not None else DEFAULT_UNSTRUCTURED_ITERATIONS
    )
