"""A worker's connection policy: take from the backlog only what it can start, time idle connections out,
shed the oldest idle at the limit.

A connection in the listening socket's backlog survives a worker that crashes (the supervisor holds the
socket and the replacement takes it); one the worker has accepted dies with it. So a worker accepts
connections until it holds as many with a request under way as it has free threads: a burst of 48
requests, one of which killed the worker, lost 42 when a worker took up to 64 connections a turn, and
loses only the killer now. Connections that have sent nothing yet (idle or slow clients) do not count,
so 1,000 of them are still taken in batches and cannot lock a client out; at its connection limit
waitress would stop accepting, so here the oldest idle ones are closed to make room instead. While
other requests wait, answers close their connection (`others_waiting`, used by the worker's task), so
keep-alive clients of a busy worker queue in the backlog too.
"""

from __future__ import annotations

import select
import socket

CONNECTION_LIMIT = 1000
IDLE_TIMEOUT = 60  # seconds a keep-alive connection may sit without a byte
CLEANUP_INTERVAL = 5  # how often idle connections are looked for
ACCEPT_BATCH = 64  # connections taken from the backlog per loop turn, shared between workers


def waitress_options(workers: int) -> dict:
    """create_server options: waitress's own limit sits above ours so that it never stops accepting."""
    return {
        "connection_limit": CONNECTION_LIMIT + accept_batch(workers),
        "channel_timeout": IDLE_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
    }


def accept_batch(workers: int) -> int:
    """Connections one worker takes per turn: fewer with more workers, which share the backlog."""
    return max(1, ACCEPT_BATCH // max(workers, 1))


class Acceptor:
    """Takes waiting connections from the backlog after a turn's requests were serviced, until those with a
    request under way fill the worker's free threads (up to `accept_batch` a turn).

    waitress accepts in its poll, before the same poll reads the requests of connections it already holds:
    an inline worker then held a new connection while it serviced another, and lost it in a crash.
    """

    def __init__(self, server, workers: int, threads: int):
        self.server = server
        self.threads = threads
        self.batch = accept_batch(workers)
        self.ready = False
        self.accept_one = server.handle_accept
        # Chat streams have a pool of their own: an open stream must not stop the worker from accepting.
        self.dispatcher = getattr(server.task_dispatcher, "base", server.task_dispatcher)
        self.listening = server.socket.fileno()
        readable = server.readable

        def gated_readable() -> bool:
            # waitress's readable() first: it also runs the idle-connection cleanup.
            return readable() and self.free_threads() > 0

        server.readable = gated_readable
        server.handle_accept = self.mark_ready

    def others_waiting(self) -> bool:
        """Whether another request waits for this worker: queued for a thread, or in the backlog."""
        if self.dispatcher.queue:
            return True
        backlog = select.poll()  # one per call: a poll object refuses concurrent use from two threads
        backlog.register(self.listening, select.POLLIN)
        return bool(backlog.poll(0))

    def free_threads(self) -> int:
        """Threads with no request queued for them."""
        return self.threads - len(self.dispatcher.queue) - self.dispatcher.active_count

    def mark_ready(self) -> None:
        """The listening socket has connections waiting (called by the poll)."""
        self.ready = True

    def take(self, served: int = 1) -> int:
        """Accept what the worker can start now, given how many requests its last turn `served`; returns
        how many connections were taken.

        An inline worker starts the next turn's requests one after the other: it takes as many new ones
        as it just served, so waiting clients get in at the pace keep-alive clients are served (taking one
        a turn, the 64th of 64 keep-alive clients waited 64 turns for its first answer).
        """
        if not self.ready:
            return 0
        self.ready = False
        room = self.free_threads() + max(served - 1, 0)
        taken = 0
        while room > 0 and taken < self.batch:
            if not self.accept_newest():
                break
            taken += 1
            if _has_bytes(next(reversed(self.server._map.values()))):
                room -= 1
        return taken

    def accept_newest(self) -> bool:
        """Accept one connection; false when the backlog is empty (or accept failed)."""
        before = len(self.server._map)
        self.accept_one()
        return len(self.server._map) > before

    def sweep(self, most: int = 4096) -> int:
        """Accept every connection waiting in the backlog now (at shutdown, so that it is answered, not reset)."""
        taken = 0
        while taken < most and self.accept_newest():
            taken += 1
        return taken


def _has_bytes(channel) -> bool:
    """Whether a connection has sent something (without reading it)."""
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # nothing yet (would block), or an error the next poll reports
        return False


def shed_idle(server, limit: int = CONNECTION_LIMIT) -> int:
    """Close the longest-silent connections with no request in service until one slot under `limit` is free."""
    channels = server.active_channels
    excess = len(channels) - limit + 1
    if excess <= 0:
        return 0
    idle = [
        ch
        for ch in list(channels.values())
        if not ch.requests and not ch.total_outbufs_len and not ch.will_close
    ]
    idle.sort(key=lambda ch: ch.last_activity)
    for channel in idle[:excess]:
        channel.handle_close()
    return min(excess, len(idle))
