"""End to end load on loopback (bounded): 256 clients all answered in time, 1,000+ idle connections lock nobody out."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from tests import faultmodels, serverproc

TIMEOUT = 5.0  # what a client waits for one answer (the bound)
BODY = b"x\n1.5\n"
REQUEST = (b"POST /predict/ HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


async def answer(reader, writer, request: bytes = REQUEST) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    return head + await reader.readexactly(length)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))  # inherited by the server
    root = tmp_path_factory.mktemp("load")
    proc = serverproc.start(["--code-dir", str(faultmodels.fault_dir(root / "model"))], root / "logs")
    yield proc
    proc.stop()


def closes(response: bytes) -> bool:
    return b"\r\nconnection: close" in response.partition(b"\r\n\r\n")[0].lower()


def test_256_clients_at_once_are_all_answered_in_time(server):
    async def client(results):
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
        for _ in range(3):
            results.append(await asyncio.wait_for(answer(reader, writer), TIMEOUT))
            if closes(results[-1]):  # the server is busy: it keeps clients waiting in its backlog
                writer.close()
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
        writer.close()

    async def main():
        results = []
        outcomes = await asyncio.gather(*(client(results) for _ in range(256)), return_exceptions=True)
        return results, [o for o in outcomes if o is not None]

    results, failures = asyncio.run(main())
    assert failures == []
    assert len(results) == 768 and all(r.startswith(b"HTTP/1.1 200 OK") and r.endswith(b'{"predictions":[3.0]}')
                                       for r in results)


def test_a_thousand_idle_connections_do_not_lock_out_a_client(server):
    async def main():
        held = [await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
                for _ in range(1050)]
        held[-1][1].write(b"POST /predict/ HTTP/1.1\r\nHost: t\r\n")  # one trickles half a request
        started = time.monotonic()
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
        got = await asyncio.wait_for(answer(reader, writer), TIMEOUT)
        writer.close()
        oldest = await asyncio.wait_for(held[0][0].read(), TIMEOUT)  # shed first: closed without a byte
        for _, w in held:
            w.close()
        return got, oldest, time.monotonic() - started

    got, oldest, _ = asyncio.run(main())
    assert got.startswith(b"HTTP/1.1 200 OK") and got.endswith(b'{"predictions":[3.0]}')
    assert oldest == b""
