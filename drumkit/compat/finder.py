"""Make `import datarobot_drum` work in a code dir when the real package is not installed.

drumkit's stand-in modules live in `drumkit/compat/datarobot_drum/`. They are imported under the
name `datarobot_drum...` (so classes and pickles carry DRUM's module paths) by a finder appended to
the END of `sys.meta_path`: a real `datarobot_drum` on sys.path is always found first, and nothing
is written into site-packages, so a later `pip install datarobot-drum` takes over cleanly.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

PACKAGE = "datarobot_drum"
STAND_IN_ROOT = Path(__file__).with_name(PACKAGE)


class StandInFinder(importlib.abc.MetaPathFinder):
    """Finds `datarobot_drum` and its submodules among drumkit's stand-in files."""

    def find_spec(self, fullname, path=None, target=None):
        """A spec for a stand-in module, or None so that other finders (and the real package) decide."""
        parts = fullname.split(".")
        if parts[0] != PACKAGE:
            return None
        base = STAND_IN_ROOT.joinpath(*parts[1:])
        if (base / "__init__.py").is_file():
            return importlib.util.spec_from_file_location(
                fullname, base / "__init__.py", submodule_search_locations=[str(base)]
            )
        if base.with_suffix(".py").is_file():
            return importlib.util.spec_from_file_location(fullname, base.with_suffix(".py"))
        return None


def installed() -> bool:
    """True when drumkit's finder is on sys.meta_path."""
    return any(isinstance(finder, StandInFinder) for finder in sys.meta_path)


def install() -> bool:
    """Add the finder unless a real `datarobot_drum` is importable; True when the stand-in serves the name."""
    if installed():
        return True
    if importlib.util.find_spec(PACKAGE) is not None:
        return False
    sys.meta_path.append(StandInFinder())
    return True
