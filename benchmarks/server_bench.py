"""Prediction-server benchmark: `drumkit server` on real batches against the in-process floor (and DRUM), with issue 9's targets.

What it builds (in a temp folder it removes afterwards): the light model (a custom.py whose
`score` selects the 20 numeric columns by name and does one numpy dot, so the server's own cost
shows), the scikit-learn pipeline of `score_bench.py`, and payloads from score_bench's generator:
1-row, 100-row, 10k-row and 100k-row (~19 MB) CSVs, a 10k-row Arrow IPC stream and a 10k-row
Parquet file.

The floor is one Python process, no HTTP, doing what a user would write by hand in a loop:
`pandas.read_csv` (or `pyarrow.ipc` / `pyarrow.parquet` for those payloads) -> the same model ->
`{"predictions": ...}` with pandas `to_json`. It runs for the same time right after each server
measurement of the same payload (`--repeat N` alternates them N times and keeps the best of each),
so a busy machine slows both sides of a ratio alike. Peak RSS is each process's VmHWM.

The load comes from `wrk` when it is on PATH (`apt-get install wrk`; `make bench-server` installs
it), else from a Python client (one process per connection, raw keep-alive sockets). `--with-drum`
also runs DRUM 1.18.1 on the light model in the same run, from its own venv (made once with
`pip install datarobot-drum==1.18.1` under --drum-venv).

    python benchmarks/server_bench.py [--duration S] [--repeat N] [--with-drum] [--client auto|wrk|python] [--json]
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

DRUM_VERSION = "1.18.1"
ARROW_TYPE = "application/vnd.apache.arrow.stream"
MEDIA = {"csv": "text/csv", "arrow": ARROW_TYPE, "parquet": "application/vnd.apache.parquet"}

LIGHT_CUSTOM = '''
import numpy as np
import pandas as pd

COLUMNS = [f"num{i}" for i in range(20)]
WEIGHTS = np.linspace(0.5, 1.5, len(COLUMNS))


def load_model(code_dir):
    return "light"  # DRUM 1.18.1 refuses a code dir with neither an artifact nor load_model


def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data[COLUMNS].to_numpy(dtype=float) @ WEIGHTS})
'''

# The floor: one process, no HTTP. argv: kind, code_dir, seconds, name=fmt=path. Prints
# {name: {"rps", "p50", "p99", "n"}, "peak_rss_mib": VmHWM}.
FLOOR = r'''
import io, json, pickle, sys, time
import pandas as pd, pyarrow as pa, pyarrow.ipc, pyarrow.parquet as pq
kind, code_dir, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if kind == "light":
    sys.path.insert(0, code_dir)
    import custom
    predict = lambda frame: custom.score(frame, None)["Predictions"]
else:
    with open(f"{code_dir}/model.pkl", "rb") as handle:
        model = pickle.load(handle)
    predict = lambda frame: pd.Series(model.predict(frame))
DECODE = {"csv": lambda body: pd.read_csv(io.BytesIO(body)),
          "arrow": lambda body: pa.ipc.open_stream(pa.py_buffer(body)).read_all().to_pandas(),
          "parquet": lambda body: pq.read_table(pa.BufferReader(body)).to_pandas()}
out = {}
for spec in sys.argv[4:]:
    name, fmt, path = spec.split("=", 2)
    body = open(path, "rb").read()
    decode = DECODE[fmt]
    def once():
        return ('{"predictions":' + predict(decode(body)).to_json(orient="values") + "}").encode()
    for _ in range(3):
        once()
    times = []
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu
    times.sort()
    out[name] = {"rps": len(times) / sum(times), "p50": times[len(times) // 2],
                 "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "n": len(times),
                 "cpu_ms": cpu / len(times) * 1e3}
status = open("/proc/self/status").read() if sys.platform.startswith("linux") else ""
hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
out["peak_rss_mib"] = int(hwm[0]) / 1024 if hwm else None
print(json.dumps(out))
'''

# The Python load generator: one process per connection, each a keep-alive loop on a raw socket
# (http.client costs ~0.2 ms a request, as much as a 1-row prediction).
CLIENT = r'''
import json, multiprocessing as mp, socket, sys, time
host, port, path, content_type, accept, body_path, conns, seconds = sys.argv[1:9]
body = open(body_path, "rb").read()
head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        + (f"Accept: {accept}\r\n" if accept else "") + f"Content-Length: {len(body)}\r\n\r\n").encode()
request = head + body
def answer(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    header, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    length = int(next(line.split(b":", 1)[1] for line in header.split(b"\r\n") if line.lower().startswith(b"content-length:")))
    while len(rest) < length:
        chunk = sock.recv(max(262144, length - len(rest)))
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:], b"\r\nconnection: close" in header.lower()
def connect():
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
def run(queue):
    sock = connect()
    times, bad, buffer = [], 0, b""
    deadline = time.perf_counter() + float(seconds)
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        sock.sendall(request)
        status, buffer, closed = answer(sock, buffer)
        if closed:  # a busy server closes keep-alive connections (its backlog queues fairly)
            sock.close()
            sock, buffer = connect(), b""
        times.append(time.perf_counter() - t)
        bad += status != 200
    queue.put((times, bad))
if __name__ == "__main__":
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=run, args=(queue,)) for _ in range(int(conns))]
    for p in procs: p.start()
    results = [queue.get() for _ in procs]
    for p in procs: p.join()
    times = sorted(t for r in results for t in r[0])
    print(json.dumps({"rps": len(times) / float(seconds), "p50": times[len(times) // 2],
                      "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "n": len(times),
                      "errors": sum(r[1] for r in results)}))
'''

WRK_LUA = '''
local f = io.open("{body}", "rb"); local body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "{content_type}"
{accept}
'''

# name, payload, concurrency, Accept. One worker unless the name says otherwise.
DRUM_CASES = ("1-row CSV", "10k-row CSV")  # measured on DRUM too, in the same rounds, with --with-drum
LIGHT_CASES = [
    ("1-row CSV", "one_csv", 1, None),
    ("100-row CSV", "hundred_csv", 1, None),
    ("10k-row CSV", "tenk_csv", 1, None),
    ("10k-row Arrow", "tenk_arrow", 1, None),
    ("10k-row Parquet", "tenk_parquet", 1, None),
    ("10k-row Arrow in, Arrow out", "tenk_arrow", 1, ARROW_TYPE),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate server and floor runs N times and keep the best of each (steadier ratios)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--with-drum", action="store_true", help=f"also run DRUM {DRUM_VERSION} (its own venv)")
    parser.add_argument("--drum-venv", type=Path, default=Path.home() / ".cache" / "drumkit-bench" / f"drum-{DRUM_VERSION}",
                        help="where the DRUM venv lives (made on first use)")
    parser.add_argument("--light-only", action="store_true", help="skip the scikit-learn pipeline")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def build_payloads(root: Path) -> dict[str, tuple[str, Path]]:
    """The CSV, Arrow and Parquet payloads, all cut from one seeded 100k-row table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = score_bench.make_table(100_000, seed=3)
    table = big.slice(0, 10_000)
    payloads = {}
    score_bench.write_one_row(table, root / "one.csv")
    payloads["one_csv"] = ("csv", root / "one.csv")
    score_bench.write_csv(table.slice(0, 100), root / "hundred.csv")
    payloads["hundred_csv"] = ("csv", root / "hundred.csv")
    score_bench.write_csv(table, root / "tenk.csv")
    payloads["tenk_csv"] = ("csv", root / "tenk.csv")
    score_bench.write_csv(big, root / "hundredk.csv")
    payloads["hundredk_csv"] = ("csv", root / "hundredk.csv")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    (root / "tenk.arrow").write_bytes(sink.getvalue().to_pybytes())
    payloads["tenk_arrow"] = ("arrow", root / "tenk.arrow")
    pq.write_table(table, root / "tenk.parquet")
    payloads["tenk_parquet"] = ("parquet", root / "tenk.parquet")
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


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM of a process (Linux), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Server:
    """A server process (drumkit or DRUM): started, waited for, stopped by PID."""

    def __init__(self, cmd: list[str], logs: Path, port: int, env: dict | None = None):
        self.port = port
        self.log = logs / f"server-{port}.log"
        started = time.perf_counter()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        self.ready_seconds = self._wait_ready(started)

    @classmethod
    def drumkit(cls, code_dir: Path, workers: int, logs: Path) -> "Server":
        port = free_port()
        return cls([*score_bench.drumkit_command(), "server", "--code-dir", str(code_dir),
                    "--address", f"127.0.0.1:{port}", "--max-workers", str(workers)], logs, port)

    @classmethod
    def drum(cls, venv: Path, code_dir: Path, logs: Path) -> "Server":
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return cls([str(venv / "bin" / "drum"), "server", "--code-dir", str(code_dir), "--target-type", "regression",
                    "--address", f"127.0.0.1:{port}"], logs, port, env)

    def _wait_ready(self, started: float) -> float:
        deadline = started + 180
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/ping/")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("server not ready in 180 s")

    def peak_rss_mib(self) -> float | None:
        """The largest VmHWM among the server's workers (the supervisor forks them at every worker count)."""
        import psutil

        pids = [child.pid for child in psutil.Process(self.proc.pid).children(recursive=True)] or [self.proc.pid]
        peaks = [peak for peak in map(peak_rss_mib, pids) if peak is not None]
        return max(peaks) if peaks else None

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its workers so far."""
        import psutil

        proc = psutil.Process(self.proc.pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=60)


def run_wrk(port: int, payload: tuple[str, Path], conns: int, accept: str | None, seconds: float, root: Path) -> dict:
    fmt, path = payload
    script = root / f"post_{fmt}_{'a' if accept else 'j'}.lua"
    script.write_text(WRK_LUA.format(body=path, content_type=MEDIA[fmt],
                                     accept=f'wrk.headers["Accept"] = "{accept}"' if accept else ""))
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{max(1, round(seconds))}s",
                          "--latency", "--timeout", "60s", "-s", str(script), f"http://127.0.0.1:{port}/predict/"],
                         capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50"),
            "p99": latency("99"), "errors": int(errors.group(1)) if errors else 0,
            "n": int(re.search(r"(\d+) requests in", out).group(1))}


def run_python_client(port: int, payload: tuple[str, Path], conns: int, accept: str | None, seconds: float) -> dict:
    fmt, path = payload
    out = subprocess.run([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), "/predict/", MEDIA[fmt], accept or "",
                          str(path), str(conns), str(seconds)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def floor(kind: str, code_dir: Path, payloads: dict, names: list[str], seconds: float) -> dict:
    specs = [f"{name}={payloads[name][0]}={payloads[name][1]}" for name in names]
    out = subprocess.run([sys.executable, "-c", FLOOR, kind, str(code_dir), str(seconds), *specs],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def expected_predictions(kind: str, code_dir: Path, body: bytes) -> list:
    import io
    import pickle

    import numpy as np
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(body))
    if kind == "light":
        values = frame[[f"num{i}" for i in range(20)]].to_numpy(dtype=float) @ np.linspace(0.5, 1.5, 20)
    else:
        with open(code_dir / "model.pkl", "rb") as handle:
            values = pickle.load(handle).predict(frame)
    return [None if v != v else v for v in values.tolist()]  # NaN predictions are null in JSON


def check_answers(port: int, payloads: dict, code_dir: Path, kind: str) -> dict:
    """The 100-row CSV's JSON answer equals the model's own predictions, float for float; CSV and Arrow answers hold the same."""
    import io

    import pandas as pd
    import pyarrow as pa

    body = payloads["hundred_csv"][1].read_bytes()
    expected = expected_predictions(kind, code_dir, body)

    def post(accept: str | None) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/predict/", body=body, headers={"Content-Type": "text/csv", **({"Accept": accept} if accept else {})})
        return conn.getresponse().read()

    checks = {"json": json.loads(post(None))["predictions"] == expected}
    as_csv = pd.read_csv(io.BytesIO(post("text/csv")))["Predictions"].tolist()
    checks["csv"] = [None if v != v else v for v in as_csv] == expected
    as_arrow = pa.ipc.open_stream(pa.py_buffer(post(ARROW_TYPE))).read_all().column("Predictions").to_pylist()
    checks["arrow"] = [None if v != v else v for v in as_arrow] == expected
    return checks


def drum_venv(path: Path) -> Path:
    """The DRUM venv, made on first use with pip (needs PyPI)."""
    if not (path / "bin" / "drum").exists():
        print(f"making {path} with pip install datarobot-drum=={DRUM_VERSION} (once)...", file=sys.stderr)
        path.parent.mkdir(parents=True, exist_ok=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", f"datarobot-drum=={DRUM_VERSION}"],
                       check=True)
    return path


class Bench:
    """Runs servers and floors for one model; each server figure is measured next to its floor."""

    def __init__(self, args, root: Path, payloads: dict, load):
        self.args, self.root, self.payloads, self.load = args, root, payloads, load

    def load_with_cpu(self, server: Server, payload: str, conns: int, accept: str | None) -> dict:
        cpu = server.cpu_seconds()
        figures = self.load(server.port, self.payloads[payload], conns, accept)
        figures["cpu_ms"] = (server.cpu_seconds() - cpu) / max(figures["n"], 1) * 1e3
        return figures

    def measure(self, server: Server, payload: str, conns: int, accept: str | None, kind: str, code_dir: Path,
                others: dict[str, tuple[Server, int]] | None = None) -> dict:
        """Best of --repeat rounds of: this server, each of `others` (name: (server, concurrency)), the floor, one
        after the other, so that every ratio between them compares figures of the same rounds. The servers take
        turns going first (the second one of a round ran right after the first one's load)."""
        servers = [("server", server, conns), *((name, *other) for name, other in (others or {}).items())]
        best: dict = {}
        for turn in range(max(self.args.repeat, 1)):
            rounds = {}
            for name, target, target_conns in servers[turn % len(servers):] + servers[:turn % len(servers)]:
                rounds[name] = self.load_with_cpu(target, payload, target_conns, accept)
            base = floor(kind, code_dir, self.payloads, [payload], self.args.duration)
            rounds["floor"] = {**base[payload], "peak_rss_mib": base["peak_rss_mib"]}
            for key, figures in rounds.items():
                if key not in best or figures["rps"] > best[key]["rps"]:
                    best[key] = figures
        return {**best.pop("server"), **best}

    def light(self, code_dir: Path, drum: Server | None) -> dict:
        report: dict = {"cases": {}}
        one = Server.drumkit(code_dir, 1, self.root)
        try:
            report["ready_seconds"] = one.ready_seconds
            report["checks"] = check_answers(one.port, self.payloads, code_dir, "light")
            for name, payload, conns, accept in LIGHT_CASES:
                rival = {"rival": (drum, conns)} if drum is not None and name in DRUM_CASES else None
                report["cases"][name] = self.measure(one, payload, conns, accept, "light", code_dir, rival)
            report["cases"]["10k-row CSV, c=4"] = self.measure(one, "tenk_csv", 4, None, "light", code_dir)
            fresh = Server.drumkit(code_dir, 1, self.root)  # its own process, so its peak RSS is this case's
            try:
                report["cases"]["100k-row CSV"] = case = self.measure(fresh, "hundredk_csv", 1, None, "light", code_dir)
                case["peak_rss_mib"] = fresh.peak_rss_mib()
            finally:
                report["exit_fresh"] = fresh.stop()
            two = Server.drumkit(code_dir, 2, self.root)
            try:
                # One worker at c=1 in the same rounds: the machine's speed moves by +-15% from minute to minute.
                report["cases"]["10k-row CSV, 2 workers, c=4"] = self.measure(
                    two, "tenk_csv", 4, None, "light", code_dir, {"one_worker": (one, 1)})
            finally:
                report["exit_2w"] = two.stop()
        finally:
            report["exit_1w"] = one.stop()
        return report

    def sklearn(self, code_dir: Path) -> dict:
        server = Server.drumkit(code_dir, 1, self.root)
        try:
            checks = check_answers(server.port, self.payloads, code_dir, "sklearn")
            case = self.measure(server, "tenk_csv", 1, None, "sklearn", code_dir)
        finally:
            code = server.stop()
        return {"checks": checks, "cases": {"10k-row CSV": case}, "exit_1w": code}

    def drum(self, code_dir: Path) -> tuple[Server, dict]:
        """DRUM's server on the light model, and whether its answer holds the model's predictions (to its 10 digits)."""
        venv = drum_venv(self.args.drum_venv)
        server = Server.drum(venv, code_dir, self.root)
        body = self.payloads["hundred_csv"][1].read_bytes()
        served = json.loads(_post(server.port, body))["predictions"]
        expected = expected_predictions("light", code_dir, body)
        close = len(served) == len(expected) and all(
            (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b)))
            for a, b in zip(served, expected))
        return server, {"correct": close, "ready_seconds": server.ready_seconds}


