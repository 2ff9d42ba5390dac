"""Broken on-disk caches, continued: errors and safety (ERROR-, SAFE-), concurrency and crash
faults (CONC-, CRASH-). Same conventions as ``_disk``: each subclasses the
reference ``OnDiskCache`` through ``_disk._Disk`` and breaks one step.
"""

from __future__ import annotations

import errno
import os
import pickle
import secrets
import tempfile
import threading
import time
from hashlib import sha256
from typing import Any, Callable

from filelock import FileLock, Timeout
from xxhash import xxh3_64_intdigest

from cachespec.reference import CacheError
from cachespec.reference._disk import _HEADER, MAGIC, unpack_entry
from cachespec.reference._values import decode_value
from cachespec.conformance.mutants._disk import _Disk, _raw, _slow_write

__all__ = [
    "ExistsThenWriteDisk", "InPlaceWriteDisk", "KeyTypeErrorDisk", "LeftoverTempDisk",
    "LocalMemoDisk", "LockedReadsDisk", "PartialOnFailedInsertDisk", "RawPickleErrorDisk",
    "ReprKeyFallbackDisk", "ReprValueFallbackDisk", "ReservationDisk", "StaleLockFileDisk",
    "StrayTempDisk", "WriteBehindDisk",
]


# -- ERROR / SAFE -------------------------------------------------------------------------
class ReprKeyFallbackDisk(_Disk):
    """Keys outside the domain (a lambda, a list) fall back to repr(): accepted, not refused."""

    intended_clause = "ERROR-UNPICKLABLE-KEY"

    def _digest(self, key: Any) -> str:
        try:
            return super()._digest(key)
        except CacheError:
            return sha256(repr(key).encode()).hexdigest()


class RawPickleErrorDisk(_Disk):
    """Values are pickled with plain pickle.dumps; its exceptions escape unwrapped."""

    intended_clause = "ERROR-ONLY-CACHEERROR"

    def _blob(self, value: Any) -> bytes:
        payload = pickle.dumps(value, 5)
        return _HEADER.pack(MAGIC, len(payload), xxh3_64_intdigest(payload)) + payload


class ReprValueFallbackDisk(_Disk):
    """A value that cannot be encoded is stored as its repr() instead: accepted, not refused."""

    intended_clause = "ERROR-UNPICKLABLE-VALUE"

    def _blob(self, value: Any) -> bytes:
        try:
            return super()._blob(value)
        except CacheError:
            return super()._blob(repr(value))


class KeyTypeErrorDisk(_Disk):
    """Keys outside the domain raise TypeError instead of CacheError."""

    intended_clause = "ERROR-ONLY-CACHEERROR"

    def _digest(self, key: Any) -> str:
        try:
            return super()._digest(key)
        except CacheError as err:
            raise TypeError(f"unhashable cache key {key!r}") from err


class PartialOnFailedInsertDisk(_Disk):
    """insert streams the pickle straight into the entry file (torch): when pickling fails
    midway the half-written file stays, and the key is taken by garbage."""

    intended_clause = "SAFE-FAILED-INSERT-ABSENT"

    def _read(self, path: str) -> Any | None:
        data = _raw(path)
        if data is None:
            return None
        return decode_value(data, f"entry {path}")

    def insert(self, key: Any, value: Any) -> bool:
        path = self._path(self._digest(key))
        try:
            with open(path, "xb") as fh:
                pickle.dump(value, fh, 5)
        except FileExistsError:
            return False
        except Exception as err:
            raise CacheError(f"cannot pickle value: {err}") from err
        return True

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        return lambda: self.insert(key, value)


class LockedReadsDisk(_Disk):
    """get takes the key's file lock (torch does): a stalled writer blocks every reader."""

    intended_clause = "SAFE-LOCK-FREE-READS"

    def get(self, key: Any) -> Any | None:
        lock_path = self.lock_path(key)
        self._ensure_dir(os.path.dirname(lock_path))
        try:
            with FileLock(str(lock_path), timeout=10):
                return super().get(key)
        except Timeout as err:
            raise CacheError(f"timed out waiting for {lock_path}") from err

    def _store(self, digest: str, blob: bytes) -> bool:
        lock_path = os.path.join(os.fspath(self.base_dir), "locks", f"{digest[:4]}.lock")
        self._ensure_dir(os.path.dirname(lock_path))
        with FileLock(lock_path):
            return super()._store(digest, blob)


# -- CONC ---------------------------------------------------------------------------------
class ExistsThenWriteDisk(_Disk):
    """Checks os.path.exists, then writes (rename over): racing writers can both win."""

    intended_clause = "CONC-PROC-ONE-WINNER"

    def _store(self, digest: str, blob: bytes) -> bool:
        path = self._path(digest)
        if os.path.exists(path):
            return False
        tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(blob)
        time.sleep(0.002)  # the window between the check and the write, as on a busy disk
        os.replace(tmp, path)
        return True


