"""A first end-to-end check that the CLI scores a pickled pipeline like the model itself."""

import io
import subprocess
import sys

import numpy as np
import pandas as pd


def test_score_regression_matches_predict(regression_model):
    out = subprocess.run(
        [sys.executable, "-m", "drumkit", "score", "--code-dir", str(regression_model.path),
         "--input", str(regression_model.csv)],
        capture_output=True, check=True,
    )
    got = pd.read_csv(io.BytesIO(out.stdout))
    assert list(got.columns) == ["Predictions"]
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), regression_model.model.predict(regression_model.features))
