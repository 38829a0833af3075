"""End to end: crafted MTX bodies and misbehaving models never take a real `drumkit server` down."""

from __future__ import annotations

import socket

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


def answer_or_reset(conn: socket.socket) -> bytes:
    try:
        return serverproc.read_until_closed(conn)
    except ConnectionResetError:
        return b""


def test_a_crash_loses_only_its_own_request_of_a_burst(server, tmp_path):
    """A burst waits in the backlog while the worker is busy; one request of it kills the worker. The
    worker takes a connection only when it can start it, so the rest wait for the replacement."""
    marker = tmp_path / "busy"
    blocker = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
    blocker.sendall(serverproc.post_request("/predict/", f"x,act,marker\n1,sleep,{marker}\n".encode()))
    serverproc.wait_for(marker.exists, what="the blocking request to start")
    burst = []
    for index in range(48):
        act = "exit" if index == 6 else "none"
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
        conn.sendall(serverproc.post_request("/predict/", f"x,act\n{index},{act}\n".encode(), close=True))
        burst.append(conn)
    assert b"200 OK" in serverproc.read_response(blocker)
    answers = [answer_or_reset(conn) for conn in burst]
    lost = [index for index, answer in enumerate(answers) if not answer.startswith(b"HTTP/1.1 200 OK")]
    assert lost == [6]
    assert all(answer.endswith(b'{"predictions":[%d.0]}' % (2 * index))
               for index, answer in enumerate(answers) if index != 6)
    assert predicts(server)


def test_keep_alive_clients_of_a_busy_worker_reconnect_into_the_backlog(server, tmp_path):
    """While other requests wait for the worker, its answers close their connection: the next request
    then waits in the backlog (which outlives a crash) instead of on a connection that dies with the worker."""
    held = []
    for index in range(8):  # one at a time: nobody else waits for the worker, so each stays open
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
        held.append(conn)
        conn.sendall(serverproc.post_request("/predict/", f"x,act\n{index},none\n".encode()))
        assert not closes(serverproc.read_response(conn))
    marker = tmp_path / "busy"
    blocker = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
    blocker.sendall(serverproc.post_request("/predict/", f"x,act,marker\n1,sleep,{marker}\n".encode()))
    serverproc.wait_for(marker.exists, what="the blocking request to start")
    for index, conn in enumerate(held):
        conn.sendall(serverproc.post_request("/predict/", f"x,act\n{index},none\n".encode()))
    assert b"200 OK" in serverproc.read_response(blocker)
    answers = [serverproc.read_response(conn) for conn in held]
    assert all(a.startswith(b"HTTP/1.1 200 OK") and a.endswith(b'{"predictions":[%d.0]}' % (2 * i))
               for i, a in enumerate(answers))
    assert [closes(a) for a in answers] == [True] * 7 + [False]  # the last had nobody behind it
    assert all(serverproc.read_until_closed(conn) == b"" for conn in held[:7])


def closes(response: bytes) -> bool:
    return b"\r\nconnection: close" in response.partition(b"\r\n\r\n")[0].lower()
