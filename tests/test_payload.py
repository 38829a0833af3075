"""Unit tests for drumkit.predictor.payload and csv_reader: formats, and CSV parity with pandas.read_csv."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest
import scipy.io
import scipy.sparse

from drumkit.errors import PayloadError
from drumkit.predictor import codecs as payload
from drumkit.predictor.codecs.csv_blocks import pandas_column_names, read_csv_bytes


def drum_read_csv(data: bytes) -> pd.DataFrame:
    """What DRUM does with a CSV payload: pandas.read_csv, re-read keeping blank lines when it has one column."""
    frame = pd.read_csv(io.BytesIO(data))
    if frame.shape[1] == 1:
        frame = pd.read_csv(io.BytesIO(data), skip_blank_lines=False)
    return frame


TRICKY_CSVS = {
    "quoted_commas_newlines": b'a,b,c\n1,"x, y",3\n2,"multi\nline ""q""",4\n',
    "non_ascii_headers": "zażółć,名前,ü\n1,ą,2.5\n3,é,\n".encode(),
    "missing_values": b"a,b,c,d\n1,NA,x,None\nNone,2,,n/a\n,3,null,NaN\n4,,None,\n",
    "utf8_bom": b"\xef\xbb\xbfa,b\n1,2\n3,4\n",
    "header_no_rows": b"a,b,c\n",
    "duplicate_and_blank_headers": b"a,a,,b,a\n1,2,3,4,5\n",
    "date_and_time_like": b"d,t,dt\n2024-01-02,12:30:00,2024-01-02 10:00:00\n2024-02-03,13:00,2024-02-03T11:00:00\n",
    "date_with_missing": b"d,n\n2024-01-01,1\n,2\n2024-01-03,3\n",
    "booleans": b"b1,b2,b3\nTrue,true,FALSE\nFalse,,true\nTRUE,false,False\n",
    "int_with_missing": b"i,j\n1,2\n,3\n4,5\n",
    "single_column_blank_lines": b"a\n1\n\n2\n\n3\n",
    "single_column_trailing_blank": b"a\n1\n2\n\n",
    "single_column_strings_blank": b"s\nx\n\ny\n",
    "crlf": b"a,b\r\n1,x\r\n2,y\r\n",
    "all_empty_column": b"a,b\n1,\n2,\n",
    "quoted_na_and_empty": b'a,b\n"",1\n"NA",2\nx,3\n',
    "inf_and_precision": b"a,b\ninf,0.1234567890123456789\n-inf,1e-300\n",
    "leading_zeros_and_whitespace": b"a, b\n007, x\n010 ,y \n",
    "numeric_header": b"1,2\n3,4\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY_CSVS))
def test_csv_parity_with_pandas_read_csv(name):
    data = TRICKY_CSVS[name]
    pd.testing.assert_frame_equal(read_csv_bytes(data), drum_read_csv(data))
    pd.testing.assert_frame_equal(payload.decode(data, payload.CSV), drum_read_csv(data))


def test_csv_parity_on_a_generated_mixed_frame():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "f": rng.normal(size=200), "i": rng.integers(-5, 5, 200), "s": rng.choice(["a", "b,c", 'q"q', "é"], 200),
        "b": rng.choice([True, False], 200),
    })
    frame.loc[::17, "f"] = np.nan
    data = frame.to_csv(index=False).encode()
    pd.testing.assert_frame_equal(read_csv_bytes(data), pd.read_csv(io.BytesIO(data)))


def test_pandas_column_names():
    assert pandas_column_names(["a", "a", "", "a.1", "a"]) == ["a", "a.1", "Unnamed: 2", "a.1.1", "a.2"]


@pytest.mark.parametrize("data, message", [
    (b"a,b\n1,2\n3,4,5\n", "^Could not parse the CSV input"),
    (b"a,b\n\xff\xfe,1\n", "^Supplied CSV input file encoding must be UTF-8"),  # DRUM's text; pandas fails too
    (b"\xff,b\n1,1\n", "^Supplied CSV input file encoding must be UTF-8"),
])
def test_unparseable_csv_is_a_one_line_payload_error(data, message):
    with pytest.raises(PayloadError, match=message) as info:
        payload.decode(data, payload.CSV)
    assert "\n" not in str(info.value)


