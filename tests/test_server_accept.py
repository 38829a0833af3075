"""Answers chosen by `Accept` on a real server: JSON (DRUM's), CSV (what `drumkit score` writes) or an Arrow stream; /openapi.json."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pytest

from tests import serverproc
from tests.modelzoo import write

ARROW = "application/vnd.apache.arrow.stream"

# Multiclass probabilities in the model's own label order (high, low, mid), plus extra output columns.
MULTICLASS_EXTRA = '''
import numpy as np
import pandas as pd


def score(data, model, **kwargs):
    x = data["num0"].fillna(0).to_numpy(dtype=float)
    high = 1 / (1 + np.exp(-3 * x)) * 0.8
    low = (1 - high) * 0.6
    out = pd.DataFrame({"high": high, "low": low, "mid": 1 - high - low})
    out["note"] = np.where(x > 0, "up", "down")
    out["scaled"] = x / 7
    return out
'''


@pytest.fixture(scope="module")
def multiclass_extra(zoo_root, regression_model):
    root = zoo_root / "multiclass_extra"
    root.mkdir(exist_ok=True)
    write(root, "custom.py", MULTICLASS_EXTRA)
    (root / "model-metadata.yaml").write_text("name: mce\ntype: inference\ntargetType: multiclass\ninferenceModel:\n"
                                              "  classLabels:\n    - low\n    - mid\n    - high\n")
    return root, regression_model.csv


@pytest.fixture(scope="module", params=["regression", "binary", "multiclass_extra"])
def served(request, tmp_path_factory):
    """(server, code dir, input CSV bytes, `drumkit score` output bytes) for each target type with predictions."""
    if request.param == "multiclass_extra":
        code_dir, csv = request.getfixturevalue("multiclass_extra")
    else:
        zoo = request.getfixturevalue(f"{request.param}_model")
        code_dir, csv = zoo.path, zoo.csv
    logs = tmp_path_factory.mktemp(f"accept_{request.param}")
    out = logs / "scored.csv"
    subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(code_dir), "--input", str(csv),
                    "--output", str(out)], check=True, capture_output=True, timeout=120)
    server = serverproc.start(["--code-dir", str(code_dir)], logs)
    yield server, code_dir, csv.read_bytes(), out.read_bytes(), request.param
    assert server.stop() == 0


def _post(server, body: bytes, accept: str | None, **kwargs):
    headers = {"Content-Type": "text/csv", **({"Accept": accept} if accept else {})}
    return server.post("/predict/", data=body, headers=headers, **kwargs)


def test_accept_csv_is_byte_identical_to_drumkit_score(served):
    server, _, body, scored, _ = served
    response = _post(server, body, "text/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.content == scored


def test_accept_arrow_holds_the_score_columns_and_values(served):
    server, _, body, scored, _ = served
    response = _post(server, body, ARROW)
    assert response.status_code == 200 and response.headers["Content-Type"] == ARROW
    got = pyarrow.ipc.open_stream(pa.py_buffer(response.content)).read_all().to_pandas()
    pd.testing.assert_frame_equal(got, pd.read_csv(io.BytesIO(scored)), check_exact=True)


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/xml", "text/html, image/png",
                                    "text/csv;q=0, application/json"])
def test_json_for_no_accept_wildcards_and_unsupported_types(served, accept):
    server, _, body, scored, kind = served
    response = _post(server, body, accept)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    answer = response.json()
    expected = pd.read_csv(io.BytesIO(scored))
    if kind == "regression":
        assert answer["predictions"] == expected["Predictions"].tolist()
        assert "extraModelOutput" not in answer
    else:
        labels = [c for c in expected.columns if c not in ("note", "scaled")]
        # Label objects keep the model's column order; values parse back to the very same doubles.
        assert all(list(row) == labels for row in answer["predictions"])
        assert [[row[k] for k in labels] for row in answer["predictions"]] == expected[labels].to_numpy().tolist()
    if kind == "multiclass_extra":
        extra = answer["extraModelOutput"]
        assert extra["columns"] == ["note", "scaled"]
        assert [row[0] for row in extra["data"]] == expected["note"].tolist()
        assert [row[1] for row in extra["data"]] == expected["scaled"].tolist()


def test_quality_values_pick_the_preferred_format(served):
    server, _, body, scored, _ = served
    response = _post(server, body, f"application/json;q=0.4, text/csv;q=0.5, {ARROW};q=0.9")
    assert response.headers["Content-Type"] == ARROW
    response = _post(server, body, "application/json;q=0.4, text/csv")
    assert response.content == scored


def test_multipart_upload_honours_accept_too(served):
    server, _, body, scored, _ = served
    response = server.post("/predictions/", files={"X": ("rows.csv", body)}, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.content == scored


def test_predictions_equal_the_models_own(binary_model, tmp_path_factory):
    server = serverproc.start(["--code-dir", str(binary_model.path)], tmp_path_factory.mktemp("accept_own"))
    try:
        response = _post(server, binary_model.csv.read_bytes(), ARROW)
        got = pyarrow.ipc.open_stream(pa.py_buffer(response.content)).read_all().to_pandas()
        model = binary_model.model
        expected = model.predict_proba(binary_model.features)
        for i, label in enumerate(model.classes_):
            np.testing.assert_array_equal(got[str(label)].to_numpy(), expected[:, i])
    finally:
        assert server.stop() == 0


def test_openapi_json_is_served_by_the_error_server_too(tmp_path_factory, zoo_root):
    broken = zoo_root / "openapi_broken"
    broken.mkdir(exist_ok=True)
    server = serverproc.start(["--code-dir", str(broken), "--target-type", "regression", "--with-error-server"],
                              tmp_path_factory.mktemp("openapi_err"))
    try:
        assert server.get("/ping/").status_code == 513
        assert "/openapi.json" in json.loads(server.get("/openapi.json").content)["paths"]
    finally:
        assert server.stop() == 0
