"""OnDiskCache.get takes the key's file lock (it may delete a stale entry), so a reader blocks
for as long as any other process holds that lock: here a second process holds it for 5 s and a
get of an entry that already exists waits for it. torch chose locked reads on purpose (stale
entries are unlinked under the lock), so this is a deviation from cachespec's SHOULD-level
lock-free reads, not a bug. A user sees reads stall behind a slow writer of a colliding lock
(locks are shared by keys with the same 4 hex digits) or behind a stuck process; readers never
see a wrong value. Since the lock is an flock, a dead holder releases it.
"""
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from torch._inductor.cache import OnDiskCache

HOLDER = """
import sys, time
from pathlib import Path
from torch._inductor.cache import OnDiskCache
cache = OnDiskCache()
cache.base_dir = Path(sys.argv[1])
lock = cache._flock_from_fpath(cache._fpath_from_key("key"))
with lock:
    print("holding", flush=True)
    time.sleep(5)
"""

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    cache.insert("key", "value")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, tmp], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    result = []
    reader = threading.Thread(target=lambda: result.append(cache.get("key")), daemon=True)
    started = time.monotonic()
    reader.start()
    reader.join(2.0)
    blocked = reader.is_alive()
    print("get returned within 2 s while another process holds the lock:", not blocked)
    reader.join(30)
    holder.wait(30)
    print("get eventually returned:", result)
    if blocked:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
