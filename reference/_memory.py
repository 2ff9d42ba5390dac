"""``InMemoryCache``: a thread-safe dict of canonical key encodings to encoded values."""

from __future__ import annotations

import os
import threading
from typing import Any

from cachespec.reference._base import Cache
from cachespec.reference._keys import encode_key
from cachespec.reference._values import decode_value, encode_value

try:  # Self is in typing from 3.11
    from typing import Self
except ImportError:  # pragma: no cover
    from typing_extensions import Self


class InMemoryCache(Cache):
    """A process-local cache. Values are stored encoded, so callers never share them."""

    def __init__(self) -> None:
        self._entries: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        # A single dict lookup is atomic under the GIL and entries are never replaced: no lock.
        data = self._entries.get(encode_key(key))
        return None if data is None else decode_value(data)

    def insert(self, key: Any, value: Any) -> bool:
        return self._insert_encoded(encode_key(key), encode_value(value))

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            if ekey in self._entries:
                return False
            self._entries[ekey] = data
            return True

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
        from cachespec.reference._errors import CacheError
        from cachespec.reference._values import same_value

        if not self.insert(key, value):
            held = self.get(key)
            if not same_value(held, value):
                raise CacheError(f"{source} gives key {key!r} two values: {held!r} and {value!r}")


__all__ = ["InMemoryCache"]
