"""Hooks for the scikit-learn model that train.py writes to model.pkl.

Only `load_model` is needed: drumkit sees a scikit-learn estimator and calls its `predict`
(`predict_proba` for classification) itself. Add `transform`, `score` or `post_process` hooks
(see `drumkit new model --template python` for all of them) when you need more control.
"""

from __future__ import annotations

import pickle
from pathlib import Path


def load_model(code_dir: str):
    """Unpickle model.pkl, with a clear message when train.py has not been run yet."""
    path = Path(code_dir) / "model.pkl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `python train.py` in {code_dir} first")
    with open(path, "rb") as handle:
        return pickle.load(handle)
