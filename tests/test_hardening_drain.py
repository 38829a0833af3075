"""End to end: SIGTERM answers what was accepted (backlog too) with `Connection: close`; a crash loses no queued request."""

from __future__ import annotations

import socket

import pytest

from tests import servermodels, serverproc

BOUND = 30.0


def post(path: str, body: bytes) -> bytes:
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), len(body))) + body


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory):
    return servermodels.hooks_dir(tmp_path_factory.mktemp("drain"))


def test_sigterm_answers_the_request_in_service_and_the_backlog(code_dir, tmp_path):
    server = serverproc.start(["--code-dir", str(code_dir)], tmp_path / "logs")
    marker = tmp_path / "started"
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
        idle.sendall(post("/predict/", b"a\n1\n"))
        assert b"200 OK" in serverproc.read_response(idle)  # a keep-alive connection the worker holds, now idle
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
        slow.sendall(post("/predict/", f"a,sleep,marker\n1,1.5,{marker}\n".encode()))
        serverproc.wait_for(marker.exists, what="the slow request to start")
        waiting = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
        waiting.sendall(post("/predict/", b"a\n2\n"))  # in the backlog: the only worker is busy
        server.proc.terminate()
        answers = [serverproc.read_until_closed(slow), serverproc.read_until_closed(waiting)]
        for answer, value in zip(answers, (b"[2.75]", b"[1.0]")):
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK"), answer
            assert b"\r\nConnection: close" in head
            assert value in body
        assert serverproc.read_until_closed(idle) == b""  # closed at the end of the drain
        assert server.proc.wait(timeout=BOUND) == 0
    finally:
        server.stop()


def test_sigterm_closes_every_answer_in_service_with_threads(code_dir, tmp_path):
    server = serverproc.start(["--code-dir", str(code_dir), "--threads", "2"], tmp_path / "logs")
    markers = [tmp_path / "first", tmp_path / "second"]
    try:
        slow = []
        for marker in markers:
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=BOUND)
            conn.sendall(post("/predict/", f"a,sleep,marker\n1,1.5,{marker}\n".encode()))
            slow.append(conn)
        serverproc.wait_for(lambda: all(m.exists() for m in markers), what="both slow requests to start")
        server.proc.terminate()
        for conn in slow:
            head, _, body = serverproc.read_until_closed(conn).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK") and b"\r\nConnection: close" in head
            assert b"[2.75]" in body
        assert server.proc.wait(timeout=BOUND) == 0
    finally:
        server.stop()