def _post(port: int, body: bytes) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/predict/", body=body, headers={"Content-Type": "text/csv"})
    return conn.getresponse().read()


def targets(report: dict) -> list[tuple[str, float | None, str, bool | None]]:
    """(label, value, target, met) for every target of issue 9; met None when not measured."""
    light = report["light"]["cases"]

    def vs_floor(name: str, floor_of: str | None = None) -> float:
        return light[name]["rps"] / light[floor_of or name]["floor"]["rps"]

    rows = [
        ("1-row CSV vs floor", vs_floor("1-row CSV"), 1.1),
        ("100-row CSV vs floor", vs_floor("100-row CSV"), 1.0),
        ("10k-row CSV vs floor", vs_floor("10k-row CSV"), 1.3),
        ("10k-row Arrow vs the Arrow floor", vs_floor("10k-row Arrow"), 1.0),
        ("10k-row Parquet vs the Parquet floor", vs_floor("10k-row Parquet"), 1.0),
        ("100k-row CSV vs floor", vs_floor("100k-row CSV"), 1.3),
        ("100k-row CSV: floor peak RSS / worker peak RSS",
         light["100k-row CSV"]["floor"]["peak_rss_mib"] / light["100k-row CSV"]["peak_rss_mib"], 1.0),
        ("10k CSV: 2 workers c=4 vs 1 worker c=1 (same rounds)",
         light["10k-row CSV, 2 workers, c=4"]["rps"] / light["10k-row CSV, 2 workers, c=4"]["one_worker"]["rps"], 1.7),
        ("Arrow in + Accept Arrow, 10k vs the JSON floor (10k CSV)",
         light["10k-row Arrow in, Arrow out"]["rps"] / light["10k-row CSV"]["floor"]["rps"], 3.0),
    ]
    out = [(label, value, f">= {target}", value >= target) for label, value, target in rows]
    two = light["10k-row CSV, 2 workers, c=4"]
    out.insert(-1, ("10k CSV: 2 workers c=4 vs 1 worker c=4 (info)",
                    two["rps"] / light["10k-row CSV, c=4"]["rps"], "", None))
    # What the CPUs allow: 2 workers cannot serve more than every core's time over the CPU one request
    # costs them (the load generator's own CPU not even counted), whatever one worker at c=1 reaches.
    out.insert(-1, ("10k CSV: cores 1 worker c=1 keeps busy (info)",
                    two["one_worker"]["cpu_ms"] * two["one_worker"]["rps"] / 1e3, "", None))
    out.insert(-1, ("10k CSV: CPU ceiling of 2 workers vs 1 worker c=1 (info)",
                    usable_cpus() * 1e3 / two["cpu_ms"] / two["one_worker"]["rps"], "", None))
    out.append(("Arrow in + Accept Arrow, 10k vs the Arrow JSON floor (info)",
                light["10k-row Arrow in, Arrow out"]["rps"] / light["10k-row Arrow"]["floor"]["rps"], "", None))
    if "sklearn" in report:
        case = report["sklearn"]["cases"]["10k-row CSV"]
        value = case["rps"] / case["floor"]["rps"]
        out.append(("sklearn pipeline, 10k-row CSV vs its floor", value, ">= 1.0", value >= 1.0))
    if "drum" in report:
        for name, target in (("10k-row CSV", 1.5), ("1-row CSV", None)):
            value = light[name]["rps"] / light[name]["rival"]["rps"]
            out.append((f"{name} vs DRUM {DRUM_VERSION} (same rounds)", value, f">= {target}" if target else "",
                        value >= target if target else None))
    return out


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def render(report: dict) -> str:
    lines = [f"drumkit server benchmark: load from {report['client']}, {report['duration']}s per measurement, "
             f"best of {report['repeat']} rounds, {os.cpu_count()} CPUs, load average before: {report['loadavg']}",
             "floor = one process, no HTTP: read_csv / pyarrow.ipc / pyarrow.parquet -> model -> to_json.",
             "ratio = server req/s / floor req/s, measured in the same round; cpu ms = CPU time per request of the",
             "server process(es) / of the floor (less sensitive to other load on a shared machine than req/s).", "",
             f"{'model / case (1 worker, c=1 unless said)':44} {'req/s':>8} {'p50 ms':>7} {'cpu ms':>7} "
             f"{'floor r/s':>9} {'floor cpu':>9} {'ratio':>6} {'cpu ratio':>9}"]

    def row(label: str, fig: dict, base: dict) -> str:
        return (f"{label:44} {fig['rps']:8.1f} {fig['p50'] * 1e3:7.2f} {fig.get('cpu_ms', float('nan')):7.2f} "
                f"{base['rps']:9.1f} {base['cpu_ms']:9.2f} {fig['rps'] / base['rps']:5.2f}x "
                f"{base['cpu_ms'] / fig['cpu_ms'] if fig.get('cpu_ms') else float('nan'):8.2f}x"
                + (f"  ({fig['errors']} errors)" if fig.get("errors") else ""))

    sections = [("light", report["light"]), *(("sklearn", report[k]) for k in ("sklearn",) if k in report)]
    for kind, data in sections:
        for name, fig in data["cases"].items():
            lines.append(row(f"{kind}, {name}", fig, fig["floor"]))
            if "rival" in fig:
                lines.append(row(f"  DRUM {DRUM_VERSION}, {name}", fig["rival"], fig["floor"]))
            if "one_worker" in fig:
                lines.append(row("  1 worker, c=1 (same rounds)", fig["one_worker"], fig["floor"]))
    light = report["light"]
    big = light["cases"]["100k-row CSV"]
    lines.append(f"100k-row CSV peak RSS (VmHWM): worker {big['peak_rss_mib']:.0f} MiB, floor {big['floor']['peak_rss_mib']:.0f} MiB")
    lines.append(f"answers equal the model's own predictions (JSON, CSV, Arrow): light {light['checks']}"
                 + (f", sklearn {report['sklearn']['checks']}" if "sklearn" in report else "")
                 + (f"; DRUM's JSON (10 digits) close to them: {report['drum']['correct']}" if "drum" in report else ""))
    lines.append(f"time to ready {light['ready_seconds']:.2f}s; exit codes after SIGTERM: "
                 f"{light['exit_1w']}, {light['exit_fresh']}, {light['exit_2w']}")
    if report.get("drum_error"):
        lines.append(f"DRUM not measured: {report['drum_error']}")
    lines += ["", f"{'target':62} {'value':>7} {'target':>8}  result"]
    for label, value, target, ok in report["targets"]:
        lines.append(f"{label:62} {value:7.2f} {target:>8}  {'info' if ok is None else 'PASS' if ok else 'MISS'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="drumkit_server_bench_", dir=args.workdir))
    try:
        payloads = build_payloads(root)
        if client == "wrk":
            load = lambda port, payload, conns, accept: run_wrk(port, payload, conns, accept, args.duration, root)  # noqa: E731
        else:
            load = lambda port, payload, conns, accept: run_python_client(port, payload, conns, accept, args.duration)  # noqa: E731
        report = {"client": client, "duration": args.duration, "repeat": args.repeat,
                  "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
        bench = Bench(args, root, payloads, load)
        light_dir = build_light(root)
        drum = None
        if args.with_drum:
            try:
                drum, report["drum"] = bench.drum(light_dir)
            except (subprocess.CalledProcessError, RuntimeError, OSError, ValueError) as exc:
                report["drum_error"] = f"{type(exc).__name__}: {exc}"[:500]
        try:
            report["light"] = bench.light(light_dir, drum)
        finally:
            if drum is not None:
                drum.stop()
        if not args.light_only:
            report["sklearn"] = bench.sklearn(score_bench.build_code_dir(root))
        report["targets"] = targets(report)
        print(json.dumps(report, indent=2) if args.json else render(report))
        light = report["light"]
        ok = all(light["checks"].values()) and light["exit_1w"] == light["exit_fresh"] == light["exit_2w"] == 0
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
