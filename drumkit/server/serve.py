"""Run the app on waitress: a supervisor forking N (>= 1) workers that share one socket."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import sys
import time

from drumkit.malloc import arrow_memory_pool, keep_freed_memory
from drumkit.server.settings import ServerSettings
from drumkit.server.streams import StreamRouter, stream_paths
from drumkit.status import ExitStatus

log = logging.getLogger("drumkit.server")
RESTART_PAUSE = 1.0
RECYCLE_EXIT = 75  # a worker's exit code after it left for --max-worker-memory (EX_TEMPFAIL)
START_FAILED_EXIT = 76  # a worker's exit code when its app could not be built (the model failed to load)
BACKLOG_GRACE = 1.0  # how long a connection swept from the backlog at shutdown has to send its request
RECV_BYTES = 256 * 1024
IN_MEMORY_BODY = 64 * 1024 * 1024
MAX_READS_PER_EVENT = 64  # bounds one channel's turn: 16 MiB at RECV_BYTES
# Inline servicing must never wait for the loop to drain an answer (it IS the loop): waitress spills
# large answers to temp files past outbuf_overflow, so memory stays bounded without this watermark.
UNBOUNDED = 1 << 62


def _json_error_channel():
    """waitress's HTTP channel whose own errors (413 before the body is read, bad requests) are JSON,
    and whose bodies up to IN_MEMORY_BODY are received as `BodyChunks` (larger ones spill to a temp file)."""
    import uuid

    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser, ParsingError
    from waitress.receiver import FixedStreamReceiver
    from waitress.task import ErrorTask, WSGITask

    from drumkit.predictor.codecs.json_codec import dumps
    from drumkit.server.body import BodyChunks

    class JsonErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            text = f"ERROR: {error.code} {error.reason}: {error.body}"
            if error.code == 413:
                limit = self.channel.server.adj.max_request_body_size - 1
                text = f"ERROR: the request body is larger than the server's limit of {limit} bytes (--max-body-size)"
            body = dumps({"message": text})
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend(
                [("Content-Type", "application/json"), ("X-Request-ID", str(uuid.uuid4()))]
            )
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class WorkerTask(WSGITask):
        """An answer says `Connection: close` once the worker drains (the one being computed too), and
        while another request waits for this worker: the client then waits in the listening socket's
        backlog, which outlives a worker that crashes, not on a connection that dies with it."""

        def service(self):
            server = self.channel.server
            drain = server.drain_state
            if drain.draining or server.acceptor.others_waiting():
                self.set_close_on_finish()
            drain.in_service.add(self)
            try:
                super().service()
            finally:
                drain.in_service.discard(self)

    class ChunkedBodyParser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            if "CONTENT_LENGTH" in self.headers and (self.chunked or "TRANSFER_ENCODING" in self.headers):
                # Two framings disagree about where the body ends: answering either one is request smuggling.
                raise ParsingError("a request may not carry both Content-Length and Transfer-Encoding")
            receiver = self.body_rcv  # type: ignore[has-type]  # set by waitress's parser
            if isinstance(receiver, FixedStreamReceiver) and self.content_length <= IN_MEMORY_BODY:
                self.body_rcv = FixedStreamReceiver(self.content_length, BodyChunks(self.content_length))

    class JsonErrorChannel(HTTPChannel):
        error_task_class = JsonErrorTask
        task_class = WorkerTask
        parser_class = ChunkedBodyParser

        def handle_read(self):
            # A body arrives in many socket reads; waitress takes one per loop turn (a poll, and every
            # channel's readable/writable checks). Read on while the socket has more of the body:
            # 2 MB Arrow bodies took ~9 turns. A read that would block returns to the loop at once.
            if self._receive_into_body() is None:
                super().handle_read()  # waitress's read reports a closed connection or an error
            for _ in range(MAX_READS_PER_EVENT):
                if self._body_in_flight() is None:
                    return
                into_body = self._receive_into_body()
                if into_body is not None:
                    if not into_body:
                        return
                    continue
                try:
                    data = self.socket.recv(self.adj.recv_bytes)
                except OSError:  # would block, or an error the next poll's handle_read reports
                    return
                if not data:  # the client closed: the next poll's handle_read closes the channel
                    return
                self.last_activity = time.time()
                self.received(data)

        def _receive_into_body(self) -> bool | None:
            """Receive the body's next bytes straight into its own buffer (`BodyChunks.room`): True when
            some came, False when none are there yet, None when there is no such buffer or the read failed
            (a closed connection, an error: waitress's own read then sees and reports it)."""
            request = self._body_in_flight()
            if request is None:
                return None
            receiver = request.body_rcv
            if not isinstance(receiver, FixedStreamReceiver) or not isinstance(receiver.buf, BodyChunks):
                return None
            room = receiver.buf.room(min(receiver.remain, self.adj.recv_bytes))
            if room is None or not len(room):
                return None
            try:
                count = self.socket.recv_into(room)
            except BlockingIOError:
                return False
            except OSError:
                return None
            if not count:
                return None
            self.last_activity = time.time()
            self.received(room[:count])
            return True

        def handle_close(self):
            # waitress closes only the requests it received whole. A body half received when its client
            # left kept the worker's large-body buffer lent for good: every later large body was then
            # joined from chunks (a 19 MB body twice over), and a worker's peak crept from ~160 to
            # ~225 MiB (wrk stopping mid-upload did this to the benchmark's 100k-row case). waitress keeps
            # only an unfinished request in `self.request`, whatever the connection's state by now.
            unfinished = self.request
            if unfinished is not None:
                unfinished.close()
            super().handle_close()

        def _body_in_flight(self):
            """The request whose body is arriving on this open connection, or None."""
            request = self.request
            if request is None or request.completed or not request.headers_finished or not self.connected:
                return None
            return request

    return JsonErrorChannel


class DrainState:
    """Whether a worker is draining, and the answers it is computing (told to close their connections)."""

    def __init__(self):
        self.draining = False
        self.in_service: set = set()  # one task per thread at most

    def drain(self) -> None:
        """From now on every answer closes its connection."""
        self.draining = True
        for task in list(self.in_service):
            if not task.wrote_header:
                task.set_close_on_finish()


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

    def run_pending(self) -> int:
        """Service every queued request; returns how many there were."""
        served = 0
        while self.queue:
            served += 1
            task = self.queue.popleft()
            self.active_count = 1
            try:
                task.service()
            except BaseException:
                log.exception("Exception when servicing %r", task)
            finally:
                self.active_count = 0
        return served

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        """Cancel what is still queued."""
        while cancel_pending and self.queue:
            self.queue.popleft().cancel()
        return True


def _busy(server, fresh_until: float = 0.0) -> bool:
    """Work left: a queued or running request, a request half received, an answer unsent, or, until
    `fresh_until`, a connection swept from the backlog whose request has not been read yet."""
    dispatcher = server.task_dispatcher
    if dispatcher.queue or dispatcher.active_count > 0:
        return True
    fresh = time.monotonic() < fresh_until
    return any(
        ch.requests
        or getattr(ch, "request", None) is not None
        or ch.total_outbufs_len
        or (fresh and ch.last_activity == ch.creation_time)
        for ch in list(server.active_channels.values())
    )


def run_worker(app, sock, settings: ServerSettings) -> str | None:
    """Serve on a bound socket until SIGTERM/SIGINT (or past --max-worker-memory), then stop accepting and
    finish the requests in flight; returns "memory" when the worker left to be replaced."""
    from waitress import create_server, wasyncore

    from drumkit.server import connections

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queued request is normal, not a warning
    _freeze_loaded_objects()
    keep_freed_memory()
    arrow_memory_pool()
    _signals_to_python()
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
    server = create_server(
        app,
        sockets=[sock],
        threads=settings.threads,
        ident="drumkit",
        **extra,
        max_request_body_size=settings.max_body_size + 1,
        asyncore_use_poll=True,
        **connections.waitress_options(settings.workers),
        # Fewer loop turns per large body, and bodies up to 16 MiB stay in memory
        # (waitress's defaults, 8 KiB reads and a temp file above 512 KiB, cost ~30% on 1 MB CSVs).
        recv_bytes=RECV_BYTES,
        inbuf_overflow=IN_MEMORY_BODY,
    )
    server.channel_class = _json_error_channel()
    server.drain_state = DrainState()
    acceptor = server.acceptor = connections.Acceptor(server, settings.workers, settings.threads)
    stopping: list[int | str] = []

    def stop(signum, _frame):
        stopping.append(signum)
        server.drain_state.drain()
        # A second SIGTERM can come after the worker closed its sockets (systemd signals the whole group,
        # then the supervisor forwards one): the worker is leaving already, there is nothing to wake.
        with contextlib.suppress(OSError):
            server.pull_trigger()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    run_pending = inline.run_pending if inline else (lambda: 1)
    cap = settings.max_worker_memory
    while not stopping:
        wasyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
        served = run_pending()
        acceptor.take(served)
        connections.shed_idle(server)
        if cap and served and _rss_bytes() > cap:  # checked after requests: a worker leaves between them
            log.warning(
                "worker %d: %d MiB resident, above --max-worker-memory: replacing it after its requests",
                os.getpid(),
                _rss_bytes() >> 20,
            )
            stopping.append("memory")
    log.info("worker %d: stopping, finishing requests in flight", os.getpid())
    server.drain_state.drain()
    if any(signum in (signal.SIGTERM, signal.SIGINT) for signum in stopping):
        # The service is stopping: connections waiting in the backlog are answered, not reset.
        acceptor.sweep()
    # Connections this worker accepted get their request read and answered before it leaves.
    fresh_until = time.monotonic() + BACKLOG_GRACE
    server.accepting = False
    server.del_channel()  # the supervisor keeps the socket: its backlog waits for the other workers
    deadline = time.monotonic() + settings.drain_timeout
    while _busy(server, fresh_until) and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        run_pending()
    if _busy(server):
        log.warning(
            "worker %d: requests still open after %gs (--drain-timeout); closing them",
            os.getpid(),
            settings.drain_timeout,
        )
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
    wasyncore.close_all(server._map)
    return "memory" if "memory" in stopping else None


def _freeze_loaded_objects() -> None:
    """Leave what the model and the app hold out of the garbage collector's full passes.

    A full pass walks every tracked object: with pandas, pyarrow and a model loaded, ~60k of them,
    10-30 ms every few hundred batch requests (that request's latency). They stay for the worker's life;
    what requests allocate is still collected.
    """
    import gc

    gc.freeze()


def _rss_bytes() -> int:
    """This process's resident memory."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import psutil

        return psutil.Process().memory_info().rss


class WorkerStartFailed(Exception):
    """Raised by an app builder whose model failed to load (after reporting why, when asked to)."""


def serve(build_app, sock, settings: ServerSettings, state) -> ExitStatus:
    """Serve until stopped; returns the exit status (OK after a clean drain, ERROR when the model failed to load).

    Even one worker runs under the supervisor: a model that segfaults or calls os._exit costs its
    request and a fresh worker, never the service. `build_app(report)` runs in each worker, after the
    fork: a model loaded before forking is not safe to use in the child (an XGBoost booster loaded in
    the parent hangs the child's first OpenMP prediction). `report` is true for the first worker
    only, so a model that cannot load is reported once.
    """
    return supervise(build_app, sock, settings, state)


def supervise(build_app, sock, settings: ServerSettings, state) -> ExitStatus:
    """Fork `settings.workers` workers, replace any that dies, and on SIGTERM/SIGINT drain them all."""
    from drumkit.server import metrics

    state.supervisor_pid = os.getpid()
    failed = []
    children: dict[int, tuple[int, float]] = {}
    stopping: list[int] = []

    def spawn(slot: int, first: bool = False) -> None:
        sys.stdout.flush()
        sys.stderr.flush()  # else what is buffered is written again by the child
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _share_cores(settings.workers)
                state.timings.use_slot(slot)
                app = build_app(first)
                if state.load_seconds is not None:
                    metrics.model_loaded(state.load_seconds)
                code = RECYCLE_EXIT if run_worker(app, sock, settings) == "memory" else 0
            except WorkerStartFailed:
                code = START_FAILED_EXIT
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
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(settings.workers):
        spawn(slot, first=slot == 0)
    log.info("serving with %d workers: %s", settings.workers, sorted(children))
    try:
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            entry = children.pop(pid, None)
            metrics.worker_gone(pid)
            if entry is None or stopping:
                continue
            slot, started = entry
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == START_FAILED_EXIT:
                failed.append(pid)
                stop(signal.SIGTERM, None)  # the model cannot load: every worker would fail alike
                continue
            recycled = os.WIFEXITED(status) and os.WEXITSTATUS(status) == RECYCLE_EXIT
            if recycled:
                log.info("worker %d left (above --max-worker-memory); starting a replacement", pid)
            else:
                log.warning("worker %d ended (%s); starting a replacement", pid, _describe(status))
                if time.monotonic() - started < RESTART_PAUSE:
                    time.sleep(
                        RESTART_PAUSE
                    )  # a worker dying at once would otherwise restart in a tight loop
            if not stopping:
                metrics.worker_restarted(
                    "memory" if recycled else "crash" if os.WIFSIGNALED(status) else "exit"
                )
                spawn(slot)
    finally:
        metrics.disable()
    return ExitStatus.ERROR if failed else ExitStatus.OK


def _share_cores(workers: int) -> None:
    """Give each worker its share of the cores for thread pools (OpenMP, BLAS, pyarrow's, pandas').

    Every worker would otherwise start one pool thread per core: with N workers that is N times too
    many threads spinning for the same cores (a HistGradientBoosting pipeline on 2 workers served
    2.5x fewer requests than with one pool thread each). threadpoolctl comes with scikit-learn.
    """
    import pandas
    import pyarrow

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // workers)
    # pyarrow's CSV and Parquet readers run on its own pool; with one thread, CSV bodies take pandas'
    # reader, which costs less CPU than pyarrow's on one thread (csv_codec.decode).
    pyarrow.set_cpu_count(share)
    # pandas 3.1 reads large CSV files on threads of its own (it also asks the OS for the CPU count on
    # every read_csv, ~25 us, unless this option is set).
    with contextlib.suppress(KeyError, AttributeError):  # OptionError: a pandas without the option
        pandas.set_option("mode.max_threads", share)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(share)


def _signals_to_python() -> None:
    """Leave SIGTERM and SIGINT to the worker's own handlers while pyarrow reads a body.

    pyarrow swaps in handlers of its own during a CSV read, to cancel it: a SIGTERM that came mid-parse
    failed the request being answered (500, "ArrowCancelled ... received signal 15") instead of letting
    the worker finish it and drain.
    """
    import pyarrow

    pyarrow.lib.enable_signal_handlers(False)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
