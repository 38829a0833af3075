"""End to end: classification, hook-scored, unstructured, transform and read_input_data models over HTTP."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse

from tests import servermodels, serverproc


def csv_body(frame) -> bytes:
    return frame.to_csv(index=False).encode()


def dot(frame) -> list[float]:
    numeric = frame.select_dtypes("number")
    return (numeric.to_numpy(dtype=float) @ np.linspace(0.5, 1.5, numeric.shape[1])).tolist()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def binary(binary_model, logs):
    proc = serverproc.start(["--code-dir", str(binary_model.path)], logs)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def multiclass(multiclass_model, logs):
    proc = serverproc.start(["--code-dir", str(multiclass_model.path)], logs)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def hooks(logs):
    proc = serverproc.start(["--code-dir", str(servermodels.hooks_dir(logs))], logs)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def unstructured(logs):
    proc = serverproc.start(["--code-dir", str(servermodels.unstructured_dir(logs))], logs)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def transform(logs):
    proc = serverproc.start(["--code-dir", str(servermodels.transform_dir(logs))], logs)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def read_input(logs):
    proc = serverproc.start(["--code-dir", str(servermodels.read_input_dir(logs))], logs)
    yield proc
    assert proc.stop() == 0


@pytest.mark.parametrize("fixture, labels_key", [("binary", ["yes", "no"]), ("multiclass", ["low", "mid", "high"])])
def test_classification_is_a_list_of_label_probabilities(request, fixture, labels_key):
    zoo = request.getfixturevalue(f"{fixture}_model")
    server = request.getfixturevalue(fixture)
    rows = zoo.features.head(20)
    response = server.post("/predict/", data=csv_body(rows), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    got = response.json()["predictions"]
    proba = zoo.model.predict_proba(rows)
    classes = [str(c) for c in zoo.model.classes_]
    assert sorted(got[0]) == sorted(labels_key)
    assert list(got[0]) == classes  # the model's column order, as DRUM
    assert [[row[c] for c in classes] for row in got] == proba.tolist()


def test_binary_info_names_both_labels(binary):
    info = binary.get("/info/").json()
    assert (info["positiveClassLabel"], info["negativeClassLabel"]) == ("yes", "no")
    assert info["targetType"] == "binary"


def test_multiclass_info_lists_labels(multiclass):
    assert multiclass.get("/info").json()["classLabels"] == ["low", "mid", "high"]


def test_hook_model_root_route_and_dot_product(hooks):
    assert hooks.get("").json() == {"message": "OK"}
    frame = pd.DataFrame({"a": [1.0, 2.5], "b": [3, 4], "s": ["x", "y"]})
    response = hooks.post("/predict", data=csv_body(frame))
    assert response.json() == {"predictions": dot(frame)}


def test_mtx_multipart_with_colnames_and_raw_text_mtx(hooks):
    matrix = scipy.sparse.random(6, 3, density=0.5, random_state=1, format="csr")
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, matrix)
    mtx = buffer.getvalue()
    expected = dot(pd.DataFrame(matrix.toarray()))
    named = hooks.post("/predict/", files={"X": ("X.mtx", mtx), "X.colnames": ("X.colnames", b"a\nb\nc\n")})
    raw = hooks.post("/predict/", data=mtx, headers={"Content-Type": "text/mtx"})
    for response in (named, raw):
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == pytest.approx(expected, rel=1e-15)
    wrong = hooks.post("/predict/", files={"X": ("X.mtx", mtx), "X.colnames": ("X.colnames", b"a\nb\n")})
    assert wrong.status_code == 422 and "3 columns but 2 column names" in wrong.json()["message"]


def test_extra_model_output_in_split_orient(hooks):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "extra": ["p", "q", "r"]})
    body = hooks.post("/predict/", data=csv_body(frame), headers={"Content-Type": "text/csv"}).json()
    values = dot(frame)
    assert body["predictions"] == values
    assert body["extraModelOutput"] == {"columns": ["note", "double"], "index": [0, 1, 2],
                                        "data": [[n, v * 2] for n, v in zip("pqr", values)]}


def test_nan_and_inf_become_null(hooks):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "raw_nan": [0, 0, 0]})
    response = hooks.post("/predict/", data=csv_body(frame), headers={"Content-Type": "text/csv"})
    assert response.text == '{"predictions":[null,null,1.0]}'


def test_hook_exception_is_500_with_wrapped_message_and_no_stack(hooks):
    response = hooks.post("/predict/", data=b"a,boom\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 500
    assert response.json() == {"message": "ERROR: Model 'score' hook failed to make predictions. "
                                          "Exception: ValueError('boom column seen')"}
    assert hooks.get("/ping/").status_code == 200


def test_prediction_check_failure_is_500(hooks):
    response = hooks.post("/predict/", data=b"a,bad_shape\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 500
    assert response.json()["message"] == "ERROR: score must return a dataframe, but received <class 'numpy.ndarray'>"


def test_custom_http_error_keeps_its_status(hooks):
    response = hooks.post("/predict/", data=b"a,teapot\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 418
    assert response.json() == {"message": "custom teapot"}
    assert response.headers["X-Drum-User-Http-Error"] == "true"


def test_unstructured_text_with_query_headers_and_charset(unstructured):
    response = unstructured.post("/predictUnstructured/", params={"mode": "echo", "x": "1"},
                                 data="zażółć".encode("iso-8859-2"),
                                 headers={"Content-Type": "text/plain; charset=iso-8859-2", "X-Test-Header": "hi"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.json() == {"type": "str", "len": 6, "mimetype": "text/plain", "charset": "iso-8859-2",
                               "x": "1", "header": "hi"}


def test_unstructured_binary_body_and_default_text(unstructured):
    binary = unstructured.post("/predictionsUnstructured", params={"mode": "echo"}, data=b"\x00\x01\x02",
                               headers={"Content-Type": "application/octet-stream"})
    assert binary.json()["type"] == "bytes" and binary.json()["charset"] is None
    untyped = unstructured.post("/predictUnstructured", params={"mode": "echo"}, data=b"abc")
    assert untyped.json()["type"] == "str" and untyped.json()["mimetype"] == "text/plain"
    assert untyped.json()["charset"] == "utf-8"


@pytest.mark.parametrize("mode, content_type, body", [
    ("bytes", "application/octet-stream", b"\x00\x01raw"),
    ("utf16", "application/json; charset=utf-16", "zażółć".encode("utf-16")),
    ("none", "text/plain; charset=utf-8", b""),
])
def test_unstructured_response_content_types(unstructured, mode, content_type, body):
    response = unstructured.post("/predictUnstructured/", params={"mode": mode}, data=b"x")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.content == body


@pytest.mark.parametrize("mode, message", [
    ("int", "ERROR: In unstructured mode single return value can be of type str/bytes, but received <class 'int'>"),
    ("triple", "ERROR: In unstructured mode predictions of type tuple must have length = 2, but received length = 3"),
    ("raise", "ERROR: unstructured went wrong"),
])
def test_unstructured_return_checks(unstructured, mode, message):
    response = unstructured.post("/predictUnstructured/", params={"mode": mode}, data=b"x")
    assert response.status_code == 500
    assert response.json() == {"message": message}


def test_structured_route_on_unstructured_model_names_the_right_one(unstructured):
    response = unstructured.post("/predict/", data=b"a\n1\n")
    assert response.status_code == 422
    assert "/predictUnstructured/" in response.json()["message"]


def parse_multipart(response) -> dict:
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {response.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + response.content)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()}


def test_transform_multipart_answer(transform):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "s": ["x", "y"]})
    y = b"target\n1\n0\n"
    response = transform.post("/transform/", files={"X": ("X.csv", csv_body(frame)), "y": ("y.csv", y)})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = parse_multipart(response)
    assert parts["X.format"] == b"csv"
    assert parts["X.transformed"] == b"a_x2,b_x2\r\n2.0,6\r\n4.0,8"
    assert parts["y.format"] == b"csv"
    assert parts["y.transformed"] == b"target\r\n1\r\n0"
    raw = transform.post("/transform", data=csv_body(frame), headers={"Content-Type": "text/csv"})
    assert parse_multipart(raw)["X.transformed"] == parts["X.transformed"] and "y.format" not in parse_multipart(raw)


def test_predict_on_transform_model_names_transform(transform):
    response = transform.post("/predictions/", data=b"a\n1\n")
    assert response.status_code == 422
    assert "/transform/" in response.json()["message"]


def test_read_input_data_hook_takes_any_payload(read_input):
    as_json = read_input.post("/predict/", data=b'{"a": [1, 2], "b": [10, 20]}',
                              headers={"Content-Type": "application/json"})
    assert as_json.json() == {"predictions": [11.0, 22.0]}
    odd_type = read_input.post("/predict/", data=b"a,b\n1,2\n", headers={"Content-Type": "application/x-whatever"})
    assert odd_type.json() == {"predictions": [3.0]}
    broken = read_input.post("/predict/", data=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 500
    assert broken.json()["message"].startswith("ERROR: Model 'read_input_data' hook failed to read input data.")
