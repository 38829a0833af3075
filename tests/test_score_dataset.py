"""`drumkit score` over datasets with the local engine: partitions, committed folders, passthrough, unstructured folders."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from drumkit.score.dataset import parse_bytes
from tests import datasets, hookmodels
from tests.modelzoo import Zoo
from tests.test_score_cli import assert_one_line_failure, run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """3000 rows of the zoo's features: one CSV file, a folder of 3 CSVs, a folder of 2 Parquet files."""
    root = tmp_path_factory.mktemp("datasets")
    frame = datasets.features(3000)
    frame.to_csv(root / "all.csv", index=False)
    return {"root": root, "frame": frame, "csv": root / "all.csv",
            "csv_folder": datasets.csv_folder(root / "csvs", frame, 3),
            "parquet_folder": datasets.parquet_folder(root / "pq", frame, 2, 400)}


def single_file_output(model, source, tmp_path) -> bytes:
    out = tmp_path / "single.csv"
    result = run("score", "--code-dir", model.path, "--input", source, "--output", out)
    assert result.exit_code == 0, result.stderr
    return out.read_bytes()


@pytest.fixture(scope="module")
def rowwise(tmp_path_factory):
    """A model whose prediction of a row never depends on the other rows of its batch."""
    code, _gate = datasets.gated_dir(tmp_path_factory.mktemp("rowwise"))
    return Zoo(path=code)


def test_folder_output_parts_equal_the_single_file_output(rowwise, data, tmp_path):
    out = tmp_path / "out"
    result = run("score", "--code-dir", rowwise.path, "--input", data["csv"], "--output", f"{out}/", "--blocksize", "32KiB")
    assert result.exit_code == 0, result.stderr
    assert len(datasets.parts(out)) > 3 and (out / "_SUCCESS").read_bytes() == b""
    assert not (out / "_temporary").exists()
    assert datasets.joined_csv(out) == single_file_output(rowwise, data["csv"], tmp_path)
    np.testing.assert_array_equal(datasets.read_parts(out)["Predictions"], datasets.expected_gated(data["frame"]))


def test_partitions_of_a_sklearn_pipeline_predict_what_the_model_predicts(binary_model, data, tmp_path):
    out = tmp_path / "out"
    result = run("score", "--code-dir", binary_model.path, "--input", data["csv"], "--output", f"{out}/",
                 "--blocksize", "32KiB")
    assert result.exit_code == 0, result.stderr
    # BLAS may round the last bit differently for another batch size: equal to 1e-12, not bytes.
    np.testing.assert_allclose(datasets.read_parts(out)[["no", "yes"]].to_numpy(),
                               binary_model.model.predict_proba(data["frame"].drop(columns="id")), rtol=1e-12)


def test_a_folder_of_csv_files_and_a_glob_give_the_rows_in_file_order(rowwise, data, tmp_path):
    whole = single_file_output(rowwise, data["csv"], tmp_path)
    for source in (data["csv_folder"], f"{data['csv_folder']}/f*.csv"):
        out = tmp_path / ("glob" if "*" in str(source) else "folder")
        result = run("score", "--code-dir", rowwise.path, "--input", source, "--output", f"{out}/")
        assert result.exit_code == 0, result.stderr
        assert len(datasets.parts(out)) == 3  # files below the block size: one part each
        assert datasets.joined_csv(out) == whole


def test_parquet_row_groups_make_the_partitions_and_parts_can_be_parquet(multiclass_model, data, tmp_path):
    out = tmp_path / "out"
    result = run("score", "--code-dir", multiclass_model.path, "--input", data["parquet_folder"], "--output", f"{out}/",
                 "--output-format", "parquet", "--blocksize", "20KB", "--passthrough-columns", "id")
    assert result.exit_code == 0, result.stderr
    assert len(datasets.parts(out, ".parquet")) > 2
    got = datasets.read_parts(out, ".parquet")
    assert got["id"].tolist() == list(range(3000))
    expected = multiclass_model.model.predict_proba(data["frame"].drop(columns="id"))
    np.testing.assert_allclose(got[list(multiclass_model.model.classes_)].to_numpy(), expected, rtol=1e-12)


