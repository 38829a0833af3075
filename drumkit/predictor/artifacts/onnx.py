"""ONNX: `.onnx` files run by onnxruntime on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drumkit.errors import PredictionError
from drumkit.predictor.artifacts import imported
from drumkit.predictor.targets import TargetType

NAME = "onnx"
EXTRA = "onnx"
EXTENSIONS = (".onnx",)

# ONNX tensor element types -> numpy dtype names for the model's first input.
_INPUT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def load(path: Path) -> Any:
    """An onnxruntime InferenceSession on the CPU provider."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def handles(model: Any) -> bool:
    """An onnxruntime InferenceSession."""
    ort = imported("onnxruntime")
    return ort is not None and isinstance(model, ort.InferenceSession)


def predict(model: Any, frame: Any, target_type: TargetType) -> tuple[Any, list | None]:
    """Feed all columns to the first input; classification reads the first output named like `prob`."""
    import numpy as np

    if not (target_type.is_classification or target_type in (TargetType.REGRESSION, TargetType.ANOMALY)):
        raise PredictionError(f"Target type '{target_type}' is not supported by the onnx predictor")
    first = model.get_inputs()[0]
    dtype = _INPUT_DTYPES.get(first.type, "float32")
    data = frame.to_numpy().astype(str) if dtype == "object" else frame.to_numpy(dtype=dtype)
    names = [output.name for output in model.get_outputs()]
    chosen = names[0]
    if target_type.is_classification and len(names) > 1:
        chosen = next((name for name in names if "prob" in name.lower()), names[0])
    result = model.run([chosen], {first.name: data})[0]
    if isinstance(result, list) and result and isinstance(result[0], dict):
        # A ZipMap output (converted sklearn classifiers): one {label: probability} per row.
        labels = list(result[0])
        return np.array([[row[label] for label in labels] for row in result], dtype=float), labels
    return np.asarray(result), None
