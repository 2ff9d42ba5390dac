"""Adapters for cachelib's ``FileSystemCache``: ``add`` is the write-once insert, ``get`` the read.

cachelib documents ``add(key, value)`` as "works like set but does not overwrite existing keys"
(True when it stored the value), and ``get(key)`` as "the value if it exists and is readable,
else None". That is exactly the write-once contract, so the adapters call those two methods and
nothing else: no lock around ``add`` (cachelib's users write none), no pre-check of the value.

Two configurations:

* ``cachelib-fs``: ``FileSystemCache(dir, threshold=0, default_timeout=0)``, the configuration a
  write-once cache would use. In cachelib 0.17.0's source ``threshold == 0`` disables pruning
  (``_over_threshold`` is ``self._threshold != 0 and ...``; ``_update_count`` returns early) and
  a timeout of 0 is stored as expiry 0, which ``get`` reads as "never expires"
  (``pickle_time == 0 or pickle_time >= time()``).
* ``cachelib-fs-defaults``: ``FileSystemCache(dir)`` as its docs' first example writes it:
  ``threshold=500`` (prunes entries above 500) and ``default_timeout=300`` (entries expire).
  Eviction there is documented behaviour; the verdict shows what the spec says about it.

Keys: cachelib keys are ``str`` (``_get_filename`` raises TypeError otherwise, and hashes the
UTF-8 key with sha256 into one file name), so no TYPED_KEYS. Values: any picklable object
(``FileSystemSerializer`` is pickle), hence RICH_VALUES. One file per key, named by the hash, plus
a ``__wz_cache_count`` file when a threshold is set: the FILES probe decides. Each instance gets
an ``entry_path`` attribute (cachelib's own ``_get_filename``) that only the stress corrupter reads.

Error type: cachelib defines no exception class. It reports failures by return values (``add``
False, ``get`` None, a logged warning) and raises only one exception on purpose: TypeError, for
a key that is not a str or a timeout of the wrong type. TypeError is therefore the adapter's
``error_type``; everything else that escapes (RuntimeError from a value's pickling, MemoryError
from unpickling a damaged entry) is reported by the error clauses as what it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from cachespec.spec._subject import CORE, FILES, PERSISTENT, PROCESSES, RICH_VALUES, THREADS
from ._base import Adapter


class CachelibWriteOnce(Adapter):
    """``FileSystemCache(dir, threshold=0, default_timeout=0)``: no pruning, no expiry."""

    name = "cachelib-fs"
    description = ("cachelib.FileSystemCache(dir, threshold=0, default_timeout=0): add() as "
                   "insert (adapter)")
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS, RICH_VALUES, FILES})
    #: FileSystemCache keyword arguments beyond the directory
    options: ClassVar[dict[str, Any]] = {"threshold": 0, "default_timeout": 0}

    def __init__(self, name: str | None = None) -> None:
        import cachelib  # noqa: F401  (fail at resolve time when it is not installed)

        super().__init__(name)
        self.error_type = TypeError

    def create(self, storage: Path | None) -> Any:
        from cachelib import FileSystemCache

        if storage is None:
            raise NotImplementedError("FileSystemCache needs a directory")
        cache: Any = FileSystemCache(str(storage), **self.options)
        # Where a key's entry lives, for the stress corrupter (stress._faults.entry_path_hook),
        # so it names the key it damages and the judge excuses exactly that key. cachelib never
        # reads this attribute: the cache behaves exactly as without it.
        cache.entry_path = cache._get_filename
        return cache

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return native.add(key, value)  # cachelib's own bool, not converted

    def close(self, native: Any) -> None:
        """FileSystemCache holds no open resource between calls."""


class CachelibDefaults(CachelibWriteOnce):
    """``FileSystemCache(dir)``: cachelib's defaults, threshold=500 and default_timeout=300."""

    name = "cachelib-fs-defaults"
    description = ("cachelib.FileSystemCache(dir) with its defaults (prunes above 500 entries, "
                   "entries expire after 300 s): add() as insert (adapter)")
    options: ClassVar[dict[str, Any]] = {}
