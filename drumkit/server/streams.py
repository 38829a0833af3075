"""Streaming requests (chat completions) on threads of their own, so a long stream never holds up other requests.

A worker services ordinary requests one at a time (in the event loop, or on `--threads` pool threads).
A chat stream can last minutes while the model generates; on those threads it would keep /ping/,
/health/ and predictions waiting. The router sends chat requests to a separate pool of
`--chat-threads` threads; everything else keeps its usual path.
"""

from __future__ import annotations

from collections.abc import Iterable


class StreamRouter:
    """waitress task dispatcher: requests for `stream_paths` go to their own thread pool, the rest to `base`."""

    def __init__(self, base, stream_paths: Iterable[str], threads: int):
        from waitress.task import ThreadedTaskDispatcher

        self.base = base
        self.paths = frozenset(stream_paths)
        self.streams = ThreadedTaskDispatcher()
        self.streams.set_thread_count(threads)

    @property
    def queue(self) -> list:
        """Requests waiting in either pool (the drain loop waits for none)."""
        return [*self.base.queue, *self.streams.queue]

    @property
    def active_count(self) -> int:
        """Requests being serviced in either pool."""
        return self.base.active_count + self.streams.active_count

    def set_thread_count(self, count: int) -> None:
        """waitress sizes the base pool; the stream pool keeps its own size."""
        self.base.set_thread_count(count)

    def add_task(self, channel) -> None:
        """Route a channel whose request is complete by the path of its first request."""
        requests = getattr(channel, "requests", None) or ()
        path = getattr(requests[0], "path", None) if requests else None
        (self.streams if path in self.paths else self.base).add_task(channel)

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        """Stop both pools."""
        self.streams.shutdown(cancel_pending=cancel_pending, timeout=timeout)
        return self.base.shutdown(cancel_pending=cancel_pending, timeout=timeout)


def stream_paths(app) -> set[str]:
    """The chat paths of an app whose model has a chat hook; empty otherwise."""
    from drumkit.server.paths import CHAT_ROUTES, all_spellings

    state = getattr(app, "extensions", {}).get("drumkit")
    predictor = getattr(state, "predictor", None)
    if state is None or predictor is None or not predictor.supports_chat:
        return set()
    return all_spellings(state.settings.url_prefix, CHAT_ROUTES)
