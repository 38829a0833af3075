"""Prediction-server benchmark: `drumkit server` under load, against the in-process floor, with issue 3's targets.

Builds a light model (a custom.py whose score is one numpy dot over the numeric columns, so the
server's own cost shows) and the scikit-learn pipeline of `score_bench.py`, plus CSV/Arrow payloads,
in a temp folder it removes afterwards. Each server runs in its own process; the load comes from a
separate process: `wrk` when it is on PATH (this script installs nothing), else a Python client
(one process per connection, http.client keep-alive). The floor runs in one more process: decode
the same payload with pandas, predict, encode JSON, in a loop, for the same time, right after each
server measurement (so a busy machine slows both sides of each ratio alike).

    .venv/bin/python benchmarks/server_bench.py [--duration S] [--repeat N] [--client auto|wrk|python] [--light-only] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import score_bench  # noqa: E402  (the same generated table and pipeline as the score benchmark)

# Issue 3's targets for the light model.
ONE_WORKER_VS_FLOOR = 1.0
TWO_WORKERS_VS_ONE = 1.8
READY_SECONDS = 1.5

LIGHT_CUSTOM = '''
import numpy as np
import pandas as pd


def score(data, model, **kwargs):
    numeric = data.select_dtypes("number")
    weights = np.linspace(0.5, 1.5, numeric.shape[1])
    return pd.DataFrame({"Predictions": numeric.to_numpy(dtype=float) @ weights})
'''

# The floor: one process, no HTTP. Reads payload files named on argv, loops for a fixed time each,
# prints {name: {"rps":..., "p50":..., "p99":...}}.
FLOOR = r'''
import io, json, pickle, sys, time
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.ipc
kind, code_dir, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if kind == "light":
    sys.path.insert(0, code_dir)
    import custom
    predict = lambda frame: custom.score(frame, None)["Predictions"].to_numpy()
else:
    with open(f"{code_dir}/model.pkl", "rb") as handle:
        model = pickle.load(handle)
    predict = model.predict
def decode(body, fmt):
    if fmt == "arrow":
        return pa.ipc.open_stream(pa.py_buffer(body)).read_all().to_pandas()
    return pd.read_csv(io.BytesIO(body))
out = {}
for spec in sys.argv[4:]:
    name, fmt, path = spec.split("=", 2)
    body = open(path, "rb").read()
    def once():
        values = np.asarray(predict(decode(body, fmt)), dtype=float)
        return json.dumps({"predictions": [None if v != v or v in (float("inf"), float("-inf")) else v
                                           for v in values.tolist()]}).encode()
    for _ in range(5):
        once()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    times.sort()
    out[name] = {"rps": len(times) / sum(times), "p50": times[len(times) // 2],
                 "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "n": len(times)}
print(json.dumps(out))
'''

# The Python load generator: one process per connection, each a keep-alive http.client loop.
CLIENT = r'''
import http.client, json, multiprocessing as mp, sys, time
host, port, path, content_type, body_path, conns, seconds = sys.argv[1:8]
body = open(body_path, "rb").read()
def run(queue):
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    headers = {"Content-Type": content_type}
    times, bad = [], 0
    deadline = time.perf_counter() + float(seconds)
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - t)
        bad += response.status != 200
    queue.put((times, bad))
if __name__ == "__main__":
    queue = mp.get_context("fork").Queue()
    procs = [mp.get_context("fork").Process(target=run, args=(queue,)) for _ in range(int(conns))]
    start = time.perf_counter()
    for p in procs: p.start()
    results = [queue.get() for _ in procs]
    for p in procs: p.join()
    elapsed = time.perf_counter() - start
    times = sorted(t for r in results for t in r[0])
    print(json.dumps({"rps": len(times) / float(seconds), "p50": times[len(times) // 2],
                      "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "n": len(times),
                      "errors": sum(r[1] for r in results)}))
'''

WRK_LUA = '''
local f = io.open("{body}", "rb"); local body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "{content_type}"
'''

SCENARIOS = [  # name, payload, concurrency
    ("1-row CSV, c=1", "one_csv", 1),
    ("1-row CSV, c=8", "one_csv", 8),
    ("100-row CSV, c=1", "hundred_csv", 1),
    ("10k-row CSV, c=1", "tenk_csv", 1),
    ("10k-row Arrow, c=1", "tenk_arrow", 1),
]
MEDIA = {"csv": "text/csv", "arrow": "application/x-apache-arrow-stream"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--light-only", action="store_true", help="skip the scikit-learn pipeline")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate server and floor runs N times and keep the best of each (steadier ratios)")
    parser.add_argument("--threads", type=int, default=None, help="--threads for the server (default: its own)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def build_payloads(root: Path) -> dict[str, tuple[str, Path]]:
    """1-row, 100-row and 10k-row CSVs and a 10k-row Arrow stream from score_bench's generator."""
    import pyarrow as pa

    table = score_bench.make_table(10_000, seed=3)
    payloads = {}
    score_bench.write_one_row(table, root / "one.csv")
    payloads["one_csv"] = ("csv", root / "one.csv")
    score_bench.write_csv(table.slice(0, 100), root / "hundred.csv")
    payloads["hundred_csv"] = ("csv", root / "hundred.csv")
    score_bench.write_csv(table, root / "tenk.csv")
    payloads["tenk_csv"] = ("csv", root / "tenk.csv")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    (root / "tenk.arrow").write_bytes(sink.getvalue().to_pybytes())
    payloads["tenk_arrow"] = ("arrow", root / "tenk.arrow")
    return payloads