def test_a_dataset_into_one_file_or_stdout(rowwise, data, tmp_path):
    whole = single_file_output(rowwise, data["csv"], tmp_path)
    out = tmp_path / "joined.csv"
    result = run("score", "--code-dir", rowwise.path, "--input", data["csv_folder"], "--output", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == whole
    result = run("score", "--code-dir", rowwise.path, "--input", data["csv_folder"])
    assert result.exit_code == 0 and result.stdout_bytes == whole


def test_passthrough_columns_on_the_file_path_and_all_columns_on_partitions(binary_model, data, tmp_path):
    result = run("score", "--code-dir", binary_model.path, "--input", data["csv"], "--passthrough-columns", "id,cat")
    assert result.exit_code == 0, result.stderr
    got = pd.read_csv(pd.io.common.BytesIO(result.stdout_bytes), keep_default_na=False, na_values=[""])
    assert list(got.columns) == ["id", "cat", "no", "yes"]
    pd.testing.assert_series_equal(got["cat"], data["frame"]["cat"])
    out = tmp_path / "all"
    result = run("score", "--code-dir", binary_model.path, "--input", data["csv"], "--output", f"{out}/",
                 "--blocksize", "64KB", "--passthrough-columns-set", "all")
    assert result.exit_code == 0, result.stderr
    got = datasets.read_parts(out)
    assert list(got.columns) == [*data["frame"].columns, "no", "yes"]
    pd.testing.assert_frame_equal(got[list(data["frame"].columns)], data["frame"])


def test_a_missing_passthrough_column_names_it_and_the_partition(regression_model, data, tmp_path):
    out = tmp_path / "out"
    result = run("score", "--code-dir", regression_model.path, "--input", data["csv_folder"], "--output", f"{out}/",
                 "--passthrough-columns", "id,order_no")
    assert_one_line_failure(result, 1, "Partition 0 (f0.csv rows 1-1000)", "order_no")
    assert datasets.leftovers(out) == []


def test_a_failing_partition_commits_nothing_and_keeps_the_previous_output(tmp_path, data):
    code, _gate = datasets.gated_dir(tmp_path / "gated")
    out = tmp_path / "out"
    good = run("score", "--code-dir", code, "--input", data["csv"], "--output", f"{out}/", "--blocksize", "64KB")
    assert good.exit_code == 0, good.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = data["frame"].copy()
    bad.loc[2500, "num0"] = 1000.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = run("score", "--code-dir", code, "--input", tmp_path / "bad.csv", "--output", f"{out}/", "--blocksize", "64KB")
    assert_one_line_failure(result, 1, "bad.csv rows", "num0 out of range")
    first, last = map(int, result.stderr.split("rows ")[1].split(")")[0].split("-"))
    assert first <= 2501 <= last  # the row range holds the bad row (1-based data row)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_unstructured_model_scores_a_folder_one_output_per_file(tmp_path):
    code = hookmodels.unstructured_dir(tmp_path / "code")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    texts = {"a.txt": "héllo", "b.txt": "world", "sub/c.txt": "nested"}
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    (docs / "_ignored").write_text("not data")
    out = tmp_path / "out"
    result = run("score", "--code-dir", code, "--target-type", "unstructured", "--input", docs, "--output", f"{out}/",
                 "--query", "ret=echo")
    assert result.exit_code == 0, result.stderr
    assert datasets.leftovers(out) == ["_SUCCESS", "a.txt", "b.txt", "sub", "sub/c.txt"]
    for name, text in texts.items():
        echoed = json.loads((out / name).read_text(encoding="utf-8"))
        assert echoed["data"] == text and echoed["query"] == {"ret": "echo"}
    result = run("score", "--code-dir", code, "--target-type", "unstructured", "--input", docs, "--output", tmp_path / "x")
    assert_one_line_failure(result, 2, "one output per input file")


def test_a_quoted_line_break_across_a_cut_is_one_line(regression_model, tmp_path):
    frame = datasets.features(400)
    frame["note"] = "line one\nline two " * 40
    frame.to_csv(tmp_path / "quoted.csv", index=False)
    result = run("score", "--code-dir", regression_model.path, "--input", tmp_path / "quoted.csv",
                 "--output", f"{tmp_path}/out/", "--blocksize", "10000")
    assert_one_line_failure(result, 1, "quoted value holds a line break", "--blocksize 0")
    result = run("score", "--code-dir", regression_model.path, "--input", tmp_path / "quoted.csv",
                 "--output", f"{tmp_path}/whole/", "--blocksize", "0")
    assert result.exit_code == 0 and len(datasets.parts(tmp_path / "whole")) == 1


@pytest.mark.parametrize("args, fragments", [
    (["--blocksize", "lots"], ["--blocksize 'lots' is not a size"]),
    (["--output-format", "xlsx"], ["--output-format must be one of csv, parquet, arrow"]),
    (["--passthrough-columns", "id", "--passthrough-columns-set", "all"], ["either --passthrough-columns"]),
    (["--passthrough-columns-set", "some"], ["takes 'all'"]),
    (["--engine", "spark"], ["--engine must be one of local, dask"]),
    (["--storage-options", "{nope"], ["--storage-options is not JSON"]),
])
def test_bad_dataset_flags_are_one_line(regression_model, data, tmp_path, args, fragments):
    result = run("score", "--code-dir", regression_model.path, "--input", data["csv_folder"],
                 "--output", f"{tmp_path}/out/", *args)
    assert_one_line_failure(result, 2, *fragments)
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_a_missing_input_and_an_empty_glob(regression_model, tmp_path):
    result = run("score", "--code-dir", regression_model.path, "--input", f"{tmp_path}/nothing/", "--output", f"{tmp_path}/o/")
    assert_one_line_failure(result, 2, "does not exist")
    result = run("score", "--code-dir", regression_model.path, "--input", f"{tmp_path}/*.csv", "--output", f"{tmp_path}/o/")
    assert_one_line_failure(result, 2, "No input files match")


@pytest.mark.parametrize("url, extra", [("gs://bucket/data/", "drumkit[gcs]"), ("abfs://container/data/", "drumkit[azure]")])
def test_a_missing_filesystem_package_names_its_extra(regression_model, tmp_path, url, extra):
    result = run("score", "--code-dir", regression_model.path, "--input", url, "--output", f"{tmp_path}/o/")
    assert_one_line_failure(result, 2, extra)


def test_without_dask_the_engine_names_its_extra(regression_model, data, tmp_path):
    script = ("import sys; sys.modules['distributed'] = None; from drumkit.cli import main; "
              "sys.argv = ['drumkit'] + sys.argv[1:]; main()")
    out = subprocess.run([sys.executable, "-c", script, "score", "--code-dir", str(regression_model.path), "--input",
                          str(data["csv"]), "--output", f"{tmp_path}/o/", "--engine", "dask"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["Error: --engine dask needs Dask: pip install 'drumkit[dask]'"]


def test_parse_bytes():
    assert parse_bytes("64MiB") == 64 * 2**20
    assert parse_bytes("500MB") == 500 * 10**6
    assert parse_bytes("1.5KiB") == 1536
    assert parse_bytes("0") == 0
