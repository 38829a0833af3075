"""`drumkit score --engine dask` on a real cluster: a scheduler on 127.0.0.1 with 2 worker processes, and S3 on moto's server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from drumkit.predictor.settings import ModelSettings
from drumkit.score.dataset_job import DatasetJob, run_dataset
from drumkit.score.engines.dask import CONNECT_TIMEOUT, DaskEngine
from tests import datasets, hookmodels
from tests.serverproc import free_port, interruptible
from tests.test_score_cli import assert_one_line_failure, run

POLL_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def cluster():
    """A scheduler over TCP on 127.0.0.1 and 2 single-threaded worker processes (with nannies that restart them)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=50) as local:
        with Client(local.scheduler_address, set_as_default=False) as client:
            yield local.scheduler_address, client


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask-data")
    frame = datasets.features(3000)
    frame.to_csv(root / "all.csv", index=False)
    return {"root": root, "frame": frame, "csv": root / "all.csv",
            "parquet_folder": datasets.parquet_folder(root / "pq", frame, 2, 400)}


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    return datasets.gated_dir(tmp_path_factory.mktemp("gated"))


def dask_run(cluster, *args):
    return run("score", "--engine", "dask", "--scheduler", cluster[0], *args)


def wait_for(condition, what: str):
    deadline = time.monotonic() + POLL_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_dask_parts_are_byte_identical_to_the_local_engine(cluster, gated, binary_model, data, tmp_path):
    code, gate = gated
    local = tmp_path / "local.csv"
    assert run("score", "--code-dir", code, "--input", data["csv"], "--output", local).exit_code == 0
    out = tmp_path / "dask"
    result = dask_run(cluster, "--code-dir", code, "--input", data["csv"], "--output", f"{out}/", "--blocksize", "32KiB")
    assert result.exit_code == 0, result.stderr
    assert len(datasets.parts(out)) > 4 and (out / "_SUCCESS").exists()
    assert datasets.joined_csv(out) == local.read_bytes()
    # Loaded once per worker process, not per partition (each worker may also restart: at most once per PID).
    loads = {p.name: p.read_text() for p in gate.glob("loaded-*")}
    assert loads and all(count == "x" for count in loads.values()) and len(loads) <= 3
    # A BLAS-based pipeline: the same partitions as the local engine's folder output, so the same bytes.
    local_parts, dask_parts = tmp_path / "lp", tmp_path / "dp"
    common = ("--code-dir", binary_model.path, "--input", data["csv"], "--blocksize", "32KiB")
    assert run("score", *common, "--output", f"{local_parts}/").exit_code == 0
    assert dask_run(cluster, *common, "--output", f"{dask_parts}/").exit_code == 0
    assert datasets.joined_csv(dask_parts) == datasets.joined_csv(local_parts)
    np.testing.assert_allclose(datasets.read_parts(dask_parts)[["no", "yes"]].to_numpy(),
                               binary_model.model.predict_proba(data["frame"].drop(columns="id")), rtol=1e-12)


def test_parquet_dataset_with_passthrough_on_dask(cluster, multiclass_model, data, tmp_path):
    out = tmp_path / "out"
    result = dask_run(cluster, "--code-dir", multiclass_model.path, "--input", data["parquet_folder"],
                      "--output", f"{out}/", "--output-format", "parquet", "--blocksize", "20KB",
                      "--passthrough-columns", "id,city")
    assert result.exit_code == 0, result.stderr
    got = datasets.read_parts(out, ".parquet")
    assert list(got.columns[:2]) == ["id", "city"] and got["id"].tolist() == list(range(3000))
    assert got["city"].tolist() == data["frame"]["city"].tolist()
    expected = multiclass_model.model.predict_proba(data["frame"].drop(columns="id"))
    np.testing.assert_allclose(got[list(multiclass_model.model.classes_)].to_numpy(), expected, rtol=1e-12)


def test_a_failing_partition_leaves_no_success_and_no_parts(cluster, gated, data, tmp_path):
    code, _gate = gated
    bad = data["frame"].copy()
    bad.loc[1234, "num0"] = 1000.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out"
    result = dask_run(cluster, "--code-dir", code, "--input", tmp_path / "bad.csv", "--output", f"{out}/",
                      "--blocksize", "32KiB")
    assert_one_line_failure(result, 1, "bad.csv rows", "num0 out of range")
    first, last = map(int, result.stderr.split("rows ")[1].split(")")[0].split("-"))
    assert first <= 1235 <= last
    wait_for(lambda: not (out / "_temporary").exists(), "the temporary parts to go")
    assert datasets.leftovers(out) == []


def start_gated_job(cluster, code, gate, data, out, blocksize="64KiB") -> tuple[subprocess.Popen, Path]:
    """A `drumkit score` child whose partitions block on the gate; returns it once a worker is inside a partition."""
    (gate / "hold").touch()
    for marker in gate.glob("started-*"):
        marker.unlink()
    log = out.parent / "job.err"
    with open(log, "wb") as err:
        child = subprocess.Popen([sys.executable, "-m", "drumkit", "score", "--engine", "dask", "--scheduler", cluster[0],
                                  "--code-dir", str(code), "--input", str(data["csv"]), "--output", f"{out}/",
                                  "--blocksize", blocksize], stdout=subprocess.DEVNULL, stderr=err,
                                 preexec_fn=interruptible)
    wait_for(lambda: any(gate.glob("started-*")), "a partition to start")
    return child, log


