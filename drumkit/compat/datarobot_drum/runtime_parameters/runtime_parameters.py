"""`RuntimeParameters` at DRUM's module path; drumkit's own implementation."""

from drumkit.runtime_params import RuntimeParameters

__all__ = ["RuntimeParameters"]
