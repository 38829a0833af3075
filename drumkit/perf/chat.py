"""Perf for chat models: time to first token, inter-token latency, tokens/s and total latency, streamed or whole.

Tokens are the model's own count (`usage.completion_tokens`) when it reports one; otherwise a
streamed answer counts its content chunks (one token each, as LLM servers send them) and a whole
answer its words.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumkit.perf.client import HttpClient
from drumkit.perf.report import CaseResult, percentile
from drumkit.perf.runner import read_stats, server_timings

CHAT_PATH = "/chat/completions"
DEFAULT_PROMPT = "Tell me about drum kits in three sentences."
DEFAULT_ITERATIONS = 20
PROMPT_COLUMNS = ("promptText", "prompt", "input", "text", "question")
CHAT_FIELDS = ("tokens", "tokens_per_s", "ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s")


@dataclass
class ChatCaseResult(CaseResult):
    """A chat case: `times` are total latencies; plus first-token times, gaps between tokens and token counts."""

    streaming: bool = False
    first_token: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The common view plus the LLM figures."""
        out = super().to_dict()
        out.pop("rows_per_s", None)
        total_tokens, total_time = sum(self.tokens), sum(self.times)
        first, gaps = sorted(self.first_token), sorted(self.gaps)
        out.update(
            {
                "streaming": self.streaming,
                "tokens": total_tokens,
                "tokens_per_s": total_tokens / total_time if total_time > 0 and self.tokens else None,
                "ttft_p50_s": _pct(first, 50),
                "ttft_p99_s": _pct(first, 99),
                "itl_p50_s": _pct(gaps, 50),
                "itl_p99_s": _pct(gaps, 99),
            }
        )
        return out


def _pct(values: list[float], q: float) -> float | None:
    return percentile(values, q) if values else None


def load_prompts(path: Path | None) -> list[str]:
    """Prompts from a CSV (a prompt-like column, else the first) or a text file (one a line); a default without."""
    if path is None:
        return [DEFAULT_PROMPT]
    from drumkit.errors import UsageError

    if path.suffix.lower() in (".txt", ".text", ".md"):
        prompts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from drumkit.predictor import codecs

        frame = codecs.decode(path.read_bytes(), codecs.format_for_filename(path.name))
        column = next(
            (c for c in PROMPT_COLUMNS if c in frame.columns), frame.columns[0] if frame.shape[1] else None
        )
        prompts = [str(v) for v in frame[column].dropna().tolist()] if column is not None else []
    if not prompts:
        raise UsageError(f"{path} has no prompts to send")
    return prompts


def chat_body(model: str, prompt: str, stream: bool) -> bytes:
    """A one-message chat.completions request."""
    return json.dumps(
        {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    ).encode()


def run_chat_case(
    client: HttpClient,
    model: str,
    prompts: list[str],
    iterations: int,
    stream: bool,
    timeout: float,
    progress: Callable[[Any, int], None] | None = None,
    alive: Callable[[], bool] | None = None,
) -> ChatCaseResult:
    """Send `iterations` chat requests (cycling through the prompts) and time each one."""
    name = "chat, streamed" if stream else "chat, whole"
    result = ChatCaseResult(name, 1, iterations, streaming=stream)
    before = server_timings(client)
    deadline = time.monotonic() + timeout
    for i in range(iterations):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.error = (
                f"timed out after {timeout:g}s ({len(result.times)} of {iterations} iterations done)"
            )
            break
        body = chat_body(model, prompts[i % len(prompts)], stream)
        try:
            sample = _one_request(client, body, stream, remaining)
        except (OSError, http.client.HTTPException) as exc:
            result.error = (
                "the server exited during the case"
                if alive is not None and not alive()
                else f"connection failed: {type(exc).__name__}: {exc}"
            )
            break
        except ValueError as exc:
            result.error = str(exc)
            break
        total, first, gaps, tokens = sample
        result.times.append(total)
        result.first_token.append(first)
        result.gaps.extend(gaps)
        result.tokens.append(tokens)
        if progress:
            progress(result, len(result.times))
    read_stats(client, result, before)
    return result


def _one_request(
    client: HttpClient, body: bytes, stream: bool, timeout: float
) -> tuple[float, float, list[float], int]:
    """(total seconds, first-token seconds, gaps between tokens, tokens) of one request; ValueError on a bad answer."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
    }
    started = time.perf_counter()
    response = client.open("POST", CHAT_PATH, body=body, headers=headers, timeout=timeout)
    try:
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}: {_message(response.read())}")
        if not response.getheader("Content-Type", "").startswith("text/event-stream"):
            answer = response.read()
            total = time.perf_counter() - started
            return total, total, [], _whole_tokens(answer)
        arrivals, usage = _read_events(response, started)
        total = time.perf_counter() - started
    finally:
        response.close()
    if not arrivals:
        raise ValueError("the stream carried no content")
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    return total, arrivals[0], gaps, usage if usage is not None else len(arrivals)


def _read_events(response, started: float) -> tuple[list[float], int | None]:
    """Arrival times (seconds since `started`) of the chunks carrying content, and any reported token usage."""
    arrivals: list[float] = []
    usage = None
    for raw in iter(response.readline, b""):
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        now = time.perf_counter() - started
        try:
            chunk = json.loads(data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise ValueError("a stream event is not a JSON object")
        if chunk.get("error"):
            error = chunk["error"]
            raise ValueError(
                f"the stream failed: {error.get('message') if isinstance(error, dict) else error}"
            )
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            choices = []
        if any(isinstance(c, dict) and (c.get("delta") or {}).get("content") for c in choices):
            arrivals.append(now)
        reported = chunk.get("usage")
        tokens = reported.get("completion_tokens") if isinstance(reported, dict) else None
        usage = tokens if isinstance(tokens, int) else usage
    return arrivals, usage


def _whole_tokens(answer: bytes) -> int:
    try:
        completion = json.loads(answer)
        tokens = (completion.get("usage") or {}).get("completion_tokens")
        if isinstance(tokens, int):
            return tokens
        content = completion["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ValueError("the answer is not a chat completion") from None
    return len(content.split())


def _message(answer: bytes) -> str:
    try:
        parsed = json.loads(answer)
        text = parsed.get("message") if isinstance(parsed, dict) else None
    except ValueError:
        text = None
    text = text if isinstance(text, str) else answer[:300].decode("utf-8", "replace")
    return " ".join(text.split())


def first_model_id(client: HttpClient) -> str:
    """The first model the server lists (GET /models), else a placeholder."""
    listed = client.get_json("/models")
    data = listed.get("data") if isinstance(listed, dict) else None
    if data and isinstance(data[0], dict) and data[0].get("id"):
        return str(data[0]["id"])
    return "drumkit-perf"
