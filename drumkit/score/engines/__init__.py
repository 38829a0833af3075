"""Engines map one loaded model over the partitions of a dataset: `local` in this process, `dask` on a cluster.

An engine knows nothing of formats or outputs: it runs `PartitionTask.run(predictor, partition)` for
every partition wherever its predictor lives, and reports progress as partitions finish. Another
engine (Spark's mapInPandas) is one more module with the same three methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from drumkit.predictor.targets import TargetType
from drumkit.score.dataset import Partition
from drumkit.score.task import PartitionTask

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelInfo:
    """What planning needs to know about the loaded model."""

    target_type: TargetType
    reads_any_payload: bool


class Engine(Protocol):
    """Where partitions are scored."""

    def model_info(self) -> ModelInfo:
        """The loaded model's target type and whether a read_input_data hook takes whole files."""

    def map(self, task: PartitionTask, parts: list[Partition], progress: Progress | None = None) -> list[int]:
        """Run `task` on every partition (rows written per partition, in order); the first failure stops the job."""

    def close(self) -> None:
        """Release what the engine started."""
