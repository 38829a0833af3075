"""OpenAI chat completions and model lists against a real `drumkit server`, with the official `openai` client."""

from __future__ import annotations

import json
import signal
import threading
import time

import openai
import pytest
import requests
from openai.types.chat import ChatCompletion

from tests import genaimodels, serverproc

PREFIX = "/deployments/llm"
MESSAGES = [{"role": "user", "content": "streams do not block"}]
POLL_TIMEOUT = 20.0


def client(server, suffix: str = "") -> openai.OpenAI:
    """The official client at the server's base URL; no retries, so one request is one request."""
    return openai.OpenAI(base_url=server.base + suffix, api_key="not-needed", max_retries=0, timeout=30)


def echo(text: str) -> str:
    """What the dummy chat hook answers, computed the same way here."""
    return "Echo: " + text


def gated_stream(server, gate, text: str = MESSAGES[0]["content"]):
    """A streamed chat whose hook waits for the file `gate` after its first chunk: (first chunk, the rest)."""
    stream = client(server).chat.completions.create(
        model="dummy", messages=[{"role": "user", "content": text}], stream=True, extra_body={"gate": str(gate)})
    chunks = iter(stream)
    return next(chunks), chunks


def wait_until(condition, timeout: float = POLL_TIMEOUT, what: str = "condition"):
    return serverproc.wait_for(condition, timeout, what, interval=0.01)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("genai")


@pytest.fixture(scope="module")
def chat_dir(logs):
    return genaimodels.dummy_chat_dir(logs)