def test_empty_payload_is_an_error():
    with pytest.raises(PayloadError, match="empty"):
        payload.decode(b"", payload.CSV)


def test_formats_by_media_type_and_filename():
    assert payload.format_for_media_type(None) == payload.CSV
    assert payload.format_for_media_type("text/csv; charset=utf-8") == payload.CSV
    assert payload.format_for_media_type("TEXT/MTX") == payload.MTX
    assert payload.format_for_media_type("application/vnd.apache.parquet") == payload.PARQUET
    assert payload.format_for_media_type("application/json") is None
    assert payload.format_for_filename("x.MTX") == payload.MTX
    assert payload.format_for_filename("x.feather") == payload.ARROW
    assert payload.format_for_filename("x.arrow") == payload.ARROW
    assert payload.format_for_filename("x.parquet") == payload.PARQUET
    assert payload.format_for_filename("x.txt") == payload.CSV
    assert payload.media_type_for_format(payload.MTX) == "text/mtx"
    assert payload.media_type_for_format(payload.CSV) is None
    assert set(payload.capabilities()) >= {"csv", "mtx", "arrow", "parquet"}


def test_read_colnames():
    assert payload.read_colnames(b"a\r\n\r\nb\nc\n") == ["a", "b", "c"]
    assert payload.read_colnames(None) is None


def mtx_bytes(matrix) -> bytes:
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, scipy.sparse.coo_matrix(matrix))
    return buffer.getvalue()


def test_mtx_decodes_to_a_sparse_frame_with_column_names():
    dense = np.array([[0, 1.5, 0], [2, 0, 0], [0, 0, 0.25]])
    frame = payload.decode(mtx_bytes(dense), payload.MTX, ["a", "b", "c"])
    assert list(frame.columns) == ["a", "b", "c"]
    assert all(isinstance(t, pd.SparseDtype) for t in frame.dtypes)
    np.testing.assert_array_equal(frame.sparse.to_dense().to_numpy(), dense)
    unnamed = payload.decode(mtx_bytes(dense), payload.MTX)
    assert list(unnamed.columns) == [0, 1, 2]


def test_mtx_errors():
    with pytest.raises(PayloadError, match="3 columns but 2 column names"):
        payload.decode(mtx_bytes(np.eye(3)), payload.MTX, ["a", "b"])
    with pytest.raises(PayloadError, match="Matrix Market"):
        payload.decode(b"not a matrix", payload.MTX)


def sample_frame():
    return pd.DataFrame({"x": [1.5, 2.5, np.nan], "n": [1, 2, 3], "s": ["a", None, "ü"]})


def test_arrow_stream_file_and_feather_decode():
    frame = sample_frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stream, ipc_file, feather = pa.BufferOutputStream(), pa.BufferOutputStream(), io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    with pa.ipc.new_file(ipc_file, table.schema) as writer:
        writer.write_table(table)
    pyarrow.feather.write_feather(table, feather)
    for data in (stream.getvalue().to_pybytes(), ipc_file.getvalue().to_pybytes(), feather.getvalue()):
        got = payload.decode(data, payload.ARROW)
        pd.testing.assert_frame_equal(got, table.to_pandas())
    with pytest.raises(PayloadError, match="neither an Arrow IPC stream nor an Arrow file"):
        payload.decode(b"a,b\n1,2\n", payload.ARROW)


def test_parquet_decode():
    frame = sample_frame()
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    got = payload.decode(buffer.getvalue(), payload.PARQUET)
    pd.testing.assert_frame_equal(got, pq.read_table(io.BytesIO(buffer.getvalue())).to_pandas())
    np.testing.assert_array_equal(got["x"].to_numpy(), frame["x"].to_numpy())
    with pytest.raises(PayloadError, match="^Could not read the Parquet input"):
        payload.decode(b"PAR1 garbage", payload.PARQUET)
