"""`custom_flask.py`: an HTTP-token extension (like DRUM's flask_extension_httpauth) guards every route."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.io
import scipy.sparse

from tests import compatmodels, serverproc
from tests.modelzoo import write

AUTH = {"Authorization": f"Bearer {compatmodels.TOKEN}"}
PREDICT_PATHS = ["/predict/", "/predict", "/predictions/", "/predictions", "/invocations"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("flask_ext")


@pytest.fixture(scope="module")
def server(root):
    proc = serverproc.start(["--code-dir", str(compatmodels.flask_extension_dir(root))], root / "logs")
    yield proc
    assert proc.stop() == 0


FRAME = pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": [0.5, -1.0, 2.0], "c": [4.0, 0.0, 1.0]})
EXPECTED = (FRAME.to_numpy() @ np.linspace(0.5, 1.5, 3)).tolist()


def arrow_bytes() -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(FRAME, preserve_index=False), sink)
    return sink.getvalue()


def mtx_bytes() -> bytes:
    sink = io.BytesIO()
    scipy.io.mmwrite(sink, scipy.sparse.csr_matrix(FRAME.to_numpy()))
    return sink.getvalue()


# (how it is sent, keyword arguments for requests): every payload kind, raw body and multipart file.
PAYLOADS = {
    "csv-raw": dict(data=FRAME.to_csv(index=False).encode(), headers={"Content-Type": "text/csv"}),
    "csv-multipart": dict(files={"X": ("X.csv", FRAME.to_csv(index=False).encode())}),
    "arrow-raw": dict(data=arrow_bytes(), headers={"Content-Type": "application/x-apache-arrow-stream"}),
    "arrow-multipart": dict(files={"X": ("X.arrow", arrow_bytes())}),
    "parquet-raw": dict(data=parquet_bytes(), headers={"Content-Type": "application/vnd.apache.parquet"}),
    "parquet-multipart": dict(files={"X": ("X.parquet", parquet_bytes())}),
    "mtx-raw": dict(data=mtx_bytes(), headers={"Content-Type": "text/mtx"}),
    "mtx-multipart": dict(files={"X": ("X.mtx", mtx_bytes()), "X.colnames": ("X.colnames", b"a\nb\nc\n")}),
}


def with_token(kwargs: dict) -> dict:
    return {**kwargs, "headers": {**kwargs.get("headers", {}), **AUTH}}


@pytest.mark.parametrize("path", PREDICT_PATHS)
@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_every_predict_route_and_payload_needs_the_token(server, path, kind):
    refused = server.post(path, **PAYLOADS[kind])
    assert refused.status_code == 401, refused.text
    assert refused.json() == {"message": "Unauthorized Access"}
    assert refused.headers["X-Request-ID"]  # drumkit's envelope still wraps the extension's answer
    allowed = server.post(path, **with_token(PAYLOADS[kind]))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["predictions"] == pytest.approx(EXPECTED, rel=1e-12)
    assert allowed.headers["X-Endpoint"] == "model_api.predict"  # after_request ran on the predict path too


@pytest.mark.parametrize("path, endpoint", [("/", "model_api.ping"), ("/ping/", "model_api.ping"),
                                            ("/ping", "model_api.ping"), ("/health/", "model_api.health")])
def test_exempt_endpoints_answer_without_the_token(server, path, endpoint):
    response = server.get(path)
    assert response.status_code == 200 and response.json() == {"message": "OK"}
    assert response.headers["X-Endpoint"] == endpoint


@pytest.mark.parametrize("method, path, endpoint, status", [
    ("GET", "/info/", "model_api.info", 200),
    ("GET", "/capabilities/", "model_api.capabilities", 200),
    ("GET", "/stats/", "model_api.stats", 200),
    ("POST", "/transform/", "model_api.transform", 422),  # wrong endpoint for a regression model, after auth
    ("POST", "/predictUnstructured/", "model_api.predict_unstructured", 422),
    ("POST", "/predictionsUnstructured/", "model_api.predict_unstructured", 422),
    ("GET", "/whoami/", "whoami", 200),  # the extension's own route
])
def test_other_routes_are_guarded_and_keep_drums_endpoint_names(server, method, path, endpoint, status):
    send = server.get if method == "GET" else server.post
    kwargs = {} if method == "GET" else {"data": b"a\n1\n", "headers": {"Content-Type": "text/csv"}}
    assert send(path, **kwargs).status_code == 401
    allowed = send(path, **with_token(kwargs))
    assert allowed.status_code == status, allowed.text
    assert allowed.headers["X-Endpoint"] == endpoint


def test_token_from_runtime_parameters_of_the_installed_package(root):
    """custom_flask.py imports RuntimeParameters; with a real datarobot_drum installed, that one is used."""
    standin = compatmodels.standin_package(root / "pkg")
    metadata = ("name: auth\ntype: inference\ntargetType: regression\nruntimeParameterDefinitions:\n"
                "  - fieldName: AUTH_TOKEN\n    type: string\n")
    code_dir = compatmodels.flask_extension_dir(root, "params", metadata)
    params = write(root, "auth_params.yaml", "AUTH_TOKEN: from-params\n")
    env = compatmodels.env_with([standin])
    proc = serverproc.start(["--code-dir", str(code_dir), "--runtime-params-file", str(params)], root / "logs", env=env)
    try:
        body = FRAME.to_csv(index=False).encode()
        assert proc.post("/predict/", data=body, headers=AUTH).status_code == 401  # the default token no longer works
        ok = proc.post("/predict/", data=body, headers={"Authorization": "Bearer from-params"})
        assert ok.status_code == 200 and ok.json()["predictions"] == pytest.approx(EXPECTED)
        assert proc.get("/health/").status_code == 200
    finally:
        assert proc.stop() == 0


GUARD_ALL = '''
from flask import request


def init_app(app):
    @app.before_request
    def check():
        if request.headers.get("Authorization") != "Bearer all":
            return {"message": "no"}, 403
'''


@pytest.fixture()
def hooks_copy(tmp_path):
    from tests import servermodels

    return servermodels.hooks_dir(tmp_path)


def test_self_check_and_health_work_when_the_extension_guards_everything(hooks_copy):
    from drumkit.predictor.predictor import Predictor
    from drumkit.predictor.settings import ModelSettings
    from drumkit.server.app import create_app

    (hooks_copy / "nested").mkdir()
    write(hooks_copy / "nested", "custom_flask.py", GUARD_ALL)  # found anywhere in the code dir, as in DRUM
    app = create_app(Predictor.from_settings(ModelSettings(code_dir=hooks_copy)))
    client = app.test_client()
    assert client.get("/health/").status_code == 403
    health = client.get("/health/", headers={"Authorization": "Bearer all"})
    assert health.status_code == 200 and health.json == {"message": "OK"}
    predicted = client.post("/predict/", data=b"a\n2\n", headers={"Authorization": "Bearer all", "Content-Type": "text/csv"})
    assert predicted.status_code == 200 and predicted.json == {"predictions": [1.0]}


@pytest.mark.parametrize("source, reason", [
    ("import not_a_module_anywhere\n", "No module named 'not_a_module_anywhere'"),
    ("def init_app(app):\n    raise RuntimeError('cannot extend')\n", "cannot extend"),
    ("X = 1\n", "custom_flask.py must define init_app(app)"),
])
def test_a_broken_extension_is_a_one_line_load_error(hooks_copy, source, reason):
    from drumkit.errors import ModelLoadError
    from drumkit.predictor.predictor import Predictor
    from drumkit.predictor.settings import ModelSettings
    from drumkit.server.app import create_app

    write(hooks_copy, "custom_flask.py", source)
    with pytest.raises(ModelLoadError) as failure:
        create_app(Predictor.from_settings(ModelSettings(code_dir=hooks_copy)))
    assert failure.value.message == f"Failed to extend Flask app from [{hooks_copy / 'custom_flask.py'}] : {reason}"


def test_two_extensions_are_refused(hooks_copy):
    from drumkit.errors import ModelLoadError
    from drumkit.server.flask_extension import find_extension

    write(hooks_copy, "custom_flask.py", GUARD_ALL)
    (hooks_copy / "sub").mkdir()
    write(hooks_copy / "sub", "custom_flask.py", GUARD_ALL)
    with pytest.raises(ModelLoadError, match="Found too many Flask extension files"):
        find_extension(hooks_copy)


def test_server_with_a_broken_extension_exits_or_serves_the_error(hooks_copy, tmp_path):
    import subprocess
    import sys

    write(hooks_copy, "custom_flask.py", "def init_app(app):\n    raise RuntimeError('cannot extend')\n")
    out = subprocess.run([sys.executable, "-m", "drumkit", "server", "--code-dir", str(hooks_copy), "--address",
                          f"127.0.0.1:{serverproc.free_port()}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "Failed to extend Flask app from" in out.stderr and "cannot extend" in out.stderr
    assert "Traceback" not in out.stderr
    proc = serverproc.start(["--code-dir", str(hooks_copy), "--with-error-server"], tmp_path / "logs")
    try:
        response = proc.post("/predict/", data=b"a\n1\n", headers={"Content-Type": "text/csv"})
        assert response.status_code == 513 and "cannot extend" in response.json()["message"]
    finally:
        assert proc.stop() == 0
