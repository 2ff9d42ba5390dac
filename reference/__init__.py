"""The reference cache: torch's ``torch/_inductor/cache.py`` API, made strict.

Same public names and shapes; where torch is loose, this is strict: keys are identified by value
*and type*, writers killed at any instant leave no trace, every documented failure is a
``CacheError`` with its cause chained, loading never runs code, values are isolated from callers,
and ``OnDiskCache.get`` takes no lock.
"""

from cachespec.reference._base import AsyncCache, Cache, Key, Value
from cachespec.reference._disk import InductorOnDiskCache, OnDiskCache
from cachespec.reference._errors import CacheError
from cachespec.reference._keys import decode_key, encode_key, key_digest
from cachespec.reference._memory import InMemoryCache
from cachespec.reference._values import decode_value, encode_value

__all__ = [
    "AsyncCache",
    "Cache",
    "CacheError",
    "InMemoryCache",
    "InductorOnDiskCache",
    "Key",
    "OnDiskCache",
    "Value",
    "decode_key",
    "decode_value",
    "encode_key",
    "encode_value",
    "key_digest",
]
