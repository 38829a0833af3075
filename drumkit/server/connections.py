"""A worker's connection policy: accept in batches, time idle connections out, shed the oldest idle at the limit.

waitress accepts one connection per turn of its loop, and a turn of an inline worker services every
complete request first: 256 clients connecting at once waited up to 256 turns for their first
byte to be read (timeouts at 5 s). At its connection limit waitress stops accepting, so 1,000 idle
or trickling connections locked every new client out; here the oldest idle ones are closed to
make room instead.
"""

from __future__ import annotations

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


def accept_in_batches(server, workers: int) -> None:
    """Make the server take up to `accept_batch` waiting connections each time the listening socket is ready."""
    accept_one = server.handle_accept
    batch = accept_batch(workers)

    def handle_accept() -> None:
        for _ in range(batch):
            before = len(server._map)
            accept_one()
            if len(server._map) == before:  # the backlog is empty (or accept failed)
                return

    server.handle_accept = handle_accept


def sweep_backlog(server, most: int = 4096) -> int:
    """Accept every connection waiting in the backlog now (at shutdown, so that it is answered, not reset)."""
    taken = 0
    while taken < most:
        before = len(server._map)
        server.handle_accept()
        grown = len(server._map) - before
        if grown <= 0:
            return taken
        taken += grown
    return taken


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
