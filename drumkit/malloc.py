"""glibc allocator settings for processes that handle one large block after another (server workers, dask workers)."""

from __future__ import annotations

import sys


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks of a few MB for the next request or partition instead of unmapping them.

    Every batch request (or dataset partition) allocates its body, frames and answer afresh: a few MB
    each, above glibc's mmap threshold, so each is mapped, page-faulted in and unmapped again; that
    cost a 10k-row request as much as decoding it. Dask's nanny makes it worse: it sets
    MALLOC_TRIM_THRESHOLD_, which freezes the mmap threshold at 128 KiB, so every numpy temporary is
    mapped afresh (a numpy-heavy model ran 5x slower in a worker than in one process). With the
    threshold at its maximum (32 MiB) and trimming only past 128 MiB, the next block reuses the same
    pages. The peak stays what the largest block needs; the memory is simply not handed back between them.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 128 * 1024 * 1024)


def arrow_memory_pool() -> None:
    """Allocate pyarrow's buffers from jemalloc when this pyarrow has it (mimalloc otherwise stays).

    A row-block request frees and re-allocates the same few MB per block: mimalloc (pyarrow's default
    on Linux) kept ~20 MiB more of them resident than jemalloc at a 19 MB request's peak, for the
    same CPU (benchmarks/server_bench.py, 100k-row CSV).
    """
    import contextlib

    import pyarrow as pa

    with contextlib.suppress(
        NotImplementedError
    ):  # pyarrow built without jemalloc (ArrowNotImplementedError)
        pa.set_memory_pool(pa.jemalloc_memory_pool())
