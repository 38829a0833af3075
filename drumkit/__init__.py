"""drumkit: run a DRUM code dir as it sits in a folder: score files, serve it, validate it."""

__version__ = "0.1.0"

from drumkit.errors import CustomHTTPError  # noqa: E402  (public API, as in datarobot_drum)
from drumkit.runtime_params import RuntimeParameters  # noqa: E402

__all__ = ["CustomHTTPError", "RuntimeParameters", "__version__"]
