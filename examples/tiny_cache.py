"""A tiny torch-shaped cache, checked by cachespec with no adapter.

It has torch's shape (``torch/_inductor/cache.py``): a no-argument constructor, ``get`` and
``insert``, ``from_env_var``-less, a threading lock (so cachespec infers THREADS), and a
``CacheError`` in its module (so cachespec knows its error type). Run::

    cd examples
    cachespec check tiny_cache:TinyCache --profile quick
    pytest --cachespec-target tiny_cache:TinyCache --cachespec-profile quick
    pytest test_tiny_cache_conformance.py
"""

from __future__ import annotations

import pickle
import threading
from typing import Any


class CacheError(ValueError):
    """Every failure of TinyCache."""


def _identity(key: Any) -> Any:
    """Keys are identified by type and value, recursively (1, True and 1.0 are three keys);
    frozensets by their sorted members, so construction order does not matter."""
    if isinstance(key, tuple):
        return ("tuple", tuple(_identity(k) for k in key))
    if isinstance(key, frozenset):
        return ("frozenset", tuple(sorted((_identity(k) for k in key), key=repr)))
    if key is None or isinstance(key, (str, bytes, int, float, bool)):
        return (type(key).__name__, key)
    raise CacheError(f"unsupported key type {type(key).__name__}")


_SCALARS = (type(None), bool, int, float, str, bytes)
_CONTAINERS = (tuple, list, set, frozenset)


def _check_value(value: Any, depth: int = 0) -> None:
    """Values are builtin data only (exact types, recursively): anything else (object(), a
    function, a subclass) is refused before it is stored, so get never unpickles code."""
    if depth > 100:
        raise CacheError("value nested too deeply")
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind in _CONTAINERS:
        for item in value:
            _check_value(item, depth + 1)
        return
    if kind is dict:
        for k, v in value.items():
            _check_value(k, depth + 1)
            _check_value(v, depth + 1)
        return
    raise CacheError(f"unsupported value type {kind.__name__}")


class TinyCache:
    """In-memory write-once cache: values are checked to be builtin data, then pickled in and
    out, so callers cannot mutate them and nothing else is ever stored."""

    def __init__(self) -> None:
        self._entries: dict[Any, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        ident = _identity(key)
        with self._lock:
            blob = self._entries.get(ident)
        return None if blob is None else pickle.loads(blob)

    @staticmethod
    def _encode(key: Any, value: Any) -> bytes:
        _check_value(value)
        try:
            return pickle.dumps(value)
        except Exception as err:
            raise CacheError(f"value for {key!r} is not picklable") from err

    def insert(self, key: Any, value: Any) -> bool:
        ident = _identity(key)
        blob = self._encode(key, value)
        with self._lock:
            if ident in self._entries:
                return False
            self._entries[ident] = blob
            return True


class OverwritingCache(TinyCache):
    """A deliberately broken variant: insert overwrites (cachespec reports the clause it breaks)."""

    def insert(self, key: Any, value: Any) -> bool:
        blob = self._encode(key, value)
        with self._lock:
            self._entries[_identity(key)] = blob
        return True
