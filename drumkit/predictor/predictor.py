"""Predictor: a code dir loaded once; turns payloads or DataFrames into checked predictions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drumkit.errors import (
    ConfigError,
    HookError,
    ModelLoadError,
    NotSupportedError,
    PayloadError,
    PredictionError,
    RowCountError,
    WrongEndpointError,
)
from drumkit.predictor import artifacts, codecs
from drumkit.predictor.chat import ChatReply, call_chat, supported_models
from drumkit.predictor.codedir import CodeDir, scan_code_dir
from drumkit.predictor.hooks import Hooks, load_hooks
from drumkit.predictor.metadata import load_metadata
from drumkit.predictor.settings import ModelSettings, TargetSpec, resolve_target
from drumkit.predictor.targets import TargetType, empty_predictions, shape_predictions, split_extra_columns

NONE_RESULT_TEXT = "Return value from prediction is: None (NULL in R)"


@dataclass
class Predictions:
    """Checked predictions (`Predictions` or one column per label) plus any extra model output."""

    frame: Any
    extra: Any = None

    def to_frame(self):
        """Predictions with the extra columns after them, as DRUM's `score` writes them."""
        if self.extra is None:
            return self.frame
        return self.frame.join(self.extra.set_axis(self.frame.index))


@dataclass
class UnstructuredResult:
    """An unstructured hook's answer: body bytes (None when it returned None) and its content type."""

    body: bytes | None
    mimetype: str
    charset: str | None

    @property
    def content_type(self) -> str:
        """`mimetype; charset=...` as DRUM sends it."""
        return f"{self.mimetype}; charset={self.charset}" if self.charset else self.mimetype


