"""Broken in-memory caches: subclasses of the reference ``InMemoryCache`` with one fault each.

Every class here is a deliberate bug (see the catalogue): the checks must catch each one.
"""

from __future__ import annotations

import copy
import struct
import threading
import time
from typing import Any

from cachespec.reference import InMemoryCache, encode_key
from cachespec.reference._values import decode_value, encode_value

__all__ = [
    "ChunkedPublishMemory", "FalsyValuesLostMemory", "HashKeyMemory", "InsertReportsFalseMemory",
    "IterOrderKeyMemory", "MissingReturnsEmptyMemory", "NegativeCacheMemory",
    "NoValidationMemory", "OverwritingInsertMemory", "SharedOnGetMemory", "SharedValueMemory",
    "StrKeyMemory", "TwoPhaseInsertMemory", "UnlockedCheckThenSetMemory", "UntypedKeyMemory",
]


class OverwritingInsertMemory(InMemoryCache):
    """insert of a present key replaces the stored value (and still reports False)."""

    intended_clause = "CORE-INSERT-NO-OVERWRITE"

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            existed = ekey in self._entries
            self._entries[ekey] = data
            return not existed


class InsertReportsFalseMemory(InMemoryCache):
    """insert stores the value but returns whether the key was present *after* the write."""

    intended_clause = "CORE-INSERT-NEW"

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        super()._insert_encoded(ekey, data)
        return ekey not in self._entries


class MissingReturnsEmptyMemory(InMemoryCache):
    """get of a missing key returns an empty bytes value instead of None."""

    intended_clause = "CORE-GET-MISSING"

    def get(self, key: Any) -> Any | None:
        value = super().get(key)
        return b"" if value is None else value


class FalsyValuesLostMemory(InMemoryCache):
    """get treats a falsy stored value (0, '', [], False) as a miss."""

    intended_clause = "CORE-GET-INSERTED"

    def get(self, key: Any) -> Any | None:
        return super().get(key) or None


class StrKeyMemory(InMemoryCache):
    """Keys are identified by str(key): 1 and '1', 'a' and b'a'... merge."""

    intended_clause = "KEY-DISTINCT"

    def get(self, key: Any) -> Any | None:
        return super().get(str(key))

    def insert(self, key: Any, value: Any) -> bool:
        encode_key(key)  # still refuses keys outside the domain
        return super().insert(str(key), value)


class HashKeyMemory(InMemoryCache):
    """Keys are identified by hash(key): -1 and -2 (and every hash collision) merge."""

    intended_clause = "KEY-DISTINCT"

    def get(self, key: Any) -> Any | None:
        encode_key(key)
        return super().get(hash(key))

    def insert(self, key: Any, value: Any) -> bool:
        encode_key(key)
        return super().insert(hash(key), value)


class UntypedKeyMemory(InMemoryCache):
    """Keys are plain dict keys (torch's choice): 1, True and 1.0 are one key."""

    intended_clause = "KEY-TYPED-DISTINCT"

    def __init__(self) -> None:
        super().__init__()
        self._by_key: dict[Any, bytes] = {}

    def get(self, key: Any) -> Any | None:
        encode_key(key)
        data = self._by_key.get(key)
        return None if data is None else decode_value(data)

    def insert(self, key: Any, value: Any) -> bool:
        encode_key(key)
        data = encode_value(value)
        with self._lock:
            if key in self._by_key:
                return False
            self._by_key[key] = data
            self._entries[encode_key(key)] = data
            return True


def _iter_order(key: Any) -> Any:
    """A key "normalised" by turning frozensets into tuples in iteration order."""
    if type(key) is frozenset:
        return ("<fs>", *[_iter_order(k) for k in key])
    if type(key) is tuple:
        return tuple(_iter_order(k) for k in key)
    return key


class IterOrderKeyMemory(InMemoryCache):
    """frozenset keys are encoded in iteration order, which depends on how they were built."""

    intended_clause = "KEY-EQUAL-SAME"

    def get(self, key: Any) -> Any | None:
        encode_key(key)
        return super().get(_iter_order(key))

    def insert(self, key: Any, value: Any) -> bool:
        encode_key(key)
        return super().insert(_iter_order(key), value)


class SharedValueMemory(InMemoryCache):
    """Stores the caller's object itself and returns it: mutations leak both ways."""

    intended_clause = "ISO-INSERT-COPY"

    def __init__(self) -> None:
        super().__init__()
        self._objects: dict[bytes, Any] = {}

    def get(self, key: Any) -> Any | None:
        return self._objects.get(encode_key(key))

    def insert(self, key: Any, value: Any) -> bool:
        ekey, data = encode_key(key), encode_value(value)
        with self._lock:
            if ekey in self._entries:
                return False
            self._entries[ekey] = data
            self._objects[ekey] = value
            return True


