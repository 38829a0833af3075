"""Unit tests of the server's small parts: address and size parsing, JSON encoding, timings, the small-CSV path."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from drumkit.errors import PayloadError, UsageError
from drumkit.predictor import codecs as payload
from drumkit.predictor.codecs.csv_blocks import read_csv_bytes, read_small_csv_bytes
from drumkit.predictor.codecs.csv_codec import PANDAS_MAX_BYTES
from drumkit.predictor.predictor import Predictions
from drumkit.server.address import parse_address
from drumkit.predictor.codecs.json_codec import predictions_json
from drumkit.server.paths import spellings
from drumkit.server.settings import normalize_prefix
from drumkit.server.stats import Timings


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), (":9000", ("0.0.0.0", 9000)), ("[::1]:8080", ("::1", 8080)),
    ("localhost:1", ("localhost", 1)),
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", [None, "", "host", "host:", "host:0", "host:65536", "::1:80", "h:p"])
def test_parse_address_rejects(text):
    with pytest.raises(UsageError):
        parse_address(text)


def test_parse_size():
    from drumkit.commands.server import parse_size

    assert parse_size("1GiB") == 1 << 30
    assert parse_size("50MB") == 50 << 20
    assert parse_size("1048576") == 1 << 20
    for bad in ("", "abc", "-5", "10XB"):
        with pytest.raises(UsageError):
            parse_size(bad)


def test_prefix_and_spellings():
    assert normalize_prefix("pfx/v2/") == "/pfx/v2"
    assert normalize_prefix("/") == ""
    assert spellings("", "/") == ["/"]
    assert spellings("/p", "/") == ["/p/", "/p"]
    assert spellings("/p", "/invocations") == ["/p/invocations/", "/p/invocations"]


def test_regression_json_keeps_full_precision_and_nulls():
    values = [0.11935557889548534, 1e-12, np.nan, np.inf, -np.inf, 1 / 3]
    body = predictions_json(Predictions(pd.DataFrame({"Predictions": values})), classification=False)
    assert json.loads(body)["predictions"] == [0.11935557889548534, 1e-12, None, None, None, 1 / 3]
    assert b"0.11935557889548534" in body


def test_classification_json_rows_in_column_order():
    frame = pd.DataFrame({"no": [0.25, 0.5], "yes": [0.75, 0.5]})
    extra = pd.DataFrame({"why": ["a", None], "n": [1, np.nan]})
    body = json.loads(predictions_json(Predictions(frame, extra), classification=True))
    assert body["predictions"] == [{"no": 0.25, "yes": 0.75}, {"no": 0.5, "yes": 0.5}]
    assert list(body["predictions"][0]) == ["no", "yes"]
    assert body["extraModelOutput"] == {"columns": ["why", "n"], "index": [0, 1], "data": [["a", 1.0], [None, None]]}


def test_timings_accumulate_across_slots_and_reads_do_not_reset():
    timings = Timings(slots=2)
    assert timings.summary() == {"avg": 0.0, "min": 0.0, "max": 0.0, "total": 0.0, "count": 0}
    timings.record(0.2)
    timings.use_slot(1)
    timings.record(0.4)
    first = timings.summary()
    assert first == timings.summary()
    assert first["count"] == 2 and first["min"] == 0.2 and first["max"] == 0.4
    assert first["avg"] == pytest.approx(0.3) and first["total"] == pytest.approx(0.6)


SMALL_CASES = [
    b"a,b,c\n1,x,2.5\n,y,\n3,,1e-300\n",
    b"a\n1\n\n2\n",
    b"i,b,s\n1,True,\n2,False,q\n",
    "ü,名前\n1,ą\n".encode(),
]


@pytest.mark.parametrize("data", SMALL_CASES)
def test_small_csv_path_is_pandas_read_csv_and_agrees_with_pyarrow(data):
    small = payload.decode(data, payload.CSV)
    expected = pd.read_csv(io.BytesIO(data))
    if expected.shape[1] == 1:
        expected = pd.read_csv(io.BytesIO(data), skip_blank_lines=False)
    pd.testing.assert_frame_equal(small, expected)
    pd.testing.assert_frame_equal(small, read_csv_bytes(data))


@pytest.fixture
def one_arrow_thread():
    import pyarrow as pa

    before = pa.cpu_count()
    pa.set_cpu_count(1)
    yield
    pa.set_cpu_count(before)


def _large_csv() -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"f": rng.normal(size=20_000), "s": rng.choice(["a", "b"], 20_000)})
    data = frame.to_csv(index=False).encode()
    assert len(data) > PANDAS_MAX_BYTES
    return data


def test_large_csv_is_read_in_row_ranges_on_two_threads(monkeypatch):
    import threading

    import pyarrow as pa

    from drumkit.predictor.codecs import csv_blocks, pandas_reader

    data = _large_csv()
    assert pa.cpu_count() > 1  # the test machine has 2 cores
    monkeypatch.setattr(csv_blocks, "read_small_csv_bytes", None)  # a call would fail
    monkeypatch.setattr(csv_blocks, "read_csv_bytes", None)
    threads = set()
    read_part = pandas_reader._read_part

    def recorded(*span):
        threads.add(threading.get_ident())
        return read_part(*span)

    monkeypatch.setattr(pandas_reader, "_read_part", recorded)
    pd.testing.assert_frame_equal(
        payload.decode(data, payload.CSV), pd.read_csv(io.BytesIO(data)), check_exact=True
    )
    assert len(threads) == 2


@pytest.mark.parametrize("rows, parts", [(20_000, 2), (60_000, 5), (120_000, 8)])  # 0.4, 1.3, 2.7 MB
def test_many_cores_get_a_row_range_per_256_kib_not_one_each(monkeypatch, rows, parts):
    import pyarrow as pa

    from drumkit.predictor.codecs import pandas_reader

    data = pd.DataFrame({"f": np.arange(rows) / 7, "i": np.arange(rows)}).to_csv(index=False).encode()
    asked = []
    monkeypatch.setattr(pandas_reader, "read_csv_in_parts", lambda body, n: asked.append(n))
    before = pa.cpu_count()
    pa.set_cpu_count(8)
    try:
        pd.testing.assert_frame_equal(payload.decode(data, payload.CSV), pd.read_csv(io.BytesIO(data)))
    finally:
        pa.set_cpu_count(before)
    assert asked == [parts]


def test_large_quoted_csv_goes_through_pyarrow_with_the_same_result(monkeypatch):
    from drumkit.predictor.codecs import csv_blocks

    frame = pd.read_csv(io.BytesIO(_large_csv()))
    frame["t"] = [f"x, {i % 3}" for i in range(len(frame))]  # commas in text: to_csv quotes it
    data = frame.to_csv(index=False).encode()
    assert b'"' in data
    monkeypatch.setattr(csv_blocks, "read_small_csv_bytes", None)  # a call would fail
    pd.testing.assert_frame_equal(payload.decode(data, payload.CSV), pd.read_csv(io.BytesIO(data)))


def test_large_csv_takes_pandas_reader_with_one_arrow_thread(monkeypatch, one_arrow_thread):
    from drumkit.predictor.codecs import csv_blocks

    data = _large_csv()
    monkeypatch.setattr(csv_blocks, "read_csv_bytes", None)  # a call would fail
    pd.testing.assert_frame_equal(payload.decode(data, payload.CSV), pd.read_csv(io.BytesIO(data)))


@pytest.mark.parametrize("workers", [1, 2, 64])
def test_a_worker_gets_its_share_of_cores_for_every_thread_pool(workers, monkeypatch):
    import os

    import pyarrow as pa
    import threadpoolctl

    from drumkit.server.serve import _share_cores

    limits = []
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", limits.append)  # not this process's BLAS
    before = pa.cpu_count()
    try:
        with pd.option_context("mode.max_threads", None):
            _share_cores(workers)
            share = max(1, len(os.sched_getaffinity(0)) // workers)
            assert (pa.cpu_count(), limits, pd.get_option("mode.max_threads")) == (share, [share], share)
    finally:
        pa.set_cpu_count(before)


@pytest.mark.parametrize("data, text", [
    (b"a,b\n1,2\n3,4,5\n", "Could not parse the CSV input"),
    (b"a,b\n\xff\xfe,1\n", "Supplied CSV input file encoding must be UTF-8"),
])
def test_small_csv_errors_are_one_line(data, text):
    with pytest.raises(PayloadError, match=text) as info:
        read_small_csv_bytes(data)
    assert "\n" not in str(info.value)


# A SIGTERM while pyarrow parses a body, in a fresh process: the parse must finish and the process's
# own handler must run (pyarrow's handlers cancelled the read with ArrowCancelled).
SIGTERM_MID_PARSE = """
import os, signal, sys, threading
import pyarrow as pa, pyarrow.csv as pacsv
if sys.argv[1] == "worker":
    from drumkit.server.serve import _signals_to_python
    _signals_to_python()
