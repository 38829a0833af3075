"""A chat model served the OpenAI way: `chat` answers /chat/completions (whole or streamed), `score` a prompt CSV.

As generated it runs a toy generator, with no network and nothing to install: a bigram model
learned from `corpus.txt` that continues the prompt greedily, word by word. Replace
`load_model` with your client or model (an OpenAI client, a local LLM...) and the two hooks
with calls to it. The hooks may return the `openai` package's types (ChatCompletion,
ChatCompletionChunk, Model; `pip install 'drumkit[genai]'`) or, as here, dicts of the same shape.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid

MAX_WORDS = 24
MODEL_ID = "toy-bigram"


class ToyGenerator:
    """Greedy bigram text: the most frequent unused follower of each word in the corpus, ties alphabetical."""

    def __init__(self, text: str):
        self.words = text.split()
        self.followers: dict[str, dict[str, int]] = {}
        for word, follower in itertools.pairwise(self.words):
            counts = self.followers.setdefault(word.lower(), {})
            counts[follower] = counts.get(follower, 0) + 1

    def generate(self, prompt: str, max_words: int = MAX_WORDS):
        """Yield up to `max_words` words continuing the last prompt word the corpus knows."""
        known = [w for w in str(prompt).split() if w.lower() in self.followers]
        word = known[-1] if known else self.words[0]
        used: set[tuple[str, str]] = set()  # each word pair once, so the text never loops
        for _ in range(max_words):
            counts = self.followers.get(word.lower(), {})
            fresh = [w for w in counts if (word.lower(), w) not in used]
            if not fresh:
                return
            follower = min(fresh, key=lambda w: (-counts[w], w))
            used.add((word.lower(), follower))
            word = follower
            yield word


def init(code_dir: str, **kwargs) -> None:
    """Called once, before load_model: set up anything the model needs."""


def load_model(code_dir: str):
    """Return the object the other hooks receive as `model` (it must not be None)."""
    with open(os.path.join(code_dir, "corpus.txt"), encoding="utf-8") as handle:
        return ToyGenerator(handle.read())


def score(data, model, **kwargs):
    """Generate text for each row of a prompt CSV (column `promptText`); one `Predictions` column of text."""
    import pandas as pd

    prompts = data["promptText"] if "promptText" in data.columns else data.iloc[:, 0]
    return pd.DataFrame({"Predictions": [" ".join(model.generate(p)) for p in prompts.fillna("")]})


def get_supported_llm_models(model):
    """The models GET /models lists."""
    return [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "drumkit"}]


def chat(completion_create_params, model, **kwargs):
    """Answer an OpenAI chat.completions request: a whole completion, or chunks when `stream` is true.

    `completion_create_params` is the request body (model, messages, stream, ...); kwargs carry
    the request `headers` in the server.
    """
    messages = completion_create_params.get("messages") or [{}]
    prompt = messages[-1].get("content") or ""
    words = list(model.generate(prompt, int(completion_create_params.get("max_tokens") or MAX_WORDS)))
    answer = {"id": "chatcmpl-" + uuid.uuid4().hex, "created": int(time.time()),
              "model": completion_create_params.get("model") or MODEL_ID}
    if completion_create_params.get("stream"):
        return _chunks(answer, words)
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(words),
             "total_tokens": len(prompt.split()) + len(words)}
    message = {"role": "assistant", "content": " ".join(words)}
    return {**answer, "object": "chat.completion", "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}


def _chunks(answer: dict, words: list[str]):
    """One chunk per word as it is generated, then an empty one carrying the finish reason."""
    for i, word in enumerate(words):
        delta = {"role": "assistant", "content": word if i == 0 else " " + word}
        yield {**answer, "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**answer, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
