"""Broken on-disk caches: subclasses of the reference ``OnDiskCache`` with one fault each.

:class:`_Disk` routes ``insert`` and ``insert_async`` through two hooks, ``_blob(value)`` (the
entry file's bytes) and ``_store(digest, blob)`` (publishing them), so a mutant overrides just
the step it breaks. Sleeps in the writers stand in for a slow disk: they widen the windows a
correct design does not have, they do not create them.
"""

from __future__ import annotations

import errno
import os
import pickle
import secrets
import struct
import tempfile
import threading
import time
from concurrent.futures import Executor, Future
from hashlib import sha256
from typing import Any, Callable

from filelock import FileLock, Timeout
from xxhash import xxh3_64_intdigest

from cachespec.reference import CacheError, OnDiskCache, encode_key
from cachespec.reference._disk import _HEADER, MAGIC, encode_entry, unpack_entry
from cachespec.reference._values import _NoGlobalsUnpickler, decode_value, encode_value

__all__ = [
    "AsyncCheckThenInsertDisk", "AsyncGetRawBytesDisk", "AsyncInsertRunsGetDisk",
    "AsyncSwallowsErrorsDisk", "CachedVersionDisk", "CorruptPoisonsDisk", "ExistsThenWriteDisk",
    "HashOrderKeyDisk", "InPlaceWriteDisk", "KeyTypeErrorDisk", "LeftoverTempDisk", "LocalMemoDisk", "LockedReadsDisk",
    "LostPersistenceDisk", "NoChecksumDisk", "PartialOnFailedInsertDisk", "PickleKeyDisk", "RawCorruptErrorDisk",
    "RawPickleErrorDisk", "ReprKeyFallbackDisk", "ReprValueFallbackDisk", "ReservationDisk", "StaleBlocksDisk",
    "StaleByMtimeDisk", "StaleLockFileDisk", "StrayTempDisk", "UnsafeUnpickleDisk",
    "VersionIgnoredDisk", "WriteBehindDisk",
]

_VERSION = struct.Struct(">q")


def _raw(path: str) -> bytes | None:
    """The bytes of the file at ``path``; None if there is none (the mutants' plain read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


class _Disk(OnDiskCache):
    """The reference on-disk cache with insert split into ``_blob`` and ``_store`` hooks."""

    def _blob(self, value: Any) -> bytes:
        return encode_entry(value)

    def _store(self, digest: str, blob: bytes) -> bool:
        return self._publish(digest, blob)

    def insert(self, key: Any, value: Any) -> bool:
        return self._store(self._digest(key), self._blob(value))

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        digest, blob = self._digest(key), self._blob(value)
        return lambda: self._store(digest, blob)

    def _prepare_get(self, key: Any) -> Callable[[], Any | None]:
        self._digest(key)  # refuse a bad key at once, as the reference does
        return lambda: self.get(key)

    def _path(self, digest: str) -> str:
        path = self._entry_path_of(digest)
        self._ensure_dir(os.path.dirname(path))
        return path


def _slow_write(fd: int, blob: bytes, chunk: int = 1 << 16, pause: float = 0.001) -> None:
    """Write ``blob`` in chunks with pauses, like a slow or loaded disk."""
    view = memoryview(blob)
    while view:
        n = os.write(fd, view[:chunk])
        view = view[n:]
        if view:
            time.sleep(pause)


# -- CORE / KEY ---------------------------------------------------------------------------
class PickleKeyDisk(_Disk):
    """File names from sha256(pickle.dumps(key)) (torch): equal keys built from shared or
    copied sub-objects pickle differently and land in different files."""

    intended_clause = "KEY-EQUAL-SAME"

    def _digest(self, key: Any) -> str:
        encode_key(key)
        return sha256(pickle.dumps(key)).hexdigest()


def _hash_sorted(key: Any) -> bytes:
    if type(key) is frozenset:
        members = sorted(key, key=lambda m: (hash(m), encode_key(m)))
        return b"f(" + b",".join(_hash_sorted(m) for m in members) + b")"
    if type(key) is tuple:
        return b"t(" + b",".join(_hash_sorted(m) for m in key) + b")"
    return encode_key(key)


class HashOrderKeyDisk(_Disk):
    """frozenset members are ordered by hash(): canonical in one process, but str hashes are
    salted per process (PYTHONHASHSEED), so other processes look in another file."""

    intended_clause = "KEY-STABLE-HASHSEED"

    def _digest(self, key: Any) -> str:
        encode_key(key)
        return sha256(_hash_sorted(key)).hexdigest()


# -- ASYNC --------------------------------------------------------------------------------
class AsyncSwallowsErrorsDisk(_Disk):
    """insert_async/get_async turn any error into a False/None result."""

    intended_clause = "ASYNC-ERRORS"

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
        def job() -> bool:
            try:
                return self.insert(key, value)
            except Exception:
                return False
        return executor.submit(job)

    def get_async(self, key: Any, executor: Executor) -> Future[Any]:
        def job() -> Any:
            try:
                return self.get(key)
            except Exception:
                return None
        return executor.submit(job)


class AsyncGetRawBytesDisk(_Disk):
    """get_async hands back the entry's encoded payload (bytes) instead of decoding it."""

    intended_clause = "ASYNC-GET"

    def get_async(self, key: Any, executor: Executor) -> Future[Any]:
        path = self._entry_path_of(self._digest(key))

        def job() -> Any:
            try:
                with open(path, "rb") as fh:
                    return fh.read()[_HEADER.size:]
            except FileNotFoundError:
                return None
        return executor.submit(job)


