"""Crash safety of the reference OnDiskCache: a writer dying at any instant leaves each key absent
or complete, insertable, and no debris in the cache directory."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cachespec.reference import CacheError, OnDiskCache
from cachespec.reference import _disk
from cachespec.reference._disk import _Staged

sys.path.insert(0, os.path.dirname(__file__))
from _crashwriter import expected_value  # noqa: E402

WRITER = os.path.join(os.path.dirname(__file__), "_crashwriter.py")
ENTRY_RE = re.compile(r"v0/[0-9a-f]{2}/[0-9a-f]{62}")
LOCK_RE = re.compile(r"locks/[0-9a-f]{4}\.lock")


def _cache(base: Path) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = base
    return cache


def _start(base: Path, mode: str, nkeys: int, size: int, seed: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, WRITER, str(base), mode, str(nkeys), str(size), str(seed), *extra],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "go"
    return proc


def _writer_loop(base: Path, mode: str, values: dict[int, object], seed: int, go: int) -> None:
    """The body of a forked writer: insert the crash values in random order until killed."""
    if mode == "named":
        _Staged.tmpfile_works = False
    cache = _cache(base)
    rng = random.Random(seed)
    os.write(go, b"go")
    while True:
        i = rng.randrange(len(values))
        cache.insert(("crash", i), values[i])


def _kill_many(base: Path, mode: str, kills: int, nkeys: int, size: int, max_delay: float) -> int:
    """Fork and SIGKILL ``kills`` writers one after another (forking skips the interpreter start,
    so many kills fit in a few seconds); return how many temporaries the killed writers left
    behind (each next writer may sweep its predecessors' away)."""
    rng = random.Random(1234)
    values = {i: expected_value(i, size) for i in range(nkeys)}
    left = 0
    for round_ in range(kills):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            try:
                os.close(read_end)
                _writer_loop(base, mode, values, round_, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        assert os.read(read_end, 2) == b"go"
        os.close(read_end)
        time.sleep(rng.uniform(0.0, max_delay))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer must die mid-run"
        left += sum(os.path.basename(n).startswith(".tmp-") and f"-{pid}-" in n for n in _files(base))
    return left


def _insert_seconds(scratch: Path, size: int) -> float:
    """How long one insert of a crash value takes on this machine right now."""
    cache, value = _cache(scratch), expected_value(0, size)
    start = time.perf_counter()
    cache.insert("calibrate", value)
    took = time.perf_counter() - start
    shutil.rmtree(scratch)
    return took


def _files(base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() or p.is_symlink())


def _check_absent_or_complete_then_insertable(base: Path, nkeys: int, size: int) -> int:
    cache = _cache(base)
    present = 0
    for i in range(nkeys):
        want = expected_value(i, size)
        got = cache.get(("crash", i))  # a partial entry would raise CacheError here
        assert got is None or got == want, f"key {i} holds a damaged value"
        present += got is not None
        assert cache.insert(("crash", i), want) is (got is None)
        assert cache.get(("crash", i)) == want
    return present


@pytest.mark.slow
def test_sigkill_mid_insert_of_large_values_leaves_keys_absent_or_complete(tmp_path: Path) -> None:
    nkeys, size = 6, 16 * 2**20
    # Delays up to ~2.5 inserts long: most kills land mid-insert, some after a completed one.
    _kill_many(tmp_path, "tmpfile", kills=30, nkeys=nkeys, size=size,
               max_delay=min(0.6, max(0.2, 2.5 * _insert_seconds(tmp_path / "calibrate", size))))
    names = _files(tmp_path)
    # O_TMPFILE inodes die with their writer: nothing but entries (and lock files) may remain.
    assert all(ENTRY_RE.fullmatch(n) or LOCK_RE.fullmatch(n) for n in names), names
    present = _check_absent_or_complete_then_insertable(tmp_path, nkeys, size)
    assert present >= 1, "no writer ever completed an insert: the kills did not test a mixed state"
    assert all(ENTRY_RE.fullmatch(n) or LOCK_RE.fullmatch(n) for n in _files(tmp_path))


@pytest.mark.slow
def test_sigkill_with_named_temporaries_then_next_writer_sweeps_them(tmp_path: Path) -> None:
    nkeys, size = 4, 12 * 2**20
    left = _kill_many(tmp_path, "named", kills=12, nkeys=nkeys, size=size, max_delay=0.15)
    assert left > 0, "no kill landed while a named temporary existed: the sweeps are untested"
    before = _files(tmp_path)
    temps = [n for n in before if os.path.basename(n).startswith(".tmp-")]
    assert all(ENTRY_RE.fullmatch(n) or LOCK_RE.fullmatch(n) or n in temps for n in before), before
    # A fallback writer inserting every key sweeps each directory it writes in of dead writers' temps.
    proc = _start(tmp_path, "named", nkeys, size, 99, "once")
    assert proc.wait(timeout=60) == 0
    after = _files(tmp_path)
    assert all(ENTRY_RE.fullmatch(n) or LOCK_RE.fullmatch(n) for n in after), after
    _check_absent_or_complete_then_insertable(tmp_path, nkeys, size)


def test_sweep_removes_only_dead_writers_temporaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    directory = os.path.dirname(cache.entry_path("k"))
    os.makedirs(directory)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_temp = os.path.join(directory, f".tmp-{dead.pid}-00")
    live_temp = os.path.join(directory, f".tmp-{os.getpid()}-00")
    for name in (dead_temp, live_temp):
        Path(name).write_bytes(b"partial")
    assert cache.insert("k", 1) is True
    assert not os.path.exists(dead_temp)
    assert os.path.exists(live_temp), "a live writer's temporary must be left alone"
    assert cache.get("k") == 1
    # The fallback publishes a whole file too and leaves no temporary of its own behind.
    assert sorted(os.listdir(directory)) == sorted([os.path.basename(cache.entry_path("k")),
                                                    os.path.basename(live_temp)])


@pytest.mark.parametrize("named", [False, True])
def test_exception_while_serializing_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     named: bool) -> None:
    if named:
        monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    with pytest.raises(CacheError):
        cache.insert("k", [b"x" * 2**20, object()])  # fails after a megabyte is pickled
    assert cache.get("k") is None
    assert cache.insert("k", "fine") is True
    assert cache.get("k") == "fine"
    assert all(ENTRY_RE.fullmatch(n) for n in _files(tmp_path))


@pytest.mark.parametrize("named", [False, True])
def test_failed_write_leaves_key_absent_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         named: bool) -> None:
    if named:
        monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    real_write = os.write
    calls = []

    def failing_write(fd: int, data: object) -> int:
        calls.append(fd)
        if len(calls) == 2:  # the first chunk lands, the second hits a full disk
            raise OSError(28, "No space left on device")
        return real_write(fd, memoryview(data)[:1000])  # type: ignore[arg-type]

    monkeypatch.setattr(_disk.os, "write", failing_write)
    with pytest.raises(CacheError) as info:
        cache.insert("k", b"y" * 100_000)
    assert isinstance(info.value.__cause__, OSError)
    monkeypatch.setattr(_disk.os, "write", real_write)
    assert cache.get("k") is None
    assert all(ENTRY_RE.fullmatch(n) for n in _files(tmp_path))
    assert cache.insert("k", b"z") is True and cache.get("k") == b"z"


def test_reader_never_sees_a_partial_entry_while_a_large_write_is_in_flight(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    size = 24 * 2**20
    proc = _start(tmp_path, "tmpfile", 1, size, 0, "once")
    want = expected_value(0, size)
    seen = set()
    while proc.poll() is None:
        got = cache.get(("crash", 0))
        assert got is None or got == want
        seen.add(got is None)
    assert proc.wait() == 0
    assert cache.get(("crash", 0)) == want
