"""Broken on-disk caches: subclasses of the reference ``OnDiskCache`` with one fault each.

:class:`_Disk` routes ``insert`` and ``insert_async`` through two hooks, ``_blob(value)`` (the
entry file's bytes) and ``_store(digest, blob)`` (publishing them), so a mutant overrides just
the step it breaks. Sleeps in the writers stand in for a slow disk: they widen the windows a
correct design does not have, they do not create them.
"""

from __future__ import annotations

import os
import pickle
import secrets
import struct
import time
from concurrent.futures import Executor, Future
from hashlib import sha256
from typing import Any, Callable

from cachespec.reference import CacheError, OnDiskCache, encode_key
from cachespec.reference._disk import _HEADER, MAGIC, encode_entry, unpack_entry
from cachespec.reference._values import _NoGlobalsUnpickler, decode_value, encode_value

__all__ = [
    "AsyncCheckThenInsertDisk", "AsyncGetRawBytesDisk", "AsyncInsertRunsGetDisk",
    "AsyncSwallowsErrorsDisk", "CachedVersionDisk", "CorruptPoisonsDisk", "HashOrderKeyDisk",
    "LostPersistenceDisk", "NoChecksumDisk", "PickleKeyDisk", "RawCorruptErrorDisk",
    "StaleBlocksDisk", "StaleByMtimeDisk", "UnsafeUnpickleDisk", "VersionIgnoredDisk",
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