def build_light(root: Path) -> Path:
    code_dir = root / "light"
    code_dir.mkdir()
    (code_dir / "custom.py").write_text(textwrap.dedent(LIGHT_CUSTOM).lstrip())
    (code_dir / "model-metadata.yaml").write_text("name: light\ntype: inference\ntargetType: regression\n")
    return code_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `drumkit server` process: started, timed to ready, measured, stopped by PID."""

    def __init__(self, code_dir: Path, workers: int, logs: Path, threads: int | None):
        self.port = free_port()
        cmd = [*score_bench.drumkit_command(), "server", "--code-dir", str(code_dir),
               "--address", f"127.0.0.1:{self.port}", "--max-workers", str(workers)]
        if threads:
            cmd += ["--threads", str(threads)]
        self.log = logs / f"server-{self.port}.log"
        started = time.perf_counter()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        self.ready_seconds = self._wait_ready(started)

    def _wait_ready(self, started: float) -> float:
        deadline = started + 120
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/health/")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
        raise RuntimeError("server not ready in 120 s")

    def rss_mib(self) -> float:
        import psutil

        proc = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=60)


def run_wrk(port: int, payload: tuple[str, Path], conns: int, seconds: float, root: Path) -> dict:
    fmt, path = payload
    script = root / f"post_{fmt}.lua"
    script.write_text(WRK_LUA.format(body=path, content_type=MEDIA[fmt]))
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{max(1, round(seconds))}s", "--latency",
                          "-s", str(script), f"http://127.0.0.1:{port}/predict/"],
                         capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50"),
            "p99": latency("99"), "errors": int(errors.group(1)) if errors else 0,
            "n": int(re.search(r"(\d+) requests in", out).group(1))}


def run_python_client(port: int, payload: tuple[str, Path], conns: int, seconds: float) -> dict:
    fmt, path = payload
    out = subprocess.run([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), "/predict/", MEDIA[fmt], str(path),
                          str(conns), str(seconds)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def check_predictions(port: int, payloads: dict, code_dir: Path, kind: str) -> bool:
    """The server's answer for the 100-row CSV equals the model's own predictions, float for float."""
    import io
    import pickle

    import pandas as pd

    body = payloads["hundred_csv"][1].read_bytes()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/predict/", body=body, headers={"Content-Type": "text/csv"})
    served = json.loads(conn.getresponse().read())["predictions"]
    frame = pd.read_csv(io.BytesIO(body))
    if kind == "light":
        numeric = frame.select_dtypes("number")
        import numpy as np

        expected = (numeric.to_numpy(dtype=float) @ np.linspace(0.5, 1.5, numeric.shape[1])).tolist()
    else:
        with open(code_dir / "model.pkl", "rb") as handle:
            expected = pickle.load(handle).predict(frame).tolist()
    expected = [None if v != v else v for v in expected]  # NaN predictions are null in JSON
    return served == expected


def floor(kind: str, code_dir: Path, payloads: dict, seconds: float) -> dict:
    specs = [f"{name}={fmt}={path}" for name, (fmt, path) in payloads.items()]
    out = subprocess.run([sys.executable, "-c", FLOOR, kind, str(code_dir), str(seconds), *specs],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_model(kind: str, code_dir: Path, payloads: dict, args, root: Path, load) -> dict:
    """Each server figure is measured right after the floor for the same payload, so load drift hits both."""
    report: dict = {}

    def measure(port: int, name: str, payload: str, conns: int) -> dict:
        best, best_floor = None, None
        for _ in range(max(args.repeat, 1)):
            figures = load(port, payloads[payload], conns)
            base = floor(kind, code_dir, {payload: payloads[payload]}, args.duration)[payload]
            best = figures if best is None or figures["rps"] > best["rps"] else best
            best_floor = base if best_floor is None or base["rps"] > best_floor["rps"] else best_floor
        best["floor"] = best_floor
        return best

    one = Server(code_dir, 1, root, args.threads)
    try:
        report["ready_seconds"] = one.ready_seconds
        report["rss_idle_mib_1w"] = one.rss_mib()
        report["correct"] = check_predictions(one.port, payloads, code_dir, kind)
        report["one_worker"] = {name: measure(one.port, name, payload, conns) for name, payload, conns in SCENARIOS}
        report["rss_after_mib_1w"] = one.rss_mib()
    finally:
        report["exit_1w"] = one.stop()
    two = Server(code_dir, 2, root, args.threads)
    try:
        report["two_workers"] = {name: measure(two.port, name, payload, conns)
                                 for name, payload, conns in SCENARIOS[:2]}
        report["rss_after_mib_2w"] = two.rss_mib()
    finally:
        report["exit_2w"] = two.stop()
    return report


def render(report: dict) -> str:
    lines = [f"client: {report['client']}, {report['duration']}s per measurement, {os.cpu_count()} CPUs",
             f"{'model / measure':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'floor r/s':>10} {'ratio':>7}"]
    for kind, data in report["models"].items():
        for workers in ("one_worker", "two_workers"):
            for name, figures in data[workers].items():
                base = figures["floor"]["rps"]
                label = f"{kind}, {1 if workers == 'one_worker' else 2} worker(s), {name}"
                lines.append(f"{label:42} {figures['rps']:9.1f} {figures['p50'] * 1e3:8.2f} {figures['p99'] * 1e3:8.2f} "
                             f"{base:10.1f} {figures['rps'] / base:6.2f}x" + (f"  ({figures['errors']} errors)"
                                                                              if figures.get("errors") else ""))
        lines.append(f"{kind}: time to ready {data['ready_seconds']:.2f}s, RSS idle {data['rss_idle_mib_1w']:.0f} MiB, "
                     f"after load {data['rss_after_mib_1w']:.0f} MiB (1 worker), {data['rss_after_mib_2w']:.0f} MiB "
                     f"(2 workers + supervisor); predictions equal the model's: {data['correct']}; "
                     f"exit codes after SIGTERM: {data['exit_1w']}, {data['exit_2w']}")
    lines.append("")
    lines.append(f"{'target (light model)':58} {'value':>8} {'target':>8}  result")
    for label, value, target, ok in report["targets"]:
        lines.append(f"{label:58} {value:8.2f} {target:>8}  {'PASS' if ok else 'MISS'}")
    return "\n".join(lines)


def targets(models: dict) -> list:
    light = models["light"]
    one_c1 = light["one_worker"]["1-row CSV, c=1"]["rps"]
    one_c8 = light["one_worker"]["1-row CSV, c=8"]["rps"]
    two_c8 = light["two_workers"]["1-row CSV, c=8"]["rps"]
    floor_rps = light["one_worker"]["1-row CSV, c=1"]["floor"]["rps"]
    return [
        ("1 worker, 1-row CSV, c=1 vs floor (x)", one_c1 / floor_rps, f">= {ONE_WORKER_VS_FLOOR}",
         one_c1 / floor_rps >= ONE_WORKER_VS_FLOOR),
        ("2 workers c=8 vs 1 worker c=1 (x)", two_c8 / one_c1, f">= {TWO_WORKERS_VS_ONE}",
         two_c8 / one_c1 >= TWO_WORKERS_VS_ONE),
        ("2 workers c=8 vs 1 worker c=8 (x, info)", two_c8 / one_c8, "", True),
        ("time to ready (s)", light["ready_seconds"], f"< {READY_SECONDS}", light["ready_seconds"] < READY_SECONDS),
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    root = Path(tempfile.mkdtemp(prefix="drumkit_server_bench_", dir=args.workdir))
    try:
        payloads = build_payloads(root)
        if client == "wrk":
            load = lambda port, payload, conns: run_wrk(port, payload, conns, args.duration, root)  # noqa: E731
        else:
            load = lambda port, payload, conns: run_python_client(port, payload, conns, args.duration)  # noqa: E731
        models = {"light": bench_model("light", build_light(root), payloads, args, root, load)}
        if not args.light_only:
            models["sklearn"] = bench_model("sklearn", score_bench.build_code_dir(root), payloads, args, root, load)
        report = {"client": client, "duration": args.duration, "models": models}
        report["targets"] = targets(models)
        print(json.dumps(report, indent=2) if args.json else render(report))
        ok = all(m["correct"] and m["exit_1w"] == 0 and m["exit_2w"] == 0 for m in models.values())
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
