"""Arrow and Parquet payloads give the frame `pyarrow` gives (`to_pandas`, `read_table`), whichever way they are built.

Plain tables (numbers, booleans, text, no pandas metadata) are built column by column
(`arrow_frame._plain_frame`); every other table goes through `to_pandas`. Parquet bodies are read as one file
rather than through `read_table`'s dataset layer. Property tests compare values, dtypes, text storage and
block layout exactly.
"""

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumkit.errors import PayloadError
from drumkit.predictor import codecs
from drumkit.predictor.codecs.arrow_frame import _plain_frame, to_frame
from tests.tiers import examples

SETTINGS = settings(max_examples=examples(150), deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=True, database=None)

INTEGERS = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
PLAIN_TYPES = [*INTEGERS, pa.float32(), pa.float64(), pa.bool_(), pa.string(), pa.large_string()]


def values_of(draw, kind: pa.DataType, n: int) -> list:
    if pa.types.is_integer(kind):
        info = np.iinfo(kind.to_pandas_dtype())
        # the extremes matter: an int64 past 2**53 with a gap becomes an inexact float64, as to_pandas makes it
        return draw(st.lists(st.one_of(st.integers(int(info.min), int(info.max)),
                                       st.sampled_from([int(info.min), int(info.max), 0])), min_size=n, max_size=n))
    if pa.types.is_floating(kind):
        width = 32 if kind == pa.float32() else 64
        return draw(st.lists(st.floats(width=width), min_size=n, max_size=n))
    if pa.types.is_boolean(kind):
        return draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return draw(st.lists(st.text(max_size=4), min_size=n, max_size=n))


@st.composite
def plain_tables(draw):
    n_rows = draw(st.integers(1, 30))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "été", "x y", "0", ""]), min_size=1, max_size=6,
                          unique=True))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(PLAIN_TYPES))
        values = values_of(draw, kind, n_rows)
        gaps = [] if pa.types.is_boolean(kind) else draw(st.lists(st.integers(0, n_rows - 1), max_size=3))
        columns[name] = pa.array([None if i in gaps else v for i, v in enumerate(values)], type=kind)
    table = pa.table(columns)
    cut = draw(st.integers(0, n_rows))
    if 0 < cut < n_rows:  # columns of two chunks, as several record batches give
        table = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    return table


def layout(frame: pd.DataFrame) -> list:
    """Which columns share a block, and its dtype (the order of blocks does not matter)."""
    return sorted((str(block.dtype), tuple(block.mgr_locs.as_array)) for block in frame._mgr.blocks)


def same_as_pyarrow(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert layout(got) == layout(want)
    for name in want.columns[want.dtypes == "str"]:  # text kept in Arrow memory of the same type
        assert type(got[name].array) is type(want[name].array)
        assert getattr(got[name].array, "_pa_array", None) == getattr(want[name].array, "_pa_array", None)


@SETTINGS
@given(plain_tables())
def test_plain_tables_are_built_as_to_pandas_builds_them(table):
    assert _plain_frame(table) is not None
    same_as_pyarrow(to_frame(table), table.to_pandas())


def test_a_frame_built_from_arrow_columns_is_writable():
    frame = to_frame(pa.table({"a": [1, 2], "b": [1.5, 2.5], "c": [3.5, 4.5]}))
    frame.iloc[0, 0] = 7
    frame.loc[1, "b"] = 9.0
    assert frame["a"].tolist() == [7, 2] and frame["b"].tolist() == [1.5, 9.0]


OTHER_TABLES = {
    "pandas metadata (an index)": pa.Table.from_pandas(pd.DataFrame({"a": [1, 2]}, index=pd.Index([5, 6], name="id"))),
    "pandas metadata (a range index)": pa.Table.from_pandas(pd.DataFrame({"a": [1, 2]})),
    "booleans with a gap": pa.table({"a": pa.array([True, None])}),
    "timestamps": pa.table({"t": pa.array([dt.datetime(2020, 1, 1), None])}),
    "dates": pa.table({"d": pa.array([dt.date(2020, 1, 1), None])}),
    "a dictionary": pa.table({"d": pa.array(["x", "y", "x"]).dictionary_encode()}),
    "float16": pa.table({"h": pa.array(np.array([1.5, 2.0], dtype=np.float16))}),
    "bytes": pa.table({"b": pa.array([b"x", None])}),
    "lists": pa.table({"l": pa.array([[1], [2, 3]])}),
    "decimals": pa.table({"m": pa.array([1, 2], type=pa.decimal128(5, 2))}),
    "no rows": pa.table({"a": pa.array([], type=pa.int64())}),
    "no columns": pa.table({}),
    "a name twice": pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"]),
}


@pytest.mark.parametrize("name", list(OTHER_TABLES))
def test_other_tables_are_to_pandas_own(name):
    table = OTHER_TABLES[name]
    assert _plain_frame(table) is None
    pd.testing.assert_frame_equal(to_frame(table), table.to_pandas(), check_exact=True)


def parquet_bytes(frame: pd.DataFrame, **options) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **options)
    return buffer.getvalue()


PARQUET_FRAMES = {
    "plain": pd.DataFrame({"a": [1, 2, 3], "b": [1.5, None, 2.0], "s": ["x", None, "z"]}),
    "an index": pd.DataFrame({"a": [1, 2, 3]}, index=pd.Index([10, 20, 30], name="id")),
    "two index levels": pd.DataFrame({"a": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "x"), (2, "y")])),
    "text index": pd.DataFrame({"a": [1, 2]}, index=["r1", "r2"]),
    "categories and time zones": pd.DataFrame({"c": pd.Categorical(["a", "b", "a"]),
                                               "t": pd.date_range("2020", periods=3, tz="UTC")}),
    "nullable ints, bytes, lists": pd.DataFrame({"i": pd.array([1, None, 3], dtype="Int64"),
                                                 "by": [b"a", b"b", None], "l": [[1], [2, 3], None]}),
}


@pytest.mark.parametrize("name", list(PARQUET_FRAMES))
def test_parquet_bodies_read_as_read_table_reads_them(name):
    data = parquet_bytes(PARQUET_FRAMES[name])
    want = pq.read_table(pa.BufferReader(data)).to_pandas()
    pd.testing.assert_frame_equal(codecs.decode(data, codecs.PARQUET), want, check_exact=True)


@SETTINGS
@given(plain_tables(), st.sampled_from([None, 7]))
def test_plain_parquet_bodies_read_as_read_table_reads_them(table, row_group_size):
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group_size)
    data = sink.getvalue().to_pybytes()
    same_as_pyarrow(codecs.decode(data, codecs.PARQUET), pq.read_table(pa.BufferReader(data)).to_pandas())


class FailingTable:
    """A table whose to_pandas fails as pyarrow's would on bad metadata, or for want of memory."""

    def __init__(self, metadata, error):
        self.schema = pa.schema([], metadata=metadata)
        self.column_names, self.num_rows, self.error = [], 0, error

    def to_pandas(self, **options):
        raise self.error


def test_only_a_failure_with_pandas_metadata_is_called_a_metadata_error():
    with pytest.raises(PayloadError, match="'pandas' schema metadata is malformed"):
        to_frame(FailingTable({b"pandas": b"{}"}, KeyError("columns")))
    with pytest.raises(MemoryError):
        to_frame(FailingTable(None, MemoryError()))
