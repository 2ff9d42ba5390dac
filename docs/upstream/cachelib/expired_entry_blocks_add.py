"""An expired entry reads as a miss, yet add() refuses the key until pruning removes the file."""
import logging, tempfile, time
from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)                 # the defaults: threshold=500, timeout=300
    cache.add("key", "old", timeout=1)           # as default_timeout does after 300 s
    deadline = time.time() + 10
    while cache.has("key") and time.time() < deadline:
        time.sleep(0.1)                          # wait for the expiry, not for a thread
    got, has = cache.get("key"), cache.has("key")  # None, False: expired
    added = cache.add("key", "new")              # False: the expired file still exists
    print(f"get -> {got!r}, has -> {has}, add -> {added}, get -> {cache.get('key')!r}")
    if got is None and has is False and added is False:
        print("DEFECT REPRODUCED")
