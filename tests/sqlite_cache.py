"""A correct torch-shaped cache of another design: every entry in one SQLite file.

A fixture for the conformance checks (``sqlite_cache:SQLiteCache``, importable with ``tests/``
on ``sys.path``): it has a settable ``base_dir`` but no file per entry, so corruption must be
tested at the storage level. Each row holds the SHA-256 of its payload, so a damaged value is
detected; a database SQLite cannot read is refused with CacheError on get and replaced by a new
one on insert. One connection per call keeps it safe across threads and processes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from cachespec.reference import encode_key
from cachespec.reference._values import decode_value, encode_value

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (digest TEXT PRIMARY KEY, blob BLOB NOT NULL)"


class CacheError(ValueError):
    """Every failure this cache reports."""


class SQLiteCache:
    """get/insert on ``<base_dir>/cache.sqlite``; write-once per key."""

    #: where the database lives; settable (how cachespec points it at a test directory)
    base_dir: Path = Path(tempfile.gettempdir()) / "cachespec-sqlite-fixture"

    @property
    def _db(self) -> Path:
        return Path(self.base_dir) / "cache.sqlite"

    def _connect(self) -> sqlite3.Connection:
        Path(self.base_dir).mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._db, timeout=60, isolation_level=None)
        conn.execute(_SCHEMA)
        return conn

    @staticmethod
    def _digest(key: Any) -> str:
        try:
            return hashlib.sha256(encode_key(key)).hexdigest()
        except Exception as err:  # noqa: BLE001 - a key outside the domain
            raise CacheError(f"bad key: {err}") from err

    @staticmethod
    def _decode(blob: bytes) -> Any:
        check, payload = blob[:32], blob[32:]
        if hashlib.sha256(payload).digest() != check:
            raise CacheError("corrupt entry: checksum mismatch")
        try:
            return decode_value(payload)
        except Exception as err:  # noqa: BLE001
            raise CacheError(f"corrupt entry: {err}") from err

    def get(self, key: Any) -> Any | None:
        digest = self._digest(key)
        try:
            conn = self._connect()
            try:
                row = conn.execute("SELECT blob FROM entries WHERE digest = ?",
                                   (digest,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error as err:
            raise CacheError(f"cannot read the database: {err}") from err
        return None if row is None else self._decode(bytes(row[0]))

    def insert(self, key: Any, value: Any) -> bool:
        digest = self._digest(key)
        try:
            payload = encode_value(value)
        except Exception as err:  # noqa: BLE001
            raise CacheError(f"cannot serialize the value: {err}") from err
        blob = hashlib.sha256(payload).digest() + payload
        try:
            return self._insert(digest, blob)
        except sqlite3.DatabaseError:
            # a database SQLite cannot read: start a new one (its entries are lost, never wrong)
            try:
                os.unlink(self._db)
            except FileNotFoundError:
                pass
            try:
                return self._insert(digest, blob)
            except sqlite3.Error as err:
                raise CacheError(f"cannot write the database: {err}") from err
        except sqlite3.Error as err:
            raise CacheError(f"cannot write the database: {err}") from err

    def _insert(self, digest: str, blob: bytes) -> bool:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT blob FROM entries WHERE digest = ?",
                               (digest,)).fetchone()
            if row is not None:
                try:
                    self._decode(bytes(row[0]))
                    conn.execute("COMMIT")
                    return False
                except CacheError:
                    pass  # a damaged entry does not hold its key
            conn.execute("INSERT OR REPLACE INTO entries VALUES (?, ?)", (digest, blob))
            conn.execute("COMMIT")
            return True
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


# -- broken variants: what the storage-level corruption check must catch ----------------------
class SQLiteNoChecksum(SQLiteCache):
    """Trusts the database: a flipped byte inside a stored value is returned as the value."""

    @staticmethod
    def _decode(blob: bytes) -> Any:
        try:
            return decode_value(blob[32:])
        except Exception as err:  # noqa: BLE001
            raise CacheError(f"corrupt entry: {err}") from err


class SQLiteRawErrors(SQLiteCache):
    """Lets SQLite's own errors out of get: a damaged database raises sqlite3.DatabaseError."""

    def get(self, key: Any) -> Any | None:
        conn = self._connect()
        try:
            row = conn.execute("SELECT blob FROM entries WHERE digest = ?",
                               (self._digest(key),)).fetchone()
        finally:
            conn.close()
        return None if row is None else self._decode(bytes(row[0]))
