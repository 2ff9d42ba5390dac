"""Threads and processes inserting the same keys into the reference caches: per key exactly one
insert returns True, and every later get returns that winner's value."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import multiprocess
import pytest

from cachespec.reference import InMemoryCache, OnDiskCache

KEYS = 40


def _disk_cache(base: str) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = base
    return cache


def _value(writer: int, key: int) -> dict[str, Any]:
    return {"writer": writer, "key": key, "payload": [writer] * 50}


def _check_winners(results: list[list[bool]], read: Any) -> None:
    for key in range(KEYS):
        winners = [w for w, row in enumerate(results) if row[key]]
        assert len(winners) == 1, f"key {key}: inserts returned True for writers {winners}"
        assert read(key) == _value(winners[0], key)


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_threads_inserting_the_same_keys(tmp_path: Path, kind: str) -> None:
    writers = 8
    shared = InMemoryCache()
    barrier = threading.Barrier(writers)

    def run(writer: int) -> list[bool]:
        cache = shared if kind == "memory" else _disk_cache(str(tmp_path))
        barrier.wait()
        return [cache.insert(("k", key), _value(writer, key)) for key in range(KEYS)]

    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(run, range(writers)))
    reader = shared if kind == "memory" else _disk_cache(str(tmp_path))
    _check_winners(results, lambda key: reader.get(("k", key)))


def _process_writer(base: str, writer: int, barrier: Any, out: Any) -> None:
    cache = _disk_cache(base)
    barrier.wait()
    out.put((writer, [cache.insert(("k", key), _value(writer, key)) for key in range(KEYS)]))


def test_processes_inserting_the_same_keys(tmp_path: Path) -> None:
    writers = 4
    ctx = multiprocess.get_context("fork")
    barrier, out = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(str(tmp_path), w, barrier, out)) for w in range(writers)]
    for proc in procs:
        proc.start()
    rows = dict(out.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    reader = _disk_cache(str(tmp_path))
    _check_winners([rows[w] for w in range(writers)], lambda key: reader.get(("k", key)))
    # A process started afterwards sees the same winners.
    with ctx.Pool(1) as pool:
        assert pool.apply(_read_all, (str(tmp_path),)) == [reader.get(("k", k)) for k in range(KEYS)]


def _read_all(base: str) -> list[Any]:
    cache = _disk_cache(base)
    return [cache.get(("k", key)) for key in range(KEYS)]