@pytest.fixture(scope="module")
def chat_server(chat_dir, logs):
    proc = serverproc.start(["--code-dir", str(chat_dir)], logs, prefix=PREFIX)
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def textgen_server(logs):
    proc = serverproc.start(["--code-dir", str(genaimodels.dummy_textgen_dir(logs))], logs,
                            env={"MLOPS_RUNTIME_PARAM_LLM_ID": json.dumps({"type": "string", "payload": "my-llm"})})
    yield proc
    assert proc.stop() == 0


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_chat_completion_whole(chat_server, suffix):
    text = "hello from the openai client"
    reply = client(chat_server, suffix).chat.completions.create(
        model="dummy", messages=[{"role": "user", "content": text}], extra_body={"datarobot_association_id": "a-1"})
    assert isinstance(reply, ChatCompletion)
    assert reply.choices[0].message.content == echo(text)
    assert reply.choices[0].finish_reason == "stop" and reply.model == "dummy"
    assert reply.model_extra["datarobot_association_id"] == "a-1"


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_chat_completion_streamed(chat_server, suffix):
    text = "one two three four"
    stream = client(chat_server, suffix).chat.completions.create(
        model="dummy", messages=[{"role": "user", "content": text}], stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == echo(text)
    assert len(chunks) == len(echo(text).split(" ")) + 1
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_is_server_sent_events_ending_with_done_on_slashed_path(chat_server):
    body = {"model": "dummy", "messages": [{"role": "user", "content": "a b"}], "stream": True}
    response = requests.post(chat_server.url("/v1/chat/completions/"), json=body, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = [block for block in response.text.split("\n\n") if block]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    contents = [json.loads(e[6:])["choices"][0]["delta"]["content"] for e in events[:-1]]
    assert "".join(contents) == echo("a b")


def test_request_headers_reach_a_hook_taking_kwargs(chat_server):
    reply = client(chat_server).chat.completions.create(
        model="dummy", messages=[{"role": "user", "content": "header"}], extra_headers={"X-Test-Header": "seen"})
    assert reply.choices[0].message.content == "header seen"


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_models_list_from_the_hook(chat_server, suffix):
    models = list(client(chat_server, suffix).models.list())
    assert [(m.id, m.owned_by, m.created) for m in models] == [("datarobot_llm_id", "tester@datarobot.com", 1744854432)]


def test_models_list_from_llm_id_runtime_parameter(textgen_server):
    models = list(client(textgen_server).models.list())
    assert [(m.id, m.object, m.owned_by) for m in models] == [("my-llm", "model", "DataRobot")]


def test_capabilities_report_chat(chat_server, textgen_server):
    assert chat_server.get("/capabilities/").json()["supported_methods"] == {"chat": True}
    assert textgen_server.get("/capabilities/").json()["supported_methods"] == {"chat": False}


def test_hook_exception_is_a_500_with_its_message(chat_server):
    with pytest.raises(openai.InternalServerError) as info:
        client(chat_server).chat.completions.create(model="dummy", messages=[{"role": "user", "content": "raise"}])
    assert info.value.status_code == 500
    assert info.value.body == {"message": "ERROR: the chat hook failed on purpose"}


def test_hook_failing_mid_stream_ends_it_with_an_error_the_client_raises(chat_server):
    stream = client(chat_server).chat.completions.create(
        model="dummy", messages=[{"role": "user", "content": "midfail"}], stream=True)
    chunks = iter(stream)
    assert next(chunks).choices[0].delta.content == "Echo:"
    with pytest.raises(openai.APIError) as info:
        next(chunks)
    assert info.value.message == "the stream broke on purpose"
    assert chat_server.get("/ping/").status_code == 200


def test_custom_http_error_keeps_its_status(chat_server):
    with pytest.raises(openai.APIStatusError) as info:
        client(chat_server).chat.completions.create(model="dummy", messages=[{"role": "user", "content": "teapot"}])
    assert info.value.status_code == 418
    assert info.value.body == {"message": "custom teapot"}
    assert info.value.response.headers["X-Drum-User-Http-Error"] == "true"


@pytest.mark.parametrize("content, content_type, status, error, text", [
    (b'{"model": "dummy", ', "application/json", 400, openai.BadRequestError, "not valid JSON"),
    (b"model=dummy", "application/x-www-form-urlencoded", 415, openai.APIStatusError, "must be JSON"),
])
def test_malformed_or_non_json_body(chat_server, content, content_type, status, error, text):
    with pytest.raises(error) as info:
        client(chat_server).post("/chat/completions", cast_to=ChatCompletion, content=content,
                                 options={"headers": {"Content-Type": content_type}})
    assert info.value.status_code == status
    assert text in info.value.body["message"]


def test_no_chat_hook_is_a_json_404_naming_chat(textgen_server):
    with pytest.raises(openai.NotFoundError) as info:
        client(textgen_server, "/v1").chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.body == {"message": "ERROR: This model's chat interface was called, but chat() is not implemented."}
    assert info.value.response.headers["Content-Type"] == "application/json"


def test_chat_routes_live_under_the_prefix_only(chat_server):
    outside = requests.post(f"http://127.0.0.1:{chat_server.port}/chat/completions", json={}, timeout=10)
    assert outside.status_code == 404 and outside.headers["Content-Type"] == "application/json"


def test_first_chunk_arrives_before_the_last_is_produced(chat_server, tmp_path):
    # The hook yields its first chunk, then waits for the gate file, which exists only once we hold that chunk.
    gate = tmp_path / "gate"
    first, chunks = gated_stream(chat_server, gate, "first then rest")
    assert first.choices[0].delta.content == "Echo:"
    assert not gate.exists()
    gate.write_text("open")
    rest = list(chunks)
    assert "".join(c.choices[0].delta.content or "" for c in [first, *rest]) == echo("first then rest")


def test_client_going_away_stops_the_hooks_iteration(chat_server, tmp_path):
    marker = tmp_path / "closed"
    body = {"model": "dummy", "messages": MESSAGES, "stream": True, "endless": str(marker)}
    with requests.post(chat_server.url("/chat/completions"), json=body, stream=True, timeout=30) as response:
        lines = response.iter_lines()
        assert next(lines).startswith(b"data: ")
    sent = int(wait_until(lambda: marker.exists() and marker.read_text(), what="the hook's generator closing"))
    assert sent >= 1 and marker.read_text() == str(sent)


def test_an_open_stream_does_not_block_other_requests(chat_server, tmp_path):
    gate = tmp_path / "gate"
    _, chunks = gated_stream(chat_server, gate)  # the stream is open and its hook waits until the gate opens
    try:
        for path in ("/ping/", "/health/", "/info/"):
            assert requests.get(chat_server.url(path), timeout=5).status_code == 200
        prediction = requests.post(chat_server.url("/predict/"), data=b"input\nabc\n",
                                   headers={"Content-Type": "text/csv"}, timeout=5)
        assert prediction.json() == {"predictions": ["cba"]}
        other = client(chat_server).chat.completions.create(model="dummy", messages=[{"role": "user", "content": "x"}])
        assert other.choices[0].message.content == echo("x")
    finally:
        gate.write_text("open")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == echo(MESSAGES[0]["content"])[len("Echo:"):]


def test_sigterm_lets_an_open_stream_finish(chat_dir, logs, tmp_path):
    server = serverproc.start(["--code-dir", str(chat_dir), "--max-workers", "2"], logs)
    gate = tmp_path / "gate"
    _, chunks = gated_stream(server, gate)
    server.proc.send_signal(signal.SIGTERM)
    # Stopping: new connections are refused while the stream stays open.
    wait_until(lambda: _refused(server), what="the server to stop accepting")
    gate.write_text("open")
    rest = list(chunks)
    assert "".join(c.choices[0].delta.content or "" for c in rest) == echo(MESSAGES[0]["content"])[len("Echo:"):]
    assert server.proc.wait(timeout=30) == 0


def test_sigterm_closes_a_stream_that_outlives_the_drain_timeout(chat_dir, logs, tmp_path):
    server = serverproc.start(["--code-dir", str(chat_dir), "--drain-timeout", "1"], logs)
    _, chunks = gated_stream(server, tmp_path / "never-opened")
    outcome: list = []

    def read_rest():
        try:
            outcome.append(list(chunks))
        except Exception as exc:  # the connection is cut mid-stream
            outcome.append(exc)

    reader = threading.Thread(target=read_rest, daemon=True)
    reader.start()
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 15  # the 1 s drain bound plus shutdown, far below the hook's 60 s wait
    reader.join(timeout=10)
    assert outcome and not (isinstance(outcome[0], list) and outcome[0] and outcome[0][-1].choices[0].finish_reason)
    assert "still open after 1s" in server.stderr()


def _refused(server) -> bool:
    """No worker answers /ping/ any more: refused, or (the supervisor still holding the socket) left unanswered."""
    try:
        requests.get(server.url("/ping/"), timeout=2)
    except (requests.ConnectionError, requests.Timeout):
        return True
    return False
