"""drumkit's stand-in for the `datarobot_drum` names a code dir imports (used only without the real package)."""

from .drum.exceptions import CustomHTTPError, ModelError
from .runtime_parameters import RuntimeParameters

__all__ = ["CustomHTTPError", "ModelError", "RuntimeParameters"]
