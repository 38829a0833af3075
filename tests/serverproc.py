"""Run `drumkit server` as a real subprocess on 127.0.0.1: free port, wait by polling, stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def interruptible() -> None:
    """`preexec_fn` of a child the test Ctrl-Cs: SIGINT reaches it as at a terminal, even when the suite runs as a
    background job (a shell starts those with SIGINT ignored, and Python then leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One `drumkit server` child process and its log files."""

    def __init__(self, args: list[str], log_dir: Path, prefix: str = "", env: dict | None = None):
        self.port = free_port()
        self.prefix = prefix
        self.base = f"http://127.0.0.1:{self.port}{prefix}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"server-{self.port}.err"
        full_env = {**os.environ, **(env or {})}
        if prefix:
            full_env["URL_PREFIX"] = prefix
        cmd = [sys.executable, "-m", "drumkit", "server", "--address", f"127.0.0.1:{self.port}", *args]
        # Logs go to files, never pipes: a full pipe would block the server.
        with open(self.stderr_path, "wb") as err, open(log_dir / f"server-{self.port}.out", "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env, start_new_session=True)
        self.session = requests.Session()

    @property
    def pid(self) -> int:
        """The server's (supervisor's) process id."""
        return self.proc.pid

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def url(self, path: str) -> str:
        """Absolute URL of a path under the prefix."""
        return self.base + path

    def wait_ready(self, path: str = "/ping/", timeout: float = START_TIMEOUT) -> None:
        """Poll until the server answers, failing fast if it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.stderr()}")
            try:
                requests.get(self.url(path), timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):
                # The socket is bound before the model loads, so early connections wait in the backlog.
                time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.stderr()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait with a bound; SIGKILL the process group we started if it hangs. Returns the exit code."""
        self.session.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET a path under the prefix."""
        return self.session.get(self.url(path), timeout=60, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        """POST to a path under the prefix."""
        return self.session.post(self.url(path), timeout=60, **kwargs)


def start(args: list[str], log_dir: Path, prefix: str = "", env: dict | None = None) -> ServerProcess:
    """Start a server and wait until it answers."""
    server = ServerProcess(args, log_dir, prefix, env)
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


def wait_for(condition, timeout: float = START_TIMEOUT, what: str = "condition", interval: float = 0.05):
    """Poll `condition` until it returns something truthy (returned), failing the test after `timeout` seconds."""
    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def post_request(path: str, body: bytes, content_type: str = "text/csv", close: bool = False) -> bytes:
    """The raw bytes of one HTTP/1.1 POST (keep-alive unless `close`)."""
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (head and a Content-Length body) from a raw keep-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        if not data:
            return received
        received += data
    head, _, body = received.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            break
        body += data
    return head + b"\r\n\r\n" + body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything a server sends on a raw connection until it closes it (bounded by the socket's timeout)."""
    received = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return received
        received += data
