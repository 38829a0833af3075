"""The edge where failures become one red line on stderr and an exit code."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from drumkit.status import ExitStatus

__all__ = ["ExitStatus", "error_console", "escape", "reported", "setup_logging"]


def error_console():
    """A rich console on stderr (created on demand: rich is not needed for --help)."""
    from drumkit.commands.environment import current

    return current().console(stderr=True, soft_wrap=True)


def setup_logging(level: str) -> None:
    """Log to stderr at the given level name."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@contextmanager
def reported(show_stacktrace: bool = False) -> Iterator[None]:
    """Run a command body; any failure ends it with one line on stderr and a non-zero exit."""
    from drumkit.errors import CustomHTTPError, DrumkitError

    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        error_console().print("[red]Aborted.[/red]")
        raise typer.Exit(ExitStatus.INTERRUPTED) from None
    except (DrumkitError, CustomHTTPError) as exc:
        _fail(
            exc,
            str(getattr(exc, "message", exc)),
            getattr(exc, "exit_code", ExitStatus.ERROR),
            show_stacktrace,
        )
    except Exception as exc:  # a bug in user code or ours: still one line, traceback on request
        _fail(exc, f"{type(exc).__name__}: {exc}", ExitStatus.ERROR, show_stacktrace)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl+C, so `finally` blocks run (children stopped, temp files removed)."""
    import signal

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(exc: BaseException, message: str, code: ExitStatus, show_stacktrace: bool) -> None:
    console = error_console()
    if show_stacktrace:
        console.print("".join(traceback.format_exception(exc)), markup=False)
    one_line = " ".join(message.split())
    # The hint shares the error's line: a failure is exactly one line on stderr.
    hint = (
        " [dim](--show-stacktrace shows the traceback)[/dim]"
        if not show_stacktrace and code != ExitStatus.USAGE
        else ""
    )
    console.print(f"[bold red]Error:[/bold red] {escape(one_line)}{hint}")
    raise typer.Exit(code) from None


def escape(text: str) -> str:
    """Escape rich markup in user text."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)
