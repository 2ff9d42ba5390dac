"""An Adapter: how to check a cache that is *not* torch-shaped.

``BlobStore`` is shaped differently from torch's caches, the way many real stores are: it takes
``str`` keys only, stores ``bytes`` only, wraps hits in a ``Hit`` object, needs a directory in
its constructor, and calls its write-once insert ``put_if_absent``. The adapter translates the
core operations and declares the capabilities; cachespec does the rest. Run::

    cd examples
    cachespec check kvstore_adapter:BlobStoreAdapter --profile quick
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from cachespec.conformance import CORE, FILES, PERSISTENT, PROCESSES, THREADS, Adapter


class StoreError(Exception):
    pass


@dataclass
class Hit:
    payload: bytes


class BlobStore:
    """One file per key holding a checksum and the payload; published by hard-linking a finished
    temp file, which is atomic and never overwrites."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not isinstance(key, str):
            raise StoreError(f"keys are str, got {type(key).__name__}")
        return self.directory / sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, key: str) -> Hit | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        digest, payload = blob[:32], blob[32:]
        if sha256(payload).digest() != digest:
            # a damaged entry must not poison its key: drop it so it can be written again
            path.unlink(missing_ok=True)
            raise StoreError(f"entry for {key!r} is corrupt (checksum mismatch); removed it")
        return Hit(payload)

    def put_if_absent(self, key: str, payload: bytes) -> bool:
        if not isinstance(payload, bytes):
            raise StoreError(f"values are bytes, got {type(payload).__name__}")
        final = self._path(key)
        temp = final.with_name(f".{final.name}.{os.getpid()}.{id(payload)}.tmp")
        temp.write_bytes(sha256(payload).digest() + payload)
        try:
            os.link(temp, final)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink()


class BlobStoreAdapter(Adapter):
    """str keys and bytes values: no TYPED_KEYS / RICH_VALUES, so cachespec generates only those."""

    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS, FILES})
    error_type = StoreError

    def create(self, storage: Path | None) -> Any:
        return BlobStore(storage)

    def get(self, native: BlobStore, key: Any) -> Any | None:
        hit = native.lookup(key)
        return None if hit is None else hit.payload

    def insert(self, native: BlobStore, key: Any, value: Any) -> bool:
        return native.put_if_absent(key, value)
