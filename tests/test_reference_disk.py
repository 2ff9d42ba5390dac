"""Unit tests of the reference classes: Cache, AsyncCache, OnDiskCache (layout, base_dir, version,
lock-free reads, repair under the lock) and InductorOnDiskCache."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import filelock
import pytest
import xxhash

from cachespec.reference import (AsyncCache, Cache, CacheError, InductorOnDiskCache, InMemoryCache,
                                 OnDiskCache, key_digest)
from cachespec.reference import _disk


def _disk_cache(base: Path, cls: type[OnDiskCache] = OnDiskCache) -> OnDiskCache:
    cache = cls()
    cache.base_dir = base
    return cache


# -- Cache / AsyncCache ---------------------------------------------------------------------------


def test_cache_and_async_cache_are_abstract() -> None:
    with pytest.raises(TypeError):
        Cache()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        AsyncCache()  # type: ignore[abstract]

    class OnlyGet(Cache):
        def get(self, key: Any) -> Any:
            return None

    with pytest.raises(TypeError):
        OnlyGet()  # type: ignore[abstract]


class DictAsync(AsyncCache):
    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self.threads: list[str] = []

    def get(self, key: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        return self.data.get(key)

    def insert(self, key: Any, value: Any) -> bool:
        self.threads.append(threading.current_thread().name)
        return self.data.setdefault(key, value) is value


def test_async_cache_runs_operations_on_the_executor() -> None:
    cache = DictAsync()
    with ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
        first = cache.insert_async("k", "v", pool)
        assert isinstance(first, Future)
        assert first.result(timeout=10) is True
        assert cache.insert_async("k", "w", pool).result(timeout=10) is False
        assert cache.get_async("k", pool).result(timeout=10) == "v"
    assert all(name.startswith("pool") for name in cache.threads)


@pytest.mark.parametrize("executor", [None, "pool", ThreadPoolExecutor])
def test_non_executor_is_a_cache_error_at_once(tmp_path: Path, executor: Any) -> None:
    cache = _disk_cache(tmp_path)
    with pytest.raises(CacheError):
        cache.get_async("k", executor)
    with pytest.raises(CacheError):
        cache.insert_async("k", 1, executor)
    assert cache.get("k") is None


def test_async_errors_surface_from_future_result(tmp_path: Path) -> None:
    cache = _disk_cache(tmp_path)
    with ThreadPoolExecutor(1) as pool:
        bad_value = cache.insert_async("k", object(), pool)
        bad_key = cache.get_async([1], pool)
        with pytest.raises(CacheError):
            bad_value.result(timeout=10)
        with pytest.raises(CacheError):
            bad_key.result(timeout=10)
        assert cache.insert_async("k", [1], pool).result(timeout=10) is True
        assert cache.get_async("k", pool).result(timeout=10) == [1]
        assert cache.get_async("absent", pool).result(timeout=10) is None


def test_in_memory_cache_is_a_plain_cache() -> None:
    cache = InMemoryCache()
    assert isinstance(cache, Cache) and not isinstance(cache, AsyncCache)
    assert cache.get("k") is None
    assert cache.insert("k", 1) is True
    assert cache.insert("k", 2) is False
    assert cache.get("k") == 1
    assert len(cache) == 1


# -- OnDiskCache: where things live ----------------------------------------------------------


def test_default_base_dir_is_tempdir_cache_uid_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert OnDiskCache().base_dir == tmp_path / f"cache_{os.geteuid()}" / "on_disk_cache"
    assert OnDiskCache("mine").base_dir == tmp_path / f"cache_{os.geteuid()}" / "mine"
    cache = OnDiskCache("mine")
    assert cache.insert("k", 1) is True
    assert OnDiskCache("mine").get("k") == 1
    assert OnDiskCache("other").get("k") is None


@pytest.mark.parametrize("name", ["", "a/b", ".", "..", "a\0b", 3])
def test_bad_names_raise_cache_error(name: Any) -> None:
    with pytest.raises(CacheError):
        OnDiskCache(name)


def test_base_dir_setter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = OnDiskCache()
    cache.base_dir = str(tmp_path / "a")
    assert cache.base_dir == tmp_path / "a" and isinstance(cache.base_dir, Path)
    cache.insert("k", "a")
    cache.base_dir = tmp_path / "b"
    assert cache.get("k") is None
    assert cache.insert("k", "b") is True
    monkeypatch.chdir(tmp_path)
    cache.base_dir = "a"  # relative paths are fixed at assignment, not at use
    monkeypatch.chdir("/")
    assert cache.base_dir == tmp_path / "a"
    assert cache.get("k") == "a"
    for bad in (None, 3, "", b"/tmp"):
        with pytest.raises(CacheError):
            cache.base_dir = bad  # type: ignore[assignment]
    assert cache.base_dir == tmp_path / "a"


def test_layout_entry_and_lock_paths(tmp_path: Path) -> None:
    cache = _disk_cache(tmp_path)
    digest = key_digest(("k", 1))
    assert cache.entry_path(("k", 1)) == tmp_path / "v0" / digest[:2] / digest[2:]
    assert cache.lock_path(("k", 1)) == tmp_path / "locks" / f"{digest[:4]}.lock"
    cache.insert(("k", 1), "v")
    data = cache.entry_path(("k", 1)).read_bytes()
    assert data[:4] == b"CSP\x02" and int.from_bytes(data[4:12], "big") == len(data) - 20
    assert int.from_bytes(data[12:20], "big") == xxhash.xxh3_64_intdigest(data[20:])
    assert not (tmp_path / "locks").exists(), "no lock is taken on the normal insert path"


def test_base_dir_removed_under_the_cache_is_made_again(tmp_path: Path) -> None:
    import shutil

    cache = _disk_cache(tmp_path / "c")
    cache.insert("a", 1)
    shutil.rmtree(tmp_path / "c")
    assert cache.get("a") is None
    assert cache.insert("a", 2) is True
    assert cache.get("a") == 2


def test_instances_share_the_directory(tmp_path: Path) -> None:
    one, two = _disk_cache(tmp_path), _disk_cache(tmp_path)
    assert one.insert("k", 1) is True
    assert two.insert("k", 2) is False
    assert two.get("k") == 1


# -- version ---------------------------------------------------------------------------------


def test_versions_are_separate_namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Versioned(OnDiskCache):
        pass

    cache = _disk_cache(tmp_path, Versioned)
    assert cache.insert("k", "v0") is True
    monkeypatch.setattr(Versioned, "version", 1)  # read at every call
    assert cache.entry_path("k").parts[-3] == "v1"
    assert cache.get("k") is None
    assert cache.insert("k", "v1") is True
    assert cache.get("k") == "v1"
    monkeypatch.setattr(Versioned, "version", 0)
    assert cache.get("k") == "v0", "entries of another version are never destroyed"
    assert _disk_cache(tmp_path).get("k") == "v0"


@pytest.mark.parametrize("version", ["1", 1.0, True, None])
def test_non_int_version_is_a_cache_error(tmp_path: Path, version: Any) -> None:
    class Bad(OnDiskCache):
        pass

    Bad.version = version  # type: ignore[assignment]
    cache = _disk_cache(tmp_path, Bad)
    with pytest.raises(CacheError):
        cache.get("k")
    with pytest.raises(CacheError):
        cache.insert("k", 1)


# -- lock-free reads and repairs under the lock ------------------------------------------------

_HOLD_LOCK = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _hold_lock(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _within(seconds: float, fn: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result(timeout=seconds)


def test_get_takes_no_lock_while_another_process_holds_the_keys_lock(tmp_path: Path) -> None:
    cache = _disk_cache(tmp_path)
    cache.insert("present", [1])
    cache.lock_path("present").parent.mkdir(parents=True, exist_ok=True)
    holders = [_hold_lock(cache.lock_path("present")), _hold_lock(cache.lock_path("absent"))]
    try:
        assert _within(5, lambda: cache.get("present")) == [1]
        assert _within(5, lambda: cache.get("absent")) is None
        assert _within(5, lambda: cache.insert("absent", 2)) is True  # fresh inserts take no lock either
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()


def test_get_never_touches_filelock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _disk_cache(tmp_path)
    cache.insert("present", "v")

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("FileLock used")

    monkeypatch.setattr(filelock, "FileLock", explode)
    monkeypatch.setattr(_disk, "FileLock", explode)
    assert cache.get("present") == "v"
    assert cache.get("absent") is None
    assert cache.insert("fresh", 1) is True
    assert cache.insert("present", 2) is False
    with ThreadPoolExecutor(1) as pool:
        assert cache.get_async("present", pool).result(timeout=10) == "v"


def _corrupt(cache: OnDiskCache, key: Any) -> None:
    path = cache.entry_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"CSP\x02" + (9).to_bytes(8, "big") + bytes(8) + b"trunc")


def test_repair_waits_for_the_lock(tmp_path: Path) -> None:
    cache = _disk_cache(tmp_path)
    _corrupt(cache, "k")
    cache.lock_path("k").parent.mkdir(parents=True, exist_ok=True)
    holder = _hold_lock(cache.lock_path("k"))
    try:
        with ThreadPoolExecutor(1) as pool:
            repair = pool.submit(cache.insert, "k", "new")
            time.sleep(0.3)
            assert not repair.done(), "replacing a corrupt entry must take the key's lock"
            holder.kill()
            holder.wait()
            assert repair.result(timeout=10) is True
    finally:
        holder.kill()
        holder.wait()
    assert cache.get("k") == "new"


def test_repair_lock_timeout_is_a_cache_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_disk, "LOCK_TIMEOUT", 0.2)
    cache = _disk_cache(tmp_path)
    _corrupt(cache, "k")
    cache.lock_path("k").parent.mkdir(parents=True, exist_ok=True)
    holder = _hold_lock(cache.lock_path("k"))
    try:
        with pytest.raises(CacheError) as info:
            cache.insert("k", 1)
        assert isinstance(info.value.__cause__, filelock.Timeout)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("round_", range(5))
def test_threads_racing_to_repair_exactly_one_wins(tmp_path: Path, round_: int) -> None:
    caches = [_disk_cache(tmp_path) for _ in range(8)]  # separate instances, like separate processes
    _corrupt(caches[0], "k")
    barrier = threading.Barrier(len(caches))

    def insert(i: int) -> bool:
        barrier.wait()
        return caches[i].insert("k", f"v{i}")

    with ThreadPoolExecutor(len(caches)) as pool:
        results = list(pool.map(insert, range(len(caches))))
    assert results.count(True) == 1
    assert caches[0].get("k") == f"v{results.index(True)}"


def test_fresh_insert_racing_a_repair_is_never_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock-free inserter that links right after the repairer unlinked the corrupt file wins."""
    cache, other = _disk_cache(tmp_path), _disk_cache(tmp_path)
    _corrupt(cache, "k")
    real_unlink = os.unlink
    results: dict[str, bool] = {}

    def unlink_then_race(path: Any, *args: Any, **kwargs: Any) -> None:
        real_unlink(path, *args, **kwargs)
        if str(path) == str(cache.entry_path("k")):
            results["fresh"] = other.insert("k", "fresh")  # lands between unlink and link

    monkeypatch.setattr(_disk.os, "unlink", unlink_then_race)
    results["repair"] = cache.insert("k", "repair")
    assert results == {"fresh": True, "repair": False}
    assert cache.get("k") == "fresh"


