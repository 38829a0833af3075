"""End to end: crafted MTX bodies and misbehaving models never take a real `drumkit server` down."""

from __future__ import annotations

import pytest
import requests

from tests import faultmodels, serverproc

BOUND = 60.0
OK_BODY = b"x\n1.5\n2\n"
NUL_MTX = (b"%%MatrixMarket matrix coordinate real general\n3 25 4\n1 1 1.5\0\0\0\0 -2\n"
           b"2 2 3\n3 3 1\n1 4 2\n")
HUGE_MTX = b"%%MatrixMarket matrix coordinate real general\n100000000 100000000 1\n1 1 1\n"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def server(logs):
    proc = serverproc.start(["--code-dir", str(faultmodels.fault_dir(logs / "model")), "--max-body-size", "10MB"], logs)
    yield proc
    proc.stop()


def predicts(server) -> bool:
    """A fresh connection gets the model's own predictions."""
    try:
        response = requests.post(server.url("/predict/"), data=OK_BODY, timeout=5,
                                 headers={"Content-Type": "text/csv", "Connection": "close"})
    except requests.RequestException:
        return False
    return response.status_code == 200 and response.json()["predictions"] == [3.0, 4.0]


def test_mtx_with_nul_bytes_is_422_and_the_worker_lives(server):
    before = server.stderr().count("starting a replacement")
    response = server.post("/predict/", data=NUL_MTX, headers={"Content-Type": "text/mtx"})
    assert response.status_code == 422
    assert "printable ASCII" in response.json()["message"]
    assert "1.5" not in response.text
    assert predicts(server)
    assert server.stderr().count("starting a replacement") == before


def test_mtx_declaring_a_huge_shape_is_413_at_once(server):
    response = server.post("/predict/", data=HUGE_MTX, headers={"Content-Type": "text/mtx"})
    assert response.status_code == 413
    assert "--max-body-size" in response.json()["message"]
    short = b"%%MatrixMarket matrix coordinate real general\n3 3 100000000\n1 1 1\n"
    assert server.post("/predict/", data=short, headers={"Content-Type": "text/mtx"}).status_code == 422


@pytest.mark.parametrize("act", ["systemexit", "interrupt", "base"])
def test_a_hook_raising_a_base_exception_is_answered_500(server, act):
    response = requests.post(server.url("/predict/"), data=f"x,act\n1,{act}\n".encode(), timeout=BOUND,
                             headers={"Content-Type": "text/csv"})
    assert response.status_code == 500
    assert response.json()["message"].startswith("ERROR:")
    assert predicts(server)


@pytest.mark.parametrize("act", ["exit", "segv"])
def test_a_dying_model_costs_its_request_and_a_fresh_worker(server, act):
    before = server.stderr().count("starting a replacement")
    with pytest.raises(requests.ConnectionError):
        requests.post(server.url("/predict/"), data=f"x,act\n1,{act}\n".encode(), timeout=BOUND,
                      headers={"Content-Type": "text/csv"})
    serverproc.wait_for(lambda: predicts(server), what="a replacement worker")
    assert server.proc.poll() is None
    assert server.stderr().count("starting a replacement") == before + 1
