"""Run the app on waitress: one process, or a supervisor forking N workers that share one socket."""

from __future__ import annotations

import collections
import logging
import os
import signal
import sys
import time

from drumkit.server.settings import ServerSettings
from drumkit.server.streams import StreamRouter, stream_paths

log = logging.getLogger("drumkit.server")
RESTART_PAUSE = 1.0
RECV_BYTES = 256 * 1024
IN_MEMORY_BODY = 64 * 1024 * 1024
MAX_READS_PER_EVENT = 64  # bounds one channel's turn: 16 MiB at RECV_BYTES
# Inline servicing must never wait for the loop to drain an answer (it IS the loop): waitress spills
# large answers to temp files past outbuf_overflow, so memory stays bounded without this watermark.
UNBOUNDED = 1 << 62


class BodyChunks:
    """A request body of known length kept as the received chunks, joined once into one bytes object.

    waitress's own buffer appends each chunk to a BytesIO that grows by an eighth at a time, copying
    the body over and over (a 19 MB CSV was copied ~8 times); here each chunk is kept as received and
    `getfile()` joins them with a single copy into a BytesIO that shares the result.
    """

    def __init__(self):
        self.chunks: list[bytes] = []
        self.size = 0
        self.file = None

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        """Keep one received chunk."""
        self.chunks.append(bytes(data))
        self.size += len(data)

    def getfile(self):
        """The whole body as a BytesIO at position 0 (sharing the joined bytes)."""
        import io

        if self.file is None:
            self.file = io.BytesIO(b"".join(self.chunks))
            self.chunks = []
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        """Drop the body."""
        self.chunks = []
        self.file = None


def _json_error_channel():
    """waitress's HTTP channel whose own errors (413 before the body is read, bad requests) are JSON,
    and whose bodies up to IN_MEMORY_BODY are received as `BodyChunks` (larger ones spill to a temp file)."""
    import uuid

    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.receiver import FixedStreamReceiver
    from waitress.task import ErrorTask

    from drumkit.predictor.codecs.json_codec import dumps

    class JsonErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            text = f"ERROR: {error.code} {error.reason}: {error.body}"
            if error.code == 413:
                limit = self.channel.server.adj.max_request_body_size - 1
                text = f"ERROR: the request body is larger than the server's limit of {limit} bytes (--max-body-size)"
            body = dumps({"message": text})
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", "application/json"), ("X-Request-ID", str(uuid.uuid4()))])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class ChunkedBodyParser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            if isinstance(self.body_rcv, FixedStreamReceiver) and self.content_length <= IN_MEMORY_BODY:
                self.body_rcv = FixedStreamReceiver(self.content_length, BodyChunks())

    class JsonErrorChannel(HTTPChannel):
        error_task_class = JsonErrorTask
        parser_class = ChunkedBodyParser

        def handle_read(self):
            # A body arrives in many socket reads; waitress takes one per loop turn (a poll, and every
            # channel's readable/writable checks). Read on while the socket has more of the body:
            # 2 MB Arrow bodies took ~9 turns. A read that would block returns to the loop at once.
            super().handle_read()
            for _ in range(MAX_READS_PER_EVENT):
                request = self.request
                if request is None or request.completed or not request.headers_finished or not self.connected:
                    return
                try:
                    data = self.socket.recv(self.adj.recv_bytes)
                except OSError:  # would block, or an error the next poll's handle_read reports
                    return
                if not data:  # the client closed: the next poll's handle_read closes the channel
                    return
                self.last_activity = time.time()
                self.received(data)

    return JsonErrorChannel


class InlineDispatcher:
    """waitress task dispatcher that services requests in the event-loop thread, between polls.

    With one request at a time per worker there is nothing for a thread pool to overlap, and every
    handoff to it (and back, to send the answer) costs a GIL switch: ~20% of a one-row request.
    Tasks queue here during a poll (waitress adds them while holding a channel lock) and run after it.
    """

    def __init__(self):
        self.queue: collections.deque = collections.deque()
        self.active_count = 0

    def set_thread_count(self, count: int) -> None:
        """Part of waitress's dispatcher interface; there are no threads."""

    def add_task(self, task) -> None:
        """Queue a channel whose request is complete."""
        self.queue.append(task)

    def run_pending(self) -> None:
        """Service every queued request."""
        while self.queue:
            task = self.queue.popleft()
            self.active_count = 1
            try:
                task.service()
            except BaseException:
                log.exception("Exception when servicing %r", task)
            finally:
                self.active_count = 0

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        """Cancel what is still queued."""
        while cancel_pending and self.queue:
            self.queue.popleft().cancel()
        return True


def _busy(server) -> bool:
    dispatcher = server.task_dispatcher
    if dispatcher.queue or dispatcher.active_count > 0:
        return True
    return any(ch.requests or getattr(ch, "request", None) is not None or ch.total_outbufs_len
               for ch in list(server.active_channels.values()))


