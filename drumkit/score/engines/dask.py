"""The dask engine: partitions scored on a Dask cluster, each worker holding the model loaded once.

The code dir travels inside a worker plugin (a zip of the folder): every worker, including one that
joins or restarts mid-job, unpacks it and loads the Predictor in the plugin's `setup`, and tasks use
that Predictor. A worker that dies is replaced and its partitions rerun, up to the scheduler's
`distributed.scheduler.allowed-failures` times (3 by default); a partition that fails stops the job.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from drumkit.errors import DrumkitError, UsageError
from drumkit.predictor.settings import ModelSettings, read_labels_file
from drumkit.predictor.targets import TargetType
from drumkit.score.dataset import Partition
from drumkit.score.engines import ModelInfo, Progress
from drumkit.score.task import PartitionTask

if TYPE_CHECKING:
    from drumkit.predictor.predictor import Predictor

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # an optional extra: the engine is imported only when asked for
    raise UsageError("--engine dask needs Dask: pip install 'drumkit[dask]'") from None

CONNECT_TIMEOUT = 10  # seconds: an unreachable scheduler is one line, not a hang
ALLOWED_FAILURES = (
    3  # reruns of a partition whose worker died (the local cluster's; an existing one keeps its own)
)
# Seconds a failed or cancelled job waits for its running partitions to stop (they stop at their next
# block, so a part being written is not left under _temporary/ after the driver cleaned it).
STOP_WAIT = 5

# Worker-side state (per worker process): the partitions running now, and the jobs the driver stopped.
# A cancelled dask task keeps running in its thread; ours stop at the next block and write nothing.
_RUNNING: set[str] = set()
_STOPPED_JOBS: set[str] = set()


class CodeDirPlugin(WorkerPlugin):
    """Unpack the code dir and load the model once per worker."""

    def __init__(self, name: str, archive: bytes, settings: ModelSettings, env: dict[str, str]):
        self.name = name
        self.archive = archive
        self.settings = settings
        self.env = env
        self.folder: str | None = None
        self.predictor: Predictor | None = None

    def setup(self, worker) -> None:
        """Unpack the code dir into a temp folder and load the model from it."""
        from drumkit.malloc import keep_freed_memory
        from drumkit.predictor.predictor import Predictor

        keep_freed_memory()
        self.folder = tempfile.mkdtemp(prefix="drumkit-code-")
        with zipfile.ZipFile(io.BytesIO(self.archive)) as archive:
            archive.extractall(self.folder)
        os.environ.update(self.env)
        self.predictor = Predictor.from_settings(replace(self.settings, code_dir=Path(self.folder)))
        # The readers every partition needs, imported now rather than inside the first task.
        import pyarrow.csv
        import pyarrow.parquet  # noqa: F401

    def teardown(self, worker) -> None:
        """Remove the unpacked code dir."""
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _predictor(plugin_name: str):
    return distributed.get_worker().plugins[plugin_name].predictor  # type: ignore[attr-defined]


def run_partition(plugin_name: str, task: PartitionTask, part: Partition, job: str) -> int:
    """A dask task: score one partition with this worker's model (it stops between blocks once its job is stopped)."""
    key = f"{job}:{part.index}"
    _RUNNING.add(key)
    try:
        return task.run(_predictor(plugin_name), part, stop=lambda: job in _STOPPED_JOBS)
    finally:
        _RUNNING.discard(key)


def stop_job(job: str, dask_worker=None) -> int:
    """Run on a worker (`Client.run`): stop `job`'s partitions at their next block; how many still run."""
    _STOPPED_JOBS.add(job)
    return sum(1 for key in list(_RUNNING) if key.startswith(f"{job}:"))


def model_info(plugin_name: str, dask_worker=None) -> tuple[str, bool]:
    """Run on a worker (`Client.run`): the loaded model's target type and input rule."""
    predictor = dask_worker.plugins[plugin_name].predictor
    return predictor.target_type.value, predictor.reads_any_payload


def zip_code_dir(folder: Path) -> bytes:
    """The code dir as a zip (caches left out)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def shippable(settings: ModelSettings) -> tuple[ModelSettings, dict[str, str]]:
    """Settings without driver-local files (labels read here, runtime parameters as env vars) and that env."""
    env: dict[str, str] = {}
    if settings.runtime_params_file:
        from drumkit.predictor.metadata import load_metadata
        from drumkit.runtime_params import load_runtime_params

        metadata = load_metadata(Path(settings.code_dir))
        env = load_runtime_params(
            settings.runtime_params_file, (metadata or {}).get("runtimeParameterDefinitions")
        )
    labels = settings.class_labels
    if settings.class_labels_file:
        labels = read_labels_file(settings.class_labels_file)
    return replace(settings, class_labels=labels, class_labels_file=None, runtime_params_file=None), env


def _quiet_logs() -> None:
    """Dask's INFO chatter (scheduler start, workers joining) only when drumkit logs at info or below."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.ERROR)


