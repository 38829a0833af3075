"""custom_flask.py benchmark: the lean predict path without an extension, and the Flask path an extension takes.

Builds server_bench's light model (one numpy dot in a score hook) twice: as it is, and with a
`custom_flask.py` whose `before_request` hook lets every request through (the cost of an auth check
without the check). Each is served by `drumkit server` (1 worker); the load is server_bench's client
(wrk when on PATH, else Python). The baseline is server_bench's in-process floor for the same
payload, measured right after each server run: without an extension the server must keep issue 3's
target (>= 1.0x the floor on one-row CSV requests); with one, the ratio shows what routing through
Flask costs.

    .venv/bin/python benchmarks/extension_bench.py [--duration S] [--repeat N] [--client auto|wrk|python] [--json]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import server_bench  # noqa: E402  (its model, payloads, server process, clients and floor)

NO_OP_EXTENSION = '''
from flask import request


def init_app(app):
    @app.before_request
    def let_through():
        return None if request.endpoint else None
'''
SCENARIOS = [("one_csv_1conn", "one_csv", 1), ("hundred_csv_4conn", "hundred_csv", 4)]


def build_extended(root: Path) -> Path:
    """The light model plus a pass-through custom_flask.py."""
    (root / "extended").mkdir()
    code_dir = server_bench.build_light(root / "extended")
    (code_dir / "custom_flask.py").write_text(textwrap.dedent(NO_OP_EXTENSION).lstrip())
    return code_dir


def measure(code_dir: Path, floor_dir: Path, payloads: dict, args, root: Path, load) -> dict:
    """Best of --repeat runs per scenario, each followed by the floor for the same payload."""
    server = server_bench.Server(code_dir, 1, root, args.threads)
    figures = {}
    try:
        for name, payload, conns in SCENARIOS:
            best, best_floor = None, None
            for _ in range(max(args.repeat, 1)):
                run = load(server.port, payloads[payload], conns)
                base = server_bench.floor("light", floor_dir, {payload: payloads[payload]}, args.duration)[payload]
                best = run if best is None or run["rps"] > best["rps"] else best
                best_floor = base if best_floor is None or base["rps"] > best_floor["rps"] else best_floor
            figures[name] = {"rps": best["rps"], "p50": best["p50"], "errors": best.get("errors", 0),
                             "floor_rps": best_floor["rps"], "vs_floor": best["rps"] / best_floor["rps"]}
    finally:
        figures["exit"] = server.stop()
    return figures


def main(argv=None) -> int:
    args = server_bench.parse_args(argv)
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    root = Path(tempfile.mkdtemp(prefix="drumkit_ext_bench_", dir=args.workdir))
    try:
        payloads = server_bench.build_payloads(root)
        if client == "wrk":
            load = lambda port, payload, conns: server_bench.run_wrk(port, payload, conns, args.duration, root)  # noqa: E731
        else:
            load = lambda port, payload, conns: server_bench.run_python_client(port, payload, conns, args.duration)  # noqa: E731
        light = server_bench.build_light(root)
        report = {"client": client, "duration": args.duration,
                  "lean": measure(light, light, payloads, args, root, load),
                  "extension": measure(build_extended(root), light, payloads, args, root, load)}
        for name, _, _ in SCENARIOS:
            report.setdefault("extension_vs_lean", {})[name] = (
                report["extension"][name]["rps"] / report["lean"][name]["rps"])
        report["target_lean_one_row_vs_floor"] = {"target": server_bench.ONE_WORKER_VS_FLOOR,
                                                  "got": report["lean"]["one_csv_1conn"]["vs_floor"]}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"client: {client}, {args.duration}s per measurement, best of {max(args.repeat, 1)}")
            for name, _, _ in SCENARIOS:
                lean, ext = report["lean"][name], report["extension"][name]
                print(f"{name:20s} lean {lean['rps']:8.0f} req/s ({lean['vs_floor']:.2f}x floor)   "
                      f"extension {ext['rps']:8.0f} req/s ({ext['vs_floor']:.2f}x floor, "
                      f"{report['extension_vs_lean'][name]:.2f}x lean)")
            target = report["target_lean_one_row_vs_floor"]
            print(f"target: lean one-row vs floor >= {target['target']:.1f}: {target['got']:.2f} "
                  f"{'OK' if target['got'] >= target['target'] else 'MISSED'}")
        return 0 if report["lean"]["exit"] == 0 and report["extension"]["exit"] == 0 else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
