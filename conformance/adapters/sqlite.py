"""Adapter for Python's own ``sqlite3``: a write-once cache of another design, in one file.

The cache is one table ``entries(key BLOB PRIMARY KEY, value BLOB)`` in
``<storage>/cache.sqlite3``. ``insert`` is ``INSERT OR IGNORE`` in autocommit mode (one
statement, so SQLite makes it atomic across threads and processes) and returns True iff it
added the row (``rowcount == 1``); ``get`` is a ``SELECT``. This is the "correct cache of
another design" example: what a careful user builds on sqlite3, so it is written to be clean.

* Keys: ``cachespec.reference.encode_key`` (canonical and type-tagged: equal keys give equal
  bytes however they were built, 1/True/1.0 stay apart, and no hash-seed-dependent set order),
  not ``pickle.dumps(key)``, whose bytes depend on object sharing.
* Values: ``cachespec.reference.encode_value`` (pickle restricted to builtin data; reading it
  back never imports or calls anything), stored after their SHA-256 so a damaged row is
  detected instead of returned. A damaged row does not hold its key: ``insert`` replaces it in
  an ``IMMEDIATE`` transaction (the rare path; the plain path is ``INSERT OR IGNORE``), and a
  database SQLite cannot read at all is replaced by a new one (entries lost, never wrong).
* One connection per call: safe across threads and after ``fork`` (nothing open is shared).
  ``timeout=60`` is SQLite's busy timeout, so a process waits for another's write lock instead
  of failing with "database is locked". WAL journal: readers never wait for a writer and a
  writer never waits for readers, which is what a cache read by many processes wants; a killed
  writer's transaction is rolled back from the WAL by the next connection.
* Storage owned by another user, or writable by everyone, is refused when the cache is opened
  (anyone could have planted rows there; a checksum guards against damage, not forgery).

Error type: ``sqlite3.Error``. The cache reports failures the way sqlite3 itself does: SQLite's
own errors pass through, a key or value the cache cannot store is ``sqlite3.ProgrammingError``
(what sqlite3 raises when a parameter has an unsupported type) and damaged or untrusted storage
is ``sqlite3.DatabaseError`` (what SQLite raises for a malformed database).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES, RICH_VALUES, THREADS, TYPED_KEYS
from ._base import Adapter

DB_NAME = "cache.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
_BUSY_TIMEOUT = 60.0  # seconds a connection waits for another's lock before failing
_DIGEST = 32  # bytes of SHA-256 in front of each stored value


class _Store:
    """One cache instance: the database path (connections are opened per call)."""

    def __init__(self, storage: Path) -> None:
        self.db = storage / DB_NAME
        _check_trust(storage)
        if self.db.exists():
            _check_trust(self.db)
        try:
            with _closing(self._connect()) as conn:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError):
                raise
            # damaged beyond reading: get reports it, insert replaces the database

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db, timeout=_BUSY_TIMEOUT, isolation_level=None)
        try:
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def get(self, key: Any) -> Any | None:
        k = _key(key)
        with _closing(self._connect()) as conn:
            row = conn.execute("SELECT value FROM entries WHERE key = ?", (k,)).fetchone()
        return None if row is None else _decode(bytes(row[0]))

    def insert(self, key: Any, value: Any) -> bool:
        k, blob = _key(key), _encode(value)
        try:
            return self._insert(k, blob)
        except sqlite3.DatabaseError as err:
            if isinstance(err, (sqlite3.OperationalError, sqlite3.IntegrityError)):
                raise  # busy, I/O, full disk: not damage
            self._replace_damaged_db()
            return self._insert(k, blob)

    def _insert(self, k: bytes, blob: bytes) -> bool:
        with _closing(self._connect()) as conn:
            cur = conn.execute("INSERT OR IGNORE INTO entries VALUES (?, ?)", (k, blob))
            if cur.rowcount == 1:
                return True
            # the key has a row; a damaged one does not hold it (checked and replaced under
            # the write lock, so exactly one of several repairers wins)
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT value FROM entries WHERE key = ?", (k,)).fetchone()
                if row is not None and _intact(bytes(row[0])):
                    return False
                conn.execute("INSERT OR REPLACE INTO entries VALUES (?, ?)", (k, blob))
                conn.execute("COMMIT")
                return True
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def _replace_damaged_db(self) -> None:
        """A database SQLite cannot read: remove it (and its WAL) so a new one is created."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.db}{suffix}")
            except FileNotFoundError:
                pass


class _closing:
    """``with`` for a connection: close it on exit (sqlite3's own ``with`` only commits)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _check_trust(path: Path) -> None:
    st = os.stat(path)
    if st.st_uid != os.geteuid() or st.st_mode & 0o002:
        raise sqlite3.DatabaseError(
            f"refusing {path}: owned by uid {st.st_uid} (this process is {os.geteuid()}) or "
            f"writable by everyone (mode {st.st_mode & 0o777:o}); anyone could have planted rows")


def _key(key: Any) -> bytes:
    from cachespec.reference import CacheError, encode_key

    try:
        return encode_key(key)
    except CacheError as err:
        raise sqlite3.ProgrammingError(f"unsupported key {key!r}: {err}") from err


def _encode(value: Any) -> bytes:
    from cachespec.reference import CacheError, encode_value

    try:
        payload = encode_value(value)
    except CacheError as err:
        raise sqlite3.ProgrammingError(f"unsupported value: {err}") from err
    return hashlib.sha256(payload).digest() + payload


def _intact(blob: bytes) -> bool:
    return hashlib.sha256(blob[_DIGEST:]).digest() == blob[:_DIGEST]


def _decode(blob: bytes) -> Any:
    from cachespec.reference import CacheError, decode_value

    if not _intact(blob):
        raise sqlite3.DatabaseError("corrupt entry: its checksum does not match")
    try:
        return decode_value(blob[_DIGEST:])
    except CacheError as err:
        raise sqlite3.DatabaseError(f"corrupt entry: {err}") from err


class SQLiteAdapter(Adapter):
    name = "sqlite3"
    description = ("Python's sqlite3: one table in one file, INSERT OR IGNORE as insert "
                   "(adapter)")
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS, TYPED_KEYS, RICH_VALUES})
    error_type = sqlite3.Error

    def create(self, storage: Path | None) -> Any:
        if storage is None:
            raise NotImplementedError("the sqlite3 cache needs a directory")
        return _Store(Path(storage))

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return bool(native.insert(key, value))

    def close(self, native: Any) -> None:
        pass  # nothing stays open between calls