class LocalMemoDisk(_Disk):
    """Remembers the value it tried to insert and serves it, even when another writer won."""

    intended_clause = "CONC-PROC-READ-WINNER"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._memo: dict[str, bytes] = {}

    def _store(self, digest: str, blob: bytes) -> bool:
        self._memo.setdefault(digest, blob)
        return super()._store(digest, blob)

    def get(self, key: Any) -> Any | None:
        blob = self._memo.get(self._digest(key))
        if blob is not None:
            return unpack_entry(blob, "memo")
        return super().get(key)


# -- CRASH --------------------------------------------------------------------------------
class InPlaceWriteDisk(_Disk):
    """Writes the entry in place (open(path, 'xb') then chunked writes): readers and crashes
    see half-written entries."""

    intended_clause = "CRASH-ATOMIC"

    def _store(self, digest: str, blob: bytes) -> bool:
        path = self._path(digest)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            _slow_write(fd, blob)
        finally:
            os.close(fd)
        return True


class StaleLockFileDisk(_Disk):
    """Guards inserts with an O_EXCL lock file removed only on success: a writer killed while
    holding it (or anyone who took the lock file another way) blocks the key's inserts."""

    intended_clause = "CRASH-LOCK-RELEASED"

    LOCK_WAIT = 5.0

    def _store(self, digest: str, blob: bytes) -> bool:
        lock = os.path.join(os.fspath(self.base_dir), "locks", f"{digest[:4]}.lock")
        self._ensure_dir(os.path.dirname(lock))
        deadline = time.monotonic() + self.LOCK_WAIT
        while True:
            try:
                os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise CacheError(f"lock {lock} is held") from None
                time.sleep(0.01)
        path = self._path(digest)
        if os.path.exists(path):
            os.unlink(lock)
            return False
        tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _slow_write(fd, blob)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        os.unlink(lock)  # not in a finally: a crash leaves the lock behind
        return True


class WriteBehindDisk(_Disk):
    """insert returns True at once and writes the entry from a background thread 50 ms later."""

    intended_clause = "CRASH-DURABLE"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._pending: dict[str, bytes] = {}
        self._mutex = threading.Lock()

    def _store(self, digest: str, blob: bytes) -> bool:
        with self._mutex:
            if digest in self._pending or os.path.exists(self._entry_path_of(digest)):
                return False
            self._pending[digest] = blob

        def flush() -> None:
            self._publish(digest, blob)
            with self._mutex:
                self._pending.pop(digest, None)

        timer = threading.Timer(0.05, flush)
        timer.daemon = True
        timer.start()
        return True

    def get(self, key: Any) -> Any | None:
        with self._mutex:
            blob = self._pending.get(self._digest(key))
        if blob is not None:
            return unpack_entry(blob, "pending entry")
        return super().get(key)


class StrayTempDisk(_Disk):
    """Stages entries in named temporaries next to the entry and never sweeps those of killed
    writers: they pile up."""

    intended_clause = "CRASH-NO-STRAY-TEMP"

    def _store(self, digest: str, blob: bytes) -> bool:
        path = self._path(digest)
        tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _slow_write(fd, blob, pause=0.002)
        finally:
            os.close(fd)
        try:
            return self._link_or_repair(tmp, path)
        finally:
            os.unlink(tmp)

    def _link_or_repair(self, tmp: str, path: str) -> bool:
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            pass
        try:
            self._read(path)
            return False
        except CacheError:  # a corrupt entry: replace it (the reference's repair, minus its lock)
            os.unlink(path)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False


class ReservationDisk(_Disk):
    """Reserves a key with an O_EXCL ``.pending`` marker before writing; others wait for the
    marker to go, then give up with False. A killed writer's marker never goes."""

    intended_clause = "CRASH-RECOVER"

    WAIT = 3.0

    def _store(self, digest: str, blob: bytes) -> bool:
        path = self._path(digest)
        marker = path + ".pending"
        deadline = time.monotonic() + self.WAIT
        while True:
            try:
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                break
            except FileExistsError:
                if os.path.exists(path) or time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        try:
            tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _slow_write(fd, blob)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
                won = True
            except FileExistsError:
                won = False
            os.unlink(tmp)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise CacheError("disk full") from err
            raise
        os.unlink(marker)
        return won


class LeftoverTempDisk(_Disk):
    """Stages each entry in a ``tmp*.__wz_cache`` file next to it (cachelib's FileSystemCache)
    and removes the file only when the write succeeded: a value whose serialization fails
    leaves its temporary behind forever, though the key reads None and stays insertable."""

    intended_clause = "SAFE-FAILED-INSERT-ABSENT"

    def insert(self, key: Any, value: Any) -> bool:
        digest = self._digest(key)
        fd, tmp = tempfile.mkstemp(prefix="tmp", suffix=".__wz_cache",
                                   dir=os.path.dirname(self._path(digest)))
        with os.fdopen(fd, "wb") as fh:
            blob = self._blob(value)  # a CacheError here skips the unlink below
            fh.write(blob)
        os.unlink(tmp)
        return self._store(digest, blob)

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        return lambda: self.insert(key, value)