class AsyncInsertRunsGetDisk(_Disk):
    """insert_async submits get instead of insert (a copy-paste slip): nothing is stored."""

    intended_clause = "ASYNC-INSERT"

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[Any]:
        encode_value(value)
        return executor.submit(self.get, key)


class AsyncCheckThenInsertDisk(_Disk):
    """insert_async decides "absent" in the caller's thread, then writes (replacing) later:
    two calls made before either runs both return True."""

    intended_clause = "ASYNC-ONE-WINNER"

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
        absent = self.get(key) is None
        digest, blob = self._digest(key), self._blob(value)

        def job() -> bool:
            if absent:
                path = self._path(digest)
                tmp = f"{path}.{secrets.token_hex(4)}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(blob)
                os.replace(tmp, path)
            return absent
        return executor.submit(job)


# -- DISK ---------------------------------------------------------------------------------
class LostPersistenceDisk(_Disk):
    """Keeps inserts in memory and writes them to disk only on close()."""

    intended_clause = "DISK-PERSIST-REOPEN"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._pending: dict[str, bytes] = {}

    def _store(self, digest: str, blob: bytes) -> bool:
        if digest in self._pending or self._read(self._entry_path_of(digest)) is not None:
            return False
        self._pending[digest] = blob
        return True

    def get(self, key: Any) -> Any | None:
        blob = self._pending.get(self._digest(key))
        if blob is not None:
            return unpack_entry(blob, "pending entry")
        return super().get(key)

    def close(self) -> None:
        pending, self._pending = self._pending, {}
        for digest, blob in pending.items():
            self._publish(digest, blob)


class StaleByMtimeDisk(_Disk):
    """get deletes entries older than the instance, taking them for leftovers of a past run."""

    intended_clause = "DISK-PERSIST-REOPEN"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._opened = time.time()

    def _read(self, path: str) -> Any | None:
        try:
            if os.stat(path).st_mtime < self._opened:
                os.unlink(path)
                return None
        except FileNotFoundError:
            return None
        return super()._read(path)


class RawCorruptErrorDisk(_Disk):
    """get skips the header checks and lets the unpickler's exception escape on corruption."""

    intended_clause = "DISK-CORRUPT-ENTRY"

    def _read(self, path: str) -> Any | None:
        data = _raw(path)
        if data is None:
            return None
        import io
        return _NoGlobalsUnpickler(io.BytesIO(data[_HEADER.size:])).load()


class NoChecksumDisk(_Disk):
    """get checks an entry's magic and length but not its checksum: a flipped payload byte
    can decode to a wrong value."""

    intended_clause = "DISK-CORRUPT-DETECTED"

    def _read(self, path: str) -> Any | None:
        data = _raw(path)
        if data is None:
            return None
        if len(data) < _HEADER.size:
            raise CacheError(f"entry {path} is truncated")
        magic, length, _checksum = _HEADER.unpack_from(data)
        if magic != MAGIC or length != len(data) - _HEADER.size:
            raise CacheError(f"entry {path} is not a whole entry")
        return decode_value(data, f"entry {path}", _HEADER.size)


class CorruptPoisonsDisk(_Disk):
    """A corrupt entry makes insert return False forever (no repair), as in torch."""

    intended_clause = "DISK-CORRUPT-RECOVER"

    def _repair(self, digest: str, path: str, staged: Any) -> bool:
        return False


class UnsafeUnpickleDisk(_Disk):
    """get decodes entries with plain pickle.loads: a crafted entry file runs code."""

    intended_clause = "SAFE-DISK-NO-CODE"

    def _read(self, path: str) -> Any | None:
        data = _raw(path)
        if data is None:
            return None
        # A bare pickle is taken for an entry of an older format ("legacy fallback"), so any
        # crafted file is unpickled, and plain pickle runs whatever the file names.
        payload = data[_HEADER.size:] if data[:len(MAGIC)] == MAGIC else data
        try:
            return pickle.loads(payload)
        except Exception as err:
            raise CacheError(f"entry {path} is corrupt") from err


# -- VERSION ------------------------------------------------------------------------------
class VersionIgnoredDisk(_Disk):
    """Entries of every version share one directory: a version bump changes nothing."""

    intended_clause = "VERSION-ISOLATED"

    def _entry_path_of(self, digest: str) -> str:
        return os.path.join(os.fspath(self.base_dir), "v0", digest[:2], digest[2:])


class _VersionInFile(_Disk):
    """torch's layout: one file per key, the writer's version inside the file."""

    def _entry_path_of(self, digest: str) -> str:
        return os.path.join(os.fspath(self.base_dir), "entries", digest[:2], digest[2:])

    def _blob(self, value: Any) -> bytes:
        return _VERSION.pack(self._version()) + super()._blob(value)

    def _reader_version(self) -> int:
        return self._version()

    def _on_stale(self, path: str) -> None:
        pass

    def _read(self, path: str) -> Any | None:
        data = _raw(path)
        if data is None:
            return None
        if len(data) < _VERSION.size:
            raise CacheError(f"entry {path} is truncated")
        (version,) = _VERSION.unpack_from(data)
        if version != self._reader_version():
            self._on_stale(path)
            return None
        return unpack_entry(data[_VERSION.size:], path)


class StaleBlocksDisk(_VersionInFile):
    """An entry of an old version reads as absent but is never replaced: insert returns False."""

    intended_clause = "VERSION-INSERTABLE"


class CachedVersionDisk(_VersionInFile):
    """Compares entries with the version read when the instance was made, and deletes those
    that differ: after a bump it deletes the fresh entries (and serves the stale ones)."""

    intended_clause = "VERSION-INSERTABLE"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._seen_version = type(self).version

    def _reader_version(self) -> int:
        return self._seen_version

    def _on_stale(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


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
