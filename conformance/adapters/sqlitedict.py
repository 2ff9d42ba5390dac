"""Adapter for ``sqlitedict.SqliteDict``: the check-then-set its users write, as insert.

* Storage: ``SqliteDict(<storage>/cache.sqlite, autocommit=True)``: one SQLite file, one table
  (``unnamed``, sqlitedict's default), every write committed at once (the documented way to
  share a dict with other processes). Each SqliteDict runs one background thread that owns its
  connection and executes requests from a queue, so one instance serves many threads.
* insert: ``if key in d: return False`` then ``d[key] = value; return True``. sqlitedict has no
  add/setdefault of its own that is atomic (``d[key] = value`` is ``REPLACE INTO``), so this is
  what its users write to keep the first value. get: ``d.get(key)`` (``__getitem__`` and a miss
  as None).
* Keys are ``str`` (no TYPED_KEYS): sqlitedict stores keys in a ``key TEXT PRIMARY KEY``
  column, so an int 1 and the str "1" would be one key.
* Values: sqlitedict's default ``encode``/``decode`` (``pickle.dumps``/``pickle.loads``), so any
  picklable value (RICH_VALUES).

Error type: ``sqlite3.Error``. sqlitedict defines no exception class; the failures of its store
reach the caller as the sqlite3 errors of its connection (re-raised from its background thread),
so that is the class a user catches. Pickle errors and sqlitedict's own ``RuntimeError``
(read-only misuse) are other types, and the error clauses report them as such.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES, RICH_VALUES, THREADS
from ._base import Adapter

DB_NAME = "cache.sqlite"


class SqliteDictAdapter(Adapter):
    name = "sqlitedict"
    description = ("sqlitedict.SqliteDict(file, autocommit=True): `if key not in d: d[key] = "
                   "value` as insert (adapter)")
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS, RICH_VALUES})
    error_type = sqlite3.Error

    def __init__(self, name: str | None = None) -> None:
        import sqlitedict  # noqa: F401  (fail at resolve time when it is not installed)

        super().__init__(name)

    def create(self, storage: Path | None) -> Any:
        from sqlitedict import SqliteDict

        if storage is None:
            raise NotImplementedError("sqlitedict needs a directory")
        return SqliteDict(str(Path(storage) / DB_NAME), autocommit=True)

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        if key in native:
            return False
        native[key] = value
        return True
