"""Large bodies are decoded and predicted in row blocks; the answer equals the whole body's, dtypes included."""

from __future__ import annotations

import io
import json
import socket
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from drumkit.predictor import codecs
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from tests import serverproc, servermodels


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    return servermodels.hooks_dir(tmp_path_factory.mktemp("blocks"))


@pytest.fixture(scope="module")
def predictor(hooks):
    return Predictor.from_settings(ModelSettings(code_dir=str(hooks)))


def late_changes_csv(rows: int) -> bytes:
    """Types that only the last rows settle: an int column meets a gap, an empty column meets text, ints meet a float."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"f": rng.normal(size=rows).round(6), "i": rng.integers(0, 100, rows).astype(object),
                          "late_text": [""] * rows, "late_float": rng.integers(0, 9, rows).astype(object),
                          "s": rng.choice(["a", "b", "é"], rows)})
    frame.loc[rows - 1, "i"] = ""
    frame.loc[rows - 2, "late_text"] = "now text"
    frame.loc[rows - 3, "late_float"] = 2.5
    return frame.to_csv(index=False).encode()


def test_csv_blocks_equal_the_whole_body_even_when_types_settle_late(predictor):
    data = late_changes_csv(3000)
    blocks = [f for f in codecs.iter_body(data, codecs.CSV, 4096) if f is not codecs.RESTART]
    assert len(blocks) > 10
    whole = predictor.predict(pd.read_csv(io.BytesIO(data)))
    got = predictor.predict_payload(data, codecs.CSV, block_bytes=4096, split_bytes=4096)
    pd.testing.assert_frame_equal(got.frame, whole.frame, check_exact=True)
    # The numeric columns the model selects are the ones read_csv gives: a block typed wrong would change them.
    assert predictor.predict(blocks[0]).frame.shape == (len(blocks[0]), 1)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("1,2,\xffZ\n", "Line 2003 is not valid UTF-8"),
        ('1,2,"open\n', "EOF inside string starting at row 2002"),
    ],
    ids=["bad-utf8", "open-quote"],
)
def test_a_bad_row_in_a_later_block_is_named_by_its_line_in_the_body(predictor, bad, message):
    """Errors name the body's line, not the block's (the blocks' lines are counted only for such errors)."""
    from drumkit.errors import PayloadError

    data = ("x,b,c\n" + "".join(f"{i},{i * 0.5},t\n" for i in range(2001)) + bad + "5,6,t\n" * 50).encode("latin-1")
    with pytest.raises(PayloadError, match=message):
        predictor.predict_payload(data, codecs.CSV, block_bytes=4096, split_bytes=4096)


def test_a_block_pandas_reads_with_numbers_then_text_is_read_as_text_not_refused():
    """Short rows send a block to pandas, which types it chunk by chunk (2**20 fields each, here 1024 rows of
    1000 columns): a column of ints, then text in a later chunk, holds both, which no Arrow column can."""
    header = ",".join(f"c{i}" for i in range(1000)) + "\n"
    data = (header + (",".join(["1"] * 1000) + "\n") * 34 + "".join(f"{i}\n" for i in range(1034)) + "x\n").encode()
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # pandas' note on the mixed column
        for frame in codecs.iter_body(data, codecs.CSV, 1 << 20):
            frames = [] if frame is codecs.RESTART else [*frames, frame]
        expected = pd.read_csv(io.BytesIO(data))
    got = pd.concat(frames, ignore_index=True)
    assert {type(v) for v in expected["c0"]} == {int, str}  # read_csv's mix
    assert got["c0"].tolist() == [str(v) for v in expected["c0"]]  # the file's text, as the blocks type it
    pd.testing.assert_frame_equal(got.drop(columns="c0"), expected.drop(columns="c0"), check_exact=True)


@pytest.mark.parametrize("fmt", [codecs.ARROW, codecs.PARQUET])
def test_arrow_and_parquet_blocks_equal_the_whole_body(predictor, fmt):
    frame = pd.read_csv(io.BytesIO(late_changes_csv(5000)))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    if fmt == codecs.ARROW:
        with pyarrow.ipc.new_stream(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=700):
                writer.write_batch(batch)
    else:
        pq.write_table(table, sink, row_group_size=900)
    data = sink.getvalue()
    assert sum(1 for _ in codecs.iter_body(data, fmt, 8192)) > 3
    got = predictor.predict_payload(data, fmt, block_bytes=8192, split_bytes=8192)
    pd.testing.assert_frame_equal(got.frame, predictor.predict(frame).frame, check_exact=True)


def test_extra_output_is_joined_across_blocks(predictor):
    data = b"a,extra\n" + b"".join(f"{i},{'x' if i % 2 else 'y'}\n".encode() for i in range(2000))
    got = predictor.predict_payload(data, codecs.CSV, block_bytes=2048, split_bytes=2048)
    whole = predictor.predict(pd.read_csv(io.BytesIO(data)))
    pd.testing.assert_frame_equal(got.to_frame(), whole.to_frame(), check_exact=True)


def test_a_body_over_the_block_size_is_answered_as_a_whole_body_would_be(hooks, predictor, tmp_path_factory):
    data = late_changes_csv(500_000)
    assert len(data) > codecs.BODY_SPLIT_BYTES
    server = serverproc.start(["--code-dir", str(hooks)], tmp_path_factory.mktemp("blocks_server"))
    try:
        response = server.post("/predict/", data=data, headers={"Content-Type": "text/csv"})
        # The same body again, arriving in pieces (the server reads what has come, then waits for more),
        # twice on one keep-alive connection: the reads of one body never swallow or drop bytes.
        piecewise = post_in_pieces(server.port, data, pieces=16)
    finally:
        assert server.stop() == 0
    assert response.status_code == 200, response.text
    frame = pd.read_csv(io.BytesIO(data), low_memory=False)
    expected = [None if v != v else v for v in predictor.predict(frame).frame["Predictions"].tolist()]
    assert response.json()["predictions"] == expected  # NaN is null in JSON
    assert [json.loads(answer)["predictions"] == expected for answer in piecewise] == [True, True]


def post_in_pieces(port: int, body: bytes, pieces: int) -> list[bytes]:
    """POST a CSV body twice on one raw keep-alive connection, each in pieces sent 20 ms apart; the answer bodies."""
    head = (f"POST /predict/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    step = len(body) // pieces + 1
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        buffer = b""
        for _ in range(2):
            sock.sendall(head)
            for start in range(0, len(body), step):
                sock.sendall(body[start:start + step])
                time.sleep(0.02)
            while b"\r\n\r\n" not in buffer:
                buffer += sock.recv(65536)
            header, _, buffer = buffer.partition(b"\r\n\r\n")
            assert header.startswith(b"HTTP/1.1 200"), header
            length = int(next(line.split(b":", 1)[1] for line in header.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(buffer) < length:
                buffer += sock.recv(1 << 20)
            answers.append(buffer[:length])
            buffer = buffer[length:]
    return answers
