"""Chat streaming benchmark: do open streams hold up /ping/, and do tokens arrive as the hook yields them?

Builds a chat code dir in a temp folder (its hook streams TOKENS chunks, GAP seconds apart, after a
first-token delay FIRST), starts `drumkit server` on a free loopback port, then measures, in this one run:

- /ping/ latency with no stream open (the baseline), then with --streams streams open at once:
  the ratio of the two p99s shows whether streams block other requests (a server that ran streams
  on its request slot would answer /ping/ only when a stream ends: ratio in the hundreds);
- each stream's time to first token and gaps between tokens as the client sees them, against the
  hook's own pacing (FIRST, GAP): ratios near 1.0 mean chunks are sent as produced, not buffered.

    .venv/bin/python benchmarks/chat_bench.py [--streams N] [--tokens N] [--gap S] [--pings N] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

# Targets: /ping/ p99 with streams open within 5x the idle p99 (and under 50 ms), token gaps within 1.5x the hook's.
PING_RATIO = 5.0
PING_CEILING_S = 0.05
GAP_RATIO = 1.5

CHAT_CUSTOM = '''
import time

FIRST, GAP, TOKENS = {first!r}, {gap!r}, {tokens!r}


def chat(completion_create_params, model):
    def chunks():
        for i in range(TOKENS):
            time.sleep(FIRST if i == 0 else GAP)
            yield {{"object": "chat.completion.chunk", "id": "b", "created": 0, "model": "bench",
                   "choices": [{{"index": 0, "delta": {{"content": " t"}}, "finish_reason": None}}]}}
    return chunks()
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ping_latencies(port: int, count: int) -> list[float]:
    """`count` GETs of /ping/ over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", "/ping/")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/ping/ answered {response.status}")
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
    return times


def stream(port: int, out: dict, opened: threading.Event) -> None:
    """One streamed chat request: arrival time of every content chunk, relative to the request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "go"}], "stream": True})
    started = time.perf_counter()
    conn.request("POST", "/chat/completions", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    arrivals = []
    for line in iter(response.readline, b""):
        if line.startswith(b"data: ") and line.strip() != b"data: [DONE]":
            arrivals.append(time.perf_counter() - started)
            opened.set()
    conn.close()
    out["arrivals"] = arrivals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=150)
    parser.add_argument("--gap", type=float, default=0.02)
    parser.add_argument("--first", type=float, default=0.2)
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="drumkit_chat_bench_") as tmp:
        code_dir = Path(tmp) / "chat"
        code_dir.mkdir()
        (code_dir / "custom.py").write_text(textwrap.dedent(
            CHAT_CUSTOM.format(first=args.first, gap=args.gap, tokens=args.tokens)))
        port = free_port()
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "drumkit", "server", "--code-dir", str(code_dir),
                                   "--target-type", "agenticworkflow", "--address", f"127.0.0.1:{port}",
                                   "--logging-level", "error"], stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    ping_latencies(port, 1)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server did not start: " + (Path(tmp) / "server.log").read_text())
                    time.sleep(0.05)
            ping_latencies(port, 20)  # warm up
            idle = ping_latencies(port, args.pings)
            results = [{} for _ in range(args.streams)]
            opened = [threading.Event() for _ in range(args.streams)]
            threads = [threading.Thread(target=stream, args=(port, results[i], opened[i]))
                       for i in range(args.streams)]
            for thread in threads:
                thread.start()
            for event in opened:
                if not event.wait(30):
                    raise RuntimeError("a stream sent no first chunk within 30 s")
            busy = ping_latencies(port, args.pings)
            still_open = sum(thread.is_alive() for thread in threads)
            for thread in threads:
                thread.join(120)
        finally:
            if server.poll() is None:
                os.kill(server.pid, signal.SIGTERM)
                server.wait(30)
            log.close()

    first = [r["arrivals"][0] for r in results]
    gaps = [b - a for r in results for a, b in zip(r["arrivals"], r["arrivals"][1:])]
    figures = {
        "ping_idle_p50_s": percentile(idle, 50), "ping_idle_p99_s": percentile(idle, 99),
        "ping_streams_p50_s": percentile(busy, 50), "ping_streams_p99_s": percentile(busy, 99),
        "streams_open_during_pings": still_open, "streams": args.streams,
        "tokens_received": [len(r["arrivals"]) for r in results], "tokens_sent": args.tokens,
        "ttft_p50_s": percentile(first, 50), "hook_first_token_s": args.first,
        "gap_p50_s": percentile(gaps, 50), "gap_p99_s": percentile(gaps, 99), "hook_gap_s": args.gap,
    }
    ping_ratio = figures["ping_streams_p99_s"] / figures["ping_idle_p99_s"]
    gap_ratio = figures["gap_p50_s"] / args.gap
    checks = [
        ("/ping/ p99, streams open vs idle", ping_ratio, f"<= {PING_RATIO:g}x",
         ping_ratio <= PING_RATIO and figures["ping_streams_p99_s"] <= PING_CEILING_S),
        ("token gap p50, client vs hook", gap_ratio, f"<= {GAP_RATIO:g}x", gap_ratio <= GAP_RATIO),
        ("time to first token, client vs hook", figures["ttft_p50_s"] / args.first, "info", True),
    ]
    complete = all(n == args.tokens for n in figures["tokens_received"]) and still_open == args.streams
    if args.json:
        print(json.dumps({**figures, "checks": [{"measure": m, "ratio": r, "target": t, "pass": ok}
                                                for m, r, t, ok in checks], "complete": complete}, indent=2))
    else:
        print(f"{args.streams} streams of {args.tokens} tokens, {args.gap * 1000:g} ms apart after "
              f"{args.first * 1000:g} ms; {args.pings} pings each way")
        print(f"/ping/ idle:         p50 {figures['ping_idle_p50_s'] * 1000:7.2f} ms  p99 {figures['ping_idle_p99_s'] * 1000:7.2f} ms")
        print(f"/ping/ with streams: p50 {figures['ping_streams_p50_s'] * 1000:7.2f} ms  p99 "
              f"{figures['ping_streams_p99_s'] * 1000:7.2f} ms  ({still_open} of {args.streams} streams open throughout)")
        print(f"first token p50 {figures['ttft_p50_s'] * 1000:.1f} ms; gap p50 {figures['gap_p50_s'] * 1000:.2f} ms, "
              f"p99 {figures['gap_p99_s'] * 1000:.2f} ms")
        for measure, ratio, target, ok in checks:
            print(f"{measure:40s} {ratio:6.2f}x  {target:>8s}  {'PASS' if ok or target == 'info' else 'MISS'}")
        print(f"every stream complete: {'PASS' if complete else 'FAIL'}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
