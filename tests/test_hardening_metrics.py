"""End to end: GET /metrics aggregated over workers, restarts counted, --no-metrics, --max-worker-memory recycling."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import faultmodels, serverproc

BOUND = 60.0
BODY = b"x\n1\n2\n3\n"


def scrape(server) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} from a fresh connection (any worker may answer)."""
    response = requests.get(server.url("/metrics"), timeout=BOUND, headers={"Connection": "close"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def predict(server) -> requests.Response:
    return requests.post(server.url("/predict/"), data=BODY, timeout=BOUND,
                         headers={"Content-Type": "text/csv", "Connection": "close"})


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return faultmodels.fault_dir(tmp_path_factory.mktemp("metrics") / "model")


def test_metrics_add_up_over_workers_and_count_a_restart(model, tmp_path):
    server = serverproc.start(["--code-dir", str(model), "--max-workers", "2"], tmp_path)
    try:
        for _ in range(12):
            assert predict(server).json()["predictions"] == [2.0, 4.0, 6.0]
        assert requests.post(server.url("/predict/"), data=b"nope\n1\n", timeout=BOUND,
                             headers={"Content-Type": "text/csv"}).status_code == 500
        for _ in range(4):  # whichever worker answers, the totals are the same
            samples = scrape(server)
            assert value(samples, "drumkit_requests_total", route="/predict/", method="POST", status="200") == 12
            assert value(samples, "drumkit_requests_total", route="/predict/", method="POST", status="500") == 1
            assert value(samples, "drumkit_payload_rows_sum", route="/predict/") == 36
            assert value(samples, "drumkit_request_duration_seconds_count", route="/predict/") == 13
            assert value(samples, "drumkit_requests_in_flight") == 1  # this scrape
            assert value(samples, "drumkit_model_load_seconds") > 0
        pids = {p["pid"] for p in server.get("/stats/").json()["drum_info"]} - {server.pid}
        os.kill(min(pids), signal.SIGKILL)
        serverproc.wait_for(lambda: value(scrape(server), "drumkit_worker_restarts_total", reason="crash") == 1,
                            what="a counted restart")
        assert value(scrape(server), "drumkit_requests_total", route="/predict/", method="POST", status="200") == 12
    finally:
        server.stop()


def test_no_metrics_flag_turns_the_route_off(model, tmp_path):
    server = serverproc.start(["--code-dir", str(model), "--no-metrics"], tmp_path)
    try:
        assert server.get("/metrics").status_code == 404
        assert predict(server).status_code == 200
    finally:
        server.stop()


def test_max_worker_memory_recycles_workers_and_loses_no_request(model, tmp_path):
    server = serverproc.start(["--code-dir", str(model), "--max-worker-memory", "1MB"], tmp_path)
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: predict(server), range(24)))
        assert [a.status_code for a in answers] == [200] * 24
        assert all(a.json()["predictions"] == [2.0, 4.0, 6.0] for a in answers)
        samples = scrape(server)
        assert value(samples, "drumkit_worker_restarts_total", reason="memory") >= 1
        assert value(samples, "drumkit_worker_restarts_total", reason="crash") == 0
        assert "above --max-worker-memory" in server.stderr()
    finally:
        server.stop()
