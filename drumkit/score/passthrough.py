"""Passthrough columns (as in DataRobot batch predictions): input columns copied beside the predictions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drumkit.errors import PayloadError, UsageError

ALL = "all"


@dataclass(frozen=True)
class Passthrough:
    """Which input columns go out beside the predictions: some by name, or all of them."""

    columns: tuple[str, ...] = ()
    all: bool = False

    @classmethod
    def from_flags(cls, columns: list[str] | None, column_set: str | None) -> Passthrough:
        """--passthrough-columns a,b (repeatable) and --passthrough-columns-set all."""
        names = tuple(name.strip() for value in columns or () for name in value.split(",") if name.strip())
        if column_set is not None and column_set.lower() != ALL:
            raise UsageError(f"--passthrough-columns-set takes '{ALL}', not '{column_set}'")
        if column_set is not None and names:
            raise UsageError("Use either --passthrough-columns or --passthrough-columns-set, not both")
        return cls(names, column_set is not None)

    def __bool__(self) -> bool:
        return self.all or bool(self.columns)

    def pick(self, frame: Any) -> Any:
        """The passthrough columns of an input frame (a copy: hooks may change the frame), or None."""
        if not self:
            return None
        if self.all:
            return frame.copy()
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise PayloadError(
                f"Passthrough column(s) {', '.join(missing)} not in the input "
                f"(it has {', '.join(map(str, frame.columns[:20]))})"
            )
        return frame[list(self.columns)].copy()

    @staticmethod
    def attach(picked: Any, out: Any) -> Any:
        """Input columns first, then the predictions (rows matched by position)."""
        if picked is None:
            return out
        import pandas as pd

        clash = [name for name in picked.columns if name in set(out.columns)]
        if clash:
            raise PayloadError(
                f"Passthrough column(s) {', '.join(map(str, clash))} have the name of a prediction column"
            )
        if len(picked) != len(out):
            raise PayloadError(
                f"The model returned {len(out)} rows for {len(picked)}: passthrough columns cannot be matched"
            )
        return pd.concat([picked.reset_index(drop=True), out.reset_index(drop=True)], axis=1)
