"""OnDiskCache.insert converts only pickle.PicklingError into CacheError, but many unpicklable
values raise other types: a value holding a lock, an open file or a generator raises TypeError,
and a custom __reduce__ can raise anything. Those escape insert as TypeError etc., although the
docstring says "Raises: CacheError: If the value is not pickle-able". Callers that wrap cache
writes in `except CacheError` (to treat caching as best-effort) crash instead. The spec's MUST
clause ERROR-UNPICKLABLE-VALUE only tries a lambda (a PicklingError), so only the SHOULD clause
catches this.
"""
import tempfile
import threading
from pathlib import Path

from torch._inductor.cache import CacheError, OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    try:
        cache.insert("key", {"artifact": b"...", "guard": threading.Lock()})
        print("insert succeeded")
        raise SystemExit(1)
    except CacheError as err:
        print("CacheError:", err)
        raise SystemExit(1)
    except Exception as err:
        print(f"insert raised {type(err).__name__}: {err} (not a CacheError)")
        print("DEVIATION REPRODUCED")
