"""The test tier being run: `make test-fast` sets DRUMKIT_TEST_TIER=fast, which trims property-based examples."""

from __future__ import annotations

import os

FAST = os.environ.get("DRUMKIT_TEST_TIER") == "fast"


def examples(full: int) -> int:
    """Hypothesis examples: all of them in the full run, a tenth (at least 10) in the fast tier."""
    return max(full // 10, 10) if FAST else full
