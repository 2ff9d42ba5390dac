"""With its defaults FileSystemCache evicts: threshold=500 makes every set() beyond 500 entries
prune (expired entries first, then those expiring soonest: expiry is kept in whole seconds, so
among entries written in the same second arbitrary ones go), and
default_timeout=300 makes every entry read as a miss after 5 minutes. Both are documented
("the maximum number of items the cache stores before it starts deleting some"; "the default
timeout"), so this is cachelib working as configured, not a defect: but a cache built with the
defaults is not a write-once cache, and the spec's CORE-RETAIN (entries are never evicted) does
not hold for it. Here 503 adds all return True and two of those keys are gone.
"""
import tempfile

from cachelib import FileSystemCache

with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)  # threshold=500, default_timeout=300
    acknowledged = [f"key-{n}" for n in range(503) if cache.add(f"key-{n}", n)]
    lost = [k for k in acknowledged if cache.get(k) is None]
    print(f"{len(acknowledged)} adds returned True; {len(lost)} of those keys now read None "
          f"(first: {lost[:3]})")
    if lost:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
