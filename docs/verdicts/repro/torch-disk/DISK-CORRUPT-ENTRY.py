"""OnDiskCache.get documents "Raises: CacheError: If the value is corrupted or cannot be
unpickled", but it converts only pickle.UnpicklingError. An entry file that holds the 4-byte
version prefix and nothing else (what a writer leaves when it dies, or when pickling fails,
right after writing the prefix) makes pickle.loads(b"") raise EOFError, which escapes as is.
This breaks a MUST clause that restates torch's own docstring: callers that catch CacheError
around get (as documented) crash on such a file.
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import CacheError, OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    cache.insert("key", [1, 2, 3])
    (entry,) = [p for p in Path(tmp).iterdir() if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:4])  # keep the version prefix only
    try:
        print("get ->", cache.get("key"))
        raise SystemExit(1)
    except CacheError as err:
        print("CacheError:", err)
        raise SystemExit(1)
    except Exception as err:
        print(f"get raised {type(err).__name__}: {err} (not a CacheError)")
        print("DEVIATION REPRODUCED")
