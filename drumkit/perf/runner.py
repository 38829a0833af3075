"""The load generator: send each case's requests one after another, time them, read /stats/ around them."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from drumkit.perf.cases import PerfCase
from drumkit.perf.client import HttpClient
from drumkit.perf.report import CaseResult

# (case, iterations done) after every request, so a live display can follow.
Progress = Callable[[PerfCase, int], None]


@dataclass(frozen=True)
class Target:
    """What to send: structured CSV bodies to /predict/, or one fixed body to /predictUnstructured/."""

    path: str
    content_type: str
    make_body: Callable[[int], bytes]
    expect_rows: bool


def structured_target(make_body: Callable[[int], bytes]) -> Target:
    """CSV bodies of N rows to /predict/; each answer must hold N predictions."""
    return Target("/predict/", "text/csv; charset=utf-8", make_body, expect_rows=True)


def unstructured_target(body: bytes, content_type: str, query: str | None) -> Target:
    """The input file as the body of /predictUnstructured/ (with the query string, if any)."""
    path = "/predictUnstructured/" + (f"?{query}" if query else "")
    return Target(path, content_type, lambda _samples: body, expect_rows=False)


def run_case(
    client: HttpClient,
    target: Target,
    case: PerfCase,
    timeout: float,
    progress: Progress | None = None,
    alive: Callable[[], bool] | None = None,
) -> CaseResult:
    """Time `case.iterations` requests; the first failure ends the case with the reason."""
    result = CaseResult(case.name, case.samples, case.iterations)
    body = target.make_body(case.samples)
    headers = {"Content-Type": target.content_type}
    before = server_timings(client)
    deadline = time.monotonic() + timeout
    for _ in range(case.iterations):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.error = (
                f"timed out after {timeout:g}s ({len(result.times)} of {case.iterations} iterations done)"
            )
            break
        started = time.perf_counter()
        try:
            status, answer = client.request(
                "POST", target.path, body=body, headers=headers, timeout=remaining
            )
        except (OSError, http.client.HTTPException) as exc:
            result.error = _connection_error(exc, timeout, alive)
            break
        elapsed = time.perf_counter() - started
        problem = _check_answer(status, answer, case.samples if target.expect_rows else None)
        if problem:
            result.error = problem
            break
        result.times.append(elapsed)
        if progress:
            progress(case, len(result.times))
    read_stats(client, result, before)
    return result


def _check_answer(status: int, answer: bytes, rows: int | None) -> str | None:
    if status != 200:
        return f"HTTP {status}: {_message(answer)}"
    if rows is None:
        return None
    try:
        predictions = json.loads(answer)["predictions"]
    except (ValueError, KeyError, TypeError):
        return "the answer is not JSON with a 'predictions' list"
    if len(predictions) != rows:
        return f"sent {rows} rows but got {len(predictions)} predictions"
    return None


def _message(answer: bytes) -> str:
    try:
        message = json.loads(answer).get("message")
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) else answer[:300].decode("utf-8", "replace")
    return " ".join(text.split())


def _connection_error(exc: BaseException, timeout: float, alive: Callable[[], bool] | None) -> str:
    if alive is not None and not alive():
        return "the server exited during the case"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s"
    return f"connection failed: {type(exc).__name__}: {exc}"


def server_timings(client: HttpClient) -> dict | None:
    """The server's cumulative request timings (/stats/ time_info), or None."""
    stats = client.get_json("/stats/")
    if stats is None:
        return None
    try:
        return stats["time_info"]["run_predictor_total"]
    except (TypeError, KeyError):
        return None


def read_stats(client: HttpClient, result: CaseResult, before: dict | None) -> None:
    """Server RSS after the case and the server-side average of the case's own requests."""
    stats = client.get_json("/stats/")
    if not isinstance(stats, dict):
        return
    mem = stats.get("mem_info") or {}
    result.server_rss_mb = _number(mem.get("drum_rss"))
    result.total_physical_mb = _number(mem.get("total"))
    after = (stats.get("time_info") or {}).get("run_predictor_total") or {}
    # drumkit's /stats/ timings add up since start (never reset), so the case's share is a difference.
    count = _number(after.get("count"))
    if before is not None and count is not None and _number(before.get("count")) is not None:
        done = count - before["count"]
        total = (_number(after.get("total")) or 0.0) - (_number(before.get("total")) or 0.0)
        if done > 0:
            result.server_avg_s = total / done


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None
