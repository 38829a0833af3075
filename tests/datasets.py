"""Datasets and code dirs for the dataset/engine tests: CSV and Parquet folders, a gated model, concatenated parts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests import hookmodels, modelzoo


def features(rows: int, seed: int = 0) -> pd.DataFrame:
    """The sklearn zoo's feature frame with an `id` column first."""
    frame = modelzoo.tabular_frame(rows, seed)
    frame.insert(0, "id", range(rows))
    return frame


def csv_folder(root: Path, frame: pd.DataFrame, files: int) -> Path:
    """`frame` split into `files` CSV files (f0.csv, f1.csv, ...) in a new folder."""
    root.mkdir(parents=True)
    size = -(-len(frame) // files)
    for i in range(files):
        frame.iloc[i * size:(i + 1) * size].to_csv(root / f"f{i}.csv", index=False)
    return root


def parquet_folder(root: Path, frame: pd.DataFrame, files: int, row_group_rows: int) -> Path:
    """`frame` split into `files` Parquet files with small row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir(parents=True)
    size = -(-len(frame) // files)
    for i in range(files):
        table = pa.Table.from_pandas(frame.iloc[i * size:(i + 1) * size], preserve_index=False)
        pq.write_table(table, root / f"f{i}.parquet", row_group_size=row_group_rows)
    return root


def parts(folder: Path, suffix: str = ".csv") -> list[Path]:
    """The committed parts of a folder output, in order."""
    return sorted(folder.glob(f"part-*{suffix}"))


def joined_csv(folder: Path) -> bytes:
    """The parts concatenated as one CSV: the first part's header, then every part's rows."""
    chunks = [path.read_bytes() for path in parts(folder)]
    return chunks[0] + b"".join(chunk.split(b"\n", 1)[1] for chunk in chunks[1:])


def read_parts(folder: Path, suffix: str = ".csv") -> pd.DataFrame:
    """Every part read back and stacked."""
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    return pd.concat([read(path) for path in parts(folder, suffix)], ignore_index=True)


def leftovers(folder: Path) -> list[str]:
    """Everything in an output folder (a failed job must leave it empty)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


GATED = '''
import os, time
from pathlib import Path

import pandas as pd

GATE = Path({gate!r})


def load_model(code_dir):
    with open(GATE / f"loaded-{{os.getpid()}}", "a") as handle:
        handle.write("x")
    return "gated"


def score(data, model, **kwargs):
    if "num0" in data and (data["num0"] > 100).any():
        raise ValueError("num0 out of range")
    (GATE / f"started-{{os.getpid()}}").touch()
    deadline = time.monotonic() + 120
    while (GATE / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return pd.DataFrame({{"Predictions": data["num0"].fillna(0) * 2 + data["id"]}})
'''


def gated_dir(root: Path) -> tuple[Path, Path]:
    """(code dir, gate folder): a regression model that records loads per process and, while `gate/hold`
    exists, blocks each partition after marking `started-PID` (so a test can act mid-job)."""
    gate = root / "gate"
    gate.mkdir(parents=True)
    code = hookmodels.write_code_dir(root / "code", {"custom.py": GATED.format(gate=str(gate))},
                                     "name: gated\ntype: inference\ntargetType: regression\n")
    return code, gate


def expected_gated(frame: pd.DataFrame) -> pd.Series:
    """What the gated model predicts."""
    return frame["num0"].fillna(0) * 2 + frame["id"]
