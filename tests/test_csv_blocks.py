"""Cutting a CSV into blocks of whole rows, and streaming it with read_csv's dtypes."""

import io

import pandas as pd
import pytest

from drumkit.predictor.codecs.csv_blocks import RESTART, split_rows, stream_csv

TRICKY = (
    'id,text,value\n'
    '1,"line one\nline two",1.5\n'
    '2,"say ""hi"", twice",2\n'
    '3,plain,\n'
    '4,"ends with newline\n",4.25\n'
    '5,"a ""quoted\n"" newline",5\n'
) * 40


@pytest.mark.parametrize("block_size", [1, 7, 64, 1000])
def test_blocks_end_at_row_boundaries(block_size):
    data = TRICKY.encode()
    blocks = list(split_rows(io.BytesIO(data), block_size))
    assert b"".join(blocks) == data
    first = blocks[0].split(b"\n", 1)[1] if b"\n" in blocks[0] else b""
    # Each block parses on its own under the header (whole rows only), and no row is lost or split.
    assert all(block.endswith(b"\n") for block in blocks)
    assert sum(_rows(block) for block in [first, *blocks[1:]]) == len(pd.read_csv(io.BytesIO(data)))


def _rows(block: bytes) -> int:
    if not block:
        return 0
    return len(pd.read_csv(io.BytesIO(b"id,text,value\n" + block)))


def test_stream_equals_read_csv_of_the_whole_file(tmp_path):
    path = tmp_path / "tricky.csv"
    path.write_bytes(TRICKY.encode())
    frames = [frame for frame, _ in stream_csv(lambda: open(path, "rb"), 300)]
    assert all(frame is not RESTART for frame in frames) and len(frames) > 5
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), pd.read_csv(path))
