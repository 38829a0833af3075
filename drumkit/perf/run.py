"""One perf run: start (or reach) the model's server, pick the cases, measure them into a PerfReport."""

from __future__ import annotations

import contextlib
import mimetypes
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumkit.errors import UsageError
from drumkit.perf.client import HttpClient
from drumkit.perf.report import PerfReport
from drumkit.predictor.settings import ModelSettings

Progress = Callable[[Any, int], None]
Say = Callable[[str], None]


@dataclass
class PerfJob:
    """What to measure and how: the command's flags, parsed."""

    settings: ModelSettings
    input: Path | None = None
    samples: int | None = None
    iterations: int | None = None
    max_workers: int | None = None
    timeout: float = 600.0
    start_timeout: float = 60.0
    # A running server to measure instead of starting one; its /info/ gives the target type and code dir.
    url: str | None = None
    content_type: str | None = None
    query: str | None = None


@dataclass
class _Model:
    """What perf knows of the model before sending anything."""

    code_dir: Path
    target_type: str
    metadata: dict | None


def run_perf(job: PerfJob, progress: Progress | None = None, say: Say | None = None) -> PerfReport:
    """Measure the model behind a drumkit server (started here unless job.url); `say` gets one-line status notes."""
    from drumkit.perf.server_process import ServerProcess, server_arguments

    tell: Say = say or (lambda _text: None)
    with contextlib.ExitStack() as stack:
        if job.url:
            client = stack.enter_context(contextlib.closing(HttpClient(job.url)))
            model = _model_from_info(job, client)
            report = _new_report(job, model)
            report.server = {"url": job.url, "started": False}
            alive = None
        else:
            model = _model_from_code_dir(job.settings)
            report = _new_report(job, model)
            tell(f"Starting drumkit server for {model.code_dir} ...")
            server = stack.enter_context(
                ServerProcess(
                    server_arguments(job.settings, max_workers=job.max_workers),
                    start_timeout=job.start_timeout,
                )
            )
            report.server = {
                "url": server.url,
                "pid": server.pid,
                "max_workers": job.max_workers or 1,
                "started": True,
            }
            tell(f"drumkit server pid {server.pid} answering at {server.url}")
            client = stack.enter_context(contextlib.closing(HttpClient(server.url)))
            alive = server.alive
        if _chats(client):
            _measure_chat(report, client, job, progress, alive, tell)
        else:
            _measure_rows(report, client, job, _input_path(job.input, model), progress, alive, tell)
    return report


def _model_from_code_dir(settings: ModelSettings) -> _Model:
    from drumkit.predictor.metadata import load_metadata
    from drumkit.predictor.settings import resolve_target

    metadata = load_metadata(settings.code_dir)
    spec = resolve_target(settings, metadata)
    return _Model(Path(settings.code_dir), str(spec.target_type), metadata)


def _model_from_info(job: PerfJob, client: HttpClient) -> _Model:
    """The running server says what it serves (/info/): target type, code dir and metadata need no flags."""
    info = client.get_json("/info/")
    if not isinstance(info, dict) or not info.get("targetType"):
        raise UsageError(
            f"{job.url} does not answer /info/ with a target type: is it a drumkit or DRUM server?"
        )
    served = str(info["targetType"])
    given = job.settings.target_type
    if given and str(given) != served:
        raise UsageError(
            f"--target-type or TARGET_TYPE says '{given}' but the server at {job.url} serves "
            f"a model of target type '{served}' (its /info/)"
        )
    metadata = info.get("modelMetadata") if isinstance(info.get("modelMetadata"), dict) else None
    return _Model(Path(str(info.get("codeDir") or job.settings.code_dir)), served, metadata)