class DaskEngine:
    """Score partitions on an existing scheduler, or on a local cluster of `workers` processes."""

    def __init__(self, settings: ModelSettings, scheduler: str | None = None, workers: int = 2):
        _quiet_logs()
        self._cluster = None
        if scheduler:
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise DrumkitError(
                    f"Cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s "
                    f"({type(exc).__name__})"
                ) from None
            except ValueError as exc:
                raise UsageError(f"--scheduler {scheduler}: {exc}") from None
        else:
            import dask

            # The workers' statistical profiler takes the GIL every 10 ms, so a model that releases it
            # around numpy or Cython calls waits to get it back: with it on, a sklearn pipeline's
            # partition took ~10% longer on one worker. Nothing here reads the profile.
            # Likewise the event loops' health tick (every 20 ms) and the system monitor (every 0.5 s):
            # an idle 2-worker cluster used 0.88 CPU-s per 10 s with them, 0.27 with these intervals,
            # CPU the workers' partitions need on a machine with no core to spare.
            local_config = {
                "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.worker.profile.enabled": False,
                "distributed.admin.tick.interval": "500ms",
                "distributed.admin.system-monitor.interval": "5s",
            }
            with dask.config.set(local_config):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                )
            self.client = distributed.Client(self._cluster, set_as_default=False)
        try:
            self._load_model(settings)
        except BaseException:
            self.close()
            raise

    def _load_model(self, settings: ModelSettings) -> None:
        ship, env = shippable(settings)
        archive = zip_code_dir(Path(settings.code_dir))
        self.plugin_name = "drumkit-model-" + hashlib.sha256(archive + repr(ship).encode()).hexdigest()[:16]
        plugin = CodeDirPlugin(self.plugin_name, archive, ship, env)
        if not self.client.scheduler_info().get("workers"):
            self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT * 6)
        try:
            self.client.register_plugin(plugin)
        except DrumkitError:
            raise
        except Exception as exc:
            raise DrumkitError(
                f"The model failed to load on a Dask worker: {type(exc).__name__}: {exc}"
            ) from None

    def model_info(self) -> ModelInfo:
        """The target type and input rule of the model as one worker loaded it."""
        worker = min(self.client.scheduler_info()["workers"])
        kind, whole = self.client.run(model_info, self.plugin_name, workers=[worker])[worker]
        return ModelInfo(TargetType(kind), whole)

    def map(self, task: PartitionTask, parts: list[Partition], progress: Progress | None = None) -> list[int]:
        """Submit every partition, follow completions; the first failure (or Ctrl+C) cancels the rest."""
        task = replace(task, reader_threads=False)  # each worker is one core's worth of work
        job = hashlib.sha256(os.urandom(8)).hexdigest()[:8]
        futures = [
            self.client.submit(
                run_partition,
                self.plugin_name,
                task,
                part,
                job,
                pure=False,
                key=f"drumkit-part-{part.index:05d}-{job}",
            )
            for part in parts
        ]
        try:
            for done, future in enumerate(distributed.as_completed(futures, loop=self.client.loop), 1):
                future.result()
                if progress:
                    progress(done, len(parts))
            return [future.result() for future in futures]
        except BaseException as exc:
            self.client.cancel(futures)
            self._stop(job)
            if type(exc).__name__ == "KilledWorker":
                raise DrumkitError(
                    f"Dask workers died every time they ran one partition, up to the scheduler's "
                    f"allowed-failures (out of memory? try a smaller --blocksize): {exc}"
                ) from None
            raise

    def _stop(self, job: str) -> None:
        """Wait (bounded) until no partition of `job` runs: the committer then removes every part it wrote."""
        deadline = time.monotonic() + STOP_WAIT
        while time.monotonic() < deadline:
            try:
                running = sum(self.client.run(stop_job, job).values())
            except Exception:
                return  # the cluster is gone, and its partitions with it
            if not running:
                return
            time.sleep(0.05)

    def close(self) -> None:
        """Unload the model from the workers and stop the local cluster, if this engine started one."""
        try:
            if getattr(self, "plugin_name", None) and self._cluster is None:
                self.client.unregister_worker_plugin(self.plugin_name)
        except Exception:
            pass  # the cluster may be gone; nothing of ours stays loaded then
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