class SharedOnGetMemory(SharedValueMemory):
    """Copies values on insert but hands out the stored object on get."""

    intended_clause = "ISO-GET-COPY"

    def insert(self, key: Any, value: Any) -> bool:
        return super().insert(key, copy.deepcopy(value))


class NoValidationMemory(SharedValueMemory):
    """Stores any object without checking it is cache data (object(), unpicklable values)."""

    intended_clause = "SAFE-VALUE-DOMAIN"

    def insert(self, key: Any, value: Any) -> bool:
        ekey = encode_key(key)
        with self._lock:
            if ekey in self._objects:
                return False
            try:
                self._objects[ekey] = copy.deepcopy(value)
            except Exception:  # cannot be copied: keep it as it is
                self._objects[ekey] = value
            return True

    def get(self, key: Any) -> Any | None:
        value = self._objects.get(encode_key(key))
        try:
            return copy.deepcopy(value)
        except Exception:
            return value


class UnlockedCheckThenSetMemory(InMemoryCache):
    """Check-then-set without the lock: two racing inserts can both return True."""

    intended_clause = "CONC-ONE-WINNER"

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        if ekey in self._entries:
            return False
        time.sleep(0.0005)  # the work a real cache does here (bookkeeping, eviction...)
        self._entries[ekey] = data
        return True


class ChunkedPublishMemory(InMemoryCache):
    """Publishes an entry before filling it in: a racing get decodes a partial value."""

    intended_clause = "CONC-READ-WINNER"

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[bytes, Any] = {}

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            if ekey in self._entries:
                return False
            buf = bytearray()
            self._entries[ekey] = buf
        for i in range(0, len(data), 64):
            time.sleep(0.0002)
            buf += data[i:i + 64]
        return True

    def get(self, key: Any) -> Any | None:
        data = self._entries.get(encode_key(key))
        return None if data is None else decode_value(bytes(data))


class NegativeCacheMemory(InMemoryCache):
    """Remembers misses per thread for a second; only the inserting thread forgets them."""

    intended_clause = "CONC-NO-STALE-READ"

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def _misses(self) -> dict[bytes, float]:
        misses = getattr(self._local, "misses", None)
        if misses is None:
            misses = self._local.misses = {}
        return misses

    def get(self, key: Any) -> Any | None:
        ekey = encode_key(key)
        misses = self._misses()
        if misses.get(ekey, 0.0) > time.monotonic():
            return None
        value = super().get(key)
        if value is None:
            misses[ekey] = time.monotonic() + 1.0
        return value

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        self._misses().pop(ekey, None)
        return super()._insert_encoded(ekey, data)


# -- appended: equal keys split by representation, eviction ------------------------------------
def _float_bits(key: Any) -> bytes:
    """The IEEE-754 bits of every float in ``key`` (frozenset members in a canonical order)."""
    if type(key) is float:
        return struct.pack(">d", key)
    if type(key) is tuple:
        return b"".join(_float_bits(member) for member in key)
    if type(key) is frozenset:
        return b"".join(sorted(_float_bits(member) for member in key))
    return b""


class FloatBitsKeyMemory(InMemoryCache):
    """Float keys are named by their bits: -0.0 and 0.0 become two entries."""

    intended_clause = "KEY-EQUAL-SAME"

    def get(self, key: Any) -> Any | None:
        data = self._entries.get(encode_key(key) + _float_bits(key))
        return None if data is None else decode_value(data)

    def insert(self, key: Any, value: Any) -> bool:
        return self._insert_encoded(encode_key(key) + _float_bits(key), encode_value(value))


class EvictingMemory(InMemoryCache):
    """Keeps only the newest 500 entries: older ones vanish silently (a bounded cache)."""

    intended_clause = "CORE-RETAIN"
    limit = 500

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            if ekey in self._entries:
                return False
            self._entries[ekey] = data
            while len(self._entries) > self.limit:
                del self._entries[next(iter(self._entries))]  # the oldest (dicts keep order)
            return True


# -- appended: several winners -----------------------------------------------------------------
class TwoPhaseInsertMemory(InMemoryCache):
    """Checks for the key under the lock, then stores under the lock again without checking:
    racing inserts both win and a reader sees one winner's value, then the other's."""

    intended_clause = "CONC-READ-WINNER"

    def _insert_encoded(self, ekey: bytes, data: bytes) -> bool:
        with self._lock:
            if ekey in self._entries:
                return False
        # (the lock is dropped here, as if to do slow work outside it)
        with self._lock:
            self._entries[ekey] = data
        return True


__all__ += ["EvictingMemory", "FloatBitsKeyMemory"]
