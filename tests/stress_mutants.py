"""Torch-shaped on-disk caches with one classic concurrency bug each, for the stress harness.

``SafeDisk`` is the correct baseline: checksummed entries, published by ``link(2)`` from a
complete temporary file, so the first insert wins, a reader sees nothing or a whole entry, and a
damaged entry raises CacheError. Each mutant changes one thing:

- ``CheckThenCreate``: insert checks for the file, then renames over it, with no lock;
- ``HalfWritten``: insert writes the entry in place, readers see it while it grows;
- ``StaleDeleter``: a lock-free reader deletes an entry it cannot yet recognise, thinking it is a
  stale entry of another version, although the writer has just created it;
- ``LeakyLock``: the write lock is a lock *file* removed on release, so a holder that dies keeps
  it forever;
- ``MissMemo``: each host remembers the keys it found missing (like an NFS client's negative
  lookup cache) until an insert ON THAT HOST publishes them: correct on one host, stale across
  hosts (only a multi-host run can catch it).

Run one with ``cachespec stress tests.stress_mutants:CheckThenCreate`` from the repository root.
"""

from __future__ import annotations

import os
import pickle
import struct
import time
from concurrent.futures import Executor, Future
from functools import cached_property
from hashlib import blake2b, sha256
from pathlib import Path
from tempfile import gettempdir
from typing import Any

from filelock import FileLock

_HEAD = struct.Struct(">4sQ8s")  # version prefix, payload length, payload checksum


def _checksum(payload: bytes) -> bytes:
    return blake2b(payload, digest_size=8).digest()


class CacheError(ValueError):
    """The error type of these caches (found by name, as for torch's caches)."""


class SafeDisk:
    """Correct baseline: lock-free reads, atomic first-wins publish, a filelock for writers."""

    version: int = 0

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "stress_mutants"

    @cached_property
    def base_dir(self) -> Path:
        return Path(gettempdir()) / "cache" / self.name

    # -- layout --------------------------------------------------------------------------------
    @property
    def version_prefix(self) -> bytes:
        return sha256(str(SafeDisk.version).encode()).digest()[:4]

    def _fpath_from_key(self, key: Any) -> Path:
        try:
            digest = sha256(pickle.dumps(key)).hexdigest()[:32]
        except Exception as err:
            raise CacheError(f"key {key!r} is not pickle-able") from err
        return self.base_dir / f"v{SafeDisk.version}" / digest

    def _flock_from_fpath(self, fpath: Path) -> Any:
        return FileLock(str(self.base_dir / "locks" / fpath.name[:4]) + ".lock")

    def _encode(self, value: Any) -> bytes:
        try:
            payload = pickle.dumps(value)
        except Exception as err:
            raise CacheError(f"value {value!r:.40} is not pickle-able") from err
        return _HEAD.pack(self.version_prefix, len(payload), _checksum(payload)) + payload

    def _decode(self, data: bytes, fpath: Path) -> Any:
        if len(data) < _HEAD.size:
            raise CacheError(f"{fpath}: truncated entry")
        prefix, length, checksum = _HEAD.unpack_from(data)
        if prefix != self.version_prefix or length != len(data) - _HEAD.size \
                or checksum != _checksum(data[_HEAD.size:]):
            raise CacheError(f"{fpath}: corrupt entry")
        try:
            return pickle.loads(data[_HEAD.size:])
        except Exception as err:
            raise CacheError(f"{fpath}: corrupt entry") from err

    def _tmp(self, fpath: Path, blob: bytes) -> Path:
        fpath.parent.mkdir(parents=True, exist_ok=True)
        tmp = fpath.with_name(f".tmp-{fpath.name}-{os.getpid()}-{time.monotonic_ns()}")
        with open(tmp, "wb") as f:
            f.write(blob)
        return tmp

    # -- the API -------------------------------------------------------------------------------
    def get(self, key: Any) -> Any | None:
        fpath = self._fpath_from_key(key)
        try:
            data = fpath.read_bytes()
        except FileNotFoundError:
            return None
        return self._decode(data, fpath)

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        blob = self._encode(value)
        (self.base_dir / "locks").mkdir(parents=True, exist_ok=True)
        with self._flock_from_fpath(fpath):
            tmp = self._tmp(fpath, blob)
            try:
                os.link(tmp, fpath)
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        return True

    def get_async(self, key: Any, executor: Executor) -> Future[Any]:
        return executor.submit(self.get, key)

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
        return executor.submit(self.insert, key, value)


class CheckThenCreate(SafeDisk):
    """Bug: check-then-create without a lock; the last rename wins, every racer returns True."""

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        if fpath.exists():
            return False
        tmp = self._tmp(fpath, self._encode(value))
        os.replace(tmp, fpath)
        return True


