"""End to end: `drumkit score` and the server end on any CSV, with pandas.read_csv's verdict and numbering."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests import faultmodels, serverproc

BOUND = 60.0
ROWS = 300_000  # ~5 MiB: above score's 4 MiB block and the server's 2 MiB body block
BASE = "x,b,c\n" + "".join(f"{i},{i * 0.5},t{i % 7}\n" for i in range(ROWS))
TAIL = "".join(f"{i},{i * 0.5},t\n" for i in range(40_000))
CASES = {
    "bad-utf8": (BASE + "1,2,\xffZ\n" + TAIL).encode("latin-1"),
    "open-quote": (BASE + '1,2,"open\n' + TAIL).encode(),
    "short-row": (BASE + "7,8\n" + TAIL).encode(),
    "long-row": (BASE + f"1,2,{'y' * (2 << 20)}\n" + TAIL).encode(),
}
# What pandas.read_csv says, with the file's line or row.
ERRORS = {"bad-utf8": f"Line {ROWS + 2} is not valid UTF-8",
          "open-quote": f"EOF inside string starting at row {ROWS + 1}"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("csv_hardening")


@pytest.fixture(scope="module")
def model(root):
    return faultmodels.fault_dir(root / "model")


def score(model, path, out) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(model), "--input", str(path),
                           "--output", str(out)], capture_output=True, text=True, timeout=BOUND)


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_score_ends_with_read_csvs_error_naming_the_row(model, root, case):
    path = root / f"{case}.csv"
    path.write_bytes(CASES[case])
    with pytest.raises(Exception):
        pd.read_csv(path)
    out = root / f"{case}-out.csv"
    done = score(model, path, out)
    assert done.returncode == 1
    assert ERRORS[case] in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "open" not in done.stderr.replace("open-quote", "")
    assert not out.exists() and not list(root.glob(f".{out.name}*"))


@pytest.mark.parametrize("case", ["short-row", "long-row"])
def test_score_accepts_rows_as_read_csv_does(model, root, case):
    path = root / f"{case}.csv"
    path.write_bytes(CASES[case])
    out = root / f"{case}-out.csv"
    done = score(model, path, out)
    assert done.returncode == 0, done.stderr
    expected = pd.read_csv(path)["x"].astype(float) * 2
    assert pd.read_csv(out)["Predictions"].tolist() == expected.tolist()


@pytest.fixture(scope="module")
def server(root):
    proc = serverproc.start(["--code-dir", str(faultmodels.fault_dir(root / "served"))], root / "logs")
    yield proc
    proc.stop()


@pytest.mark.parametrize("case", sorted(CASES))
def test_server_bodies_get_read_csvs_verdict(server, case):
    response = server.post("/predict/", data=CASES[case], headers={"Content-Type": "text/csv"})
    if case in ERRORS:
        assert response.status_code == 422
        assert ERRORS[case] in response.json()["message"]
    else:
        assert response.status_code == 200, response.text
        import io

        expected = pd.read_csv(io.BytesIO(CASES[case]))["x"].astype(float) * 2
        assert response.json()["predictions"] == expected.tolist()
