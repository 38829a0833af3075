"""Model checks run in-process through one loaded Predictor: batch, nulls, determinism, row by row, row count."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumkit.errors import RowCountError
from drumkit.validate.report import CheckResult, Status

BASIC = "Basic batch prediction"
NULLS = "Null value imputation"
DETERMINISM = "Deterministic predictions"
ROW_BY_ROW = "Row by row equals batch"
ROW_COUNT = "Row count kept"
INPUT_SCHEMA = "Input meets typeSchema"

RTOL, ATOL = 2e-2, 1e-6
Progress = Callable[[str, int, int], None]


@dataclass
class Limits:
    """How many rows each check scores (the null check scores them once per column)."""

    null_rows: int = 1000
    sample_rows: int = 1000
    single_rows: int = 20


@dataclass
class FailureSink:
    """Where datasets that broke a check are written: only when the user asked (--keep-failures DIR)."""

    folder: Path | None = None
    written: list[str] = field(default_factory=list)

    def save(self, name: str, frame: Any) -> str | None:
        """Write `frame` as `<folder>/<name>.csv`; the path written, or None without a folder."""
        if self.folder is None or frame is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{_safe(name)}.csv"
        _dense(frame).to_csv(path, index=False)
        self.written.append(str(path))
        return str(path)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "column"


def _dense(frame):
    import pandas as pd

    if isinstance(frame, pd.DataFrame) and any(isinstance(t, pd.SparseDtype) for t in frame.dtypes):
        return frame.sparse.to_dense()  # type: ignore[attr-defined]  # pandas-stubs: see mtx_codec
    return frame


def failure_text(exc: BaseException) -> str:
    """One line for any failure: the DrumkitError message, or `Type: text` for anything else."""
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


class StructuredChecks:
    """The checks for row-in, row-out models (predict) and transforms, sharing one Predictor."""

    def __init__(
        self,
        predictor,
        frame,
        *,
        csv_input: bool,
        limits: Limits,
        sink: FailureSink,
        progress: Progress | None = None,
    ):
        from drumkit.predictor.targets import TargetType

        self.predictor = predictor
        self.frame = frame
        self.csv_input = csv_input
        self.limits = limits
        self.sink = sink
        self.progress = progress
        self.is_transform = predictor.target_type is TargetType.TRANSFORM

    # ---- scoring helpers ---------------------------------------------------------------
    def run(self, frame, request: dict | None = None):
        """Predictions (or transformed rows) for a frame, as a DataFrame."""
        if self.is_transform:
            return _dense(self.predictor.transform(frame))
        return self.predictor.predict(frame, request).frame

    def as_request(self, frame):
        """The frame a server would build from these rows: re-read through CSV when a read_input_data hook decodes."""
        if self.predictor.reads_any_payload:
            return self.predictor.read(_dense(frame).to_csv(index=False).encode("utf-8"))
        return frame

    # ---- checks ------------------------------------------------------------------------
    def basic(self, model_input, request: dict) -> tuple[CheckResult, CheckResult, Any]:
        """Basic batch prediction on the whole input, plus the row-count verdict it implies."""
        started = time.perf_counter()
        rows = len(model_input)
        try:
            out = self.run(model_input, request)
        except Exception as exc:
            text = failure_text(exc)
            seconds = time.perf_counter() - started
            basic = CheckResult(
                BASIC, Status.FAILED, f"Test failed on the provided dataset: {text}", seconds=seconds
            )
            if isinstance(exc, RowCountError):
                count = CheckResult(ROW_COUNT, Status.FAILED, text)
            else:
                count = CheckResult(ROW_COUNT, Status.SKIPPED, "basic batch prediction failed")
            return basic, count, None
        seconds = time.perf_counter() - started
        basic = CheckResult(BASIC, Status.PASSED, f"{rows} rows scored in {seconds:.3f}s", seconds=seconds)
        if len(out) == rows:
            count = CheckResult(ROW_COUNT, Status.PASSED, f"{rows} rows in, {len(out)} out")
        else:
            count = CheckResult(ROW_COUNT, Status.FAILED, f"{rows} rows in, {len(out)} out")
        return basic, count, out

    def null_imputation(self) -> CheckResult:
        """Set each feature to missing in turn; name every feature that broke the model and why."""
        import numpy as np

        rows = self.frame.head(self.limits.null_rows)
        columns = list(rows.columns)
        started = time.perf_counter()
        failures: list[dict] = []
        for i, column in enumerate(columns):
            if self.progress:
                self.progress(NULLS, i, len(columns))
            broken = _dense(rows).copy()
            broken[column] = np.nan
            try:
                out = self.run(self.as_request(broken))
                missing = _missing_predictions(out)
                problem = (
                    f"returned {missing} missing prediction(s)" if missing and not self.is_transform else None
                )
            except Exception as exc:
                problem = failure_text(exc)
            if problem:
                failures.append(
                    {
                        "feature": str(column),
                        "message": problem,
                        "dataset": self.sink.save(f"null_value_imputation_{column}", broken),
                    }
                )
        if self.progress:
            self.progress(NULLS, len(columns), len(columns))
        seconds = time.perf_counter() - started
        scope = f"{len(columns)} features, {len(rows)} rows each"
        if not failures:
            return CheckResult(
                NULLS, Status.PASSED, f"each feature set to missing in turn ({scope})", seconds=seconds
            )
        names = ", ".join(f["feature"] for f in failures)
        return CheckResult(
            NULLS,
            Status.FAILED,
            f"{len(failures)} of {len(columns)} features broke the model when missing: {names}",
            items=failures,
            seconds=seconds,
        )

    def determinism(self, baseline) -> CheckResult:
        """The same rows scored twice give identical predictions."""
        rows = self.frame.head(self.limits.sample_rows)
        try:
            # The whole-input baseline is reused only when it scored exactly these rows.
            same_rows = baseline is not None and len(rows) == len(self.frame)
            first = baseline if same_rows else self.run(self.as_request(rows))
            second = self.run(self.as_request(rows))
        except Exception as exc:
            return CheckResult(
                DETERMINISM, Status.FAILED, f"scoring the rows again failed: {failure_text(exc)}"
            )
        diffs = _differences(first, second, exact=True)
        if not diffs:
            return CheckResult(DETERMINISM, Status.PASSED, f"{len(rows)} rows scored twice, identical")
        dataset = self.sink.save("deterministic_predictions_rows", rows)
        items = [{**d, "dataset": dataset} for d in diffs[:10]]
        return CheckResult(
            DETERMINISM,
            Status.FAILED,
            f"{len(diffs)} of {len(rows)} rows got different predictions the second time",
            items=items,
        )

    def row_by_row(self, baseline) -> CheckResult:
        """Each row scored alone (as a one-row request) equals the same row scored in the batch."""
        from drumkit.predictor.codecs import CSV

        rows = self.frame.head(self.limits.single_rows)
        try:
            batch = baseline.head(len(rows)) if baseline is not None else self.run(self.as_request(rows))
        except Exception as exc:
            return CheckResult(ROW_BY_ROW, Status.FAILED, f"scoring the batch failed: {failure_text(exc)}")
        mismatches: list[dict] = []
        dense = _dense(rows)
        for i in range(len(rows)):
            single = dense.iloc[[i]]
            try:
                if self.csv_input or self.predictor.reads_any_payload:
                    # A one-row CSV request, as a client would send it: dtypes are inferred from one row.
                    single = self.predictor.read(single.to_csv(index=False).encode("utf-8"), CSV)
                else:
                    single = rows.iloc[[i]].reset_index(drop=True)
                alone = self.run(single)
            except Exception as exc:
                mismatches.append(
                    {"row": i, "message": f"scoring this row alone failed: {failure_text(exc)}"}
                )
                continue
            diff = _differences(batch.iloc[[i]], alone, exact=False)
            if diff:
                mismatches.append({"row": i, **{k: v for k, v in diff[0].items() if k != "row"}})
        if not mismatches:
            return CheckResult(
                ROW_BY_ROW,
                Status.PASSED,
                f"{len(rows)} rows scored one by one match the batch (rtol {RTOL:g}, atol {ATOL:g})",
            )
        dataset = self.sink.save("row_by_row_rows", rows)
        return CheckResult(
            ROW_BY_ROW,
            Status.FAILED,
            f"{len(mismatches)} of {len(rows)} rows differ when scored alone (rtol {RTOL:g}, atol {ATOL:g})",
            items=[{**m, "dataset": dataset} for m in mismatches[:10]],
        )


def _missing_predictions(out) -> int:
    import pandas as pd

    numeric = out.select_dtypes("number") if isinstance(out, pd.DataFrame) else None
    if numeric is None or numeric.empty:
        return 0
    return int(numeric.isna().any(axis=1).sum())


def _differences(first, second, *, exact: bool) -> list[dict]:
    """Rows where two prediction frames differ: [{row, column, first, second}]."""
    import numpy as np
    import pandas as pd

    first = _dense(first).reset_index(drop=True)
    second = _dense(second).reset_index(drop=True)
    if first.shape != second.shape or list(map(str, first.columns)) != list(map(str, second.columns)):
        return [
            {
                "row": None,
                "column": None,
                "first": f"shape {first.shape} {list(map(str, first.columns))}",
                "second": f"shape {second.shape} {list(map(str, second.columns))}",
            }
        ]
    out: list[dict] = []
    for position, column in enumerate(first.columns):
        a, b = first.iloc[:, position], second.iloc[:, position]
        if pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            if exact:
                same = (x == y) | (np.isnan(x) & np.isnan(y))
            else:
                same = np.isclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            same = ((a == b) | (a.isna() & b.isna())).to_numpy(dtype=bool)
        for row in np.flatnonzero(~same):
            out.append(
                {
                    "row": int(row),
                    "column": str(column),
                    "first": _plain(a.iloc[row]),
                    "second": _plain(b.iloc[row]),
                }
            )
    out.sort(key=lambda d: d["row"])
    return out


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