class Predictor:
    """A code dir's model, loaded once and shared by score, server, validate and perf."""

    def __init__(
        self, code_dir: CodeDir, hooks: Hooks, model: Any, spec: TargetSpec, adapter: artifacts.Adapter | None
    ):
        self.code_dir = code_dir
        self.hooks = hooks
        self.model = model
        self.spec = spec
        self.adapter = adapter

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: ModelSettings) -> Predictor:
        """Load the code dir: metadata, labels, runtime parameters, custom.py, `init`, the model."""
        code_path = Path(settings.code_dir)
        if not code_path.is_dir():
            raise ModelLoadError(f"The path {settings.code_dir} is not a directory!")
        code_dir = scan_code_dir(code_path, artifacts.artifact_extensions(), artifacts.is_artifact)
        if code_dir.custom_py is None and not code_dir.artifacts:
            # The most basic problem first: without a model, the target type and labels do not matter yet.
            raise _no_artifact(code_dir)
        metadata = load_metadata(code_path)
        try:
            spec = resolve_target(settings, metadata)
        except ConfigError as exc:
            raise _with_label_hint(
                exc, code_dir, settings.target_type or (metadata or {}).get("targetType")
            ) from None
        if settings.runtime_params_file:
            from drumkit.runtime_params import load_runtime_params

            os.environ.update(
                load_runtime_params(
                    settings.runtime_params_file, (metadata or {}).get("runtimeParameterDefinitions")
                )
            )
        if settings.user_secrets_mount_path is not None or settings.user_secrets_prefix is not None:
            from drumkit import compat

            compat.export_user_secrets_location(
                settings.user_secrets_mount_path, settings.user_secrets_prefix
            )
        hooks = load_hooks(
            code_dir.custom_py,
            spec.target_type,
            settings.user_secrets_mount_path,
            settings.user_secrets_prefix,
        )
        if "init" in hooks:
            try:
                hooks.call("init", code_dir=str(code_dir.path))
            except HookError as exc:
                raise ModelLoadError(exc.message) from exc
        model = cls._load_model(code_dir, hooks, spec.target_type)
        adapter = cls._pick_adapter(model, hooks, spec.target_type)
        return cls(code_dir, hooks, model, spec, adapter)

    @staticmethod
    def _load_model(code_dir: CodeDir, hooks: Hooks, target_type: TargetType) -> Any:
        if "load_model" in hooks:
            try:
                model = hooks.call("load_model", str(code_dir.path))
            except HookError as exc:
                raise ModelLoadError(exc.message) from exc
            if model is None:
                raise ModelLoadError("'load_model' hook failed to load model, None is returned.")
            return model
        files = code_dir.artifacts
        if len(files) > 1:
            raise ModelLoadError(
                "Multiple serialized model files found. Remove extra artifacts or overwrite custom.load_model(). "
                f"List of retrieved files are: {' | '.join(p.name for p in files)}"
            )
        if files:
            return artifacts.load_artifact(files[0])
        hooks_do_all = (
            target_type is TargetType.UNSTRUCTURED
            or "score" in hooks
            or (target_type is TargetType.TRANSFORM and "transform" in hooks)
            or _serves_without_score(hooks, target_type)
        )
        if hooks_do_all:
            return None  # The hooks do all the work; unlike DRUM, no artifact is demanded.
        raise _no_artifact(code_dir)

    @staticmethod
    def _pick_adapter(model: Any, hooks: Hooks, target_type: TargetType) -> artifacts.Adapter | None:
        if target_type is TargetType.UNSTRUCTURED:
            if "score_unstructured" not in hooks:
                raise ModelLoadError("In 'unstructured' mode hook 'score_unstructured' must be provided.")
            return None
        if target_type is TargetType.TRANSFORM:
            if "transform" in hooks:
                return None
            adapter = artifacts.adapter_for(model) if model is not None else None
            if not isinstance(adapter, artifacts.Transformer) or not hasattr(model, "transform"):
                raise ModelLoadError(
                    "A transform task requires a user-defined transform hook for non-sklearn transformers"
                )
            return adapter
        if "score" in hooks:
            return None
        adapter = artifacts.adapter_for(model) if model is not None else None
        if adapter is None and not _serves_without_score(hooks, target_type):
            raise ModelLoadError(
                "Could not find any framework to handle loaded model and a score hook is not provided"
            )
        return adapter

    # ---- facts ---------------------------------------------------------------------------
    @property
    def target_type(self) -> TargetType:
        """The resolved target type."""
        return self.spec.target_type

    @property
    def framework(self) -> str | None:
        """The framework adapter scoring the model (`/info/` predictor), None when hooks score it."""
        return getattr(self.adapter, "NAME", None)

    @property
    def reads_any_payload(self) -> bool:
        """A `read_input_data` hook decodes payloads itself, so any media type is accepted."""
        return "read_input_data" in self.hooks

    @property
    def scores_rows(self) -> bool:
        """The model answers /predict/: a score hook, a framework adapter, or a transform."""
        return "score" in self.hooks or self.adapter is not None or self.target_type is TargetType.TRANSFORM

    @property
    def supports_chat(self) -> bool:
        """The code dir defines a `chat` hook (`/capabilities/` supported_methods.chat)."""
        return "chat" in self.hooks

    @property
    def lists_models(self) -> bool:
        """`/models` answers for LLM target types and for any model that chats or lists its models."""
        return (
            self.target_type in (TargetType.TEXT_GENERATION, TargetType.AGENTIC_WORKFLOW)
            or "chat" in self.hooks
            or "get_supported_llm_models" in self.hooks
        )

    @property
    def metadata(self) -> dict | None:
        """The parsed model-metadata.yaml."""
        return self.spec.metadata

    # ---- structured ----------------------------------------------------------------------
    def read(self, data: bytes, fmt: str = codecs.CSV, sparse_colnames: list[str] | None = None) -> Any:
        """Payload bytes -> model input: the `read_input_data` hook, or the format's decoder."""
        if "read_input_data" in self.hooks:
            return self.hooks.call("read_input_data", data)
        return codecs.decode(data, fmt, sparse_colnames)

    def predict_payload(
        self,
        data: bytes | bytearray,
        fmt: str = codecs.CSV,
        mimetype: str | None = None,
        charset: str | None = None,
        sparse_colnames: list[str] | None = None,
        block_bytes: int = codecs.BODY_BLOCK_BYTES,
        split_bytes: int = codecs.BODY_SPLIT_BYTES,
    ) -> Predictions:
        """Decode a payload and predict; the raw bytes reach `score` as `binary_data`, as in DRUM.

        A body larger than `split_bytes` is decoded and predicted in row blocks of `block_bytes`, as
        `drumkit score` streams a file (and, as there, `score` then gets no `binary_data`): memory
        follows the block, not the body. A `read_input_data` hook and sparse payloads get the whole body,
        as `bytes` (a server hands large bodies over in the bytearray they were received into).
        """
        self.require(TargetType.REGRESSION)
        in_blocks = len(data) > split_bytes and codecs.splits(fmt) and not self.reads_any_payload
        whole = None if in_blocks else bytes(data)  # no copy of a bytes object
        request: dict[str, Any] = {
            "binary_data": whole,
            "mimetype": mimetype,
            "sparse_colnames": sparse_colnames,
        }
        if charset is not None:
            request["charset"] = charset
        if whole is None:
            return self.predict_blocks(codecs.iter_body(data, fmt, block_bytes), request)
        return self.predict(self.read(whole, fmt, sparse_colnames), request)

    def predict_blocks(self, frames, request: Mapping[str, Any] | None = None) -> Predictions:
        """Predict each row block and join the answers (a RESTART from the reader drops what came before)."""
        import pandas as pd

        done: list[Predictions] = []
        for frame in frames:
            if frame is codecs.RESTART:
                done = []
                continue
            done.append(self.predict(frame, request))
        if len(done) == 1:
            return done[0]
        joined = pd.concat([p.frame for p in done], ignore_index=True)
        extras = [p.extra for p in done if p.extra is not None]
        extra = pd.concat(extras, ignore_index=True) if len(extras) == len(done) else None
        return Predictions(joined, extra)

    def predict(self, frame: Any, request: Mapping[str, Any] | None = None) -> Predictions:
        """Run transform -> score (or the framework) -> checks -> post_process -> checks on rows."""
        self.require(TargetType.REGRESSION)
        n_rows = _row_count(frame)
        request_labels = self.spec.request_labels
        if n_rows == 0:
            # No rows in, no rows out: many models refuse an empty frame, and nothing needs predicting.
            return Predictions(empty_predictions(self.target_type, request_labels))
        if "transform" in self.hooks:
            frame = self._transform_hook(frame, None)
        extra = None
        if not self.scores_rows:
            raise WrongEndpointError(
                f"This model has target type '{self.target_type}' and no score hook: it only answers "
                f"{_only_routes(self.hooks)}"
            )
        if "score" in self.hooks:
            kwargs = {"binary_data": None, "mimetype": None, "sparse_colnames": None, **(request or {})}
            kwargs.update(self.spec.score_kwargs())
            try:
                out = self.hooks.call("score", frame, self.model, **kwargs)
            except HookError as exc:
                raise _with_colnames_hint(exc, frame) from exc.__cause__
            _require_frame(out, "score must return a dataframe, but received")
            out, extra = split_extra_columns(out, self.target_type, request_labels, self.spec.target_name)
            values = out.to_numpy()
            model_labels = list(out.columns) if self.target_type.is_classification else None
        else:
            assert self.adapter is not None, "from_settings picks an adapter when no score hook is given"
            try:
                values, model_labels = self.adapter.predict(self.model, frame, self.target_type)
            except (PredictionError, PayloadError):
                raise
            except Exception as exc:
                reason = artifacts.describe_exception(exc)
                raise PredictionError(
                    f"The {self.framework} model failed to make predictions. Exception: {reason}"
                ) from exc
        shaped = shape_predictions(values, model_labels, self.target_type, request_labels, n_rows)
        if "post_process" in self.hooks:
            processed = self.hooks.call("post_process", shaped, self.model)
            _require_frame(processed, "Output of post_process hook must be a dataframe, not a")
            labels = list(processed.columns) if self.target_type.is_classification else None
            shaped = shape_predictions(processed.to_numpy(), labels, self.target_type, request_labels, n_rows)
        return Predictions(shaped, extra)

    def transform(self, frame: Any, target: Any = None) -> Any:
        """Apply the transform hook (or the sklearn transformer) for a transform model."""
        self.require(TargetType.TRANSFORM)
        n_rows = _row_count(frame)
        if "transform" in self.hooks:
            out = self._transform_hook(frame, target)
        else:
            import pandas as pd
            import scipy.sparse

            assert isinstance(self.adapter, artifacts.Transformer), "from_settings checked the transformer"
            try:
                out = self.adapter.transform(self.model, frame)
            except Exception as exc:
                raise HookError(
                    f"Model 'transform hook' failed to transform dataset. Exception: {exc!r}"
                ) from exc
            if scipy.sparse.issparse(out):
                out = pd.DataFrame.sparse.from_spmatrix(out)  # type: ignore[attr-defined]  # pandas-stubs types the accessor on instances only
            elif not isinstance(out, pd.DataFrame):
                out = pd.DataFrame(out)
        if n_rows is not None and len(out) != n_rows:
            raise RowCountError("Transformation resulted in different number of rows than original data")
        return out

    def _transform_hook(self, frame: Any, target: Any) -> Any:
        arity = self.hooks.transform_arity()
        if arity not in (2, 3):
            raise HookError(f"Transform hook must take 2 or 3 arguments; hook provided takes {arity}")
        args = (
            (frame, self.model, target)
            if arity == 3 and self.target_type is TargetType.TRANSFORM
            else (frame, self.model)
        )
        out = self.hooks.call("transform", *args)
        if isinstance(out, tuple):
            raise HookError("Transformation of the target variable is not supported by DRUM.")
        _require_frame(out, "transform must return a dataframe, but received")
        return out

    # ---- unstructured --------------------------------------------------------------------
    def predict_unstructured(
        self,
        data: bytes,
        mimetype: str | None = None,
        charset: str | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UnstructuredResult:
        """Call `score_unstructured` with DRUM's text-versus-bytes and return-type rules (3.2)."""
        self.require(TargetType.UNSTRUCTURED)
        mimetype = mimetype or "text/plain"
        kwargs: dict[str, Any] = {"mimetype": mimetype}
        if mimetype.startswith("text/") or mimetype == "application/json":
            charset = charset or "utf-8"
            try:
                body: str | bytes = data.decode(charset)
            except LookupError:
                raise PayloadError(f"Unknown charset '{charset}'") from None
            except UnicodeDecodeError:
                raise PayloadError(
                    f"The payload is not valid {charset} text (media type {mimetype})"
                ) from None
            kwargs["charset"] = charset
        else:
            body = data
            if charset:
                kwargs["charset"] = charset
        kwargs["query"] = query if query is not None else {}
        if headers is not None:
            kwargs["headers"] = headers
        result = self.hooks.call("score_unstructured", self.model, body, **kwargs)
        return _unstructured_result(result)

    # ---- chat (OpenAI) --------------------------------------------------------------------
    def chat(self, params: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> ChatReply:
        """Call the `chat` hook with a chat.completions request; a whole completion or chunks come back as dicts."""
        if not isinstance(params, Mapping):
            raise PayloadError(f"The chat request must be a JSON object, not {type(params).__name__}")
        if "chat" not in self.hooks:
            ending = (
                "chat() is not implemented." if self.target_type in _LLM_TYPES else "chat is not supported."
            )
            raise NotSupportedError(f"This model's chat interface was called, but {ending}")
        return call_chat(self.hooks.require("chat"), self.model, params, headers)

    def supported_models(self) -> dict:
        """The OpenAI model list: `get_supported_llm_models`, else the LLM_ID runtime parameter, else empty."""
        if not self.lists_models:
            raise NotSupportedError("get_supported_llm_models is supported only for TextGen models")
        from drumkit.runtime_params import RuntimeParameters

        llm_id = RuntimeParameters.get("LLM_ID") if RuntimeParameters.has("LLM_ID") else None
        return supported_models(self.hooks.get("get_supported_llm_models"), self.model, llm_id)

    # ---- routing guard -------------------------------------------------------------------
    def require(self, kind: TargetType) -> None:
        """WrongEndpointError when this call does not fit the model's target type (REGRESSION = any /predict/ type)."""
        tt = self.target_type
        if kind is TargetType.REGRESSION and tt in (TargetType.TRANSFORM, TargetType.UNSTRUCTURED):
            raise WrongEndpointError(f"This model has target type '{tt}', {_ENDPOINT_HINT[tt]}")
        if kind is TargetType.UNSTRUCTURED and tt is TargetType.TEXT_GENERATION:
            if "score_unstructured" not in self.hooks:
                raise WrongEndpointError(
                    "This model has target type 'textgeneration' and no score_unstructured hook, "
                    "use either /predict/ or /predictions/ endpoint."
                )
            return
        if kind in (TargetType.TRANSFORM, TargetType.UNSTRUCTURED) and tt is not kind:
            hint = _ENDPOINT_HINT.get(tt, _ENDPOINT_HINT[TargetType.REGRESSION])
            raise WrongEndpointError(f"This model has target type '{tt}', {hint}")


_ENDPOINT_HINT = {
    TargetType.TRANSFORM: "use the /transform/ endpoint.",
    TargetType.UNSTRUCTURED: "use the /predictUnstructured/ or /predictionsUnstructured/ endpoint.",
    TargetType.REGRESSION: "use either /predict/ or /predictions/ endpoint.",
}


_LLM_TYPES = (TargetType.TEXT_GENERATION, TargetType.AGENTIC_WORKFLOW)


_MISSING_LABELS = ("Positive/negative class labels are missing", "Class labels are missing")


def _with_label_hint(exc: ConfigError, code_dir: CodeDir, target_type: str | None) -> ConfigError:
    """Missing labels of a lone artifact: suggest the flags from the fitted model's `classes_`."""
    if (
        not exc.message.startswith(_MISSING_LABELS)
        or code_dir.custom_py is not None
        or len(code_dir.artifacts) != 1
    ):
        return exc
    try:
        model = artifacts.load_artifact(code_dir.artifacts[0])
    except Exception:  # the load error will be reported once the labels are given
        return exc
    classes = getattr(artifacts.final_step(model), "classes_", None)
    if classes is None or len(classes) < 2:
        return exc
    import shlex

    labels = [str(c) for c in list(classes)]
    if target_type == TargetType.BINARY and len(labels) == 2:
        # scikit-learn's predict_proba column 1 is classes_[1], the positive class.
        flags = (
            f"--positive-class-label {shlex.quote(labels[1])} --negative-class-label {shlex.quote(labels[0])}"
        )
    else:
        flags = "--class-labels " + " ".join(map(shlex.quote, labels))
    return ConfigError(f"{exc.message} The model's classes_ are {labels}; for example: {flags}")


def _no_artifact(code_dir: CodeDir) -> ModelLoadError:
    """DRUM's message for a code dir without a model file; an empty folder says so instead of listing nothing."""
    return ModelLoadError(
        f"Could not find model artifact file in: {code_dir.path} supported by default predictors. "
        f"They support filenames with the following extensions {sorted(artifacts.artifact_extensions())}. "
        "If your artifact is not supported by default predictor, implement custom.load_model() hook. "
        f"List of retrieved files are: {code_dir.listing() or '(the folder has no files)'}"
    )


def _serves_without_score(hooks: Hooks, target_type: TargetType) -> bool:
    """A chat model, or a textgeneration model with score_unstructured, needs neither a score hook nor an artifact."""
    return "chat" in hooks or (target_type is TargetType.TEXT_GENERATION and "score_unstructured" in hooks)


def _only_routes(hooks: Hooks) -> str:
    routes = [
        route
        for hook, route in (("chat", "/chat/completions"), ("score_unstructured", "/predictUnstructured/"))
        if hook in hooks
    ]
    return " and ".join(routes) + "."


def _row_count(frame: Any) -> int | None:
    try:
        return len(frame)
    except TypeError:
        return None


def _with_colnames_hint(exc: HookError, frame: Any) -> HookError:
    """A hook that looked a column up by name (`data["a"]`, `data.a`) in a sparse payload sent without names."""
    if isinstance(exc.__cause__, (KeyError, AttributeError)) and artifacts.unnamed_columns(frame):
        return HookError(f"{exc.message}; the sparse input has no column names: {artifacts.COLNAMES_HINT}")
    return exc


def _require_frame(value: Any, message: str) -> None:
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise HookError(f"{message} {type(value)}")


def _unstructured_result(result: Any) -> UnstructuredResult:
    response: dict = {}
    if isinstance(result, tuple):
        if len(result) != 2:
            raise HookError(
                f"In unstructured mode predictions of type tuple must have length = 2, but received length = {len(result)}"
            )
        result, response = result
        if not isinstance(result, (str, bytes, type(None))) or not isinstance(response, (dict, type(None))):
            raise HookError(
                "In unstructured mode tuple return value must be of type (str/bytes, dict) but received "
                f"({type(result)}, {type(response)})"
            )
        response = response or {}
    elif not isinstance(result, (str, bytes, type(None))):
        raise HookError(
            f"In unstructured mode single return value can be of type str/bytes, but received {type(result)}"
        )
    if isinstance(result, bytes):
        return UnstructuredResult(
            result, response.get("mimetype") or "application/octet-stream", response.get("charset")
        )
    mimetype = response.get("mimetype") or "text/plain"
    charset = response.get("charset") or "utf-8"
    if result is None:
        return UnstructuredResult(None, mimetype, charset)
    try:
        return UnstructuredResult(result.encode(charset), mimetype, charset)
    except (LookupError, UnicodeEncodeError) as exc:
        raise HookError(f"The score_unstructured result cannot be encoded as {charset}: {exc}") from None
