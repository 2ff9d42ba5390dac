"""With a threshold (the default), the user key "__wz_cache_count" is cachelib's item counter."""
import tempfile
from cachelib import FileSystemCache

with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)  # threshold=500: keeps its count under that key
    got_before = cache.get("__wz_cache_count")          # 0: a value nobody inserted
    added = cache.add("__wz_cache_count", "my value")    # False: the key "exists"
    cache.add("other", 1)
    got_after = cache.get("__wz_cache_count")           # 1: the counter moved
    print(f"get -> {got_before!r}, add -> {added}, after another add get -> {got_after!r}")
    if got_before == 0 and added is False and got_after == 1:
        print("DEFECT REPRODUCED")
