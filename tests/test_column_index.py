"""Frames of the same header share one columns Index (`frames.column_index`), equal to the one pandas builds.

Sharing keeps pandas' lookup tables between requests; it must never show: the Index equals read_csv's and
to_pandas's (values and dtype), a model that names its frame's columns in place does not pass the name on,
and labels that are equal as keys but not as an Index (1, 1.0, True) get their own.
"""

import io

import pandas as pd
import pyarrow as pa
import pytest

from drumkit.predictor import codecs
from drumkit.predictor.codecs import frames
from drumkit.predictor.codecs.frames import column_index

TINY = b"a,b,c\n1,2.5,x\n"
SMALL = b"a,b,c\n" + b"".join(b"%d,%d.5,t%d\n" % (i, i, i % 7) for i in range(300))


def arrow_body() -> bytes:
    table = pa.table({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"]})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("body", "fmt", "expected"),
    [
        (TINY, "csv", lambda: pd.read_csv(io.BytesIO(TINY)).columns),
        (SMALL, "csv", lambda: pd.read_csv(io.BytesIO(SMALL)).columns),
        (arrow_body(), "arrow", lambda: pa.ipc.open_stream(arrow_body()).read_all().to_pandas().columns),
    ],
    ids=["tiny-csv", "small-csv", "arrow"],
)
def test_frames_of_one_header_share_an_index_equal_to_pandas_own(body, fmt, expected):
    first = codecs.decode(body, fmt)
    second = codecs.decode(body, fmt)
    assert first.columns is second.columns
    pd.testing.assert_index_equal(first.columns, expected(), exact=True)


def test_a_name_a_model_gives_the_columns_in_place_does_not_reach_the_next_frame():
    first = codecs.decode(SMALL, "csv")
    first.columns.name = "features"
    second = codecs.decode(SMALL, "csv")
    assert second.columns.name is None
    assert first.columns.name == "features"
    assert list(second.columns) == ["a", "b", "c"]


def test_labels_equal_as_keys_keep_their_own_dtype():
    ints, floats, flags = column_index([1, 0]), column_index([1.0, 0.0]), column_index([True, False])
    assert (ints.dtype, floats.dtype, flags.dtype) == (pd.Index([1]).dtype, pd.Index([1.0]).dtype, pd.Index([True]).dtype)
    assert column_index([1, 0]) is ints


def test_the_shared_indexes_stay_few():
    for i in range(frames._MAX_INDEXES * 3):
        column_index([f"c{i}", "d"])
    assert len(frames._INDEXES) <= frames._MAX_INDEXES