got = []
signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
row = ",".join(str(i * 0.5) for i in range(20)) + "\\n"
data = (",".join(f"c{i}" for i in range(20)) + "\\n" + row * 300_000).encode()
threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
try:
    rows = sum(pacsv.read_csv(pa.BufferReader(data)).num_rows for _ in range(3))
    outcome = f"read {rows} rows"
except Exception as exc:
    outcome = type(exc).__name__
threading.Event().wait(0.2)
print(outcome, got)
"""


@pytest.mark.parametrize("setup", ["worker", "plain"])
def test_a_sigterm_mid_parse_reaches_the_workers_handler_and_the_parse_finishes(setup):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SIGTERM_MID_PARSE, setup], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    if setup == "worker":
        assert done.stdout.split() == ["read", "900000", "rows", "[15]"]
    else:  # why the worker turns pyarrow's handlers off: this is what a request mid-parse met
        assert done.stdout.split()[0] == "ArrowCancelled"


# A worker that stopped on SIGTERM and closed its sockets, then gets another one (systemd signals every
# process of the service, and the supervisor forwards its own): the late signal must not fail the worker.
SECOND_SIGTERM = """
import os, signal, socket, threading
from drumkit.server.serve import run_worker
from drumkit.server.settings import ServerSettings
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
app = lambda environ, start_response: start_response("200 OK", []) or [b""]
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
import gc
left = run_worker(app, sock, ServerSettings())
frozen = gc.get_freeze_count()
os.kill(os.getpid(), signal.SIGTERM)
print("left", left, "frozen", frozen > 1000)
"""


def test_a_worker_keeps_loaded_objects_out_of_collections_and_ignores_a_late_sigterm():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SECOND_SIGTERM], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "left None frozen True"), done.stderr
