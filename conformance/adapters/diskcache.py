"""Adapter for ``diskcache.Cache(directory)``: ``add`` is the write-once insert, ``get`` the read.

diskcache is documented thread-safe and process-safe and takes any picklable key and value, so
the adapter claims typed keys and rich values. Its entries live in an SQLite database (plus files
for large values), not one file per entry, so it does not claim FILES: the corruption check
damages its storage directory as a whole.

Its error type: diskcache defines one exception of its own, ``diskcache.Timeout`` (raised when
its database stays locked); every other failure reaches the caller as the exception of the
library underneath (pickle, sqlite3, OSError), which the error clauses report as such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES, RICH_VALUES, THREADS, TYPED_KEYS
from ._base import Adapter


class DiskCacheAdapter(Adapter):
    name = "diskcache"
    description = "diskcache.Cache(directory): add() as insert, get() as get (adapter)"
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS, TYPED_KEYS, RICH_VALUES})

    def __init__(self, name: str | None = None) -> None:
        import diskcache  # fail at resolve time when it is not installed

        super().__init__(name)
        self.error_type = diskcache.Timeout

    def create(self, storage: Path | None) -> Any:
        import diskcache

        if storage is None:
            raise NotImplementedError("diskcache needs a directory")
        return diskcache.Cache(str(storage))

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return bool(native.add(key, value))
