"""`datarobot_drum.runtime_parameters`: read `MLOPS_RUNTIME_PARAM_*` values."""

from .runtime_parameters import RuntimeParameters

__all__ = ["RuntimeParameters"]
