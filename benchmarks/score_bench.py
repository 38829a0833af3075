"""Batch-scoring benchmark: `drumkit score` against the plain pandas floor, with the issue's targets.

Builds a CSV of --rows rows (and one a tenth that size) from one generator, plus a scikit-learn
pipeline code dir, in a temp folder it removes afterwards. Every measured command runs in its own
process, started by a tiny stdlib-only wrapper process, so each peak RSS belongs to that command alone.

    .venv/bin/python benchmarks/score_bench.py [--rows N] [--workdir DIR] [--json] [--keep]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The issue's targets (issue 2, "Speed and memory").
WALL_VS_FLOOR = 0.85
RSS_VS_FLOOR = 0.30
RSS_GROWTH = 1.30
HELP_SECONDS = 0.30

NUMERIC = 20
INTEGER_COLUMNS = (17, 18, 19)  # num17..num19 hold integers; num18 has gaps, so read_csv makes it float64
MISSING_NUMERIC = {1: 0.02, 5: 0.02, 9: 0.05, 18: 0.01}
CATEGORIES = (
    ("Kraków", "São Paulo", "Zürich"),
    tuple(f"grade_{c}" for c in "ABCDE"),
    tuple(f"region_{i:02d}" for i in range(8)),
    tuple(f"product_{i:02d}" for i in range(12)),
    tuple(f"channel_{i:02d}" for i in range(20)),
)
MISSING_CATEGORICAL = {1: 0.01, 3: 0.02}
TRAIN_ROWS = 20_000
HELP_RUNS = 7
ONE_ROW_RUNS = 3

# Runs one command and reports its wall time and peak RSS. It is a fresh, small process because a
# child's ru_maxrss starts at its parent's resident size (exec keeps the high-water mark of the
# address space it replaces), and this script holds hundreds of MB after generating the data.
WRAPPER = r"""
import json, subprocess, sys, time
out_path, err_path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    import resource
except ImportError:  # Windows: poll the process tree instead
    resource = None
    import psutil
peak = 0
with open(out_path, "wb") as out, open(err_path, "wb") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    if resource is None:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [watched] + watched.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.01)
    code = proc.wait()
    wall = time.perf_counter() - start
cpu = None
if resource is not None:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"wall": wall, "cpu": cpu, "peak_rss": peak, "returncode": code}))
"""

# The in-process floor: what a data scientist would write by hand.
FLOOR = r"""
import json, sys, time
t0 = time.perf_counter()
import pickle
import pandas as pd
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as handle:
    model = pickle.load(handle)
t2 = time.perf_counter()
frame = pd.read_csv(sys.argv[2])
t3 = time.perf_counter()
predictions = model.predict(frame)
t4 = time.perf_counter()
pd.DataFrame({"Predictions": predictions}).to_csv(sys.argv[3], index=False)
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load_model": t2 - t1, "read_csv": t3 - t2, "predict": t4 - t3, "to_csv": t5 - t4}))
"""


@dataclass
class Run:
    """One measured process."""

    name: str
    cmd: list[str]
    wall: float
    cpu: float | None  # user + system seconds: steadier than wall on a busy machine
    peak_rss: int
    returncode: int
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the big CSV (default 1,000,000)")
    parser.add_argument("--small-rows", type=int, default=None, help="rows in the companion CSV (default rows/10)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the temp folder (default: system temp)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the big floor and drumkit runs N times each, alternating; report the fastest")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (for profiling) and print its path")
    args = parser.parse_args(argv)
    if args.small_rows is None:
        args.small_rows = max(args.rows // 10, 1)
    if args.rows < 1 or args.small_rows < 1 or args.repeat < 1:
        parser.error("--rows, --small-rows and --repeat must be positive")
    return args


# ---- data and model ------------------------------------------------------------------------
def make_table(rows: int, seed: int):
    """A pyarrow table of 20 numeric and 5 categorical columns with some missing values."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(NUMERIC):
        if i in INTEGER_COLUMNS:
            values = rng.integers(0, 1000 * (i - 15), size=rows)
        else:
            values = np.round(rng.normal(loc=i - 8, scale=1 + i % 5, size=rows), 4)
        rate = MISSING_NUMERIC.get(i)
        columns[f"num{i}"] = pa.array(values, mask=rng.random(rows) < rate if rate else None)
    for j, levels in enumerate(CATEGORIES):
        codes = rng.integers(0, len(levels), size=rows, dtype=np.int32)
        rate = MISSING_CATEGORICAL.get(j)
        indices = pa.array(codes, mask=rng.random(rows) < rate if rate else None)
        columns[f"cat{j}"] = pa.DictionaryArray.from_arrays(indices, pa.array(levels)).cast(pa.string())
    return pa.table(columns)


