"""Large inputs stream through the predictor in chunks and give what scoring the whole file at once gives."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

from drumkit.errors import HookError
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.predictor import codecs
from drumkit.score.batch import ScoreJob, run_score
from tests import hookmodels

WHOLE = 1 << 30  # a chunk size no test file reaches: the file is read whole

# Records the dtypes of every frame score sees; predictions use every column, so a wrongly typed chunk shows.
DTYPE_SCORE = '''
seen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dtypes.jsonl")
with open(seen, "a") as handle:
    handle.write(json.dumps({c: str(t) for c, t in data.dtypes.items()}) + "\\n")
text = data["late"].astype(object).where(data["late"].notna(), "")
return pd.DataFrame({"Predictions": data["x"] * 3 + data["i"] + data["m"].fillna(-100) + text.map(len),
                     "late_echo": data["late"], "rows": len(data)})
'''


def late_types_frame(rows: int) -> pd.DataFrame:
    """x float; i int turning float near the end; m int with one missing value in the last rows;
    late empty for the first 80% of rows, then strings."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"x": rng.normal(size=rows), "i": rng.integers(0, 1000, rows).astype(object),
                          "m": rng.integers(0, 50, rows).astype(object), "late": [None] * rows})
    frame.loc[rows - 5, "i"] = 2.5
    frame.loc[rows - 2, "m"] = None
    tail = np.arange(int(rows * 0.8), rows)
    frame.loc[tail, "late"] = [f"w{k % 13}" for k in tail]
    return frame


def load(code_dir, **kwargs) -> Predictor:
    return Predictor.from_settings(ModelSettings(code_dir=code_dir, **kwargs))


def score_file(predictor, path: Path, out: Path, chunk_bytes: int):
    result = run_score(predictor, ScoreJob(input=path, output=out, chunk_bytes=chunk_bytes))
    return result, pd.read_csv(out)


@pytest.fixture(scope="module")
def late_types(tmp_path_factory):
    root = tmp_path_factory.mktemp("late")
    code_dir = hookmodels.score_returning(root / "m", DTYPE_SCORE, extra="import json, os\n")
    frame = late_types_frame(4000)
    path = root / "late.csv"
    frame.to_csv(path, index=False)
    return code_dir, path


def test_late_column_types_match_whole_file_reading(late_types, tmp_path):
    code_dir, path = late_types
    predictor = load(code_dir, target_type="regression")
    (code_dir / "dtypes.jsonl").unlink(missing_ok=True)
    chunked, got = score_file(predictor, path, tmp_path / "chunked.csv", chunk_bytes=8 * 1024)
    assert chunked.chunks > 5 and chunked.rows == 4000
    seen = [json.loads(line) for line in (code_dir / "dtypes.jsonl").read_text().splitlines()]
    # Late types make the reader start over, so the hook saw the first chunks more than once.
    assert len(seen) > chunked.chunks
    whole_dtypes = {c: str(t) for c, t in pd.read_csv(path).dtypes.items()}
    assert whole_dtypes["i"] == "float64" and whole_dtypes["m"] == "float64"  # the types that show up late
    assert seen[0] != whole_dtypes
    for dtypes in seen[-chunked.chunks:]:  # every chunk of the output looks like pandas.read_csv of the whole file
        assert dtypes == whole_dtypes
    whole, expected = score_file(predictor, path, tmp_path / "whole.csv", chunk_bytes=WHOLE)
    assert whole.chunks == 1
    pd.testing.assert_frame_equal(got.drop(columns="rows"), expected.drop(columns="rows"))
    assert got["rows"].max() < 4000 and expected["rows"].unique().tolist() == [4000]
    frame = pd.read_csv(path)
    np.testing.assert_array_equal(
        got["Predictions"].to_numpy(),
        (frame["x"] * 3 + frame["i"] + frame["m"].fillna(-100) + frame["late"].fillna("").map(len)).to_numpy())


def test_sklearn_pipeline_streamed_equals_predict(regression_model, tmp_path):
    frame = pd.concat([regression_model.features] * 8, ignore_index=True)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    predictor = load(regression_model.path)
    result, got = score_file(predictor, path, tmp_path / "out.csv", chunk_bytes=16 * 1024)
    assert result.chunks > 3 and len(got) == len(frame)
    # BLAS may round the last bit differently for another batch size; anything more is a real difference.
    np.testing.assert_allclose(got["Predictions"].to_numpy(), regression_model.model.predict(frame), rtol=1e-13, atol=1e-15)


