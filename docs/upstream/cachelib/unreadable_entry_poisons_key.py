"""An unreadable entry file: get and has say the key is absent, add refuses it forever."""
import logging, tempfile
from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    cache.add("key", b"value")
    open(cache._get_filename("key"), "wb").close()   # emptied, e.g. by a crash before fsync
    got, has = cache.get("key"), cache.has("key")      # None, False
    added = cache.add("key", b"value")                  # False: nothing is stored
    print(f"get -> {got!r}, has -> {has}, add -> {added}, get -> {cache.get('key')!r}")
    if got is None and has is False and added is False:
        print("DEFECT REPRODUCED")
