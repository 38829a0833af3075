"""The local engine: partitions scored one after another by the Predictor loaded in this process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drumkit.predictor.predictor import Predictor
from drumkit.score.dataset import Partition
from drumkit.score.engines import ModelInfo, Progress
from drumkit.score.task import PartitionTask


class LocalEngine:
    """Score partitions in this process, in order."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def model_info(self) -> ModelInfo:
        """The loaded model's target type and input rule."""
        return ModelInfo(self.predictor.target_type, self.predictor.reads_any_payload)

    def map(self, task: PartitionTask, parts: list[Partition], progress: Progress | None = None) -> list[int]:
        """Write each partition's part."""
        rows = []
        for done, part in enumerate(parts, 1):
            rows.append(task.run(self.predictor, part))
            if progress:
                progress(done, len(parts))
        return rows

    def frames(
        self, task: PartitionTask, parts: list[Partition], progress: Progress | None = None
    ) -> Iterator[Any]:
        """Each partition's output rows, block by block, in order (for a single output file)."""
        for done, part in enumerate(parts, 1):
            yield from task.blocks(self.predictor, part)
            if progress:
                progress(done, len(parts))

    def close(self) -> None:
        """Nothing to release."""