def run_worker(app, sock, settings: ServerSettings) -> None:
    """Serve on a bound socket until SIGTERM/SIGINT, then stop accepting and finish the requests in flight."""
    from waitress import create_server, wasyncore

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queued request is normal, not a warning
    _keep_freed_memory()
    _arrow_memory_pool()
    inline = InlineDispatcher() if settings.threads == 1 else None
    extra = {"_dispatcher": inline, "outbuf_high_watermark": UNBOUNDED} if inline else {}
    streams = stream_paths(app)
    if streams:
        # Chat streams get threads of their own. Each chunk reaches the client as it is written: waitress 3
        # sends every write at once (send_bytes=1), as tests/test_genai_server.py checks.
        base = inline
        if base is None:
            from waitress.task import ThreadedTaskDispatcher

            base = ThreadedTaskDispatcher()
            base.set_thread_count(settings.threads)
        extra.update(_dispatcher=StreamRouter(base, streams, settings.chat_threads))
    server = create_server(app, sockets=[sock], threads=settings.threads, ident="drumkit", **extra,
                           max_request_body_size=settings.max_body_size + 1, asyncore_use_poll=True,
                           channel_timeout=120, connection_limit=1000,
                           # Fewer loop turns per large body, and bodies up to 16 MiB stay in memory
                           # (waitress's defaults, 8 KiB reads and a temp file above 512 KiB, cost ~30% on 1 MB CSVs).
                           recv_bytes=RECV_BYTES, inbuf_overflow=IN_MEMORY_BODY)
    server.channel_class = _json_error_channel()
    stopping = []

    def stop(signum, _frame):
        stopping.append(signum)
        server.pull_trigger()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    run_pending = inline.run_pending if inline else (lambda: None)
    while not stopping:
        wasyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
        run_pending()
    log.info("worker %d: stopping, finishing requests in flight", os.getpid())
    server.accepting = False
    server.del_channel()
    deadline = time.monotonic() + settings.drain_timeout
    while _busy(server) and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        run_pending()
    if _busy(server):
        log.warning("worker %d: requests still open after %gs (--drain-timeout); closing them",
                    os.getpid(), settings.drain_timeout)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
    wasyncore.close_all(server._map)


def serve(app, sock, settings: ServerSettings, state) -> int:
    """Serve until stopped; returns the exit code (0 after a clean drain)."""
    if settings.workers <= 1:
        run_worker(app, sock, settings)
        return 0
    return supervise(app, sock, settings, state)


def supervise(app, sock, settings: ServerSettings, state) -> int:
    """Fork `settings.workers` workers, replace any that dies, and on SIGTERM/SIGINT drain them all."""
    state.supervisor_pid = os.getpid()
    children: dict[int, tuple[int, float]] = {}
    stopping = []

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _share_cores(settings.workers)
                state.timings.use_slot(slot)
                run_worker(app, sock, settings)
            except BaseException:  # a worker must never return into the supervisor's code
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = (slot, time.monotonic())

    def stop(signum, _frame):
        if not stopping:
            log.info("stopping %d workers", len(children))
        stopping.append(signum)
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(settings.workers):
        spawn(slot)
    log.info("serving with %d workers: %s", settings.workers, sorted(children))
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        slot, started = children.pop(pid, (None, 0.0))
        if slot is None or stopping:
            continue
        log.warning("worker %d ended (%s); starting a replacement", pid, _describe(status))
        if time.monotonic() - started < RESTART_PAUSE:
            time.sleep(RESTART_PAUSE)  # a worker dying at once would otherwise restart in a tight loop
        if not stopping:
            spawn(slot)
    return 0


def _share_cores(workers: int) -> None:
    """Give each worker its share of the cores for native thread pools (OpenMP, BLAS).

    Every worker would otherwise start one pool thread per core: with N workers that is N times too
    many threads spinning for the same cores (a HistGradientBoosting pipeline on 2 workers served
    2.5x fewer requests than with one pool thread each). threadpoolctl comes with scikit-learn.
    """
    import pyarrow

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // workers)
    pyarrow.set_cpu_count(share)  # pyarrow's CSV and Parquet readers run on its own pool
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(share)


def _arrow_memory_pool() -> None:
    """Allocate pyarrow's buffers from jemalloc when this pyarrow has it (mimalloc otherwise stays).

    A row-block request frees and re-allocates the same few MB per block: mimalloc (pyarrow's default
    on Linux) kept ~20 MiB more of them resident than jemalloc at a 19 MB request's peak, for the
    same CPU (benchmarks/server_bench.py, 100k-row CSV).
    """
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # pyarrow built without jemalloc (ArrowNotImplementedError)
        pass


def _keep_freed_memory() -> None:
    """Let glibc keep freed request-sized blocks for the next request instead of unmapping them.

    Every batch request allocates its body, frames and answer afresh: a few MB each, above glibc's
    mmap threshold, so each is mapped, page-faulted in and unmapped again; that cost a 10k-row
    request as much as decoding it. With the threshold at its maximum (32 MiB) and trimming only
    past 128 MiB, the next request reuses the same pages. The peak stays what the largest request
    needs; the memory is simply not handed back between requests.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 128 * 1024 * 1024)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