def test_a_killed_worker_is_replaced_and_the_job_completes(cluster, gated, data, tmp_path):
    code, gate = gated
    out = tmp_path / "out"
    child, log = start_gated_job(cluster, code, gate, data, out)
    try:
        victim = int(next(gate.glob("started-*")).name.split("-")[1])
        os.kill(victim, signal.SIGKILL)
        (gate / "hold").unlink()
        assert child.wait(timeout=POLL_TIMEOUT * 2) == 0, log.read_text()
    finally:
        (gate / "hold").unlink(missing_ok=True)
        if child.poll() is None:
            child.kill()
    assert (out / "_SUCCESS").exists()
    np.testing.assert_array_equal(datasets.read_parts(out)["Predictions"], datasets.expected_gated(data["frame"]))
    wait_for(lambda: len(cluster[1].scheduler_info()["workers"]) == 2, "the nanny to restart the worker")


def test_ctrl_c_cancels_the_job_and_commits_nothing(cluster, gated, data, tmp_path):
    code, gate = gated
    out = tmp_path / "out"
    child, log = start_gated_job(cluster, code, gate, data, out)
    try:
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=POLL_TIMEOUT) == 130, log.read_text()
    finally:
        (gate / "hold").unlink(missing_ok=True)
        if child.poll() is None:
            child.kill()
    assert "Aborted." in log.read_text()
    wait_for(lambda: not (out / "_temporary").exists(), "the temporary parts to go")
    assert datasets.leftovers(out) == []


def test_progress_comes_from_finished_tasks(cluster, regression_model, data, tmp_path):
    engine = DaskEngine(ModelSettings(code_dir=regression_model.path), cluster[0])
    seen: list[tuple[int, int]] = []
    try:
        result = run_dataset(DatasetJob(str(data["csv"]), f"{tmp_path}/out/", blocksize=50_000), engine,
                             lambda done, total: seen.append((done, total)))
    finally:
        engine.close()
    total = result.partitions
    assert total > 3 and seen == [(i, total) for i in range(1, total + 1)]
    assert result.rows == 3000


def test_an_unstructured_folder_on_dask(cluster, tmp_path):
    code = hookmodels.unstructured_dir(tmp_path / "code")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(5):
        (docs / f"doc{i}.txt").write_text(f"text {i}")
    out = tmp_path / "out"
    result = dask_run(cluster, "--code-dir", code, "--target-type", "unstructured", "--input", docs,
                      "--output", f"{out}/")
    assert result.exit_code == 0, result.stderr
    assert datasets.leftovers(out) == ["_SUCCESS", *[f"doc{i}.txt" for i in range(5)]]
    assert [json.loads((out / f"doc{i}.txt").read_text())["data"] for i in range(5)] == [f"text {i}" for i in range(5)]


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(regression_model, data, tmp_path):
    started = time.monotonic()
    result = run("score", "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{free_port()}", "--code-dir",
                 regression_model.path, "--input", data["csv"], "--output", f"{tmp_path}/out/")
    assert_one_line_failure(result, 1, "Cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert time.monotonic() - started < CONNECT_TIMEOUT + 20


def test_dask_needs_a_folder_output(regression_model, data, tmp_path):
    for output in ([], ["--output", str(tmp_path / "x.csv")]):
        result = run("score", "--engine", "dask", "--code-dir", regression_model.path, "--input", data["csv"], *output)
        assert_one_line_failure(result, 2, "--engine dask writes a folder of parts")
    assert not (tmp_path / "x.csv").exists()


def test_a_model_that_fails_to_load_on_the_workers_is_one_line(cluster, data, tmp_path):
    code = hookmodels.write_code_dir(tmp_path / "code", {"custom.py": "def load_model(code_dir):\n    raise OSError('no weights')\n"})
    result = dask_run(cluster, "--code-dir", code, "--target-type", "regression", "--input", data["csv"],
                      "--output", f"{tmp_path}/out/")
    assert_one_line_failure(result, 1, "no weights")


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1 (a real HTTP server in this process) and s3fs storage options for it."""
    import logging

    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its request log would reach the command's stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing",
               "client_kwargs": {"region_name": "eu-west-1"}}
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("drumkit-test")
    yield fs, options
    server.stop()


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_s3_round_trip(cluster, s3, gated, data, tmp_path, engine):
    fs, options = s3
    code, _gate = gated
    fs.put(str(data["csv"]), f"drumkit-test/{engine}/in/all.csv")
    args = ["score", "--engine", engine, "--code-dir", code, "--input", f"s3://drumkit-test/{engine}/in/",
            "--output", f"s3://drumkit-test/{engine}/out/", "--blocksize", "64KiB", "--storage-options", json.dumps(options)]
    if engine == "dask":
        args += ["--scheduler", cluster[0]]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"drumkit-test/{engine}/out/", refresh=True))
    assert names[0] == "_SUCCESS" and len(names) > 3 and "_temporary" not in names
    for name in names[1:]:
        fs.get(f"drumkit-test/{engine}/out/{name}", str(tmp_path / name))
    local = tmp_path / "local.csv"
    assert run("score", "--code-dir", code, "--input", data["csv"], "--output", local).exit_code == 0
    assert datasets.joined_csv(tmp_path) == local.read_bytes()


def test_a_missing_s3_prefix_is_one_line(s3, regression_model, tmp_path):
    _fs, options = s3
    result = run("score", "--code-dir", regression_model.path, "--input", "s3://drumkit-test/missing/",
                 "--output", f"{tmp_path}/o/", "--storage-options", json.dumps({"endpoint_url": options["endpoint_url"],
                                                                                "anon": True}))
    assert_one_line_failure(result, 2, "s3://drumkit-test/missing/ does not exist")
