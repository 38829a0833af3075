"""The tiny-CSV fast path gives exactly what pandas.read_csv gives, or steps aside."""

import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drumkit.predictor.codecs.csv_tiny import read_tiny_csv
from tests.tiers import examples

TOKENS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=True, width=64).map(repr),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:e}"),
    st.sampled_from(["", "NA", "nan", "None", "null", "N/A", "<NA>", "-nan", "True", "false", "TRUE",
                     "yes", "1_000", "0x1F", " 1", "1 ", "+5", "-0", ".5", "5.", "1e5", "1E-3", "inf", "-Infinity",
                     "007", "١٢", "Kraków", "a b", "NaT", "2020-01-01", "10:00:00", "#N/A", "1.#IND"]),
    st.text(st.characters(blacklist_characters=',"\r\n', blacklist_categories=("Cs",)), max_size=6),
)


@st.composite
def tables(draw):
    n_cols = draw(st.integers(2, 4))
    n_rows = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "été", "x y", "1", "NA"]), min_size=n_cols,
                           max_size=n_cols, unique=True))
    # Column-wise generation so typed columns (all ints, all bools...) are common, not just mixes.
    columns = []
    for _ in range(n_cols):
        pool = draw(st.lists(TOKENS, min_size=1, max_size=3))
        columns.append([draw(st.sampled_from(pool)) for _ in range(n_rows)])
    end = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(header)] + [",".join(row) for row in zip(*columns)]
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + end.join(lines) + draw(st.sampled_from(["", end]))).encode("utf-8")


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_fast_path_equals_read_csv_or_steps_aside(data):
    got = read_tiny_csv(data)
    if got is None:
        return
    pd.testing.assert_frame_equal(got, pd.read_csv(io.BytesIO(data)), check_exact=True)


def test_typical_rows_take_the_fast_path():
    data = b"num,count,flag,city,gap\n0.25,3,True,Zurich,\n-1.5e3,4,false,Krakow,2.5\n"
    got = read_tiny_csv(data)
    assert got is not None
    expected = pd.read_csv(io.BytesIO(data))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["count"].dtype == np.int64 and got["gap"].isna().tolist() == [True, False]


def test_awkward_payloads_go_to_read_csv():
    for data in (b'a,b\n"1",2\n', b"a,b\n1,2\n\n3,4\n", b"a,a\n1,2\n", b"a,b\n1\n", b"a\n1\n", b"a,b\r1,2\r",
                 b"a,b\n 1,2\n", b"a,b\n" + b"1,2\n" * 100, b"a,b\n\xff,1\n"):
        assert read_tiny_csv(data) is None, data
