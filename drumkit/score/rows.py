"""The steps every scoring path (a file, a partition) repeats: a block of rows to its output rows, and
an unstructured input to the body it scores to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from drumkit.predictor import codecs
from drumkit.predictor.predictor import NONE_RESULT_TEXT, Predictor
from drumkit.predictor.targets import TargetType
from drumkit.score.passthrough import Passthrough

DEFAULT_UNSTRUCTURED_CONTENT_TYPE = "text/plain; charset=utf8"


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


def unstructured_body(
    predictor: Predictor, data: bytes, content_type: str | None, query: str | None
) -> bytes:
    """The body `score_unstructured` gives for one input (DRUM's text for a None result)."""
    mimetype, charset = codecs.split_content_type(content_type or DEFAULT_UNSTRUCTURED_CONTENT_TYPE)
    # DRUM's batch mode: a plain dict where the last duplicate wins.
    params = dict(parse_qsl(query or "", keep_blank_values=True))
    result = predictor.predict_unstructured(data, mimetype, charset, params)
    return result.body if result.body is not None else NONE_RESULT_TEXT.encode(result.charset or "utf-8")
