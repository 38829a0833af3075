"""Load `model-metadata.yaml` from a code dir through the one schema; scalars stay strings, as DRUM's strictyaml reads them."""

from __future__ import annotations

from pathlib import Path

from drumkit.errors import ConfigError
from drumkit.predictor.metadata_schema import METADATA_FILE, Problem, check_metadata_text, read_metadata_file
from drumkit.predictor.targets import TARGET_TYPE_NAMES


def load_metadata(code_dir: Path) -> dict | None:
    """The code dir's metadata as a dict, None when there is no file; ConfigError when the schema refuses it."""
    try:
        text = read_metadata_file(code_dir)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if text is None:
        return None
    # Files the metadata names are checked where they are used (validate, labels), not at load.
    errors = [p for p in check_metadata_text(text) if p.severity == "error"]
    if errors:
        raise ConfigError(describe(errors))
    import yaml

    data = yaml.load(text, Loader=yaml.BaseLoader)
    target_type = data.get("targetType")
    if target_type not in TARGET_TYPE_NAMES:
        raise ConfigError(
            f"{METADATA_FILE}: DRUM knows target type '{target_type}' but drumkit cannot run it "
            f"(it runs {', '.join(TARGET_TYPE_NAMES)})"
        )
    return data


def describe(problems: list[Problem]) -> str:
    """One line for the first problem of a refused file, with a count of the others."""
    # A misspelt key (with its suggestion) explains the required key it leaves missing: show it first.
    first = sorted(problems, key=lambda p: "required key(s)" in p.message)[0]
    where = ", ".join(x for x in (METADATA_FILE, f"line {first.line}" if first.line else "", first.path) if x)
    more = (
        f" ({len(problems) - 1} more problem(s): `drumkit validate` lists them all)"
        if len(problems) > 1
        else ""
    )
    return f"{where}: {first.message}{more}"
