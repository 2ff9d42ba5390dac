"""When an OnDiskCache entry is corrupt but still starts with the current version prefix, get
raises (EOFError or CacheError) every time and insert refuses to replace it (the file exists, so
open(..., "xb") fails and insert returns False). The key is poisoned until someone deletes the
file by hand: every later compile that needs it fails or falls back, forever. torch only
removes entries whose version prefix does not match. cachespec's reference replaces a corrupt
entry under the key's lock, so insert repairs it.
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache


def attempt(fn):
    try:
        return repr(fn())
    except Exception as err:
        return f"raised {type(err).__name__}: {err}"


with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    cache.insert("key", [1, 2, 3])
    (entry,) = [p for p in Path(tmp).iterdir() if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:4])  # a truncated entry
    print("get ->", attempt(lambda: cache.get("key")))
    print("insert(key, [4, 5, 6]) ->", attempt(lambda: cache.insert("key", [4, 5, 6])))
    after = attempt(lambda: cache.get("key"))
    print("get ->", after)
    if after != repr([4, 5, 6]):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
