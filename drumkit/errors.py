"""Typed errors a user can cause: each carries a one-line message, an HTTP status and an exit code."""

from drumkit.status import ExitStatus


class DrumkitError(Exception):
    """A failure with a one-line reason the user can act on."""

    http_status = 500
    exit_code = ExitStatus.ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(DrumkitError):
    """Flags that do not fit together (exit 2, like argparse in DRUM)."""

    http_status = 400
    exit_code = ExitStatus.USAGE


class ConfigError(DrumkitError):
    """Target type, labels, metadata or runtime parameters that cannot be resolved."""


class ModelLoadError(DrumkitError):
    """The code dir could not be turned into a working model."""


class PayloadError(DrumkitError):
    """A payload that cannot be decoded into rows (HTTP 422)."""

    http_status = 422


class PayloadTooLargeError(PayloadError):
    """A payload that would expand past the server's memory bound once decoded (HTTP 413)."""

    http_status = 413


class WrongEndpointError(DrumkitError):
    """A route that does not fit the model's target type (HTTP 422)."""

    http_status = 422


class NotSupportedError(DrumkitError):
    """A capability the model does not have, such as chat without a chat hook (HTTP 404)."""

    http_status = 404


class HookError(DrumkitError):
    """A user hook raised or returned something unusable."""


class PredictionError(DrumkitError):
    """Predictions failed a shape or value check."""


class RowCountError(PredictionError):
    """The model returned a different number of rows than it was given."""


class CustomHTTPError(Exception):
    """Raise from a hook to answer with your own HTTP status (as datarobot_drum.CustomHTTPError)."""

    def __init__(self, message: str = "User's HTTP error in custom model", status_code: int = 400):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
