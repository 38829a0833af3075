"""The DRUM exceptions a code dir may raise or catch."""

from drumkit.errors import CustomHTTPError


class DrumException(Exception):
    """Base of DRUM's own errors."""


class DrumCommonException(DrumException):
    """A general DRUM error."""


class DrumSerializationError(DrumException):
    """A custom task could not be saved or loaded."""


class ModelError(Exception):
    """An error a model reports about itself."""


__all__ = ["CustomHTTPError", "DrumCommonException", "DrumException", "DrumSerializationError", "ModelError"]