def write_csv(table, path: Path) -> None:
    """Write a table as a plain CSV (nothing quoted, missing values empty), as pandas would write it."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=64 * 1024))


def target(frame):
    """A regression target with numeric, interaction and categorical effects plus noise."""
    import numpy as np

    rng = np.random.default_rng(7)
    num = frame[[f"num{i}" for i in range(NUMERIC)]].fillna(0).to_numpy()
    y = 3 * num[:, 0] - 2 * num[:, 1] + num[:, 2] * num[:, 3] + np.sin(num[:, 4]) + 0.01 * num[:, 17]
    y += frame["cat0"].map({"Kraków": 1.0, "São Paulo": -1.0}).fillna(0).to_numpy()
    y += frame["cat3"].str.slice(-2).astype(float).fillna(0).to_numpy() / 6
    return y + rng.normal(scale=0.5, size=len(frame))


def build_code_dir(root: Path) -> Path:
    """Train the impute/scale + one-hot + HistGradientBoosting pipeline on a sample; write model.pkl and metadata."""
    import pickle

    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train_csv = root / "train.csv"
    write_csv(make_table(TRAIN_ROWS, seed=1), train_csv)
    frame = pd.read_csv(train_csv)  # the dtypes the model will be scored with
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    )
    columns = ColumnTransformer([
        ("num", numeric, [f"num{i}" for i in range(NUMERIC)]),
        ("cat", categorical, [f"cat{j}" for j in range(len(CATEGORIES))]),
    ])
    model = make_pipeline(columns, HistGradientBoostingRegressor(random_state=0)).fit(frame, target(frame))
    code_dir = root / "code_dir"
    code_dir.mkdir()
    with open(code_dir / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    (code_dir / "model-metadata.yaml").write_text("name: score-bench\ntype: inference\ntargetType: regression\n")
    train_csv.unlink()
    return code_dir


def write_one_row(table, path: Path) -> None:
    """The first row with no missing value, so each column keeps the type it has in the big file."""
    import functools

    import pyarrow.compute as pc

    complete = functools.reduce(pc.and_, [pc.is_valid(column) for column in table.columns])
    index = pc.index(complete, True).as_py()
    write_csv(table.slice(max(index, 0), 1), path)


# ---- measuring -----------------------------------------------------------------------------
def drumkit_command() -> list[str]:
    """The `drumkit` console script beside this interpreter (else `python -m drumkit`)."""
    script = Path(sys.executable).parent / ("drumkit.exe" if os.name == "nt" else "drumkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "drumkit"]


def measure(name: str, cmd: list[str], logs: Path) -> Run:
    """Run `cmd` under a fresh wrapper process; its stdout/stderr go to files in `logs`."""
    import subprocess

    out, err = logs / f"{name}.out", logs / f"{name}.err"
    wrapper = subprocess.run([sys.executable, "-c", WRAPPER, str(out), str(err), *cmd],
                             capture_output=True, text=True, check=True)
    figures = json.loads(wrapper.stdout)
    return Run(name, cmd, figures["wall"], figures["cpu"], figures["peak_rss"], figures["returncode"],
               out.read_text(errors="replace"), err.read_text(errors="replace"))


def pick(name: str, runs: list[Run], fastest: bool = False) -> Run:
    """The run standing for several (the first failure, else the median or fastest); peak RSS is the highest seen."""
    ordered = sorted(runs, key=lambda r: r.wall)
    failed = [r for r in runs if r.returncode != 0]
    chosen = failed[0] if failed else ordered[0 if fastest else len(ordered) // 2]
    chosen.name = name
    chosen.peak_rss = max(r.peak_rss for r in runs)
    return chosen


def median_run(name: str, cmd: list[str], logs: Path, times: int) -> Run:
    """Run `cmd` several times; the run with the median wall time stands for all."""
    return pick(name, [measure(f"{name}-{i}", cmd, logs) for i in range(times)])


def compare_predictions(ours: Path, floor: Path) -> dict:
    """Whether drumkit's output holds the floor's predictions: same header, rows and float values."""
    import numpy as np
    import pandas as pd

    result = {"byte_identical": filecmp.cmp(ours, floor, shallow=False)}
    a = pd.read_csv(ours)
    b = pd.read_csv(floor)
    result["rows"] = len(a)
    result["floor_rows"] = len(b)
    same_shape = list(a.columns) == list(b.columns) and a.shape == b.shape
    result["columns"] = list(a.columns)
    if same_shape:
        left, right = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        differ = ~((left == right) | (np.isnan(left) & np.isnan(right)))
        result["differing_values"] = int(differ.sum())
        result["max_abs_diff"] = float(np.nanmax(np.abs(left - right))) if len(a) else 0.0
    result["equal"] = bool(same_shape and result.get("differing_values") == 0)
    return result


# ---- the run -------------------------------------------------------------------------------
def run(args: argparse.Namespace, root: Path, say) -> dict:
    """Build the inputs, measure every command, compare outputs; return all figures."""
    import numpy as np  # noqa: F401  (fail early with a clear ImportError)
    import sklearn  # noqa: F401

    logs = root / "logs"
    logs.mkdir()
    started = time.perf_counter()
    say(f"building {args.rows:,}-row and {args.small_rows:,}-row CSVs and the code dir in {root} ...")
    big_csv, small_csv, one_csv = root / "big.csv", root / "small.csv", root / "one_row.csv"
    write_csv(make_table(args.rows, seed=0), big_csv)
    small = make_table(args.small_rows, seed=0)
    write_csv(small, small_csv)
    write_one_row(small, one_csv)
    del small
    code_dir = build_code_dir(root)
    model = code_dir / "model.pkl"
    say(f"  built in {time.perf_counter() - started:.1f} s; big.csv is {big_csv.stat().st_size / 2**20:.0f} MiB")

    drumkit = drumkit_command()

    def score(source: Path, out: Path) -> list[str]:
        return [*drumkit, "score", "--code-dir", str(code_dir), "--input", str(source), "--output", str(out)]

    def floor(source: Path, out: Path) -> list[str]:
        return [sys.executable, "-c", FLOOR, str(model), str(source), str(out)]

    # Short runs first: they also warm the OS file cache for the interpreter and libraries.
    say(f"drumkit --help x{HELP_RUNS} ...")
    help_runs = [measure(f"help-{i}", [*drumkit, "--help"], logs) for i in range(HELP_RUNS)]
    say(f"1-row score x{ONE_ROW_RUNS} (drumkit and floor) ...")
    one = median_run("one-row", score(one_csv, root / "one_out.csv"), logs, ONE_ROW_RUNS)
    one_floor = median_run("one-row-floor", floor(one_csv, root / "one_floor.csv"), logs, ONE_ROW_RUNS)
    # Alternating floor and drumkit spreads a busy machine's noise over both sides.
    floor_runs, big_runs = [], []
    for i in range(args.repeat):
        say(f"floor on the big CSV ({i + 1}/{args.repeat}) ...")
        floor_runs.append(measure(f"floor-big-{i}", floor(big_csv, root / "floor_big.csv"), logs))
        say(f"drumkit score on the big CSV ({i + 1}/{args.repeat}) ...")
        big_runs.append(measure(f"score-big-{i}", score(big_csv, root / "score_big.csv"), logs))
    floor_big, big = pick("floor-big", floor_runs, fastest=True), pick("score-big", big_runs, fastest=True)
    say("drumkit score on the small CSV ...")
    small_run = measure("score-small", score(small_csv, root / "score_small.csv"), logs)

    runs = [*help_runs, one, one_floor, floor_big, big, small_run]
    failures = {r.name: r.stderr.strip().splitlines()[-1:] for r in runs if r.returncode != 0}
    correctness = {}
    if not failures:
        correctness = {
            "big": compare_predictions(root / "score_big.csv", root / "floor_big.csv"),
            "one_row": compare_predictions(root / "one_out.csv", root / "one_floor.csv"),
        }
    help_wall = statistics.median(r.wall for r in help_runs)
    checks = {
        "wall_vs_floor": (big.wall / floor_big.wall, WALL_VS_FLOOR),
        "rss_vs_floor": (big.peak_rss / floor_big.peak_rss, RSS_VS_FLOOR),
        "rss_growth": (big.peak_rss / small_run.peak_rss, RSS_GROWTH),
        "help_seconds": (help_wall, HELP_SECONDS),
    }
    return {
        "rows": args.rows,
        "small_rows": args.small_rows,
        "csv_bytes": big_csv.stat().st_size,
        "environment": environment(),
        "repeat": args.repeat,
        "runs": {r.name: {"wall": r.wall, "cpu": r.cpu, "peak_rss": r.peak_rss, "returncode": r.returncode}
                 for r in (one, one_floor, floor_big, big, small_run)},
        "help_walls": [r.wall for r in help_runs],
        "floor_phases": _json_or_none(floor_big.stdout),
        "checks": {name: {"value": value, "target": limit, "pass": value < limit if name == "help_seconds" else value <= limit}
                   for name, (value, limit) in checks.items()},
        "correctness": correctness,
        "failures": failures,
        "ok": not failures and all(c["equal"] for c in correctness.values()),
    }


def _json_or_none(text: str):
    try:
        return json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def environment() -> dict:
    """Versions and machine facts that move the figures."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("drumkit", "numpy", "pandas", "pyarrow", "scikit-learn"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        **versions,
    }


