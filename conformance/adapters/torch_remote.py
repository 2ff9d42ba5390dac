"""Adapter for ``torch._inductor.remote_cache.LocalCacheBackend``: torch's put/get file backend.

What the backend is (torch 2.13): ``RemoteCacheBackend[bytes]`` whose key *is the entry's file
path*. ``put(path, data)`` (public; it wraps ``_put`` with hit/miss counters) makes the parent
directory and writes ``data`` with ``codecache.write_atomic`` (a ``.<pid>.<thread>.tmp`` file in
the same directory, renamed over the path); ``get(path)`` reads the whole file, ``None`` when it
does not exist. Nothing is serialized: values are ``bytes``; keys are whatever path the caller
builds. There is no configuration and no module-level directory, so nothing global is patched.

How torch uses it, and so how the adapter does: ``LocalAutotuneCache`` (through ``RemoteCache``,
which calls ``backend.get``/``backend.put``) gets and puts
``<dir>/<sha256 hex of the cache key>.best_config``. The adapter maps a str key to
``<storage>/<h[:2]>/<h>.best_config`` with ``h = sha256(key as UTF-8).hexdigest()`` (torch's
``AUTOTUNE_CACHE_KEY_STRATEGY`` digest; the two-character sub-directory is like torch's
``codecache.get_path`` and exercises ``_put``'s ``makedirs``). The key itself never becomes a
file name, so key length and characters are not the backend's concern (no limits).

insert = ``backend.put(path, value)``, then ``True``: a put returns nothing and overwrites by
design, so the adapter cannot tell a first store from a replacement and every insert reports
True. The write-once clauses (CORE-INSERT-NO-OVERWRITE, the one-winner races, DISK-PERSIST-REOPEN)
therefore show what the spec says about a put-overwrite cache; they are its design, not bugs.

Capabilities: core, persistent (files outlive the instance), processes and threads (rename is
atomic and each thread writes its own temporary), files when the probe proves one file per key.
Its error type: the backend defines no exception; every failure it can have is the file
system's (``open``, ``makedirs``, ``rename``), which reaches the caller as ``OSError``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cachespec.spec._subject import CORE, FILES, PERSISTENT, PROCESSES, THREADS
from ._base import Adapter

#: the suffix torch's LocalAutotuneCache gives its entry files
SUFFIX = ".best_config"


def entry_path(storage: Path, key: str) -> str:
    """The file path ``key`` is stored at: what torch's callers pass as the backend's key."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(storage, digest[:2], digest + SUFFIX)


class _Native:
    """One backend and the storage directory its keys are paths under."""

    def __init__(self, backend: Any, storage: Path) -> None:
        self.backend = backend
        self.storage = storage

    def __repr__(self) -> str:
        return f"<LocalCacheBackend at {self.storage}>"


class LocalBackendAdapter(Adapter):
    name = "torch-local-backend"
    description = ("torch._inductor.remote_cache.LocalCacheBackend: put as insert, get as get "
                   "(adapter; a put-overwrite cache)")
    capabilities = frozenset({CORE, FILES, PERSISTENT, PROCESSES, THREADS})
    error_type = OSError

    def __init__(self, name: str | None = None) -> None:
        import torch._inductor.remote_cache  # noqa: F401  fail at resolve time without torch

        super().__init__(name)

    def create(self, storage: Path | None) -> Any:
        from torch._inductor.remote_cache import LocalCacheBackend

        if storage is None:
            raise NotImplementedError("LocalCacheBackend stores files: it needs a directory")
        return _Native(LocalCacheBackend(), Path(storage))

    def get(self, native: Any, key: Any) -> Any | None:
        return native.backend.get(entry_path(native.storage, key))

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        native.backend.put(entry_path(native.storage, key), value)
        return True  # put cannot say whether it replaced an entry (see the module docstring)
