"""What each model route does, independent of Flask: request parts in, an Answer out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drumkit.predictor import codecs
from drumkit.predictor.targets import TargetType
from drumkit.server.answers import Answer
from drumkit.server.intake import Payload, from_files
from drumkit.server.metrics import note_rows
from drumkit.server.negotiate import answer_format


def predict(predictor, sample: Payload, accept: str | None = None) -> Answer:
    """Structured predictions as DRUM's JSON, or as CSV or Arrow when `Accept` asks: the same `predict_payload` as `score`."""
    predictions = predictor.predict_payload(
        sample.data, sample.fmt, sample.mimetype, sample.charset, sample.colnames
    )
    note_rows(len(predictions.frame))
    target_type = predictor.target_type
    body, content_type = codecs.encode_predictions(
        predictions,
        answer_format(accept),
        target_type.is_classification,
        keep_values=target_type.keeps_values,
    )
    return Answer(200, body, content_type)


def transform(predictor, sample: Payload, files: Mapping[str, Any] | None) -> Answer:
    """Transform rows (and pass an optional `y` file through) into DRUM's multipart answer."""
    from drumkit.server.transform_response import transform_body

    frame = predictor.read(bytes(sample.data), sample.fmt, sample.colnames)
    target = None
    y = from_files(files, "y") if files else None
    if y is not None:
        # DRUM never hands the target to read_input_data.
        target = codecs.decode(bytes(y.data), y.fmt, y.colnames)
    transformed = predictor.transform(frame, target)
    note_rows(len(frame))
    body, content_type = transform_body(transformed, target)
    return Answer(200, body, content_type)


def unstructured(predictor, data: bytes, mimetype: str | None, charset: str | None, query, headers) -> Answer:
    """`score_unstructured` with DRUM's text/bytes rules; the hook's content type goes back as is."""
    result = predictor.predict_unstructured(data, mimetype or None, charset, query, headers)
    return Answer(200, result.body or b"", result.content_type)


def info_body(predictor, drum_version: str, drumkit_version: str) -> dict:
    """`/info/`: where the model is, what scores it, its target type and labels."""
    spec = predictor.spec
    body = {
        "codeDir": str(predictor.code_dir.path),
        "drumServer": "waitress",
        "drumVersion": drum_version,
        "drumkitVersion": drumkit_version,
        "language": "python",
        "modelMetadata": predictor.metadata,
        "predictor": predictor.framework,
        "targetType": str(predictor.target_type),
    }
    if predictor.target_type is TargetType.BINARY:
        body["positiveClassLabel"] = spec.positive_class_label
        body["negativeClassLabel"] = spec.negative_class_label
    elif spec.class_labels:
        body["classLabels"] = list(spec.class_labels)
    return body


def capabilities_body(predictor) -> dict:
    """`/capabilities/`: the payload formats this server decodes, with library versions, and whether it chats."""
    chat = bool(predictor is not None and predictor.supports_chat)
    return {"supported_payload_formats": codecs.capabilities(), "supported_methods": {"chat": chat}}