# -- InductorOnDiskCache ---------------------------------------------------------------------


def test_inductor_base_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    cache = InductorOnDiskCache()
    assert cache.base_dir == tmp_path / "cache" / "inductor_on_disk_cache"
    assert isinstance(cache, OnDiskCache)
    assert cache.insert("k", 1) is True
    assert (tmp_path / "cache" / "inductor_on_disk_cache" / "v0").is_dir()


def test_inductor_default_base_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    want = tmp_path / f"torchinductor_{getpass.getuser()}" / "cache" / "inductor_on_disk_cache"
    assert InductorOnDiskCache().base_dir == want


_NO_TORCH = """
import sys
from cachespec.reference import InductorOnDiskCache
cache = InductorOnDiskCache()
assert cache.insert("k", 1) in (True, False) and cache.get("k") == 1
print(cache.base_dir)
print("torch" in sys.modules)
"""


def test_inductor_cache_does_not_import_torch(tmp_path: Path) -> None:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _NO_TORCH], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == [str(tmp_path / "cache" / "inductor_on_disk_cache"), "False"]


# The comparison of InductorOnDiskCache's default base dir with torch's own lives in
# test_reference_bench.py, which shares one torch import with the bench run.


def test_bytes_overwritten_inside_a_payload_are_detected_not_returned(tmp_path: Path) -> None:
    # The stress harness's corrupt fault overwrites a block in the middle of an entry: the header
    # and length survive, so only the payload checksum can tell the value is no longer the one stored.
    cache = _disk_cache(tmp_path)
    value = bytes(range(256)) * 400
    assert cache.insert("big", value)
    path = cache.entry_path("big")
    with open(path, "r+b") as fh:
        fh.seek(len(value) // 2)
        fh.write(b"\xff" * 4096)
    with pytest.raises(CacheError, match="checksum"):
        cache.get("big")
    assert cache.insert("big", b"fresh") and cache.get("big") == b"fresh"
