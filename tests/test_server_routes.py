"""End to end: every route, slash spelling and payload type of a scikit-learn regression server under URL_PREFIX."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

from tests import serverproc

PREFIX = "/pfx/v2"
MAX_BODY = 2 * 1024 * 1024
GET_ROUTES = ["/", "/ping/", "/health/", "/info/", "/stats/", "/capabilities/"]
PREDICT_ROUTES = ["/predict/", "/predictions/", "/invocations"]


@pytest.fixture(scope="module")
def server(regression_model, tmp_path_factory):
    proc = serverproc.start(["--code-dir", str(regression_model.path), "--max-body-size", str(MAX_BODY)],
                            tmp_path_factory.mktemp("routes"), prefix=PREFIX)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def rows(regression_model):
    return regression_model.features.head(25)


def csv_body(frame) -> bytes:
    return frame.to_csv(index=False).encode()


def expected(model, frame) -> list:
    return [float(v) for v in model.predict(frame)]


def spellings(route: str) -> list[str]:
    base = route.rstrip("/")
    return [base + "/", base] if base else ["/", ""]


@pytest.mark.parametrize("route", GET_ROUTES)
def test_get_routes_answer_json_with_and_without_slash(server, route):
    for path in spellings(route):
        response = server.get(path, allow_redirects=False)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["Content-Type"] == "application/json"
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize("route", PREDICT_ROUTES)
def test_predict_routes_answer_with_and_without_slash(server, regression_model, rows, route):
    for path in spellings(route):
        response = server.post(path, data=csv_body(rows), headers={"Content-Type": "text/csv"}, allow_redirects=False)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["predictions"] == expected(regression_model.model, rows)


def test_routes_exist_only_under_the_prefix(server):
    response = serverproc.requests.get(f"http://127.0.0.1:{server.port}/ping/", timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["message"].startswith("ERROR: 404")


def test_unknown_path_and_wrong_method_are_json(server):
    missing = server.get("/nope/")
    assert missing.status_code == 404 and missing.json()["message"].startswith("ERROR: 404")
    wrong = server.get("/predict/")
    assert wrong.status_code == 405 and wrong.json()["message"].startswith("ERROR: 405")
    assert "POST" in wrong.headers["Allow"]
    wrong_post = server.post("/ping/", data=b"x")
    assert wrong_post.status_code == 405 and "<html" not in wrong_post.text.lower()


def test_info_describes_the_model(server, regression_model):
    info = server.get("/info/").json()
    assert info["codeDir"] == str(regression_model.path.resolve())
    assert info["targetType"] == "regression"
    assert info["predictor"] == "scikit-learn"
    assert info["language"] == "python"
    assert info["modelMetadata"]["targetType"] == "regression"
    assert "positiveClassLabel" not in info and "classLabels" not in info
    assert info["drumVersion"] and info["drumServer"]


def test_capabilities_list_the_decodable_formats(server):
    from drumkit.predictor import codecs as payload

    body = server.get("/capabilities/").json()
    assert body["supported_payload_formats"] == payload.capabilities()
    assert body["supported_methods"] == {"chat": False}


def test_health_is_ok_once_ready(server):
    assert server.get("/health/").json() == {"message": "OK"}


def test_stats_report_the_processes_memory_and_timings(server, rows):
    for _ in range(3):
        server.post("/predict/", data=csv_body(rows), headers={"Content-Type": "text/csv"})
    first = server.get("/stats/")
    second = server.get("/stats/")
    for response in (first, second):
        json.loads(response.text, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    stats = second.json()
    pids = [p["pid"] for p in stats["drum_info"]]
    assert pids[0] == server.pid and len(pids) == 2  # the supervisor and its one worker
    assert stats["drum_info"][0]["mem"] > 10
    assert stats["mem_info"]["drum_rss"] == pytest.approx(sum(p["mem"] for p in stats["drum_info"]))
    assert stats["mem_info"]["total"] > 0
    timing = stats["time_info"]["run_predictor_total"]
    assert timing["count"] >= 3  # reads do not wipe the samples
    assert 0 < timing["min"] <= timing["avg"] <= timing["max"]
    assert timing["total"] == pytest.approx(timing["avg"] * timing["count"])


def test_request_id_is_echoed_or_generated(server):
    given = server.get("/ping/", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = server.get("/ping/")
    assert uuid.UUID(made.headers["X-Request-ID"])
    assert made.headers["X-Drum-Version"]
    assert "abc-123" in server.stderr()  # the access log line names the request


@pytest.mark.parametrize("content_type", ["text/csv", "text/plain", None, "text/csv; charset=utf-8"])
def test_raw_csv_body_with_each_media_type(server, regression_model, rows, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = server.post("/predict/", data=csv_body(rows), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected(regression_model.model, rows)


def arrow_stream(frame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def parquet_bytes(frame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("content_type, encode", [
    ("application/x-apache-arrow-stream", arrow_stream),
    ("application/vnd.apache.parquet", parquet_bytes),
])
def test_raw_binary_bodies(server, regression_model, rows, content_type, encode):
    response = server.post("/predict/", data=encode(rows), headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected(regression_model.model, rows)


@pytest.mark.parametrize("filename, encode", [
    ("X.csv", csv_body), ("X.arrow", arrow_stream), ("X.parquet", parquet_bytes), ("data.txt", csv_body),
])
def test_multipart_file_x(server, regression_model, rows, filename, encode):
    response = server.post("/predictions/", files={"X": (filename, encode(rows))})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected(regression_model.model, rows)


def test_identical_to_drumkit_score(server, regression_model, tmp_path):
    out = tmp_path / "scored.csv"
    subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(regression_model.path),
                    "--input", str(regression_model.csv), "--output", str(out)], check=True, capture_output=True)
    lines = out.read_text().splitlines()
    assert lines[0] == "Predictions"
    scored = [float(v) for v in lines[1:]]
    served = server.post("/predict/", data=regression_model.csv.read_bytes(), headers={"Content-Type": "text/csv"})
    assert served.json()["predictions"] == scored


def test_full_float_precision(server, regression_model, rows):
    text = server.post("/predict/", data=csv_body(rows), headers={"Content-Type": "text/csv"}).text
    values = regression_model.model.predict(rows)
    assert all(repr(float(v)) in text for v in values)


MISSING = "ERROR: Samples should be provided as:"


@pytest.mark.parametrize("kwargs", [
    {"data": b"", "headers": {"Content-Type": "text/csv"}},
    {"data": b""},
    {"files": {"Y": ("X.csv", b"a,b\n1,2\n")}},
    {"files": {"X": ("X.csv", b"")}},
])
def test_missing_or_empty_payload_is_422(server, kwargs):
    response = server.post("/predict/", **kwargs)
    assert response.status_code == 422
    assert response.json()["message"].startswith(MISSING)


def test_unsupported_media_type_is_422_without_echo(server):
    secret = b'{"secret-value": 12345}'
    response = server.post("/predict/", data=secret, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"].startswith("ERROR: payload format `application/json` is not supported")
    assert "secret-value" not in response.text


@pytest.mark.parametrize("body, content_type", [
    (b"a,b\n1,2\n3,4,5,6\n\"secret-value", "text/csv"),
    (b"\x00\x01secret-value not arrow", "application/x-apache-arrow-stream"),
    (b"PAR1secret-value", "application/vnd.apache.parquet"),
    (b"%%MatrixMarket nonsense secret-value", "text/mtx"),
    (b"a,b\n\xff\xfesecret-value,1\n", "text/csv"),
])
def test_undecodable_payload_is_422_without_echo(server, body, content_type):
    response = server.post("/predict/", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("ERROR: ")
    assert "secret-value" not in response.text


def test_columns_the_model_cannot_use_are_a_clear_error(server):
    response = server.post("/predict/", data=b"other,num0\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith("ERROR: The input lacks 5 column(s) the model needs:") and "num1" in message
    assert "Traceback" not in message and "\n" not in message


@pytest.mark.parametrize("route", ["/predictUnstructured/", "/predictionsUnstructured", "/transform/", "/transform"])
def test_wrong_endpoint_for_the_target_type(server, route):
    response = server.post(route, data=b"a\n1\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    message = response.json()["message"]
    assert "/predict/" in message and "TargetType." not in message


def test_body_over_the_limit_is_413_json(server):
    response = server.post("/predict/", data=b"a,b\n" + b"1,2\n" * (MAX_BODY // 4 + 10),
                           headers={"Content-Type": "text/csv"})
    assert response.status_code == 413
    assert str(MAX_BODY) in response.json()["message"]
    assert server.get("/ping/").status_code == 200


def test_server_keeps_serving_after_errors(server, regression_model, rows):
    server.post("/predict/", data=b"\x00garbage", headers={"Content-Type": "application/vnd.apache.parquet"})
    server.post("/predict/", data=b"", headers={"Content-Type": "text/csv"})
    response = server.post("/predict/", data=csv_body(rows), headers={"Content-Type": "text/csv"})
    assert response.json()["predictions"] == expected(regression_model.model, rows)


def test_nan_and_small_values_survive(server, regression_model):
    rows = regression_model.features.head(4).copy()
    rows.loc[:, "num0"] = [1e-12, np.nan, 3.0, -1e300]
    response = server.post("/predict/", data=csv_body(rows), headers={"Content-Type": "text/csv"})
    assert response.json()["predictions"] == expected(regression_model.model, pd.read_csv(io.BytesIO(csv_body(rows))))


def test_concurrent_clients_all_get_their_own_answers(server, regression_model):
    features = regression_model.features

    def client(worker: int) -> int:
        session = serverproc.requests.Session()
        ok = 0
        for i in range(50):
            start = (worker * 50 + i) % (len(features) - 3)
            chunk = features.iloc[start:start + 1 + i % 3]
            response = session.post(server.url("/predict/"), data=csv_body(chunk),
                                    headers={"Content-Type": "text/csv"}, timeout=60)
            ok += response.json()["predictions"] == expected(regression_model.model, chunk)
        session.close()
        return ok

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(client, range(8))) == [50] * 8
