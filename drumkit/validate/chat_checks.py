"""Validation of a chat hook: one chat.completions request answered whole, then the same one streamed."""

from __future__ import annotations

import time

from drumkit.validate.model_checks import failure_text
from drumkit.validate.report import CheckResult, Status

CHAT = "Chat completion"
PROMPT = "Say hello."


def chat_check(predictor) -> CheckResult:
    """The chat hook answers a one-message request with a completion, and streams chunks when asked."""
    params = {"model": _model_id(predictor), "messages": [{"role": "user", "content": PROMPT}]}
    started = time.perf_counter()
    try:
        reply = predictor.chat(dict(params), {})
        whole = _completion_text(reply.completion) if not reply.streaming else _streamed_text(reply.chunks)[0]
        streamed = predictor.chat({**params, "stream": True}, {})
        if streamed.streaming:
            text, chunks = _streamed_text(streamed.chunks)
            stream_note = f"streamed {chunks} chunk(s), {len(text)} characters"
        else:
            stream_note = "answered a streaming request with one whole completion"
    except Exception as exc:
        return CheckResult(
            CHAT,
            Status.FAILED,
            f"the chat hook failed: {failure_text(exc)}",
            seconds=time.perf_counter() - started,
        )
    return CheckResult(
        CHAT,
        Status.PASSED,
        f"answered {len(whole)} characters; {stream_note}",
        seconds=time.perf_counter() - started,
    )


def _model_id(predictor) -> str:
    """The first model the model lists, else a placeholder name."""
    try:
        models = predictor.supported_models()["data"]
    except Exception:
        models = []
    return str(models[0].get("id")) if models and isinstance(models[0], dict) else "drumkit-validate"


def _completion_text(completion: dict) -> str:
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("the completion has no choices")
    message = choices[0].get("message") or {}
    return str(message.get("content") or "")


def _streamed_text(chunks) -> tuple[str, int]:
    parts, count = [], 0
    for chunk in chunks:
        count += 1
        for choice in chunk.get("choices") or ():
            parts.append(str((choice.get("delta") or {}).get("content") or ""))
    return "".join(parts), count
