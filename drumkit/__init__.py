"""drumkit: run a DRUM code dir as it sits in a folder: score files, serve it, validate it."""

__version__ = "0.1.0"

from drumkit.errors import CustomHTTPError
from drumkit.runtime_params import RuntimeParameters

__all__ = ["CustomHTTPError", "RuntimeParameters", "__version__"]
