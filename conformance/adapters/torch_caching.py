"""Adapters for ``torch._inductor.runtime.caching.implementations``: the newer cache backends.

They differ from torch's ``cache.py`` shape in three ways the adapters bridge: keys must be
``str``; ``get`` returns ``Hit(value)`` or ``None`` (unwrapped here); the on-disk backend stores
``bytes`` only and lives under ``default_cache_dir()/cache/<sub_dir>`` (redirected here by
setting ``_cache_dir`` and ``_flock`` on the instance).

Locking: the backends say locking "is not done by the implementation itself, but by the
interface that uses it", and torch's interfaces (``runtime/caching/interfaces.py``) call
``get``/``insert`` without taking it. The adapters do the same, so what is checked is the
backends as torch uses them. The module documents its operations as thread-safe, hence THREADS;
``lock_for`` exposes ``impl.lock()``, the directory lock the disk backend offers (LOCK).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cachespec.spec._subject import CORE, FILES, LOCK, PERSISTENT, PROCESSES, RICH_VALUES, THREADS, VERSION
from ._base import Adapter


def _impls() -> Any:
    from torch._inductor.runtime.caching import implementations

    return implementations


def _error_type() -> type[BaseException]:
    from torch._inductor.runtime.caching.exceptions import CacheError

    return CacheError


def _unwrap(hit: Any) -> Any:
    if hit is None:
        return None
    return hit.value


class TorchCachingMemory(Adapter):
    """``_InMemoryCacheImpl``: str keys, any value, one instance per process."""

    name = "torch-caching-memory"
    description = "torch._inductor.runtime.caching.implementations._InMemoryCacheImpl (adapter)"
    capabilities = frozenset({CORE, THREADS, RICH_VALUES})

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.error_type = _error_type()

    def create(self, storage: Path | None) -> Any:
        return _impls()._InMemoryCacheImpl()

    def get(self, native: Any, key: Any) -> Any | None:
        return _unwrap(native.get(key))

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return bool(native.insert(key, value))


class TorchCachingDisk(Adapter):
    """``_OnDiskCacheImpl``: str keys (used as file names), bytes values, a directory flock."""

    name = "torch-caching-disk"
    description = "torch._inductor.runtime.caching.implementations._OnDiskCacheImpl (adapter)"
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, VERSION, LOCK, FILES, THREADS})

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.error_type = _error_type()

    def create(self, storage: Path | None) -> Any:
        from filelock import FileLock

        impl = _impls()._OnDiskCacheImpl("cachespec")
        if storage is not None:
            impl._cache_dir = Path(storage)
            impl._flock = FileLock(str(Path(storage) / "dir.lock"))
        return impl

    def get(self, native: Any, key: Any) -> Any | None:
        return _unwrap(native.get(key))

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return bool(native.insert(key, value))

    def lock_for(self, native: Any, key: Any) -> AbstractContextManager[Any]:
        # one lock guards the whole directory, hence every key
        return native.lock()

    def get_version(self) -> int:
        return int(_impls()._OnDiskCacheImpl._version)

    def set_version(self, version: int) -> None:
        for klass in _impls()._OnDiskCacheImpl.__mro__:
            if "_version" in vars(klass):
                klass._version = int(version)
