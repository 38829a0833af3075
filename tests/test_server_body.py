"""A request body while it arrives and after: joined once when small, one buffer when large, bytes for every hook."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from werkzeug.test import EnvironBuilder

from drumkit.predictor import codecs
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.server.app import create_app
from drumkit.server import body as body_module
from drumkit.server.body import BodyChunks, SharedBody
from tests import servermodels
from tests.modelzoo import write

BINARY_TYPE_CUSTOM = '''
import pandas as pd


def score(data, model, **kwargs):
    out = pd.DataFrame({"Predictions": data["a"].astype(float)})
    out["binary_data"] = type(kwargs.get("binary_data")).__name__
    return out
'''


@pytest.fixture(autouse=True)
def fresh_large_body_buffer(monkeypatch):
    monkeypatch.setattr(body_module, "_LARGE_BODY", body_module.LargeBodyBuffer())


def received(size: int, pieces: int = 7) -> tuple[bytes, BodyChunks]:
    body = bytes(i % 251 for i in range(size))
    chunks = BodyChunks(size)
    step = size // pieces + 1
    for start in range(0, size, step):
        chunks.append(body[start:start + step])
    return body, chunks


def test_a_small_body_is_joined_once_into_bytes_the_file_shares():
    body, chunks = received(body_module.IN_PLACE_BYTES - 1)
    assert chunks.room(100) is None and chunks.exact is None
    stream = chunks.getfile()
    assert isinstance(stream, io.BytesIO) and len(chunks) == len(body)
    assert stream.getvalue() == body


def take_in_place(chunks: BodyChunks, data: bytes) -> None:
    """What the channel does with `room`: the socket writes into the view, which then goes to `append`."""
    room = chunks.room(len(data))
    room[:] = data
    chunks.append(room)


def test_a_medium_body_is_received_into_the_bytes_the_file_shares_no_join():
    body = bytes(i % 251 for i in range(300_000))
    chunks = BodyChunks(len(body))
    assert chunks.exact is None  # nothing is made for a length only declared
    chunks.append(body[:1000])  # the read that ended the headers brings the first bytes
    take_in_place(chunks, body[1000:150_000])
    take_in_place(chunks, body[150_000:])
    assert chunks.room(10) is None and len(chunks) == len(body)  # full: no room past the declared length
    stream = chunks.getfile()
    assert stream.getvalue() is chunks.exact and type(chunks.exact) is bytes
    assert stream.getvalue() == body and chunks.chunks == []


def test_a_large_body_is_received_into_the_large_buffer():
    body = bytes(i % 251 for i in range(codecs.BODY_SPLIT_BYTES + 4321))
    chunks = BodyChunks(len(body))
    take_in_place(chunks, body[:5_000_000])
    chunks.append(body[5_000_000:5_000_100])
    take_in_place(chunks, body[5_000_100:])
    stream = chunks.getfile()
    assert isinstance(stream, SharedBody) and stream.shared is chunks.whole and stream.shared == body
    chunks.close()
    assert body_module._LARGE_BODY.take(10) is not None  # handed back, and resizable: no view left on it


@pytest.mark.parametrize("size", [0, 1, 2, 70_000])
def test_unfilled_bytes_are_new_bytes_written_through_the_view(size):
    made = body_module.unfilled_bytes(size)
    if size < 2:
        assert made is None  # the empty and one-byte bytes may be shared objects
        return
    data, view = made
    view[:] = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert type(data) is bytes and data == bytes(view) and len(data) == size


def test_a_body_read_in_blocks_is_received_into_one_buffer_that_reads_as_a_file():
    body, chunks = received(codecs.BODY_SPLIT_BYTES + 12_345)
    stream = chunks.getfile()
    assert isinstance(stream, SharedBody) and chunks.chunks == []
    assert stream.shared == body and isinstance(stream.shared, bytearray)
    assert stream.read(10) == body[:10] and stream.tell() == 10
    assert stream.read() == body[10:]
    assert stream.read() == b""
    stream.seek(-5, io.SEEK_END)
    assert stream.read() == body[-5:]
    assert chunks.getfile().read() == body  # getfile starts over


def call(app, path: str, body: bytearray, content_type: str, query: str = "") -> tuple[str, bytes]:
    """One WSGI call whose wsgi.input is a received buffer, as the server hands large bodies over."""
    environ = EnvironBuilder(path=path, method="POST", query_string=query, content_type=content_type).get_environ()
    environ.update({"wsgi.input": SharedBody(body), "CONTENT_LENGTH": str(len(body))})
    seen = []
    answer = b"".join(app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], answer


@pytest.fixture(scope="module")
def binary_type_predictor(tmp_path_factory):
    code_dir = tmp_path_factory.mktemp("binary_type")
    write(code_dir, "custom.py", BINARY_TYPE_CUSTOM)
    return Predictor.from_settings(ModelSettings(code_dir=code_dir, target_type="regression"))


def test_the_lean_path_predicts_from_the_buffer_and_score_gets_bytes(binary_type_predictor):
    data = pd.DataFrame({"a": range(50)}).to_csv(index=False).encode()
    status, answer = call(create_app(binary_type_predictor), "/predict/", bytearray(data), "text/csv")
    assert status == "200 OK", answer
    body = json.loads(answer)
    assert body["predictions"] == [float(v) for v in range(50)]
    extra = body["extraModelOutput"]
    assert extra["columns"] == ["binary_data"] and {row[0] for row in extra["data"]} == {"bytes"}


def test_a_buffer_predicted_whole_reaches_score_as_bytes_and_in_blocks_as_none(binary_type_predictor):
    data = pd.DataFrame({"a": range(3000)}).to_csv(index=False).encode()
    whole = binary_type_predictor.predict_payload(bytearray(data), codecs.CSV)
    blocks = binary_type_predictor.predict_payload(bytearray(data), codecs.CSV, block_bytes=2048, split_bytes=2048)
    pd.testing.assert_frame_equal(blocks.frame, whole.frame, check_exact=True)
    assert set(whole.extra["binary_data"]) == {"bytes"} and set(blocks.extra["binary_data"]) == {"NoneType"}


def test_routes_flask_answers_read_the_buffer_whole(tmp_path_factory):
    code_dir = servermodels.unstructured_dir(tmp_path_factory.mktemp("unstructured"))
    app = create_app(Predictor.from_settings(ModelSettings(code_dir=code_dir)))
    body = bytearray(b"x" * 300_000)
    status, answer = call(app, "/predictUnstructured/", body, "application/octet-stream", "mode=echo")
    assert status == "200 OK", answer
    assert json.loads(answer)["type"] == "bytes" and json.loads(answer)["len"] == len(body)


def test_the_next_large_body_reuses_the_last_ones_buffer_resized_in_place():
    _, first = received(codecs.BODY_SPLIT_BYTES + 1000)
    buffer = first.whole
    assert buffer is not None
    first.close()
    body, second = received(codecs.BODY_SPLIT_BYTES + 10)  # smaller: the same buffer, cut in place
    assert second.whole is buffer and second.getfile().read() == body
    second.close()
    body, third = received(codecs.BODY_SPLIT_BYTES + 500)
    assert third.whole is buffer and bytes(third.whole) == body
    view = memoryview(third.whole)  # a view still held (a frame the model kept): never resized under it
    third.close()
    body, fourth = received(codecs.BODY_SPLIT_BYTES + 20)
    assert fourth.whole is not buffer and fourth.getfile().read() == body
    assert len(buffer) == codecs.BODY_SPLIT_BYTES + 500  # left as it was
    view.release()
    fourth.close()


def test_one_large_body_at_a_time_gets_the_buffer_the_others_are_kept_as_received():
    size = codecs.BODY_SPLIT_BYTES + 5
    holder, other = BodyChunks(size), BodyChunks(60 * 1024 * 1024)
    buffer = holder.whole
    assert buffer is not None and other.whole is None  # a declared length allocates nothing more
    other.append(b"abc")
    assert other.chunks == [b"abc"] and len(other) == 3
    body, late = received(size)  # arrives while the buffer is held: joined at the end
    assert late.whole is None and late.getfile().read() == body and isinstance(late.whole, bytearray)
    late.close()
    holder.close()
    assert BodyChunks(size).whole is buffer


def test_a_large_body_whose_client_left_half_way_hands_the_buffer_back():
    """A client that stops mid-upload must not keep the worker's large-body buffer from the next bodies."""
    import socket
    from types import SimpleNamespace

    from waitress.adjustments import Adjustments

    from drumkit.server import serve

    size = codecs.BODY_SPLIT_BYTES + 1000
    ours, theirs = socket.socketpair()
    channel_class = serve._json_error_channel()
    channel = channel_class(SimpleNamespace(active_channels={}), ours, ("127.0.0.1", 1), Adjustments(), map={})
    head = f"POST /predictions/ HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: {size}\r\n\r\n"
    channel.received(head.encode() + b"a,b\n1,2\n" * 100)
    assert body_module._LARGE_BODY.lent and not channel.request.completed
    theirs.close()
    channel.handle_close()
    assert not body_module._LARGE_BODY.lent
    assert body_module._LARGE_BODY.take(10) is not None  # the next large body is received into it again
