"""GenAI code dirs written for the tests, shaped like DRUM's python3_dummy_chat and python3_dummy_textgen templates.

The chat hook echoes the last message. A few request fields steer it, so one server covers many cases:
`gate` (a file path: after the first chunk, wait until the file exists), `endless` (a file path:
stream until the client goes away, then write how many chunks were sent there), and the message
texts `raise` (the hook fails), `teapot` (CustomHTTPError 418) and `midfail` (the stream fails after
its first chunk).
"""

from __future__ import annotations

from pathlib import Path

from tests.modelzoo import write

GATE_TIMEOUT = 60.0

DUMMY_CHAT_CUSTOM = '''
import calendar
import os
import time
import uuid

import pandas as pd
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice, ChoiceDelta
from openai.types.model import Model

from drumkit import CustomHTTPError

GATE_TIMEOUT = %(gate_timeout)r


def get_supported_llm_models(model):
    return [Model(id="datarobot_llm_id", created=1744854432, object="model", owned_by="tester@datarobot.com")]


def load_model(code_dir):
    return "dummy"


def score(data, model, **kwargs):
    return pd.DataFrame({"output": ["".join(reversed(text)) for text in data["input"]]})


def reply_text(params, headers):
    text = params["messages"][-1]["content"]
    if text == "raise":
        raise ValueError("the chat hook failed on purpose")
    if text == "teapot":
        raise CustomHTTPError("custom teapot", status_code=418)
    if text == "header":
        return "header " + headers.get("X-Test-Header", "missing")
    return "Echo: " + text


def chat(completion_create_params, model, **kwargs):
    params = completion_create_params
    text = reply_text(params, kwargs["headers"])
    if params.get("stream"):
        return stream(params, text)
    return ChatCompletion(
        id="chatcmpl-" + uuid.uuid4().hex,
        choices=[Choice(finish_reason="stop", index=0, message=ChatCompletionMessage(role="assistant", content=text))],
        created=calendar.timegm(time.gmtime()),
        model=params["model"],
        object="chat.completion",
    )


def chunk(params, content, finish=None):
    return ChatCompletionChunk(
        id="chatcmpl-stream",
        choices=[ChunkChoice(index=0, delta=ChoiceDelta(role="assistant", content=content), finish_reason=finish)],
        created=calendar.timegm(time.gmtime()),
        model=params["model"],
        object="chat.completion.chunk",
    )


def wait_for(path):
    deadline = time.monotonic() + GATE_TIMEOUT
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("the gate file never appeared: " + path)
        time.sleep(0.01)


def stream(params, text):
    if params.get("endless"):
        sent = 0
        try:
            while True:
                yield chunk(params, "tick ")
                sent += 1
                time.sleep(0.02)
        finally:
            with open(params["endless"], "w") as handle:
                handle.write(str(sent))
    words = text.split(" ")
    if text == "Echo: midfail":
        yield chunk(params, "Echo:")
        raise RuntimeError("the stream broke on purpose")
    for i, word in enumerate(words):
        yield chunk(params, word if i == 0 else " " + word)
        if i == 0 and params.get("gate"):
            wait_for(params["gate"])
    yield chunk(params, "", finish="stop")
'''

DUMMY_TEXTGEN_CUSTOM = '''
import pandas as pd


def load_model(code_dir):
    return "dummy"


def score(data, model, **kwargs):
    return pd.DataFrame({"output": ["".join(reversed(text)) for text in data["input"]]})
'''

# A textgeneration model with extra output: TARGET_NAME picks the prediction column.
TEXTGEN_EXTRA_CUSTOM = '''
import pandas as pd


def load_model(code_dir):
    return "dummy"


def score(data, model, **kwargs):
    texts = list(data["input"])
    return pd.DataFrame({"completion": [t.upper() for t in texts], "length": [len(t) for t in texts]})


def score_unstructured(model, data, **kwargs):
    return "unstructured: " + data.upper()
'''

PROMPTS = ["hello world", "drumkit streams", "ünïcode ok"]


def prompt_csv(path: Path) -> Path:
    """A prompt CSV with an `input` column, as DRUM's text generation examples take."""
    import pandas as pd

    pd.DataFrame({"input": PROMPTS}).to_csv(path, index=False)
    return path


def code_dir(root: Path, name: str, custom: str, target_type: str | None = None) -> Path:
    """Write `custom.py` (and a metadata file naming the target type) into root/name."""
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    write(path, "custom.py", custom)
    if target_type:
        write(path, "model-metadata.yaml", f'name: {name}\ntargetType: "{target_type}"\ntype: "inference"\n')
    return path


def dummy_chat_dir(root: Path) -> Path:
    """Like DRUM's python3_dummy_chat: textgeneration with score, chat (openai types) and a model list."""
    return code_dir(root, "dummy_chat", DUMMY_CHAT_CUSTOM % {"gate_timeout": GATE_TIMEOUT}, "textgeneration")


def dummy_textgen_dir(root: Path) -> Path:
    """Like DRUM's python3_dummy_textgen: a score hook reversing each prompt, target type from metadata."""
    return code_dir(root, "dummy_textgen", DUMMY_TEXTGEN_CUSTOM, "textgeneration")


def textgen_extra_dir(root: Path) -> Path:
    """A textgeneration model returning a `completion` column plus extra output, and score_unstructured."""
    return code_dir(root, "textgen_extra", TEXTGEN_EXTRA_CUSTOM)


def reversed_prompts() -> list[str]:
    """What the dummy models answer for PROMPTS, computed the same way in-process."""
    return ["".join(reversed(text)) for text in PROMPTS]


# A chat model with known pacing: the first token after FIRST_TOKEN_S, the next ones TOKEN_GAP_S apart.
PACED_CHAT_CUSTOM = '''
import time

FIRST_TOKEN_S = %(first)r
TOKEN_GAP_S = %(gap)r
WORDS = %(words)r


def chat(completion_create_params, model):
    if completion_create_params.get("stream"):
        return tokens()
    time.sleep(FIRST_TOKEN_S + TOKEN_GAP_S * (len(WORDS) - 1))
    return {"object": "chat.completion", "id": "c", "created": 0, "model": "paced",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": " ".join(WORDS)}}]}


def tokens():
    for i, word in enumerate(WORDS):
        time.sleep(FIRST_TOKEN_S if i == 0 else TOKEN_GAP_S)
        yield {"object": "chat.completion.chunk", "id": "c", "created": 0, "model": "paced",
               "choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word}, "finish_reason": None}]}
'''
FIRST_TOKEN_S, TOKEN_GAP_S = 0.2, 0.05
PACED_WORDS = ["one", "two", "three", "four", "five"]


def paced_chat_dir(root: Path) -> Path:
    """A chat-only agentic workflow whose hook paces its tokens (for perf figures with known lower bounds)."""
    custom = PACED_CHAT_CUSTOM % {"first": FIRST_TOKEN_S, "gap": TOKEN_GAP_S, "words": PACED_WORDS}
    return code_dir(root, "paced_chat", custom, "agenticworkflow")
