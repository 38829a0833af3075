"""A Parquet partition is read, predicted and written block by block: the blocks have the whole read's dtypes,
and a part's bytes do not depend on the block size."""

from __future__ import annotations

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from drumkit.predictor import codecs
from drumkit.predictor.codecs.parquet_codec import iter_row_groups
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.score.dataset import list_files, plan_partitions
from drumkit.score.passthrough import Passthrough
from drumkit.score.task import PartitionCancelled, PartitionTask
from tests import datasets

ROWS = 1200


def gappy_table() -> pa.Table:
    """An int and a bool column whose only missing values sit in rows 1000-1010 (so most blocks have none)."""
    rng = np.random.default_rng(5)
    gap = np.zeros(ROWS, dtype=bool)
    gap[1000:1010] = True
    return pa.table({
        "id": pa.array(np.arange(ROWS)),
        "num0": pa.array(rng.normal(size=ROWS).round(4)),
        "count": pa.array(rng.integers(0, 50, ROWS), mask=gap),
        "flag": pa.array(rng.random(ROWS) < 0.5, mask=gap),
        "whole": pa.array(rng.integers(0, 9, ROWS)),
        "name": pa.array(rng.choice(["a", "b", "é"], ROWS)),
    })


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("blocks")
    pq.write_table(gappy_table(), root / "small_groups.parquet", row_group_size=250)
    pq.write_table(gappy_table(), root / "one_group.parquet", row_group_size=ROWS)
    pq.write_table(gappy_table(), root / "no_statistics.parquet", row_group_size=250, write_statistics=False)
    return root


@pytest.mark.parametrize("name", ["small_groups", "one_group", "no_statistics"])
def test_blocks_have_the_requested_rows_and_the_whole_reads_dtypes(files, name):
    path = files / f"{name}.parquet"
    groups = list(range(pq.ParquetFile(path).metadata.num_row_groups))
    whole = pq.ParquetFile(path).read_row_groups(groups).to_pandas()
    assert whole["count"].dtype == np.float64 and whole["flag"].dtype == object
    blocks = list(iter_row_groups(str(path), groups, "x", 300))
    assert [len(block) for block in blocks] == [300, 300, 300, 300]
    for block in blocks:
        pd.testing.assert_series_equal(block.dtypes, whole.dtypes)
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole)


def test_a_parquet_body_or_file_in_blocks_has_the_whole_files_dtypes(files):
    """The single-file and server paths share the block reader: their blocks are typed as the whole file."""
    path = files / "small_groups.parquet"
    whole = pq.read_table(path).to_pandas()
    blocks = list(codecs.iter_body(path.read_bytes(), codecs.PARQUET, 4096))
    assert len(blocks) > 2
    for block in blocks:
        pd.testing.assert_series_equal(block.dtypes, whole.dtypes)
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole)


def test_blocks_of_some_row_groups_cross_group_boundaries(files):
    path = files / "small_groups.parquet"
    blocks = list(iter_row_groups(str(path), [1, 2, 3], "x", 400))
    assert [len(block) for block in blocks] == [400, 350]
    assert pd.concat(blocks)["id"].tolist() == list(range(250, 1000))
    # No gap in these groups: the int column stays int, as a read of those groups alone gives it.
    assert blocks[0]["count"].dtype == np.int64


def test_a_parts_bytes_do_not_depend_on_the_block_size(files, tmp_path):
    code, _gate = datasets.gated_dir(tmp_path / "gated")
    predictor = Predictor.from_settings(ModelSettings(code_dir=code))
    fs, root, paths = list_files(str(files / "small_groups.parquet"))
    parts = plan_partitions(fs, root, paths, 1 << 30, whole_files=False)
    assert len(parts) == 1 and parts[0].row_groups == (0, 1, 2, 3, 4)
    out_fs = fsspec.filesystem("file")
    written = {}
    for block_rows in (300, 10_000):
        out = tmp_path / f"out{block_rows}"
        out.mkdir()
        task = PartitionTask(fs, out_fs=out_fs, out_dir=str(out), passthrough=Passthrough(all=True),
                             block_rows=block_rows)
        assert task.run(predictor, parts[0]) == ROWS
        written[block_rows] = (out / "part-00000.csv").read_bytes()
    assert written[300] == written[10_000]
    got = pd.read_csv(tmp_path / "out300" / "part-00000.csv")
    expected = gappy_table().to_pandas()
    np.testing.assert_array_equal(got["Predictions"], datasets.expected_gated(expected))
    rows = [line.split(",") for line in written[300].decode().splitlines()]
    assert rows[0] == ["id", "num0", "count", "flag", "whole", "name", "Predictions"]
    # Every row is typed as the whole partition: `count` a float (it has gaps), `flag` True/False/empty, `whole` an int.
    assert all(row[2].endswith(".0") for row in rows[1:1001]) and {row[2] for row in rows[1001:1011]} == {""}
    assert {row[3] for row in rows[1:]} == {"True", "False", ""}
    assert all(row[4].isdigit() for row in rows[1:])


def test_a_stopped_partition_leaves_nothing_behind(files, tmp_path):
    """A dask job that failed or was cancelled stops its running partitions between blocks, mid-part."""
    code, _gate = datasets.gated_dir(tmp_path / "gated")
    predictor = Predictor.from_settings(ModelSettings(code_dir=code))
    fs, root, paths = list_files(str(files / "small_groups.parquet"))
    part = plan_partitions(fs, root, paths, 1 << 30, whole_files=False)[0]
    out = tmp_path / "out"
    out.mkdir()
    task = PartitionTask(fs, out_fs=fsspec.filesystem("file"), out_dir=str(out), block_rows=300)
    asked = []

    def stop_after_two_blocks() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(PartitionCancelled):
        task.run(predictor, part, stop=stop_after_two_blocks)
    assert len(asked) == 3 and list(out.iterdir()) == []  # two blocks were written to a scratch file, now gone
    assert task.run(predictor, part, stop=lambda: False) == ROWS
    assert [p.name for p in out.iterdir()] == ["part-00000.csv"]
