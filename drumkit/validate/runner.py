"""Run every validation check for one code dir, in one process, into a Report."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from drumkit.predictor.metadata_schema import METADATA_FILE, check_metadata_file
from drumkit.validate.model_checks import (
    BASIC,
    DETERMINISM,
    INPUT_SCHEMA,
    NULLS,
    ROW_BY_ROW,
    ROW_COUNT,
    FailureSink,
    Limits,
    Progress,
    StructuredChecks,
    failure_text,
)
from drumkit.validate.report import CheckResult, Report, Status

if TYPE_CHECKING:
    from drumkit.predictor.settings import ModelSettings

METADATA = "Model metadata"
LOAD = "Model load"
DATA_CHECKS = (BASIC, NULLS, DETERMINISM, ROW_BY_ROW, ROW_COUNT, INPUT_SCHEMA)


@dataclass
class ValidationJob:
    """What to validate: the model settings, the input (None = metadata's validation.input) and options."""

    settings: ModelSettings
    input: Path | None = None
    content_type: str | None = None
    query: str | None = None
    keep_failures: Path | None = None
    deterministic: bool = False  # text models: the same prompt must give the same text
    limits: Limits = field(default_factory=Limits)


def run_validation(job: ValidationJob, progress: Progress | None = None) -> Report:
    """Metadata schema, model load, then the data checks on the input; never raises for a model's failure."""
    code_dir = Path(job.settings.code_dir)
    report = Report(code_dir=str(code_dir.resolve()))
    _metadata_check(report, code_dir)

    from drumkit.predictor.predictor import Predictor

    try:
        predictor = Predictor.from_settings(job.settings)
    except Exception as exc:
        metadata = report.get(METADATA)
        if metadata is not None and metadata.status is Status.FAILED and METADATA_FILE in str(exc):
            # The metadata check above already lists this problem: one problem, one line.
            report.skipped(LOAD, f"the model cannot load until {METADATA_FILE} is fixed")
        else:
            report.failed(LOAD, failure_text(exc))
        _skip_all(report, "the model did not load")
        return report
    from drumkit.predictor.targets import TargetType

    report.target_type = str(predictor.target_type)
    details = f"target type {predictor.target_type}"
    if predictor.framework:
        details += f", scored by the {predictor.framework} adapter"
    report.passed(LOAD, details)

    if predictor.supports_chat:
        from drumkit.validate.chat_checks import chat_check

        report.add(chat_check(predictor))
    # A textgeneration model with only score_unstructured is validated like an unstructured one.
    unstructured = predictor.target_type is TargetType.UNSTRUCTURED or (
        not predictor.scores_rows and "score_unstructured" in predictor.hooks
    )
    if not predictor.scores_rows and not unstructured:
        _skip_all(report, "the model has no score hook: it only answers chat requests")
        return report
    input_path = job.input or _default_input(predictor, code_dir)
    if input_path is None:
        _skip_all(report, f"no --input and no validation.input in {METADATA_FILE}")
        return report
    if not input_path.is_file():
        _skip_all(report, f"the input file {input_path} does not exist")
        return report
    report.input = str(input_path)
    sink = FailureSink(job.keep_failures)
    if unstructured:
        _unstructured(report, predictor, input_path, job)
    else:
        _structured(report, predictor, input_path, job, sink, progress)
    return report


def _metadata_check(report: Report, code_dir: Path) -> None:
    problems = check_metadata_file(code_dir)
    if problems is None:
        report.skipped(METADATA, f"no {METADATA_FILE} (target type and labels come from flags)")
        return
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    items = [p.to_dict() for p in problems]
    if errors:
        report.failed(
            METADATA,
            f"{len(errors)} error(s), {len(warnings)} warning(s) in {METADATA_FILE}: "
            + "; ".join(map(str, problems)),
            items=items,
        )
    else:
        note = f"; {len(warnings)} warning(s): " + "; ".join(map(str, warnings)) if warnings else ""
        report.passed(METADATA, f"{METADATA_FILE} matches the schema{note}", items=items)


def _default_input(predictor, code_dir: Path) -> Path | None:
    validation = (predictor.metadata or {}).get("validation")
    name = validation.get("input") if isinstance(validation, dict) else None
    return code_dir / name if isinstance(name, str) and name else None


def _skip_all(report: Report, reason: str) -> None:
    for name in DATA_CHECKS:
        report.skipped(name, reason)


def _structured(
    report: Report,
    predictor,
    input_path: Path,
    job: ValidationJob,
    sink: FailureSink,
    progress: Progress | None,
) -> None:
    import pandas as pd

    from drumkit.predictor import codecs

    data = input_path.read_bytes()
    fmt = codecs.format_for_filename(input_path.name)
    try:
        model_input = predictor.read(data, fmt)
    except Exception as exc:
        report.failed(BASIC, f"reading {input_path.name} failed: {failure_text(exc)}")
        for name in DATA_CHECKS[1:]:
            report.skipped(name, "the input could not be read")
        return
    # The table the other checks vary: the model's own reader output, or (with a read_input_data hook)
    # the file decoded by drumkit, whose variants then go back through the hook as CSV.
    table = model_input
    if predictor.reads_any_payload:
        try:
            table = codecs.decode(data, fmt)
        except Exception:
            table = None
    checks = StructuredChecks(
        predictor, table, csv_input=fmt == codecs.CSV, limits=job.limits, sink=sink, progress=progress
    )
    request = {"binary_data": data, "mimetype": codecs.media_type_for_format(fmt), "sparse_colnames": None}
    if not hasattr(model_input, "__len__"):
        report.failed(BASIC, f"read_input_data returned {type(model_input).__name__}, which has no rows")
        for name in DATA_CHECKS[1:]:
            report.skipped(name, "the input could not be read as rows")
        return
    basic, count, baseline = checks.basic(model_input, request)
    report.add(basic)
    if baseline is None or not isinstance(table, pd.DataFrame):
        reason = (
            "basic batch prediction failed"
            if baseline is None
            else "the input is not a table drumkit can vary"
        )
        for name in (NULLS, DETERMINISM, ROW_BY_ROW):
            report.skipped(name, reason)
    elif predictor.target_type.names_its_target:
        # Text models: a missing prompt or a one-row request says nothing a batch does not, and
        # generated text may vary by design, so determinism is checked only when declared.
        for name in (NULLS, ROW_BY_ROW):
            report.skipped(name, f"does not apply to {predictor.target_type} models")
        if job.deterministic:
            report.add(checks.determinism(baseline))
        else:
            report.skipped(
                DETERMINISM, "generated text may vary; pass --deterministic if the model promises it"
            )
    else:
        report.add(checks.null_imputation())
        report.add(checks.determinism(baseline))
        report.add(checks.row_by_row(baseline))
    report.add(count)
    _input_schema(report, predictor, table if isinstance(table, pd.DataFrame) else model_input)


def _input_schema(report: Report, predictor, frame) -> None:
    import pandas as pd

    from drumkit.validate.requirements import check_input_requirements

    schema = (predictor.metadata or {}).get("typeSchema")
    requirements = schema.get("input_requirements") if isinstance(schema, dict) else None
    if not requirements:
        report.skipped(INPUT_SCHEMA, f"no typeSchema.input_requirements in {METADATA_FILE}")
        return
    if not isinstance(frame, pd.DataFrame):
        report.skipped(INPUT_SCHEMA, "the input is not a DataFrame")
        return
    errors = check_input_requirements(frame, requirements if isinstance(requirements, list) else [])
    if errors:
        report.failed(INPUT_SCHEMA, "; ".join(errors), items=[{"message": e} for e in errors])
    else:
        report.passed(INPUT_SCHEMA, f"{len(requirements)} input requirement(s) met")


def _unstructured(report: Report, predictor, input_path: Path, job: ValidationJob) -> None:
    import time

    mimetype, charset = _content_type(job.content_type, input_path)
    query = dict(parse_qsl(job.query or "", keep_blank_values=True))
    started = time.perf_counter()
    try:
        result = predictor.predict_unstructured(input_path.read_bytes(), mimetype, charset, query)
    except Exception as exc:
        report.failed(BASIC, f"score_unstructured failed on {input_path.name}: {failure_text(exc)}")
    else:
        size = len(result.body) if result.body is not None else 0
        report.add(
            CheckResult(
                BASIC,
                Status.PASSED,
                f"score_unstructured answered {size} bytes ({result.content_type}) for {mimetype} input",
                seconds=time.perf_counter() - started,
            )
        )
    for name in DATA_CHECKS[1:]:
        report.skipped(name, "does not apply to unstructured models")


def _content_type(content_type: str | None, path: Path) -> tuple[str, str | None]:
    if not content_type:
        guessed, _ = mimetypes.guess_type(path.name)
        return guessed or "text/plain", None
    from drumkit.predictor.codecs import split_content_type

    mimetype, charset = split_content_type(content_type)
    return mimetype or "text/plain", charset
