"""`drumkit perf`: the server child, the cases, the report (--json, --csv), failures and Ctrl+C."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from drumkit.perf.cases import MIB, plan_cases, size_name
from drumkit.perf.client import HttpClient
from drumkit.perf.payloads import CsvRows
from drumkit.perf.report import percentile
from drumkit.perf.server_process import ServerProcess, server_arguments
from drumkit.predictor.settings import ModelSettings
from tests.modelzoo import write
from tests.serverproc import interruptible


def perf(*args: str, command: str = "perf", timeout: float = 240, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", command, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


# ---- planning, payloads, statistics (in-process) -------------------------------------------
def test_default_cases_follow_drums_formula():
    # 50 rows in 2900 bytes (58 a row): 903,945 rows make 50 MB (DRUM's count + 1), 1/500 of it 0.1 MB.
    cases = plan_cases(50, 2900)
    assert [(c.name, c.samples, c.iterations) for c in cases] == [
        ("58 bytes", 1, 100), ("0.1MB", 1807, 50), ("10MB", 180789, 5), ("50MB", 903945, 1)]
    # A file bigger than 50 MB: every case still sends at least one row.
    assert [c.samples for c in plan_cases(1, 60 * MIB)] == [1, 1, 1, 1]


def test_one_case_from_samples_and_iterations():
    assert [(c.samples, c.iterations) for c in plan_cases(50, 2900, samples=200)] == [(200, 1)]
    assert [(c.samples, c.iterations) for c in plan_cases(50, 2900, iterations=7)] == [(50, 7)]
    assert plan_cases(50, 2900, samples=100, iterations=3)[0].name == "5.7KB"
    assert [size_name(n) for n in (58, 1000, 5800, 3 * MIB + 400 * 1024)] == ["58 bytes", "1000 bytes", "5.7KB", "3.4MB"]


def test_bodies_repeat_and_truncate_rows_exactly(regression_model):
    import io

    import pandas as pd

    table = CsvRows.from_file(regression_model.csv)
    assert table.rows == len(regression_model.features)
    for samples in (1, 7, table.rows, 2 * table.rows + 5):
        frame = pd.read_csv(io.BytesIO(table.body(samples)))
        assert len(frame) == samples
        assert list(frame.columns) == list(regression_model.features.columns)
    repeated = pd.read_csv(io.BytesIO(table.body(table.rows + 3)))
    pd.testing.assert_frame_equal(repeated.iloc[table.rows:].reset_index(drop=True),
                                  regression_model.features.head(3))


def test_quoted_newlines_survive(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"two\nlines"\n2,plain\n')
    table = CsvRows.from_file(path)
    assert table.rows == 2 and table.body(3).count(b'"two\nlines"') == 2


def test_percentiles_match_numpy():
    values = sorted(np.random.default_rng(3).exponential(size=37).tolist())
    for q in (0, 50, 99, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


# ---- end to end (each run starts and stops its own server) -----------------------------------
@pytest.fixture(scope="module")
def failing_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("perf_models") / "explodes"
    path.mkdir()
    write(path, "custom.py", """
        def load_model(code_dir):
            return "m"

        def score(data, model, **kwargs):
            raise ValueError("model exploded")
    """)
    (path / "model-metadata.yaml").write_text("name: e\ntype: inference\ntargetType: regression\n")
    return path


def test_perf_measures_a_case_and_writes_json_and_csv(regression_model, tmp_path):
    out_csv = tmp_path / "perf.csv"
    out = perf("--code-dir", str(regression_model.path), "--input", str(regression_model.csv),
               "-s", "40", "-i", "4", "--json", "--csv", str(out_csv))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["passed"] is True and report["rows"] == len(regression_model.features)
    assert report["features"] == regression_model.features.shape[1]
    [case] = report["cases"]
    assert (case["samples"], case["iterations"], case["completed"], case["status"]) == (40, 4, 4, "ok")
    assert case["min_s"] <= case["p50_s"] <= case["p99_s"] <= case["max_s"]
    assert case["min_s"] <= case["avg_s"] <= case["max_s"]
    assert case["rows_per_s"] == pytest.approx(40 / case["avg_s"])
    assert case["server_rss_mb"] > 10 and case["server_avg_s"] > 0
    assert wait_gone(report["server"]["pid"])  # the child was stopped
    with open(out_csv, newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["name"] == case["name"] and int(row["completed"]) == 4
    assert float(row["avg_s"]) == pytest.approx(case["avg_s"])


def test_perf_on_a_model_that_errors_fails_with_why(failing_model):
    out = perf("--code-dir", str(failing_model), "--input", str(Path(__file__).parent / "data" / "iris.csv"),
               "-s", "5", "-i", "3", "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    [case] = report["cases"]
    assert case["status"] == "failed" and case["completed"] == 0
    assert case["error"].startswith("HTTP 500") and "model exploded" in case["error"]
    assert wait_gone(report["server"]["pid"])


def test_perf_test_alias_table_names_the_failure(failing_model):
    out = perf("--code-dir", str(failing_model), "--input", str(Path(__file__).parent / "data" / "iris.csv"),
               "-s", "2", "-i", "1", command="perf-test")
    assert out.returncode == 1
    assert "FAILED" in out.stdout and "model exploded" in out.stdout
    assert "Traceback" not in out.stderr


def test_server_that_cannot_load_is_a_one_line_error(tmp_path):
    path = tmp_path / "noload"
    path.mkdir()
    write(path, "custom.py", """
        def load_model(code_dir):
            raise RuntimeError("no weights here")
    """)
    (path / "data.csv").write_text("a\n1\n")
    out = perf("--code-dir", str(path), "--input", str(path / "data.csv"), "--target-type", "regression",
               "-i", "1", "--start-timeout", "60")
    assert out.returncode == 1
    assert "exited with code" in out.stderr and "no weights here" in out.stderr
    assert "Traceback" not in out.stderr


def test_unstructured_model_against_a_running_server_with_url(tmp_path):
    path = tmp_path / "echo"
    path.mkdir()
    write(path, "custom.py", """
        def score_unstructured(model, data, **kwargs):
            return data[::-1]
    """)
    (path / "model-metadata.yaml").write_text("name: u\ntype: inference\ntargetType: unstructured\n")
    (path / "body.txt").write_text("hello perf")
    args = server_arguments(ModelSettings(code_dir=path), max_workers=None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with ServerProcess(args) as server:
        # No --code-dir and no --target-type: the server's /info/ says what it serves.
        out = perf("--input", str(path / "body.txt"), "-i", "3", "--json", "--url", server.url, cwd=elsewhere)
        table = perf("--input", str(path / "body.txt"), "-i", "2", "--url", server.url, cwd=elsewhere)
        wrong = perf("--input", str(path / "body.txt"), "--url", server.url, "--target-type", "regression",
                     cwd=elsewhere)
        still_running = server.alive()
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["target_type"], report["code_dir"]) == ("unstructured", str(path.resolve()))
    [case] = report["cases"]
    assert (case["completed"], case["status"], case["name"]) == (3, "ok", "10 bytes")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].startswith(f"drumkit perf: {server.url} (times in seconds")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith(f"Error: --target-type or TARGET_TYPE says 'regression' but the server at "
                                   f"{server.url} serves a model of target type 'unstructured'")
    assert still_running  # perf --url measures a server it did not start and leaves it alone
    assert wait_gone(server.pid)


def test_ctrl_c_stops_the_child_and_nothing_else(regression_model):
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    proc = subprocess.Popen([sys.executable, "-m", "drumkit", "perf", "--code-dir", str(regression_model.path),
                             "--input", str(regression_model.csv), "-s", "5", "-i", "1000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible)
    try:
        server_pid = None
        deadline = time.monotonic() + 120
        while server_pid is None and time.monotonic() < deadline and proc.poll() is None:
            for child in psutil.Process(proc.pid).children():
                if "server" in child.cmdline():
                    server_pid = child.pid
            time.sleep(0.1)
        assert server_pid is not None, proc.stderr.read() if proc.poll() is not None else "no server child"
        # Wait until the server answers (perf is sending requests by then), then interrupt perf only.
        cmdline = psutil.Process(server_pid).cmdline()
        client = HttpClient("http://" + cmdline[cmdline.index("--address") + 1])
        while time.monotonic() < deadline and client.get_json("/stats/") is None:
            time.sleep(0.1)
        client.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 130
        assert wait_gone(server_pid)
        assert decoy.poll() is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        decoy.kill()
        decoy.wait()
