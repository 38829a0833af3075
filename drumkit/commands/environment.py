"""The terminal a command talks to: its streams, whether they are terminals, and the width to render at.

Commands read `current()` instead of sys.stdout / sys.__stderr__, so tests swap in an `Environment`
with string buffers and a fixed width (`use(...)`) and check progress bars and tables in-process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False


@dataclass
class Environment:
    """Where a command writes, and how: terminals get colour and progress bars, pipes and files plain text."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    # Columns for tables; None: the terminal's width, or rich's default (80) for a pipe or file.
    width: int | None = None

    def __post_init__(self) -> None:
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    def console(self, *, stderr: bool = False, width: int | None = None, soft_wrap: bool = False) -> Console:
        """A rich console on stdout (or stderr) that renders as this environment says."""
        from rich.console import Console

        is_terminal = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(
            file=self.stderr if stderr else self.stdout,
            force_terminal=is_terminal,
            highlight=False,
            width=self.width or width,
            soft_wrap=soft_wrap,
            color_system="auto" if is_terminal else None,
        )


class LastByte:
    """A binary stream that remembers the last byte written through it (did the output end a line?)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.last = b""

    def write(self, data: bytes) -> int:
        """Write through, keeping the final byte."""
        if data:
            self.last = bytes(data[-1:])
        return self.stream.write(data)

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()


_current: Environment | None = None


def current() -> Environment:
    """The environment of this run (the process's own streams unless a test or caller set one)."""
    return _current if _current is not None else Environment()


@contextmanager
def use(env: Environment) -> Iterator[Environment]:
    """Run commands against `env` (in-process tests: string buffers, a fixed width)."""
    global _current
    previous, _current = _current, env
    try:
        yield env
    finally:
        _current = previous


@contextmanager
def progress_bar(*columns: str | ProgressColumn, transient: bool = True) -> Iterator[Progress | None]:
    """A rich Progress on stderr with these columns when stderr is a terminal; None otherwise (no output)."""
    env = current()
    if not env.stderr_isatty:
        yield None
        return
    from rich.progress import Progress

    with Progress(*columns, console=env.console(stderr=True), transient=transient) as bar:
        yield bar
