"""Publish a finished output file: atomically beside a regular file, written through to anything else.

A regular destination (or a symlink to one) gets a temp file beside its real path, renamed over it
at the end with the mode it had (a new file gets the umask's mode). A FIFO, a device or a magic
link such as /dev/stdout is written through: the temp file goes to the temp folder and is copied
into the destination, which is never replaced by a regular file. A temp file's name carries its
writer's pid, so a later run removes those left by a killed one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".part"
_THROUGH_PREFIX = "drumkit-"


class OutputTarget:
    """One destination: write to `temp`, then `commit()` or `discard()`."""

    def __init__(self, destination: Path):
        self.destination = Path(destination)
        self.through = _writes_through(self.destination)
        self.final = self.destination if self.through else Path(os.path.realpath(self.destination))
        folder = Path(tempfile.gettempdir()) if self.through else self.final.parent
        if not folder.is_dir():
            from drumkit.errors import UsageError

            raise UsageError(f"The output folder {self.destination.parent} does not exist")
        prefix = _THROUGH_PREFIX if self.through else f".{self.final.name}."
        remove_stale(folder, prefix)
        handle, name = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=TEMP_SUFFIX, dir=folder)
        os.close(handle)
        self.temp = Path(name)

    def commit(self) -> None:
        """Publish the temp file's content at the destination."""
        if self.through:
            # Append: /dev/stdout redirected by the shell (`>` or `>>`) must not be truncated by a reopen.
            with open(self.temp, "rb") as source, open(self.destination, "ab") as sink:
                shutil.copyfileobj(source, sink)
            self.temp.unlink()
            return
        try:
            mode = stat.S_IMODE(os.stat(self.final).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(self.temp, mode)
        os.replace(self.temp, self.final)

    def discard(self) -> None:
        """Remove the temp file."""
        self.temp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write a whole text file through an OutputTarget (nothing half-written, links and modes respected)."""
    target = OutputTarget(path)
    try:
        target.temp.write_text(text, encoding="utf-8", newline="")
        target.commit()
    except BaseException:
        target.discard()
        raise


def remove_stale(folder: Path, prefix: str) -> None:
    """Delete our temp files in `folder` whose writing process no longer runs."""
    uid = os.getuid()
    for path in folder.glob(f"{prefix}*{TEMP_SUFFIX}"):
        pid_text = path.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            if path.lstat().st_uid == uid and stat.S_ISREG(path.lstat().st_mode):
                path.unlink()


def _writes_through(destination: Path) -> bool:
    """Whether the destination must be written into rather than replaced."""
    try:
        info = os.stat(destination)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    if not stat.S_ISREG(info.st_mode):
        return True
    # /dev/stdout and /proc/self/fd/N name whatever that fd is: never rename over what they resolve to.
    return any(path.startswith(("/dev/", "/proc/")) for path in _link_chain(destination))


def _link_chain(path: Path) -> list[str]:
    """The path and every link it passes through, absolute."""
    current = os.path.abspath(path)
    chain = [current]
    while os.path.islink(current) and len(chain) < 40:
        current = os.path.abspath(os.path.join(os.path.dirname(current), os.readlink(current)))
        chain.append(current)
    return chain


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