def test_binary_streamed_to_parquet(binary_model, tmp_path):
    frame = pd.concat([binary_model.features] * 6, ignore_index=True)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.parquet"
    result = run_score(load(binary_model.path), ScoreJob(input=path, output=out, chunk_bytes=16 * 1024))
    assert result.chunks > 2
    got = pq.read_table(out).to_pandas()
    assert list(got.columns) == ["no", "yes"]
    np.testing.assert_allclose(got.to_numpy(), binary_model.model.predict_proba(frame), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_parquet_and_arrow_multi_batch(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(codecs, "BLOCK_ROWS", 250)
    code_dir = hookmodels.score_returning(tmp_path / "m", 'return pd.DataFrame({"Predictions": data["x"] * 2 - data["n"]})')
    frame = pd.DataFrame({"x": np.random.default_rng(2).normal(size=1000), "n": np.arange(1000)})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        pq.write_table(table, path, row_group_size=90)
    else:
        pyarrow.feather.write_feather(table, path, chunksize=90)
    out = tmp_path / "out.csv"
    result = run_score(load(code_dir, target_type="regression"), ScoreJob(input=path, output=out))
    assert result.chunks > 1 and result.rows == 1000
    np.testing.assert_array_equal(pd.read_csv(out)["Predictions"].to_numpy(), (frame["x"] * 2 - frame["n"]).to_numpy())


def test_failure_in_a_late_chunk_leaves_nothing(tmp_path):
    code_dir = hookmodels.score_returning(tmp_path / "m", """
        if data["n"].max() > 3000:
            raise RuntimeError("row 3001 is bad")
        return pd.DataFrame({"Predictions": data["n"] * 1.0})
    """)
    pd.DataFrame({"n": np.arange(4000)}).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    stdout = io.BytesIO()
    for destination in (out, None):
        with pytest.raises(HookError, match="row 3001 is bad"):
            run_score(load(code_dir, target_type="regression"),
                      ScoreJob(input=tmp_path / "in.csv", output=destination, chunk_bytes=4096), stdout=stdout)
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert stdout.getvalue() == b""


def test_read_input_data_hook_reads_the_whole_file(tmp_path):
    code_dir = hookmodels.recording_dir(tmp_path / "m")
    frame = hookmodels.x_frame(3000)
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = run_score(load(code_dir, target_type="regression"),
                       ScoreJob(input=tmp_path / "in.csv", output=tmp_path / "out.csv", chunk_bytes=4096))
    assert result.chunks == 1
    reads = [c for c in hookmodels.read_calls(code_dir) if c["hook"] == "read_input_data"]
    assert len(reads) == 1 and reads[0]["size"] == (tmp_path / "in.csv").stat().st_size
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "out.csv")["Predictions"].to_numpy(),
                                  hookmodels.expected_recording(frame, "regression")["Predictions"].to_numpy())


def test_subprocess_streams_a_file_larger_than_a_chunk(tmp_path):
    """A CSV over the default chunk size (16 MiB) through `python -m drumkit score`, with a type that shows up late."""
    rows = 80_000
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=rows), "pad": "p" * 200, "late": [None] * rows})
    frame.loc[rows - 500:, "late"] = "word"
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > codecs.BLOCK_BYTES
    code_dir = hookmodels.score_returning(tmp_path / "m", """
        text = data["late"].astype(object).where(data["late"].notna(), "")
        return pd.DataFrame({"Predictions": data["x"] / 3 + text.map(len)})
    """)
    out = tmp_path / "out.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("TARGET_TYPE", "CODE_DIR")}
    proc = subprocess.run([sys.executable, "-m", "drumkit", "score", "--code-dir", str(code_dir), "--input", str(path),
                           "--output", str(out), "--target-type", "regression"], capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    got = pd.read_csv(out)["Predictions"].to_numpy()
    whole = pd.read_csv(path, low_memory=False)
    np.testing.assert_array_equal(got, (whole["x"] / 3 + whole["late"].fillna("").map(len)).to_numpy())
