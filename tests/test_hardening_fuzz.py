"""Seeded fuzz of the CSV, MTX, Arrow and Parquet decoders through a real server: no crash, no 5xx, no echo."""

from __future__ import annotations

import io
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.io
import scipy.sparse

from tests import hookmodels, serverproc

SEED = 12
PER_FORMAT = 120
MARK = "zqxmarkzqx"  # in cell values only: no answer may repeat it
ZERO_CUSTOM = '''
import numpy as np
import pandas as pd

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": np.zeros(len(data))})
'''


def seeds() -> dict[str, tuple[bytes, str]]:
    """One valid payload per format, holding the marker in its values."""
    frame = {"a": [1.5, 2.0, 3.25] * 4, "b": [f"{MARK}{i}" for i in range(12)], "c": list(range(12))}
    table = pa.table(frame)
    arrow = io.BytesIO()
    with pa.ipc.new_stream(arrow, table.schema) as writer:
        writer.write_table(table)
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    mtx = io.BytesIO()
    scipy.io.mmwrite(mtx, scipy.sparse.random(6, 5, density=0.4, random_state=1, format="coo"))
    csv = "a,b,c\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(*frame.values()))
    return {"csv": (csv.encode(), "text/csv"), "mtx": (mtx.getvalue(), "text/mtx"),
            "arrow": (arrow.getvalue(), "application/vnd.apache.arrow.stream"),
            "parquet": (parquet.getvalue(), "application/vnd.apache.parquet")}


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits: flip, insert (NUL, quote, newline, huge number), delete, duplicate, truncate."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(out) or 1)
        kind = rng.randrange(6)
        if kind == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at:at] = rng.choice([b"\0\0\0", b'"', b"\n", b",", b"99999999999999999999", b"\xff\xfe", b"%"])
        elif kind == 2:
            del out[at:at + rng.randint(1, 16)]
        elif kind == 3:
            out[at:at] = out[at:at + rng.randint(1, 64)] * rng.randint(2, 8)
        elif kind == 4:
            del out[at:]
        else:
            out[at:at + 4] = rng.randbytes(4)
    return bytes(out)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    code_dir = hookmodels.write_code_dir(root / "model", {"custom.py": ZERO_CUSTOM},
                                         "name: zero\ntype: inference\ntargetType: regression\n")
    proc = serverproc.start(["--code-dir", str(code_dir), "--max-body-size", "1MB"], root / "logs")
    yield proc
    proc.stop()


@pytest.mark.parametrize("fmt", ["csv", "mtx", "arrow", "parquet"])
def test_mutated_payloads_never_crash_500_or_echo(server, fmt):
    data, media = seeds()[fmt]
    rng = random.Random(f"{SEED}-{fmt}")
    statuses = set()
    for _ in range(PER_FORMAT):
        body = mutate(data, rng)
        response = server.post("/predict/", data=body, headers={"Content-Type": media})
        statuses.add(response.status_code)
        assert response.status_code in (200, 413, 422), (body, response.text)
        if response.status_code != 200:
            assert MARK not in response.text, (body, response.text)
            assert response.json()["message"].startswith("ERROR:")
    assert 200 in statuses and 422 in statuses  # the mutations reach both sides
    assert "starting a replacement" not in server.stderr()
