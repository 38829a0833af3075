"""Soak and load benchmark: worker memory per 1k requests, latency spread at 64/256 connections, idle flood.

Serves server_bench's light model (one numpy dot) with one worker on 127.0.0.1 and measures:

- latency at 64 and 256 keep-alive connections (asyncio client, raw sockets, 5 s timeout a request):
  p50, p99, p99/p50 (issue 12's target: <= 3 at 64) and timeouts (target: none at 256);
- a normal client's request while more than 1,000 idle connections are open (target: answered);
- the worker's RSS growth over a soak of --soak requests after a warm-up, in KiB per 1k requests
  (target: ~16 KiB per 1k, the figure before issue 12).

    python benchmarks/soak_bench.py [--seconds S] [--soak N] [--idle N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import server_bench  # noqa: E402  (its light model and server process)

TIMEOUT = 5.0


def payload() -> bytes:
    header = ",".join(f"num{i}" for i in range(20))
    row = ",".join(str(i * 0.5) for i in range(20))
    body = f"{header}\n{row}\n".encode()
    return (b"POST /predict/ HTTP/1.1\r\nHost: bench\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


async def _one(reader, writer, request: bytes) -> bool:
    """One request on a keep-alive connection; true when the answer closes the connection."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    await reader.readexactly(length)
    return b"\r\nconnection: close" in head.lower()


async def _connection(port: int, request: bytes, until: float, latencies: list, failures: list,
                      fresh: bool) -> None:
    reader = writer = None
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
            closed = await asyncio.wait_for(_one(reader, writer, request), TIMEOUT)
            latencies.append(time.perf_counter() - started)
            if fresh or closed:  # a busy server closes keep-alive connections: its backlog queues fairly
                writer.close()
                reader = writer = None
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
            failures.append(type(exc).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def load(port: int, conns: int, seconds: float, fresh: bool = False) -> dict:
    """p50/p99 and failures of `conns` clients posting one-row CSVs for `seconds` (keep-alive, or
    with `fresh` a new connection per request, which includes the wait to be accepted)."""
    latencies: list[float] = []
    failures: list[str] = []

    async def main():
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, payload(), until, latencies, failures, fresh) for _ in range(conns)))

    asyncio.run(main())
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (lambda q: None)
    p50, p99 = pick(0.5), pick(0.99)
    return {"connections": conns, "keep_alive": not fresh, "requests": len(latencies), "p50_ms": p50, "p99_ms": p99,
            "p99_over_p50": (p99 / p50) if p50 else None, "failures": len(failures),
            "timeouts": failures.count("TimeoutError")}


def idle_flood(port: int, idle: int) -> dict:
    """Open `idle` connections that send nothing, then time one normal request."""
    async def main():
        held = []
        for _ in range(idle):
            try:
                held.append(await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT))
            except (OSError, asyncio.TimeoutError):
                break
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
            await asyncio.wait_for(_one(reader, writer, payload()), TIMEOUT)
            writer.close()
            answered = time.perf_counter() - started
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RuntimeError):
            answered = None
        for _, writer in held:
            writer.close()
        return len(held), answered

    opened, answered = asyncio.run(main())
    return {"idle_connections": opened, "normal_request_ms": answered * 1000 if answered is not None else None}


def worker_rss_kib(server) -> int:
    """VmRSS of the server's (only) worker."""
    import psutil

    children = psutil.Process(server.proc.pid).children()
    proc = children[0] if children else psutil.Process(server.proc.pid)
    return proc.memory_info().rss // 1024


def soak(server, requests_: int) -> dict:
    """RSS growth of the worker per 1k requests, after a warm-up of a fifth of them."""
    load_count = max(requests_ // 5, 1000)

    def run(count: int) -> None:
        async def main():
            per = count // 8
            async def conn():
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                for _ in range(per):
                    if await _one(reader, writer, payload()):
                        writer.close()
                        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.close()
            await asyncio.gather(*(conn() for _ in range(8)))
        asyncio.run(main())

    run(load_count)
    before = worker_rss_kib(server)
    run(requests_)
    after = worker_rss_kib(server)
    return {"requests": requests_, "rss_before_kib": before, "rss_after_kib": after,
            "kib_per_1k_requests": (after - before) * 1000 / requests_}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of load per connection count")
    parser.add_argument("--soak", type=int, default=40_000, help="requests of the soak")
    parser.add_argument("--idle", type=int, default=1100, help="idle connections of the flood")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    with tempfile.TemporaryDirectory(prefix="drumkit-soak-") as tmp:
        root = Path(tmp)
        server = server_bench.Server.drumkit(server_bench.build_light(root), 1, root)
        try:
            report = {"load": [load(server.port, conns, args.seconds, fresh) for fresh in (False, True)
                               for conns in (64, 256)],
                      "idle": idle_flood(server.port, args.idle),
                      "soak": soak(server, args.soak)}
        finally:
            server.stop()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for row in report["load"]:
        mode = "keep-alive" if row["keep_alive"] else "new connection per request"
        print(f"{row['connections']:>4} clients, {mode}: {row['requests']} requests, p50 {row['p50_ms']:.1f} ms, "
              f"p99 {row['p99_ms']:.1f} ms (p99/p50 {row['p99_over_p50']:.2f}, target <= 3 at 64), "
              f"timeouts {row['timeouts']}, other failures {row['failures'] - row['timeouts']}")
    idle = report["idle"]
    answered = f"{idle['normal_request_ms']:.1f} ms" if idle["normal_request_ms"] is not None else "NOT answered"
    print(f"idle flood: {idle['idle_connections']} idle connections open, a normal request answered in {answered}")
    s = report["soak"]
    print(f"soak: {s['requests']} requests, worker RSS {s['rss_before_kib']} -> {s['rss_after_kib']} KiB, "
          f"{s['kib_per_1k_requests']:.1f} KiB per 1k requests (target ~16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
