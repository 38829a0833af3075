"""A folder output committed all at once: parts go to a temporary prefix and move into place with a `_SUCCESS` marker.

The Hadoop/Spark convention: readers trust a folder only when `_SUCCESS` is there, so a failed or
cancelled job never leaves output that looks complete.
"""

from __future__ import annotations

import uuid
from typing import Any

from drumkit.score.dataset import is_local

SUCCESS = "_SUCCESS"
TEMPORARY = "_temporary"


class FolderCommitter:
    """Parts are written under `<root>/_temporary/<job>/`; `commit` moves them to `<root>` and writes `_SUCCESS`."""

    def __init__(self, fs: Any, root: str):
        from drumkit.errors import UsageError

        self.fs = fs
        self.root = root.rstrip("/")
        if fs.isfile(self.root):
            raise UsageError(
                f"--output {self.root} is a file; a folder output needs a folder path (ending in /)"
            )
        self.temp = f"{self.root}/{TEMPORARY}/{uuid.uuid4().hex}"
        fs.makedirs(self.temp, exist_ok=True)

    def commit(self, names: list[str]) -> None:
        """Publish the parts named `names` (replacing an earlier run's parts) and mark the folder complete."""
        fs = self.fs
        success = f"{self.root}/{SUCCESS}"
        if fs.exists(success):
            fs.rm_file(success)
        fresh = set(names)
        for old in fs.ls(self.root, detail=False):
            name = old.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("part-") and name not in fresh:
                fs.rm_file(old)
        sources = [f"{self.temp}/{name}" for name in names]
        targets = [f"{self.root}/{name}" for name in names]
        if is_local(fs):
            for source, target in zip(sources, targets, strict=True):
                fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                fs.mv(source, target)
        elif sources:
            # One call: an object store copies the parts concurrently (a rename there is a copy and a delete).
            fs.mv(sources, targets)
        fs.pipe_file(success, b"")
        self._clean()

    def abort(self) -> None:
        """Drop every part of this job; the folder keeps what it held before."""
        self._clean()

    def _clean(self) -> None:
        fs = self.fs
        try:
            if fs.exists(self.temp):
                fs.rm(self.temp, recursive=True)
            parent = f"{self.root}/{TEMPORARY}"
            if fs.exists(parent) and not fs.ls(parent, detail=False):
                fs.rm(parent, recursive=True)
        except OSError:
            pass  # another job's parts may still be there; ours are gone or never committed
