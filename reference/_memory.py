"""``InMemoryCache``: a thread-safe dict of canonical key encodings to encoded values."""

from __future__ import annotations

import os
import threading
from typing import Any

from cachespec.reference._base import Cache, Key, Value
from cachespec.reference._errors import CacheError
from cachespec.reference._keys import decode_key, encode_key
from cachespec.reference._values import decode_value, encode_value

try:  # Self is in typing from 3.11
    from typing import Self
except ImportError:  # pragma: no cover
    from typing_extensions import Self


class InMemoryCache(Cache[Key, Value]):
    """A process-local cache. Values are stored encoded, so callers never share them."""

    def __init__(self) -> None:
        self._entries: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        # A single dict lookup is atomic under the GIL and entries are never replaced: no lock.
        data = self._entries.get(encode_key(key))
        return None if data is None else decode_value(data)

    def insert(self, key: Key, value: Value) -> bool:
        return self._insert_encoded(encode_key(key), encode_value(value))

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            if ekey in self._entries:
                return False
            self._entries[ekey] = data
            return True

    @property
    def _cache(self) -> dict[Any, Any]:
        """torch's attribute: a new plain dict of every key to a copy of its value, so
        ``pickle.dump(cache._cache, f)`` writes what :meth:`from_file_path` reads back.

        CacheError if two keys the reference keeps apart are equal in Python (``1`` and
        ``True``, say): a plain dict would silently keep only one of them.
        """
        with self._lock:
            entries = list(self._entries.items())
        result: dict[Any, Any] = {}
        for ekey, data in entries:
            key = decode_key(ekey)
            if key in result:
                clash = next(k for k in result if k == key)
                raise CacheError(f"keys {clash!r} and {key!r} are distinct entries but equal in a "
                                 "plain dict; _cache cannot represent both")
            result[key] = decode_value(data)
        return result

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        """A cache holding the ``;``-separated ``repr(pickle.dumps(key)),repr(pickle.dumps(value))``
        pairs of environment variable ``env_var``; unset means empty. CacheError if malformed."""
        from cachespec.reference._loaders import pairs_from_env_var

        cache = cls()
        for key, value in pairs_from_env_var(env_var):
            cache._load(key, value, f"environment variable {env_var!r}")
        return cache

    @classmethod
    def from_file_path(cls, fpath: str | os.PathLike[str]) -> Self:
        """A cache holding the pickled dict at ``fpath``; a missing file means empty."""
        from cachespec.reference._loaders import pairs_from_file

        cache = cls()
        for key, value in pairs_from_file(fpath):
            cache._load(key, value, f"file {str(fpath)!r}")
        return cache

    def _load(self, key: Any, value: Any, source: str) -> None:
        from cachespec.reference._values import same_value

        if not self.insert(key, value):
            held = self.get(key)
            if not same_value(held, value):
                raise CacheError(f"{source} gives key {key!r} two values: {held!r} and {value!r}")


__all__ = ["InMemoryCache"]
