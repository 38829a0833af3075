"""End to end: worker processes (two PIDs, crash replacement, draining on SIGTERM) and the error server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests import servermodels, serverproc
from tests.serverproc import wait_for

BOUND = 60.0


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="module")
def hooks_path(logs):
    return servermodels.hooks_dir(logs)


@pytest.fixture(scope="module")
def workers(hooks_path, logs):
    proc = serverproc.start(["--code-dir", str(hooks_path), "--max-workers", "2", "--threads", "2"], logs)
    yield proc
    proc.stop()


def worker_pids(server) -> set[int]:
    info = server.get("/stats/").json()["drum_info"]
    return {p["pid"] for p in info} - {server.pid}


def answering_pid(server) -> int:
    # A fresh connection each time, so the kernel may hand it to either worker.
    response = requests.post(server.url("/predict/"), data=b"a,pid\n1,0\n", timeout=BOUND,
                             headers={"Content-Type": "text/csv", "Connection": "close"})
    body = response.json()
    assert body["predictions"] == [0.5]
    return body["extraModelOutput"]["data"][0][0]


def test_workers_share_the_cores_for_native_thread_pools(workers):
    cores = len(os.sched_getaffinity(0))
    for _ in range(4):
        response = requests.post(workers.url("/predict/"), data=b"a,pool\n1,0\n", timeout=BOUND,
                                 headers={"Content-Type": "text/csv", "Connection": "close"})
        assert response.json()["extraModelOutput"]["data"][0] == [max(1, cores // 2)]


def test_two_worker_processes_answer(workers):
    listed = wait_for(lambda: len(worker_pids(workers)) == 2 and worker_pids(workers), what="two workers")
    seen: set[int] = set()
    with ThreadPoolExecutor(4) as pool:
        for _ in range(50):
            seen.update(pool.map(lambda _: answering_pid(workers), range(8)))
            if len(seen) == 2:
                break
    assert seen == listed
    stats = workers.get("/stats/").json()
    assert {p["pid"] for p in stats["drum_info"]} == listed | {workers.pid}


def test_killed_worker_is_replaced_and_serving_goes_on(workers):
    before = wait_for(lambda: len(worker_pids(workers)) == 2 and worker_pids(workers), what="two workers")
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):
        assert answering_pid(workers) != victim
    after = wait_for(lambda: (lambda pids: len(pids) == 2 and victim not in pids and pids)(worker_pids(workers)),
                     what="a replacement worker")
    assert len(after - before) == 1
    assert "starting a replacement" in workers.stderr()


def slow_request_started(server, marker, seconds: float):
    """POST a prediction that sleeps `seconds` from a thread; return once the model is running it."""
    result = {}

    def slow_request():
        body = f"a,sleep,marker\n2,{seconds},{marker}\n".encode()
        result["response"] = requests.post(server.url("/predict/"), data=body, timeout=BOUND,
                                           headers={"Content-Type": "text/csv"})

    client = threading.Thread(target=slow_request)
    client.start()
    wait_for(marker.exists, what="the slow request to start")
    return client, result


def test_sigterm_drains_the_request_in_flight_and_exits_zero(hooks_path, logs, tmp_path):
    server = serverproc.start(["--code-dir", str(hooks_path), "--max-workers", "2"], logs)
    client, result = slow_request_started(server, tmp_path / "started", seconds=2.0)
    try:
        server.proc.send_signal(signal.SIGTERM)
        client.join(BOUND)
        assert result["response"].status_code == 200
        assert result["response"].json() == {"predictions": [2 * 0.5 + 2.0 * 1.5]}
        assert server.proc.wait(timeout=BOUND) == 0
    finally:
        client.join(BOUND)
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url("/ping/"), timeout=5)


def test_single_process_sigterm_exits_zero(hooks_path, logs):
    server = serverproc.start(["--code-dir", str(hooks_path)], logs)
    assert server.get("/health/").status_code == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=BOUND) == 0


@pytest.fixture(scope="module")
def error_server(logs):
    proc = serverproc.start(["--code-dir", str(servermodels.broken_dir(logs))], logs,
                            env={"WITH_ERROR_SERVER": "true"})
    yield proc
    assert proc.stop() == 0


@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("GET", "/ping/"), ("GET", "/ping"), ("GET", "/health/"), ("GET", "/health"),
    ("POST", "/predict/"), ("POST", "/predictions"), ("POST", "/invocations"), ("POST", "/transform/"),
    ("POST", "/predictUnstructured/"), ("POST", "/predictionsUnstructured"),
])
def test_error_server_answers_513_with_the_reason(error_server, method, path):
    response = error_server.session.request(method, error_server.url(path), data=b"a\n1\n", timeout=BOUND)
    assert response.status_code == 513
    message = response.json()["message"]
    assert message.startswith("ERROR: ") and "No module named 'andas'" in message


def test_error_server_info_stats_capabilities_are_json(error_server):
    for path in ("/info/", "/capabilities/"):
        response = error_server.get(path)
        assert response.status_code == 513 and "andas" in response.json()["message"]
    stats = error_server.get("/stats/")
    assert stats.status_code == 200 and stats.json()["drum_info"][0]["pid"] == error_server.pid
    assert error_server.get("/nope/").status_code == 404


def test_broken_model_without_error_server_exits_1_with_the_reason(logs):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "drumkit", "server", "--code-dir", str(servermodels.broken_dir(logs)),
                           "--address", f"127.0.0.1:{serverproc.free_port()}"],
                          capture_output=True, text=True, timeout=BOUND, env={**os.environ, "WITH_ERROR_SERVER": ""})
    assert done.returncode == 1
    assert "No module named 'andas'" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < BOUND


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.1:notaport", "127.0.0.1:70000", "::1:80", ""])
def test_bad_address_is_a_usage_error(logs, address):
    done = subprocess.run([sys.executable, "-m", "drumkit", "server", "--code-dir", str(servermodels.broken_dir(logs)),
                           "--address", address], capture_output=True, text=True, timeout=BOUND)
    assert done.returncode == 2
    assert "address" in done.stderr.lower() and "Traceback" not in done.stderr


def test_extra_threads_keep_ping_answering_during_a_long_prediction(hooks_path, logs, tmp_path):
    # --threads 2 runs waitress's thread pool (the default, one thread, services requests in the loop).
    server = serverproc.start(["--code-dir", str(hooks_path), "--threads", "2"], logs)
    client, result = slow_request_started(server, tmp_path / "started", seconds=3.0)
    try:
        assert server.get("/ping/").json() == {"message": "OK"}
        assert "response" not in result  # the ping was answered while the prediction still ran
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda i: requests.post(server.url("/predict/"), data=f"a,b\n{i},1\n".encode(),
                                                            headers={"Content-Type": "text/csv"}, timeout=BOUND),
                                    range(8)))
        assert [a.json()["predictions"] for a in answers] == [[i * 0.5 + 1.5] for i in range(8)]
        client.join(BOUND)
        assert result["response"].json() == {"predictions": [2 * 0.5 + 3.0 * 1.5]}
    finally:
        client.join(BOUND)
        assert server.stop() == 0
