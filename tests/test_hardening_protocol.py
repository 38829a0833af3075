"""End to end: request smuggling, secrets in the error server, broken Arrow/Parquet metadata, quoted rows."""

from __future__ import annotations

import io
import json
import socket

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from drumkit.predictor import codecs
from tests import faultmodels, hookmodels, serverproc

BOUND = 30.0
SECRET = "hunter2-do-not-print"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("protocol")


@pytest.fixture(scope="module")
def server(logs):
    proc = serverproc.start(["--code-dir", str(faultmodels.fault_dir(logs / "model"))], logs)
    yield proc
    proc.stop()


def exchange(port: int, raw: bytes) -> bytes:
    """Send raw bytes on one connection and read until the server closes it (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        sock.sendall(raw)
        return serverproc.read_until_closed(sock)


def test_content_length_with_transfer_encoding_is_400_and_closed(server):
    body = b"x\n1\n"
    smuggled = b"GET /info/ HTTP/1.1\r\nHost: x\r\n\r\n"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    raw = (b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
           b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(chunked)) + chunked + smuggled
    answer = exchange(server.port, raw)  # returns only because the server closes the connection
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.count(b"HTTP/1.1 ") == 1  # the pipelined request is never served
    assert b"Content-Length and Transfer-Encoding" in answer


def test_chunked_alone_and_content_length_alone_still_work(server):
    body = b"x\n1\n"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    raw = (b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunked + b"POST /predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nConnection: close\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    answer = exchange(server.port, raw)
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.count(b'"predictions":[2.0]') == 2


@pytest.mark.parametrize("rows", [10_000, 400_000], ids=["read-whole", "read-in-blocks"])
def test_a_body_received_into_its_own_buffer_stops_at_its_length_and_the_next_request_follows(server, rows):
    # The first piece is parsed as headers plus a little body; the rest is read straight into the body's
    # buffer, never past its end, though the next request is already behind it on the socket.
    body = b"x,pad\n" + b"".join(b"%d,padding-to-22-bytes\n" % (i % 1000) for i in range(rows))
    assert len(body) > (64 * 1024 if rows < 100_000 else codecs.BODY_SPLIT_BYTES)
    first = serverproc.post_request("/predict/", body)
    split = first.index(b"\r\n\r\n") + 1000
    with socket.create_connection(("127.0.0.1", server.port), timeout=BOUND) as sock:
        sock.sendall(first[:split])
        sock.sendall(first[split:] + serverproc.post_request("/predict/", b"x\n7\n", close=True))
        answers = serverproc.read_until_closed(sock)
    head, _, rest = answers.partition(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[1])
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(rest[:length])["predictions"] == [2.0 * (i % 1000) for i in range(rows)]
    assert rest[length:].startswith(b"HTTP/1.1 200 ") and rest.endswith(b'{"predictions":[14.0]}')


def arrow_with_metadata(meta: bytes) -> bytes:
    table = pa.table({"x": [1.0, 2.0]}).replace_schema_metadata({b"pandas": meta})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def parquet_with_metadata(meta: bytes) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": [1.0, 2.0]}).replace_schema_metadata({b"pandas": meta}), sink)
    return sink.getvalue()


BROKEN_META = [b"{not json", b'{"columns": 5}', b'{"index_columns": ["nope"], "columns": []}', b"[]"]


@pytest.mark.parametrize("meta", BROKEN_META)
@pytest.mark.parametrize("kind", ["arrow", "parquet"])
def test_broken_pandas_metadata_is_422(server, kind, meta):
    body, media = ((arrow_with_metadata(meta), "application/vnd.apache.arrow.stream") if kind == "arrow"
                   else (parquet_with_metadata(meta), "application/vnd.apache.parquet"))
    response = server.post("/predict/", data=body, headers={"Content-Type": media})
    assert response.status_code == 422, response.text
    assert "metadata" in response.json()["message"]


def test_csv_parser_errors_never_quote_the_row(server):
    secret_row = f"1,{SECRET},{SECRET}\n"
    body = ("x,y\n" + "1,2\n" * 30000 + secret_row).encode()
    response = server.post("/predict/", data=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert SECRET not in response.text
    assert "line 30002" in response.json()["message"]


RUNTIME_METADATA = """
name: rp
type: inference
targetType: regression
runtimeParameterDefinitions:
  - fieldName: TOKEN
    type: credential
  - fieldName: SCALE
    type: numeric
"""


@pytest.mark.parametrize("values", [
    f"TOKEN: {{credentialType: basic, password: {SECRET}\nSCALE: 2\n",
    f"TOKEN: {{credentialType: basic, password: x}}\nSCALE: {SECRET}\n",
    f"TOKEN: {{credentialType: basic, password: x}}\nSCALE: [{SECRET}]\n",
])
def test_error_server_never_quotes_runtime_parameter_values(tmp_path, values):
    code_dir = hookmodels.write_code_dir(tmp_path / "model", {"custom.py": faultmodels.FAULT_CUSTOM}, RUNTIME_METADATA)
    params = tmp_path / "values.yaml"
    params.write_text(values)
    proc = serverproc.start(["--code-dir", str(code_dir), "--runtime-params-file", str(params),
                             "--with-error-server"], tmp_path / "logs")
    try:
        response = proc.post("/predict/", data=b"x\n1\n", headers={"Content-Type": "text/csv"})
        assert response.status_code == 513
        assert "runtime parameter" in response.json()["message"].lower()
        assert SECRET not in response.text and SECRET not in proc.get("/ping/").text
    finally:
        proc.stop()
    assert SECRET not in proc.stderr()
