"""`/stats/`: memory of every serving process (psutil), container memory (cgroup), request timings."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

MIB = 1024 * 1024
_COUNT, _TOTAL, _MIN, _MAX = range(4)


class Timings:
    """Predict-request durations since start, one slot per worker in memory shared across forks."""

    def __init__(self, slots: int = 1):
        from multiprocessing.sharedctypes import RawArray

        # Shared memory created before forking, so every worker's figures are visible to all of them;
        # each worker writes only its own slot, so a killed worker can never leave a lock held.
        self._values = RawArray("d", 4 * max(slots, 1))
        self._slots = max(slots, 1)
        self._slot = 0
        self._lock = threading.Lock()

    def use_slot(self, slot: int) -> None:
        """Record into this slot from now on (called in a worker after fork)."""
        self._slot = slot % self._slots

    def record(self, seconds: float) -> None:
        """Add one request's duration."""
        base = 4 * self._slot
        v = self._values
        with self._lock:
            count = v[base + _COUNT]
            v[base + _MIN] = seconds if count == 0 else min(v[base + _MIN], seconds)
            v[base + _MAX] = max(v[base + _MAX], seconds)
            v[base + _TOTAL] += seconds
            v[base + _COUNT] = count + 1

    def summary(self) -> dict:
        """avg/min/max/total seconds and count over all workers; zeros before the first request (never NaN)."""
        count = total = 0.0
        lo, hi = float("inf"), 0.0
        for slot in range(self._slots):
            base = 4 * slot
            n = self._values[base + _COUNT]
            if n:
                count += n
                total += self._values[base + _TOTAL]
                lo = min(lo, self._values[base + _MIN])
                hi = max(hi, self._values[base + _MAX])
        if not count:
            return {"avg": 0.0, "min": 0.0, "max": 0.0, "total": 0.0, "count": 0}
        return {"avg": total / count, "min": lo, "max": hi, "total": total, "count": int(count)}


class ProcessStats:
    """psutil views of the serving processes, kept so cpu_percent measures since the previous read."""

    def __init__(self):
        self._procs: dict[int, psutil.Process] = {}

    def serving_pids(self, supervisor_pid: int | None) -> list[int]:
        """This process alone, or the supervisor and every worker it forked."""
        import psutil

        if supervisor_pid is None:
            return [os.getpid()]
        try:
            parent = psutil.Process(supervisor_pid)
            return [supervisor_pid, *sorted(child.pid for child in parent.children())]
        except psutil.Error:
            return [os.getpid()]

    def drum_info(self, pids: list[int]) -> list[dict]:
        """cmdline, cpu_percent, mem (MiB RSS) and pid of each process."""
        import psutil

        out = []
        for pid in pids:
            proc = self._procs.get(pid)
            try:
                if proc is None or not proc.is_running():
                    proc = self._procs[pid] = psutil.Process(pid)
                with proc.oneshot():
                    out.append(
                        {
                            "cmdline": proc.cmdline(),
                            "cpu_percent": proc.cpu_percent(),
                            "mem": proc.memory_info().rss / MIB,
                            "pid": pid,
                        }
                    )
            except psutil.Error:
                self._procs.pop(pid, None)
        for gone in set(self._procs) - set(pids):
            self._procs.pop(gone, None)
        return out


def in_container() -> bool:
    """Docker or podman marks, or a cgroup v2 memory limit."""
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists() or _cgroup2_limit() is not None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup2_limit() -> int | None:
    return _read_int(Path("/sys/fs/cgroup/memory.max"))


def container_memory() -> tuple[int | None, int | None, int | None]:
    """(limit, used, max used) in bytes from cgroup v2 (or v1) files; Nones when unknown."""
    root = Path("/sys/fs/cgroup")
    if (root / "memory.current").exists():
        return _cgroup2_limit(), _read_int(root / "memory.current"), _read_int(root / "memory.peak")
    v1 = root / "memory"
    if (v1 / "memory.usage_in_bytes").exists():
        return (
            _read_int(v1 / "memory.limit_in_bytes"),
            _read_int(v1 / "memory.usage_in_bytes"),
            _read_int(v1 / "memory.max_usage_in_bytes"),
        )
    return None, None, None


def mem_info(drum_info: list[dict]) -> dict:
    """System memory and, in a container, the container's limit and use (all MiB)."""
    import psutil

    vm = psutil.virtual_memory()
    info = {
        "avail": vm.available / MIB,
        "free": vm.free / MIB,
        "total": vm.total / MIB,
        "drum_rss": sum(p["mem"] for p in drum_info),
        "container_limit": None,
        "container_max_used": None,
        "container_used": None,
    }
    if in_container():
        limit, used, peak = container_memory()
        if used is not None:
            # An unlimited cgroup reports a huge number (v1) or nothing (v2): the machine's memory is the limit.
            limit = vm.total if limit is None or limit > vm.total else limit
            info["container_limit"] = limit / MIB
            info["container_used"] = used / MIB
            info["container_max_used"] = (peak if peak is not None else used) / MIB
            if limit < vm.total:
                info["avail"] = info["free"] = max(limit - used, 0) / MIB
    return info


def stats_body(timings: Timings, processes: ProcessStats, supervisor_pid: int | None) -> dict:
    """The whole `/stats/` document."""
    drum_info = processes.drum_info(processes.serving_pids(supervisor_pid))
    return {
        "drum_info": drum_info,
        "mem_info": mem_info(drum_info),
        "time_info": {"run_predictor_total": timings.summary()},
    }
