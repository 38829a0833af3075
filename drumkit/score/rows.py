"""One block of input rows to its output rows: the step every scoring path (a file, a partition) repeats per block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drumkit.predictor.predictor import Predictor
from drumkit.predictor.targets import TargetType
from drumkit.score.passthrough import Passthrough


def output_rows(
    predictor: Predictor, frame: Any, request: Mapping[str, Any], passthrough: Passthrough
) -> Any:
    """Passthrough columns, then the block's predictions (or the transform's output)."""
    picked = passthrough.pick(frame)
    if predictor.target_type is TargetType.TRANSFORM:
        out = predictor.transform(frame)
    else:
        out = predictor.predict(frame, request).to_frame()
    return passthrough.attach(picked, out)
