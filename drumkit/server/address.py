"""`--address HOST:PORT` parsing and binding the listening socket once."""

from __future__ import annotations

import re
import socket

from drumkit.errors import ConfigError, UsageError

_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\]:(?P<port>[^:]+)$")
BACKLOG = 2048


def parse_address(text: str | None) -> tuple[str, int]:
    """`host:port`, `:port` (all interfaces) or `[v6]:port` -> (host, port); UsageError otherwise."""
    example = "use HOST:PORT, e.g. --address 127.0.0.1:8080, :8080 or [::1]:8080"
    if not text or not text.strip():
        raise UsageError(f"--address (or env ADDRESS) is required: {example}")
    text = text.strip()
    match = _BRACKETED.match(text)
    if match:
        host, port_text = match["host"], match["port"]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise UsageError(f"Bad --address '{text}': {example}")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"Bad port in --address '{text}': the port must be a number from 1 to 65535")
    return host or "0.0.0.0", int(port_text)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (shared by every worker forked afterwards)."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(f"Cannot resolve the --address host '{host}': {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
