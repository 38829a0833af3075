"""Find what a code dir holds: the hooks file, model artifacts, other-language files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drumkit.errors import ModelLoadError

CUSTOM_FILE = "custom.py"
_OTHER_LANGUAGE = {".r": "R", ".rds": "R", ".jar": "Java", ".java": "Java", ".mojo": "Java"}


@dataclass(frozen=True)
class CodeDir:
    """A scanned code dir: absolute path, `custom.py` (if any) and top-level artifact files."""

    path: Path
    custom_py: Path | None
    artifacts: tuple[Path, ...]

    def listing(self) -> str:
        """The top-level file names, as DRUM lists them in its errors."""
        return " | ".join(sorted(p.name for p in self.path.iterdir() if p.is_file()))


def scan_code_dir(
    code_dir: Path, artifact_extensions: set[str], accepts: Callable[[Path], bool] | None = None
) -> CodeDir:
    """Scan a code dir; ModelLoadError when it is missing or holds no Python model.

    `accepts` vets a file whose extension matched (a `.txt` is a model only if it looks like one).
    """
    path = Path(code_dir).resolve()
    if not path.is_dir():
        raise ModelLoadError(f"The path {code_dir} is not a directory!")
    custom: Path | None = path / CUSTOM_FILE
    if custom is not None and not custom.is_file():
        # DRUM looks for custom.py everywhere when loading hooks; we do too, but say which one we use.
        nested = sorted(p for p in path.rglob(CUSTOM_FILE) if p.is_file())
        if len(nested) > 1:
            raise ModelLoadError(f"Found too many custom hook files: {[str(p) for p in nested]}")
        custom = nested[0] if nested else None
    top_files = [p for p in path.iterdir() if p.is_file()]
    artifacts = tuple(
        sorted(
            p
            for p in top_files
            if p.suffix.lower() in artifact_extensions and (accepts is None or accepts(p))
        )
    )
    if custom is None and not artifacts:
        other = sorted(
            {_OTHER_LANGUAGE[p.suffix.lower()] for p in top_files if p.suffix.lower() in _OTHER_LANGUAGE}
        )
        if other:
            raise ModelLoadError(
                f"drumkit runs Python models only, but {path} holds {' and '.join(other)} model files "
                f"({', '.join(sorted(p.name for p in top_files if p.suffix.lower() in _OTHER_LANGUAGE))})"
            )
    return CodeDir(path=path, custom_py=custom, artifacts=artifacts)