class HalfWritten(SafeDisk):
    """Bug: the entry is written in place (exclusive create, under the lock) while lock-free
    readers read it, and a reader trusts whatever bytes it finds."""

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        blob = self._encode(value)
        fpath.parent.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "locks").mkdir(parents=True, exist_ok=True)
        with self._flock_from_fpath(fpath):
            try:
                f = open(fpath, "xb")
            except FileExistsError:
                return False
            with f:
                for i in range(0, len(blob), 64 * 1024):
                    f.write(blob[i:i + 64 * 1024])
                    f.flush()
        return True

    def get(self, key: Any) -> Any | None:
        fpath = self._fpath_from_key(key)
        try:
            data = fpath.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < _HEAD.size or data[:4] != self.version_prefix:
            return None
        value = data[_HEAD.size:]
        try:
            return pickle.loads(value)
        except Exception:
            return value  # "raw" fallback: a truncated entry comes back as bytes


class StaleDeleter(SafeDisk):
    """Bug: insert creates the file then fills it (under the lock); a lock-free reader that
    finds no recognisable version prefix deletes the entry as stale, though it is fresh.
    (The reader waits for a recognised entry to be complete, so it never returns half of one.)"""

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        fpath.parent.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "locks").mkdir(parents=True, exist_ok=True)
        with self._flock_from_fpath(fpath):
            try:
                f = open(fpath, "xb")
            except FileExistsError:
                return False
            with f:
                f.write(self._encode(value))  # as torch: the value is pickled after creation
        return True

    def get(self, key: Any) -> Any | None:
        fpath = self._fpath_from_key(key)
        deadline = time.monotonic() + 2.0
        while True:
            try:
                data = fpath.read_bytes()
            except FileNotFoundError:
                return None
            if len(data) < 4 or data[:4] != self.version_prefix:
                try:
                    fpath.unlink()  # "stale": written by another version, make room
                except FileNotFoundError:
                    pass
                return None
            if len(data) >= _HEAD.size and _HEAD.unpack_from(data)[1] == len(data) - _HEAD.size:
                return self._decode(data, fpath)
            if time.monotonic() > deadline:
                raise CacheError(f"{fpath}: entry never completed")
            time.sleep(0.001)


class _FileLock:
    """A lock that is a file: created with O_EXCL to take it, deleted to release it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> _FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return self
            except FileExistsError:
                time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        os.unlink(self.path)


class LeakyLock(SafeDisk):
    """Bug: the writers' lock outlives a holder that dies, so that key's writers wait forever."""

    def _flock_from_fpath(self, fpath: Path) -> Any:
        return _FileLock(self.base_dir / "locks" / (fpath.name[:4] + ".lck"))

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        with self._flock_from_fpath(fpath):
            if fpath.exists():
                return False
            tmp = self._tmp(fpath, self._encode(value))
            os.replace(tmp, fpath)  # safe: we hold the lock and checked under it
        return True


MUTANTS: tuple[str, ...] = ("CheckThenCreate", "HalfWritten", "StaleDeleter", "LeakyLock")


class MissMemo(SafeDisk):
    """Bug across hosts only: a get that missed leaves a marker in a host-local memo and every
    later get of that key on the host returns None while the marker lasts. The marker is set
    and removed under the key's write lock (set only if the entry is still absent, removed by
    the insert that publishes it on this host), so the processes of one host stay consistent;
    an insert that lost (the entry came from another host) leaves it, so the host keeps missing
    an entry it was just told exists. The host is ``CACHESPEC_STRESS_HOST``.
    """

    def _memo(self, fpath: Path) -> Path:
        host = os.environ.get("CACHESPEC_STRESS_HOST") or "localhost"
        return self.base_dir / ".missmemo" / host / fpath.name

    def get(self, key: Any) -> Any | None:
        fpath = self._fpath_from_key(key)
        memo = self._memo(fpath)
        if memo.exists():
            return None
        value = super().get(key)
        if value is None:
            (self.base_dir / "locks").mkdir(parents=True, exist_ok=True)
            memo.parent.mkdir(parents=True, exist_ok=True)
            with self._flock_from_fpath(fpath):
                if not fpath.exists():
                    memo.touch()
        return value

    def insert(self, key: Any, value: Any) -> bool:
        fpath = self._fpath_from_key(key)
        blob = self._encode(value)
        (self.base_dir / "locks").mkdir(parents=True, exist_ok=True)
        with self._flock_from_fpath(fpath):
            tmp = self._tmp(fpath, blob)
            try:
                os.link(tmp, fpath)
            except FileExistsError:
                return False  # published by someone else (maybe another host): memo kept
            finally:
                os.unlink(tmp)
            self._memo(fpath).unlink(missing_ok=True)
        return True


class HangingGet(SafeDisk):
    """Not a classic bug but a liveness failure: get of the hottest keys never returns."""

    def get(self, key: Any) -> Any | None:
        if str(key).endswith("-00000"):
            while True:
                time.sleep(1)
        return super().get(key)
