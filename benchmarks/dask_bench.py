"""Scale-out benchmark: rows/s of `drumkit score` on the local engine and on the dask engine (2-worker local cluster).

Builds a Parquet dataset of --rows rows in --files files (default 10M rows, 20 files) with the score
benchmark's generator, and two code dirs: (a) a single-threaded custom.py model (numpy arithmetic in a
`score` hook) and (b) score_bench.py's HistGradientBoosting pipeline. Each model scores the dataset
into a folder of CSV parts with the local engine and with `--engine dask --workers 2`, in this process
through the same functions the command calls (model loading and cluster start are timed apart).

    .venv/bin/python benchmarks/dask_bench.py [--rows N] [--files N] [--blocksize 64MiB] [--workdir DIR] [--keep]

Targets (issue 11): (a) dask >= 1.6x local, (b) dask >= 0.85x local, scheduling overhead < 50 ms per
partition, worker peak RSS <= 2x a partition's in-memory size + the worker's RSS with the model loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import score_bench

TARGET_SINGLE_THREADED = 1.6
TARGET_PIPELINE = 0.85
TARGET_OVERHEAD_S = 0.050
TARGET_RSS_FACTOR = 2.0
OVERHEAD_PARTITIONS = 200

SINGLE_THREADED_MODEL = '''
import numpy as np
import pandas as pd

COLUMNS = [f"num{i}" for i in range(20)]


def load_model(code_dir):
    return np.linspace(0.1, 1.0, 20)


def score(data, model, **kwargs):
    x = np.nan_to_num(data[COLUMNS].to_numpy(dtype=np.float64))
    acc = np.zeros(len(x))
    for step in range(200):  # elementwise numpy: one core, like most hand-written models
        acc = np.tanh(acc * 0.5 + x[:, step % 20] * model[step % 20])
    return pd.DataFrame({"Predictions": acc})
'''


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the dataset (default 10,000,000)")
    parser.add_argument("--files", type=int, default=20, help="Parquet files (default 20)")
    parser.add_argument("--blocksize", default="64MiB", help="partition size (default 64MiB)")
    parser.add_argument("--workers", type=int, default=2, help="dask workers (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def build_dataset(root: Path, rows: int, files: int) -> Path:
    """`files` Parquet files of the score benchmark's table (row groups of 64k rows)."""
    import pyarrow.parquet as pq

    folder = root / "data"
    folder.mkdir()
    per_file = -(-rows // files)
    for i in range(files):
        count = min(per_file, rows - i * per_file)
        pq.write_table(score_bench.make_table(count, seed=i), folder / f"part{i:03d}.parquet", row_group_size=65_536)
    return folder


def single_threaded_dir(root: Path) -> Path:
    """Code dir (a)."""
    code = root / "single_threaded"
    code.mkdir()
    (code / "custom.py").write_text(SINGLE_THREADED_MODEL)
    (code / "model-metadata.yaml").write_text("name: st\ntype: inference\ntargetType: regression\n")
    return code


def run_engine(engine, source: Path, out: Path, blocksize: int) -> tuple[float, int, int]:
    """(seconds, rows, partitions) of one dataset run."""
    from drumkit.score.dataset_job import DatasetJob, run_dataset

    started = time.perf_counter()
    result = run_dataset(DatasetJob(str(source), f"{out}/", blocksize=blocksize), engine)
    return time.perf_counter() - started, result.rows, result.partitions


def local_run(code: Path, source: Path, out: Path, blocksize: int) -> dict:
    """The local engine: load the model, then score every partition in this process."""
    from drumkit.predictor.predictor import Predictor
    from drumkit.predictor.settings import ModelSettings
    from drumkit.score.engines.local import LocalEngine

    started = time.perf_counter()
    engine = LocalEngine(Predictor.from_settings(ModelSettings(code_dir=code)))
    load = time.perf_counter() - started
    cpu = _cpu_seconds()
    seconds, rows, parts = run_engine(engine, source, out, blocksize)
    cpu = _cpu_seconds() - cpu
    return {"load_s": load, "run_s": seconds, "rows": rows, "partitions": parts, "rows_per_s": rows / seconds,
            "cpu_s": cpu, "rows_per_cpu_s": rows / cpu}


def _cpu_seconds(dask_worker=None) -> float:
    """User + system CPU seconds of this process, all threads (also run on workers)."""
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def _start_sampler(dask_worker=None) -> int:
    """Run on a worker: sample its RSS every 20 ms in a thread (ru_maxrss of a spawned worker starts at its parent's)."""
    import threading

    import psutil

    process = psutil.Process()
    state = {"peak": process.memory_info().rss, "stop": threading.Event()}

    def sample():
        while not state["stop"].wait(0.02):
            state["peak"] = max(state["peak"], process.memory_info().rss)

    threading.Thread(target=sample, daemon=True).start()
    dask_worker._drumkit_bench_rss = state
    return state["peak"]


def _stop_sampler(dask_worker=None) -> int:
    """Run on a worker: stop sampling; the peak RSS seen."""
    state = dask_worker._drumkit_bench_rss
    state["stop"].set()
    return state["peak"]


def dask_run(code: Path, source: Path, out: Path, blocksize: int, workers: int) -> dict:
    """The dask engine on a fresh local cluster: start it, load the model on the workers, score, read the workers' RSS."""
    from distributed import get_task_stream

    from drumkit.predictor.settings import ModelSettings
    from drumkit.score.engines.dask import DaskEngine

    started = time.perf_counter()
    engine = DaskEngine(ModelSettings(code_dir=code), workers=workers)
    try:
        start = time.perf_counter() - started
        # One tiny partition per worker first: the baseline is a worker with the model loaded and its code paths imported.
        run_engine(engine, _warmup_input(source), out.parent / f"{out.name}_warmup", blocksize)
        loaded_rss = engine.client.run(_start_sampler)
        cpu = _cpu_seconds() + sum(engine.client.run(_cpu_seconds).values())
        with get_task_stream(client=engine.client) as stream:
            seconds, rows, parts = run_engine(engine, source, out, blocksize)
        cpu = _cpu_seconds() + sum(engine.client.run(_cpu_seconds).values()) - cpu
        peaks = engine.client.run(_stop_sampler)
        compute = sum(stop - begin for task in stream.data for action, begin, stop in
                      ((s["action"], s["start"], s["stop"]) for s in task["startstops"]) if action == "compute")
    finally:
        engine.close()
    return {"start_s": start, "run_s": seconds, "rows": rows, "partitions": parts, "rows_per_s": rows / seconds,
            "worker_rss_loaded": max(loaded_rss.values()), "worker_peak_rss": max(peaks.values()),
            "task_compute_s": compute, "cpu_s": cpu, "rows_per_cpu_s": rows / cpu}


def _warmup_input(source: Path) -> Path:
    """Two 10-row Parquet files with the dataset's schema (one per worker), beside it."""
    import pyarrow.parquet as pq

    folder = source.parent / f"{source.name}_warmup"
    if not folder.exists():
        folder.mkdir()
        first = pq.read_table(sorted(source.glob("*.parquet"))[0]).slice(0, 10)
        for i in range(2):
            pq.write_table(first, folder / f"w{i}.parquet")
    return folder


def scheduling_overhead(root: Path, code: Path, workers: int) -> dict:
    """Per-partition overhead: wall x workers minus the tasks' own compute time, over many tiny partitions."""
    import pandas as pd

    folder = root / "tiny"
    folder.mkdir()
    frame = pd.DataFrame({f"num{i}": [float(i)] * 5 for i in range(20)})
    for i in range(OVERHEAD_PARTITIONS):
        frame.to_parquet(folder / f"t{i:04d}.parquet", index=False)
    figures = dask_run(code, folder, root / "tiny_out", 64 << 20, workers)
    idle = figures["run_s"] * workers - figures["task_compute_s"]
    return {"partitions": figures["partitions"], "run_s": figures["run_s"], "task_compute_s": figures["task_compute_s"],
            "overhead_per_partition_s": max(idle, 0.0) / figures["partitions"]}


def partition_memory(source: Path, blocksize: int) -> int:
    """In-memory size (pandas, deep) of the largest partition the dataset is cut into, read whole."""
    import pyarrow.parquet as pq

    from drumkit.score.dataset import list_files, plan_partitions

    fs, root, files = list_files(str(source))
    parts = plan_partitions(fs, root, files, blocksize, whole_files=False)
    biggest = max(parts, key=lambda p: p.rows or 0)
    frame = pq.ParquetFile(biggest.path).read_row_groups(list(biggest.row_groups)).to_pandas()
    return int(frame.memory_usage(deep=True).sum())


def run(args, root: Path, say) -> dict:
    """Build everything, measure both models on both engines, and the overhead and memory figures."""
    from drumkit.score.dataset import parse_bytes

    blocksize = parse_bytes(args.blocksize)
    say(f"building a {args.rows:,}-row dataset of {args.files} Parquet files in {root} ...")
    started = time.perf_counter()
    source = build_dataset(root, args.rows, args.files)
    models = {"single_threaded": single_threaded_dir(root), "pipeline": score_bench.build_code_dir(root)}
    say(f"  built in {time.perf_counter() - started:.0f} s")
    report: dict = {"rows": args.rows, "files": args.files, "blocksize": blocksize, "workers": args.workers,
                    "cpus": os.cpu_count(), "partition_bytes_in_memory": partition_memory(source, blocksize)}
    for name, code in models.items():
        say(f"{name}: local engine ...")
        local = local_run(code, source, root / f"{name}_local", blocksize)
        say(f"  {local['rows_per_s']:,.0f} rows/s; dask engine ...")
        dask = dask_run(code, source, root / f"{name}_dask", blocksize, args.workers)
        say(f"  {dask['rows_per_s']:,.0f} rows/s")
        same = _same_parts(root / f"{name}_local", root / f"{name}_dask")
        report[name] = {"local": local, "dask": dask, "ratio": dask["rows_per_s"] / local["rows_per_s"],
                        "parts_identical": same}
        shutil.rmtree(root / f"{name}_local")
        shutil.rmtree(root / f"{name}_dask")
    say("scheduling overhead ...")
    report["overhead"] = scheduling_overhead(root, models["single_threaded"], args.workers)
    return report


def _same_parts(a: Path, b: Path) -> bool:
    import filecmp

    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def render(report: dict) -> str:
    """The figures and each ratio with its target."""
    mib = 2**20
    lines = [f"{report['rows']:,} rows in {report['files']} Parquet files, partitions of {report['blocksize'] / mib:.0f} MiB "
             f"(~{report['partition_bytes_in_memory'] / mib:.0f} MiB in memory), {report['workers']} dask workers, "
             f"{report['cpus']} CPUs (shared machine)", ""]
    for name, target in (("single_threaded", TARGET_SINGLE_THREADED), ("pipeline", TARGET_PIPELINE)):
        fig = report[name]
        local, dask = fig["local"], fig["dask"]
        ok = "ok" if fig["ratio"] >= target else "MISSED"
        lines += [
            f"{name}: local {local['rows_per_s']:,.0f} rows/s ({local['run_s']:.1f} s, {local['partitions']} partitions, "
            f"model load {local['load_s']:.1f} s); dask {dask['rows_per_s']:,.0f} rows/s ({dask['run_s']:.1f} s; "
            f"cluster start + model load {dask['start_s']:.1f} s)",
            f"  dask / local = {fig['ratio']:.2f}x (target >= {target}x) {ok}; parts byte-identical: {fig['parts_identical']}",
            f"  CPU: local {local['cpu_s']:.1f} s ({local['cpu_s'] / local['run_s']:.2f} cores busy), dask {dask['cpu_s']:.1f} s "
            f"driver + workers ({dask['cpu_s'] / dask['run_s']:.2f} cores busy); rows per CPU-second dask / local = "
            f"{dask['rows_per_cpu_s'] / local['rows_per_cpu_s']:.2f}",
        ]
        limit = TARGET_RSS_FACTOR * report["partition_bytes_in_memory"] + dask["worker_rss_loaded"]
        ok = "ok" if dask["worker_peak_rss"] <= limit else "MISSED"
        lines.append(f"  worker peak RSS {dask['worker_peak_rss'] / mib:.0f} MiB (target <= 2 x {report['partition_bytes_in_memory'] / mib:.0f} "
                     f"+ {dask['worker_rss_loaded'] / mib:.0f} MiB with the model loaded = {limit / mib:.0f} MiB) {ok}")
    over = report["overhead"]
    ok = "ok" if over["overhead_per_partition_s"] < TARGET_OVERHEAD_S else "MISSED"
    lines.append(f"scheduling overhead {over['overhead_per_partition_s'] * 1000:.1f} ms per partition over "
                 f"{over['partitions']} tiny partitions (target < {TARGET_OVERHEAD_S * 1000:.0f} ms) {ok}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = score_bench.run_in_temp_folder(run, args, "drumkit-dask-bench-", say)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
