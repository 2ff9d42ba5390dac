"""OnDiskCache stores a bare pickle after a 4-byte version prefix, with no length or checksum,
so a flipped byte inside the payload is not detected: get returns a different value without any
error. Here one byte of a bytes object stored in the entry changes and get happily returns the
altered bytes. torch documents only that unpicklable values raise CacheError, so this is a
deviation from cachespec's SHOULD-level corruption detection. A user hits it after disk or
transfer corruption (or a partially synced shared cache directory): a compiled artifact read from
the cache is silently wrong instead of being recomputed.
The checker's own example above (an empty or header-damaged entry file read as None) is
torch's documented stale-entry handling: the file is deleted and the key can be inserted
again. We count that part as a false positive of the clause (reported to the spec owners);
the verdict stands because of the flipped payload byte shown here.
"""
import tempfile
from pathlib import Path

from torch._inductor.cache import CacheError, OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    value = [0, b"\x00" * 64]
    cache.insert("key", value)
    (entry,) = [p for p in Path(tmp).iterdir() if p.is_file()]
    data = bytearray(entry.read_bytes())
    at = data.index(b"\x00" * 64) + 10
    data[at] ^= 0xFF  # flip one byte inside the stored bytes object
    entry.write_bytes(bytes(data))
    try:
        got = cache.get("key")
    except CacheError as err:
        print("corruption detected: CacheError", err)
        raise SystemExit(1)
    print("get returned the stored value unchanged:", got == value)
    print("get returned:", got)
    if got is not None and got != value:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
