"""`drumkit score` and `drumkit server` give the same answer for the same rows, for every target type.

One code dir serves every type (its hooks branch on the target type they are given); a server per
type starts once for the module, and each answer is compared byte for byte with `score`'s output
(the server answers in score's CSV when `Accept: text/csv` asks).
"""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import serverproc
from tests.hookmodels import write_code_dir

CUSTOM = '''
import numpy as np
import pandas as pd


def load_model(code_dir):
    return {"slope": 2.0}


def transform(data, model):
    out = data.copy()
    out["x"] = out["x"] * model["slope"]
    return out


def score(data, model, **kwargs):
    tt = str(kwargs["target_type"])
    x = data["x"].to_numpy(dtype=float)
    if tt == "binary":
        p = 1 / (1 + np.exp(-x))
        return pd.DataFrame({kwargs["positive_class_label"]: p, kwargs["negative_class_label"]: 1 - p})
    if tt == "multiclass":
        logits = np.stack([x * (i - 1) for i in range(len(kwargs["class_labels"]))], axis=1)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return pd.DataFrame(e / e.sum(axis=1, keepdims=True), columns=kwargs["class_labels"])
    if tt == "multilabel":
        return pd.DataFrame({label: 1 / (1 + np.exp(-x * (i + 1))) for i, label in enumerate(kwargs["class_labels"])})
    if tt in ("textgeneration", "agenticworkflow", "vectordatabase"):
        return pd.DataFrame({"Predictions": [f"x is {v:.6f}, \\"quoted\\"" for v in x]})
    if tt == "geopoint":
        return pd.DataFrame({"Predictions": [f"POINT ({v:.4f} {-v:.4f})" for v in x]})
    return pd.DataFrame({"Predictions": x * 3 + 1})


def score_unstructured(model, data, **kwargs):
    return data[::-1]
'''

# target type -> the extra flags it needs
TARGETS = {
    "regression": [],
    "anomaly": [],
    "binary": ["--positive-class-label", "yes", "--negative-class-label", "no"],
    "multiclass": ["--class-labels", "low", "--class-labels", "mid", "--class-labels", "high"],
    "multilabel": ["--class-labels", "a", "--class-labels", "b"],
    "transform": [],
    "unstructured": [],
    "textgeneration": [],
    "geopoint": [],
    "vectordatabase": [],
    "agenticworkflow": [],
}


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("every_target")
    folder = write_code_dir(root / "model", {"custom.py": CUSTOM})
    frame = pd.DataFrame({"x": np.random.default_rng(11).normal(size=25)})
    frame.to_csv(root / "rows.csv", index=False)
    (root / "body.txt").write_text("unstructured body, é")
    return folder


@pytest.fixture(scope="module")
def servers(code_dir, tmp_path_factory):
    """One server per target type, started side by side."""
    logs = tmp_path_factory.mktemp("every_target_logs")

    def start(target: str):
        return target, serverproc.start(["--code-dir", str(code_dir), "--target-type", target, *TARGETS[target]],
                                        logs / target)

    with ThreadPoolExecutor(4) as pool:
        running = dict(pool.map(start, TARGETS))
    yield running
    for server in running.values():
        server.stop()


def scored(code_dir: Path, target: str, input: Path) -> bytes:
    done = subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(code_dir), "--input", str(input),
                           "--target-type", target, *TARGETS[target]], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("target", [t for t in TARGETS if t not in ("transform", "unstructured")])
def test_predictions_are_the_same_bytes(code_dir, servers, target):
    rows = code_dir.parent / "rows.csv"
    answer = servers[target].post("/predict/", data=rows.read_bytes(),
                                  headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    expected = scored(code_dir, target, rows)
    assert answer.content == expected
    assert len(pd.read_csv(rows)) == len(expected.splitlines()) - 1


def test_transform_is_the_same_frame(code_dir, servers):
    """/transform/ answers DRUM's multipart body (CSV with CRLF lines); its frame is score's frame."""
    from tests.test_server_models import parse_multipart

    rows = code_dir.parent / "rows.csv"
    answer = servers["transform"].post("/transform/", data=rows.read_bytes(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    parts = parse_multipart(answer)
    assert parts["X.format"] == b"csv"
    from_server = pd.read_csv(io.BytesIO(parts["X.transformed"]))
    from_score = pd.read_csv(io.BytesIO(scored(code_dir, "transform", rows)))
    pd.testing.assert_frame_equal(from_server, from_score, check_exact=True)
    np.testing.assert_array_equal(from_score["x"].to_numpy(), pd.read_csv(rows)["x"].to_numpy() * 2)


def test_unstructured_is_the_same_bytes(code_dir, servers):
    body = code_dir.parent / "body.txt"
    answer = servers["unstructured"].post("/predictUnstructured/", data=body.read_bytes(),
                                          headers={"Content-Type": "text/plain; charset=utf-8"})
    assert answer.status_code == 200, answer.text
    assert answer.content == scored(code_dir, "unstructured", body) == "é ,ydob derutcurtsnu".encode()
