"""A code dir whose score hook misbehaves on request: column `act` picks exit, segfault or BaseException."""

from __future__ import annotations

from pathlib import Path

from tests.hookmodels import write_code_dir

FAULT_CUSTOM = '''
import ctypes
import os
import time
from pathlib import Path

import pandas as pd


class Odd(BaseException):
    pass


def score(data, model, **kwargs):
    if "act" in data.columns:
        act = str(data["act"].iloc[0])
        if act == "exit":
            os._exit(3)
        if act == "segv":
            ctypes.string_at(0)
        if act == "systemexit":
            raise SystemExit(4)
        if act == "interrupt":
            raise KeyboardInterrupt()
        if act == "base":
            raise Odd("odd")
        if act == "sleep":  # column `marker` names a file created once the hook runs
            Path(str(data["marker"].iloc[0])).touch()
            time.sleep(float(data["x"].iloc[0]))
    return pd.DataFrame({"Predictions": data["x"].astype(float).to_numpy() * 2})
'''


def fault_dir(root: Path) -> Path:
    """Regression hooks: predictions are 2*x; `act` = exit|segv|systemexit|interrupt|base misbehaves;
    sleep waits x seconds after touching the file named in `marker`."""
    return write_code_dir(root, {"custom.py": FAULT_CUSTOM}, "name: faults\ntype: inference\ntargetType: regression\n")