# ---- output --------------------------------------------------------------------------------
def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def render(report: dict) -> str:
    """The human table."""
    runs, checks, env = report["runs"], report["checks"], report["environment"]
    big, floor, small = runs["score-big"], runs["floor-big"], runs["score-small"]
    mark = {True: "PASS", False: "MISS"}
    lines = [
        f"drumkit score benchmark: {report['rows']:,} rows ({report['csv_bytes'] / 2**20:,.0f} MiB CSV) "
        f"and {report['small_rows']:,} rows; Python {env['python']}, {env['cpus']} CPUs, "
        f"pandas {env['pandas']}, pyarrow {env['pyarrow']}, scikit-learn {env['scikit-learn']}",
        *([f"(big runs: fastest of {report['repeat']}, alternating; peak RSS: highest seen)"] if report["repeat"] > 1 else []),
        "",
        f"{'measure':<34}{'drumkit':>12}{'floor / ref':>14}{'ratio':>9}{'target':>10}  result",
    ]

    def row(label, ours, ref, check):
        c = checks[check]
        op = "<" if check == "help_seconds" else "<="
        ratio = "" if check == "help_seconds" else f"{c['value']:.2f}x"
        limit = f"{op} {c['target']:.2f}{'s' if check == 'help_seconds' else 'x'}"
        lines.append(f"{label:<34}{ours:>12}{ref:>14}{ratio:>9}{limit:>10}  {mark[c['pass']]}")

    row(f"score {report['rows']:,} rows: wall", f"{big['wall']:.2f} s", f"{floor['wall']:.2f} s", "wall_vs_floor")
    if big["cpu"] is not None and floor["cpu"]:
        cpu_label = f"score {report['rows']:,} rows: CPU s"
        lines.append(f"{cpu_label:<34}{big['cpu']:>10.2f} s{floor['cpu']:>12.2f} s{big['cpu'] / floor['cpu']:>8.2f}x"
                     f"{'':>10}  info")
    row(f"score {report['rows']:,} rows: peak RSS", _mib(big["peak_rss"]), _mib(floor["peak_rss"]), "rss_vs_floor")
    row(f"peak RSS {report['rows']:,} vs {report['small_rows']:,}", _mib(big["peak_rss"]), _mib(small["peak_rss"]),
        "rss_growth")
    row(f"drumkit --help (median of {HELP_RUNS})", f"{checks['help_seconds']['value']:.3f} s", "", "help_seconds")
    one, one_floor = runs["one-row"], runs["one-row-floor"]
    one_label = f"1-row score wall (median of {ONE_ROW_RUNS})"
    lines.append(f"{one_label:<34}{one['wall']:>10.2f} s{one_floor['wall']:>12.2f} s"
                 f"{one['wall'] / one_floor['wall']:>8.2f}x{'':>10}  info")
    small_label = f"score {report['small_rows']:,} rows: wall"
    lines.append(f"{small_label:<34}{small['wall']:>10.2f} s")
    if report["floor_phases"]:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in report["floor_phases"].items())
        lines.append(f"\nfloor phases (s): {phases}")
    lines.append("")
    for name, result in report["correctness"].items():
        how = "byte-identical" if result.get("byte_identical") else (
            f"{result.get('differing_values', '?')} values differ, max |diff| {result.get('max_abs_diff', float('nan')):.3g}")
        verdict = "PASS" if result["equal"] else "FAIL"
        lines.append(f"predictions ({name}) equal the floor's: {result['rows']:,} rows, {how}  {verdict}")
    for name, tail in report["failures"].items():
        lines.append(f"FAILED {name}: {' '.join(tail) or 'non-zero exit'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build, measure, print; exit 1 when a command failed or the predictions differ (a MISS is not a failure)."""
    args = parse_args(argv)
    say = (lambda text: print(text, file=sys.stderr, flush=True))
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    report = run_in_temp_folder(run, args, "drumkit-bench-", say)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if report["ok"] else 1


def run_in_temp_folder(measure_all, args: argparse.Namespace, prefix: str, say) -> dict:
    """`measure_all(args, root, say)` in a fresh temp folder under --workdir, removed afterwards unless --keep."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=args.workdir))
    try:
        return measure_all(args, root, say)
    finally:
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
