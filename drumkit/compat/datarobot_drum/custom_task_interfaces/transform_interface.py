"""Transform CustomTasks."""

from .custom_task_interface import CustomTaskInterface


class TransformerInterface(CustomTaskInterface):
    """A task that transforms rows."""

    def transform(self, X):
        """The transformed DataFrame, one row per input row."""
        raise NotImplementedError()
