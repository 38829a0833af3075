"""A small keep-alive HTTP client for the server under test (stdlib only)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


class HttpClient:
    """One persistent connection to a base URL; reconnects after any failure."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "") or not parts.hostname:
            from drumkit.errors import UsageError

            raise UsageError(f"Bad server URL '{base_url}': use http://HOST:PORT")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float | None = 30.0,
    ) -> tuple[int, bytes]:
        """(status, body) of one request; OSError/HTTPException on a broken connection or timeout."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        try:
            self._conn.request(method, self.prefix + path, body=body, headers=headers or {})
            response = self._conn.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def open(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float | None = 30.0,
    ) -> http.client.HTTPResponse:
        """Send a request and return the response unread, to read it as it arrives (the caller closes it)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers or {})
            return conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def get_json(self, path: str, timeout: float = 10.0) -> dict | None:
        """GET a JSON document; None when it cannot be had."""
        try:
            status, body = self.request("GET", path, timeout=timeout)
            return json.loads(body) if status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def close(self) -> None:
        """Drop the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
