"""`drumkit server` as a child process that perf owns: a free loopback port, a bounded wait, a clean stop."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO

from drumkit.errors import ModelLoadError
from drumkit.perf.client import HttpClient

STOP_GRACE_SECONDS = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """Start `python -m drumkit server ...` on 127.0.0.1, wait until /ping/ answers, stop it and only it."""

    def __init__(self, server_args: list[str], start_timeout: float = 60.0, host: str = "127.0.0.1"):
        self.server_args = list(server_args)
        self.start_timeout = start_timeout
        self.host = host
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self.proc.pid if self.proc else None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the child and wait (polling /ping/, bounded by start_timeout) until it answers."""
        self.port = free_port(self.host)
        command = [
            sys.executable,
            "-m",
            "drumkit",
            "server",
            "--address",
            f"{self.host}:{self.port}",
            *self.server_args,
        ]
        # An anonymous temp file (gone when closed) holds the child's output without a pipe that could fill up.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # Its own session: Ctrl+C in the terminal reaches perf only, and perf stops the child in order.
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        proc = self.proc
        assert proc is not None, "start() launched the child"
        client = HttpClient(self.url)
        deadline = time.monotonic() + self.start_timeout
        try:
            while True:
                code = proc.poll()
                if code is not None:
                    raise ModelLoadError(
                        f"drumkit server exited with code {code} before it answered: {self.output_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise ModelLoadError(
                        f"drumkit server did not answer /ping/ within {self.start_timeout:g}s: "
                        f"{self.output_tail() or 'no output'}"
                    )
                try:
                    status, _ = client.request("GET", "/ping/", timeout=1.0)
                    if status == 200:
                        return
                except (OSError, http.client.HTTPException):
                    pass  # not listening or still loading: poll again
                time.sleep(0.1)
        finally:
            client.close()

    def alive(self) -> bool:
        """True while the child runs."""
        return self.proc is not None and self.proc.poll() is None

    def output_tail(self, lines: int = 5) -> str:
        """The last lines the child printed, joined on one line."""
        if self._log is None:
            return ""
        try:
            self._log.flush()
            self._log.seek(0)
            text = self._log.read()[-20000:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(kept)

    def stop(self) -> None:
        """SIGTERM the child (it drains its own workers), then SIGKILL whatever of ours is left."""
        if self.proc is None:
            return
        family = self._family()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_GRACE_SECONDS)
            except ProcessLookupError:
                pass
        self._kill_leftovers(family)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _family(self) -> list:
        """The child's descendants (its workers), recorded while it runs; psutil handles spot pid reuse."""
        try:
            import psutil

            return (
                psutil.Process(self.proc.pid).children(recursive=True) if self.proc and self.alive() else []
            )
        except Exception:
            return []

    @staticmethod
    def _kill_leftovers(family: list) -> None:
        import psutil

        for child in family:
            try:
                if child.is_running():  # compares the creation time, so a reused pid is never signalled
                    child.wait(timeout=2)
            except psutil.TimeoutExpired:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            except psutil.Error:
                pass


def server_arguments(settings, *, max_workers: int | None) -> list[str]:
    """The `drumkit server` flags that describe the model (ModelSettings; everything but --address)."""
    args = ["--code-dir", os.fspath(settings.code_dir), "--logging-level", "error"]
    if max_workers:
        args += ["--max-workers", str(max_workers)]
    if settings.target_type:
        args += ["--target-type", settings.target_type]
    if settings.positive_class_label is not None and settings.negative_class_label is not None:
        args += [
            "--positive-class-label",
            settings.positive_class_label,
            "--negative-class-label",
            settings.negative_class_label,
        ]
    for label in settings.class_labels or ():
        args += ["--class-labels", label]
    if settings.class_labels_file:
        args += ["--class-labels-file", os.fspath(settings.class_labels_file)]
    if settings.runtime_params_file:
        args += ["--runtime-params-file", os.fspath(settings.runtime_params_file)]
    if settings.user_secrets_mount_path is not None:
        args += ["--user-secrets-mount-path", os.fspath(settings.user_secrets_mount_path)]
    if settings.user_secrets_prefix is not None:
        args += ["--user-secrets-prefix", settings.user_secrets_prefix]
    return args