def _new_report(job: PerfJob, model: _Model) -> PerfReport:
    from drumkit.predictor.targets import TargetType

    unstructured = model.target_type == TargetType.UNSTRUCTURED
    if unstructured and job.samples is not None:
        raise UsageError("-s/--samples does not apply to unstructured models: the input file is the body")
    if not unstructured and (job.query or job.content_type):
        raise UsageError(
            f"{'--query' if job.query else '--content-type'} argument can be used only with "
            "--target-type unstructured"
        )
    code_dir = model.code_dir.resolve() if model.code_dir.exists() else model.code_dir
    given = _optional_input(job.input, model)
    return PerfReport(
        code_dir=str(code_dir), input=str(given or ""), target_type=model.target_type, rows=0, features=None
    )


def _chats(client: HttpClient) -> bool:
    """The server's model has a chat hook (`/capabilities/` supported_methods.chat)."""
    capabilities = client.get_json("/capabilities/") or {}
    return bool((capabilities.get("supported_methods") or {}).get("chat"))


def _measure_rows(
    report: PerfReport,
    client: HttpClient,
    job: PerfJob,
    input: Path,
    progress: Progress | None,
    alive: Callable[[], bool] | None,
    tell: Say,
) -> None:
    """DRUM's cases (or one -s/-i case) on /predict/, or the input file as the body of /predictUnstructured/."""
    from drumkit.perf.cases import plan_cases, unstructured_case
    from drumkit.perf.runner import run_case, structured_target, unstructured_target
    from drumkit.predictor.targets import TargetType

    if report.target_type == TargetType.UNSTRUCTURED:
        data = input.read_bytes()
        cases = [unstructured_case(len(data), job.iterations)]
        target = unstructured_target(data, job.content_type or _guess_type(input), job.query)
        rows, features = 1, None
    else:
        from drumkit.perf.payloads import CsvRows

        table = CsvRows.from_file(input)
        if not table.rows:
            raise UsageError(f"{input} has no rows to send")
        cases = plan_cases(table.rows, os.path.getsize(input), job.samples, job.iterations)
        target = structured_target(table.body)
        rows, features = table.rows, table.columns
    report.input, report.rows, report.features = str(input), rows, features
    features_text = f", {features} features" if features is not None else ""
    tell(f"Model: {report.title}  Data: {input} ({rows} rows{features_text})")
    for case in cases:
        report.cases.append(run_case(client, target, case, job.timeout, progress, alive))
        if alive is not None and not alive():
            break


def _measure_chat(
    report: PerfReport,
    client: HttpClient,
    job: PerfJob,
    progress: Progress | None,
    alive: Callable[[], bool] | None,
    tell: Say,
) -> None:
    """Chat completions, whole then streamed: total latency, time to first token, inter-token latency, tokens/s."""
    from drumkit.perf.chat import DEFAULT_ITERATIONS, first_model_id, load_prompts, run_chat_case

    if job.samples is not None:
        raise UsageError("-s/--samples does not apply to chat models: each request is one prompt")
    prompts = load_prompts(Path(report.input) if report.input else None)
    model = first_model_id(client)
    report.rows = len(prompts)
    tell(f"Model: {report.title}  chat model '{model}', {len(prompts)} prompt(s)")
    for stream in (False, True):
        report.cases.append(
            run_chat_case(
                client,
                model,
                prompts,
                job.iterations or DEFAULT_ITERATIONS,
                stream,
                job.timeout,
                progress,
                alive,
            )
        )
        if alive is not None and not alive():
            break


def _optional_input(given: Path | None, model: _Model) -> Path | None:
    """--input, else validation.input of the metadata (relative to the code dir), else None; an existing file."""
    if given is None:
        validation = (model.metadata or {}).get("validation")
        name = validation.get("input") if isinstance(validation, dict) else None
        if not name:
            return None
        given = model.code_dir / name
    if not given.is_file():
        raise UsageError(f"The file {given} does not exist!")
    return given


def _input_path(given: Path | None, model: _Model) -> Path:
    path = _optional_input(given, model)
    if path is None:
        raise UsageError("Give --input FILE (or validation.input in model-metadata.yaml)")
    return path


def _guess_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "text/plain"
