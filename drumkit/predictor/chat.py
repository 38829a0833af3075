"""The `chat` and `get_supported_llm_models` hooks: OpenAI chat completions and model lists as plain dicts.

A hook may return the `openai` package's types (ChatCompletion, ChatCompletionChunk, Model) or dicts
of the same shape; everything leaves here as dicts, so serving them never needs `openai` itself.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drumkit.errors import HookError
from drumkit.predictor.hooks import unwrapped_failures

log = logging.getLogger("drumkit.predictor")

COMPLETION = "chat.completion"
CHUNK = "chat.completion.chunk"
# What DRUM lists for the LLM_ID runtime parameter (2025-01-01T00:00:00Z).
LLM_ID_CREATED = 1735689600
LLM_ID_OWNER = "DataRobot"
ASSOCIATION_ID = "datarobot_association_id"


@dataclass
class ChatReply:
    """A chat hook's answer: one whole completion, or chunks to stream as they come."""

    completion: dict | None = None
    chunks: Iterator[dict] | None = None

    @property
    def streaming(self) -> bool:
        """True when the hook returned chunks."""
        return self.chunks is not None


def call_chat(
    chat: Callable, model: Any, params: Mapping[str, Any], headers: Mapping[str, str] | None
) -> ChatReply:
    """Call `chat(params, model[, headers=...])` and check its answer is a completion or chunks (DRUM 3)."""
    result = _run(chat, params, model, **_header_kwargs(chat, headers))
    if _kind(result) == COMPLETION:
        completion = as_dict(result)
        # DRUM tags every completion with the request's association id (or a fresh one).
        completion.setdefault(ASSOCIATION_ID, params.get(ASSOCIATION_ID) or str(uuid.uuid4()))
        return ChatReply(completion=completion)
    if _is_iterable(result):
        iterator = iter(result)
        with unwrapped_failures():
            first = next(iterator, None)
        if first is None:
            return ChatReply(chunks=iter(()))
        if _kind(first) != CHUNK:
            _close(iterator)
            raise _unexpected(first, "first chunk")
        return ChatReply(chunks=_chunk_dicts(first, iterator))
    raise _unexpected(result, "response")


def supported_models(hook: Callable | None, model: Any, llm_id: str | None) -> dict:
    """The OpenAI model list: the hook's models, else the LLM_ID runtime parameter, else none."""
    if hook is not None:
        listed = _run(hook, model)
        data = [entry for entry in map(_model_entry, listed or ()) if entry is not None]
    elif llm_id:
        data = [{"id": llm_id, "object": "model", "created": LLM_ID_CREATED, "owned_by": LLM_ID_OWNER}]
    else:
        data = []
    return {"object": "list", "data": data}


def as_dict(value: Any) -> dict:
    """An OpenAI object (pydantic) or a mapping as a JSON-ready dict."""
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_dict(mode="json")
        except TypeError:
            return to_dict()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    raise HookError(f"Cannot turn {type(value)} into JSON")


def _run(hook: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a hook (awaiting it when it is a coroutine function); its exceptions keep their own text, as in DRUM."""
    with unwrapped_failures():
        result = hook(*args, **kwargs)
        if inspect.iscoroutine(result):
            import asyncio

            result = asyncio.run(result)
    return result


def _header_kwargs(chat: Callable, headers: Mapping[str, str] | None) -> dict:
    """DRUM passes the request headers only to a chat hook that takes a third parameter."""
    try:
        parameters = inspect.signature(chat).parameters.values()
    except (TypeError, ValueError):
        return {}
    takes_more = (
        any(p.kind is p.VAR_KEYWORD or p.name == "headers" for p in parameters) or len(parameters) > 2
    )
    return {"headers": dict(headers or {})} if takes_more else {}


def _kind(value: Any) -> str | None:
    """`chat.completion`, `chat.completion.chunk`, or None for anything else."""
    if isinstance(value, Mapping):
        kind = value.get("object")
        if kind is None and "choices" in value:
            kind = (
                CHUNK if any("delta" in c for c in value["choices"] if isinstance(c, Mapping)) else COMPLETION
            )
        return kind if kind in (COMPLETION, CHUNK) else None
    if type(value).__name__ == "ChatCompletionChunk":
        return CHUNK
    kind = getattr(value, "object", None)
    return kind if kind in (COMPLETION, CHUNK) else None


def _is_iterable(value: Any) -> bool:
    return not isinstance(value, (str, bytes, Mapping)) and hasattr(value, "__iter__")


def _chunk_dicts(first: Any, rest: Iterator[Any]) -> Iterator[dict]:
    """Each chunk as a dict as the hook yields it; closing this closes the hook's iterator."""
    try:
        for chunk in itertools.chain((first,), _guarded(rest)):
            if _kind(chunk) != CHUNK:
                raise _unexpected(chunk, "chunk")
            yield as_dict(chunk)
    finally:
        _close(rest)


def _guarded(iterator: Iterator[Any]) -> Iterator[Any]:
    """The hook's iterator, with its exceptions in DRUM's words (the exception text)."""
    sentinel = object()
    while True:
        with unwrapped_failures():
            chunk = next(iterator, sentinel)
        if chunk is sentinel:
            return
        yield chunk


def _close(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # a hook failing while it is being stopped changes nothing for the client
            log.debug("closing the chat hook's iterator failed", exc_info=True)


def _model_entry(value: Any) -> dict | None:
    """One model of the list; a bare id string is accepted too (DRUM drops anything but Model objects)."""
    if isinstance(value, str):
        return {"id": value, "object": "model", "created": LLM_ID_CREATED, "owned_by": LLM_ID_OWNER}
    kind = value.get("object") if isinstance(value, Mapping) else getattr(value, "object", None)
    if kind != "model":
        log.warning(
            "get_supported_llm_models returned %s, which is not a model; it is left out", type(value).__name__
        )
        return None
    return as_dict(value)


def _unexpected(value: Any, what: str) -> HookError:
    return HookError(
        "Expected response to be ChatCompletion or Iterable[ChatCompletionChunk]. "
        f"The chat hook's {what} is {type(value).__module__}.{type(value).__qualname__}"
    )
