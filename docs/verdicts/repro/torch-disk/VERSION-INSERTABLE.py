"""torch's OnDiskCache only removes an entry of another version when get reads it; insert just
tries open(path, "xb") and returns False when the file exists, whatever version wrote it. So
after a version bump, inserting a key that has a stale entry returns False ("the key already
exists", per the docstring) although get returns None for it, and the value is not stored. The
common pattern `if not cache.insert(k, v): v = cache.get(k)` (insert, and on losing read the
winner) then gets None. torch's test_on_disk_cache_version_bump always calls get before insert,
which deletes the stale file first, so it does not see this. A user sees one lost write and a
misleading False per stale key after every version bump; checking the stale prefix in insert
(as the newer _OnDiskCacheImpl does) fixes it.
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    print("version 0: insert('k', 'old') ->", cache.insert("k", "old"))
    OnDiskCache.version = 1
    inserted = cache.insert("k", "new")
    print("version 1: insert('k', 'new') ->", inserted)
    print("version 1: get('k') ->", cache.get("k"))
    print("version 1: insert('k', 'new') again ->", cache.insert("k", "new"))
    if not inserted:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
