"""End to end: `drumkit score` output targets (links, FIFOs, /dev/stdout, modes) and signals mid-run."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from drumkit.output_target import write_text
from tests import faultmodels, servermodels

BOUND = 60.0
INPUT = "x\n1.5\n2\n"
EXPECTED = [3.0, 4.0]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("score_targets")


@pytest.fixture(scope="module")
def model(root):
    return faultmodels.fault_dir(root / "model")


@pytest.fixture(scope="module")
def data(root):
    path = root / "in.csv"
    path.write_text(INPUT)
    return path


def score(model, data, output, umask: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "drumkit", "score", "--code-dir", str(model), "--input", str(data),
           "--output", str(output)]
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run(cmd, capture_output=True, timeout=BOUND, preexec_fn=preexec, **kwargs)


def predictions(path: Path) -> list[float]:
    return pd.read_csv(path)["Predictions"].tolist()


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.part")) + sorted(folder.glob(".*.part"))


def test_a_new_output_gets_the_umask_mode(model, data, tmp_path):
    out = tmp_path / "new.csv"
    assert score(model, data, out, umask=0o027).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert predictions(out) == EXPECTED


def test_a_replaced_output_keeps_its_mode(model, data, tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("old\n")
    out.chmod(0o604)
    assert score(model, data, out, umask=0o077).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o604
    assert predictions(out) == EXPECTED


def test_a_symlinked_output_is_written_through(model, data, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert score(model, data, link).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert predictions(real) == EXPECTED
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert parts(tmp_path) == []


def test_a_fifo_output_is_written_into(model, data, tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []

    def read():
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert score(model, data, fifo).returncode == 0
    reader.join(BOUND)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].decode().splitlines()[1:] == ["3.0", "4.0"]


def test_dev_stdout_is_written_through(model, data):
    done = score(model, data, "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == ["Predictions", "3.0", "4.0"]


def test_perf_csv_writer_keeps_mode_and_links(tmp_path):
    real = tmp_path / "perf.csv"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "perf-link.csv"
    link.symlink_to(real)
    write_text(link, "a,b\n1,2\n")
    assert link.is_symlink() and real.read_text() == "a,b\n1,2\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def start_slow_score(root: Path, output: Path) -> subprocess.Popen:
    """A score run whose model sleeps 30 s, started once its .part file exists."""
    model = servermodels.hooks_dir(root)
    slow = root / "slow.csv"
    slow.write_text("a,sleep\n1,30\n")
    proc = subprocess.Popen([sys.executable, "-m", "drumkit", "score", "--code-dir", str(model), "--input", str(slow),
                             "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + BOUND
    while not parts(output.parent):
        assert proc.poll() is None and time.monotonic() < deadline, "score never started writing"
        time.sleep(0.05)
    return proc


def test_sigterm_during_score_leaves_no_part_file(tmp_path):
    out = tmp_path / "out" / "p.csv"
    out.parent.mkdir()
    proc = start_slow_score(tmp_path, out)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=BOUND)
    assert proc.returncode != 0
    assert parts(out.parent) == [] and not out.exists()


def test_a_part_file_left_by_sigkill_is_removed_by_the_next_run(tmp_path, model, data):
    out = tmp_path / "out" / "k.csv"
    out.parent.mkdir()
    proc = start_slow_score(tmp_path, out)
    proc.kill()
    proc.wait(timeout=BOUND)
    assert parts(out.parent)
    assert score(model, data, out).returncode == 0
    assert parts(out.parent) == []
    assert predictions(out) == EXPECTED
