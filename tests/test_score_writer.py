"""The batch writer: fast float CSV rows byte-identical to pandas, reset after a restart."""

import numpy as np
import pandas as pd
import pytest

from drumkit.predictor.codecs.csv_codec import float_rows_csv
from drumkit.score.writer import FrameWriter


def awkward_floats(n: int = 5000) -> np.ndarray:
    rng = np.random.default_rng(0)
    values = rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n)
    values[::97] = np.nan
    values[:8] = [np.inf, -np.inf, 0.0, -0.0, 1e16, 123456789012345678.0, 1.0, 5e-324]
    return values


@pytest.mark.parametrize("columns", [1, 3])
def test_float_rows_equal_pandas_to_csv(columns):
    values = awkward_floats()
    frame = pd.DataFrame({f"c{i}": np.roll(values, i) for i in range(columns)})
    expected = frame.to_csv(index=False).split("\n", 1)[1]
    assert float_rows_csv(frame) == expected


def test_non_float_frames_use_pandas():
    assert float_rows_csv(pd.DataFrame({"x": np.array([0.1], dtype=np.float32)})) is None
    assert float_rows_csv(pd.DataFrame({"x": [1.0], "label": ["a"]})) is None


@pytest.mark.parametrize("kind", ["csv", "parquet", "arrow"])
def test_reset_drops_what_was_written(tmp_path, kind):
    path = tmp_path / f"out.{kind}"
    writer = FrameWriter(path, kind)
    writer.write(pd.DataFrame({"Predictions": [1.0, 2.0], "extra": ["a", "b"]}))
    writer.reset()
    writer.write(pd.DataFrame({"Predictions": [3.0], "extra": ["c"]}))
    writer.close()
    reader = {"csv": pd.read_csv, "parquet": pd.read_parquet, "arrow": pd.read_feather}[kind]
    got = reader(path)
    assert got["Predictions"].tolist() == [3.0] and got["extra"].tolist() == ["c"]
