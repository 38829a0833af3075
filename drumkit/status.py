"""The one owner of process exit codes: every command, error type and report says which it means."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes (the shell sees the int)."""

    OK = 0
    # A run that failed: a model error, a failed check, a failed benchmark case.
    ERROR = 1
    # Flags that do not fit together (argparse's code, as in DRUM).
    USAGE = 2
    # Ctrl+C (128 + SIGINT), as shells report it.
    INTERRUPTED = 130
